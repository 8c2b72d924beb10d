"""CAR-HEMATOTOX and the EASIX family against score_cases.md C and F, plus hand-worked boundaries."""

from __future__ import annotations

import math

import pytest

from cartlens.scores import compute

ORDER = ["plt", "anc", "hb", "crp", "ferritin"]

# score_cases.md C: (id, anc, hb, plt, crp, ferritin, points plt+anc+hb+crp+ferritin, score, group)
HT_CASES = [
    ("HT-1", 2.5, 11.0, 200, 0.5, 300, [0, 0, 0, 0, 0], 0, "HT-low"),
    ("HT-3", 1.2, 9.0, 175, 3.0, 650, [1, 1, 1, 1, 1], 5, "HT-high"),
    ("HT-5", 3.0, 12.0, 74, 0.2, 100, [2, 0, 0, 0, 0], 2, "HT-high"),
    ("HT-7", 1.5, 10.0, 75, 1.0, 2000, [1, 0, 0, 0, 1], 2, "HT-high"),
    ("HT-9", "500/uL", 7.5, "40000/µL", 10.0, 5000, [2, 1, 1, 1, 2], 7, "HT-high"),
    ("HT-11", 1.0, 9.5, 180, "25 mg/L", 500, [0, 1, 0, 0, 0], 1, "HT-low"),
]


@pytest.mark.parametrize(("case", "anc", "hb", "plt", "crp", "ferritin", "points", "score", "group"), HT_CASES)
def test_hematotox_score_cases(case, anc, hb, plt, crp, ferritin, points, score, group):
    res = compute("car-hematotox", dict(anc=anc, hb=hb, plt=plt, crp=crp, ferritin=ferritin))
    assert [res.points[k] for k in ORDER] == points, case
    assert (res.value, res.group) == (score, group), case


def test_hematotox_3_thresholds_given_in_other_units():
    # HT-3 with every threshold in its other unit (scores.md §7): ANC 1200/uL, platelets 175000/uL,
    # CRP 30 mg/L, Hb 90 g/L, ferritin 650 ug/L.  Float conversion noise (e.g. 7 * 0.1 = 0.7000000000000001) must not
    # move a value off its threshold.
    res = compute("car-hematotox", dict(anc="1200 /uL", hb="90 g/L", plt="175000/uL", crp="30 mg/L",
                                        ferritin="650 ug/L"))
    assert [res.points[k] for k in ORDER] == [1, 1, 1, 1, 1]


def test_hematotox_just_beyond_each_threshold_by_hand():
    # one step past each equality point flips the item (developer-code conventions, scores.md §7)
    res = compute("car-hematotox", dict(anc=1.21, hb=9.01, plt=175.1, crp=2.99, ferritin=649.9))
    assert [res.points[k] for k in ORDER] == [0, 0, 0, 0, 0]
    res = compute("car-hematotox", dict(anc=1.2, hb=9.0, plt=74.9, crp=3.0, ferritin=2000.1))
    assert [res.points[k] for k in ORDER] == [2, 1, 1, 1, 2]


def test_hematotox_group_edges_and_alternative_cutoff():
    one = compute("car-hematotox", dict(anc=1.0, hb=12, plt=200, crp=0.1, ferritin=100))    # 1 point
    two = compute("car-hematotox", dict(anc=1.0, hb=8, plt=200, crp=0.1, ferritin=100))     # 2 points
    assert (one.value, one.group, two.value, two.group) == (1, "HT-low", 2, "HT-high")
    # the CAR-IMPI study split at >= 3 (seed_results.md 001)
    assert compute("car-hematotox", dict(anc=1.0, hb=8, plt=200, crp=0.1, ferritin=100),
                   high_cutoff=3).group == "HT-low"


def test_hematotox_missing_value_is_not_computable():
    res = compute("car-hematotox", dict(anc=1.0, hb=8, plt=200, crp=None, ferritin=100))
    assert not res.computable and res.value is None
    assert res.messages == ("not computable: missing crp",)


# score_cases.md F
def test_easix_e1():
    res = compute("easix", dict(ldh=250, creatinine=1.0, plt=200))
    assert res.value == pytest.approx(1.25, abs=1e-12)
    assert res.to_dict()["log2"] == pytest.approx(0.321928, abs=1e-6)
    assert res.group == "low"


def test_easix_e3_is_high_and_the_cutoff_itself_is_not():
    assert compute("easix", dict(ldh=468, creatinine=1.0, plt=100)).group == "high"      # 4.68 > 4.67
    at = compute("easix", dict(ldh=467, creatinine=1.0, plt=100))                       # exactly 4.67
    assert at.value == pytest.approx(4.67) and at.group == "low"


def test_easix_creatinine_in_umol_per_litre():
    # 88.4 umol/L = 1.0 mg/dL (scores.md §10): same EASIX as E-1, not 88 times larger
    assert compute("easix", dict(ldh=250, creatinine="88.4 umol/L", plt=200)).value == pytest.approx(1.25)


def test_m_easix_m1_m3_and_simplified_se1():
    m1 = compute("m-easix", dict(ldh=250, crp=2.0, plt=100))
    assert m1.value == pytest.approx(5.0) and m1.to_dict()["log2"] == pytest.approx(2.321928, abs=1e-6)
    assert m1.group is None                                    # no published m-EASIX cutoff (§8.2)
    assert compute("m-easix", dict(ldh=250, crp=2.0, plt="100000/uL")).value == pytest.approx(5.0)
    assert compute("m-easix", dict(ldh=250, crp="20 mg/L", plt=100)).value == pytest.approx(5.0)
    assert compute("simplified-easix", dict(ldh=250, plt=100)).value == pytest.approx(2.5)


def test_easix_zero_platelets_refused():
    from cartlens.scores import ScoreInputError

    with pytest.raises(ScoreInputError, match="platelets must be > 0") as info:
        compute("easix", dict(ldh=250, creatinine=1.0, plt=0))
    assert info.value.field == "plt"


def test_easix_log2_is_none_for_zero_value():
    res = compute("m-easix", dict(ldh=250, crp=0, plt=100))
    assert res.value == 0.0 and res.to_dict()["log2"] is None
    assert not math.isnan(res.value)


def test_hematotox_points_tolerates_conversion_noise():
    from decimal import Decimal

    from cartlens.scores.hematotox import hematotox_points

    # 12 * 0.1 = 1.2000000000000002 in binary floating point; the item must still score (ANC <= 1.2)
    noisy = Decimal(str(12 * 0.1))
    assert noisy > Decimal("1.2")
    assert hematotox_points(Decimal(200), noisy, Decimal(11), Decimal("0.5"), Decimal(300))["anc"] == 1
