"""IPI, aaIPI, R-IPI and NCCN-IPI against score_cases.md A-B (hand-checked cases of the spec)."""

from __future__ import annotations

import pytest

from cartlens.scores import ScoreInputError, compute
from cartlens.scores.ipi import count_extranodal_sites

# score_cases.md A: (id, age, ldh, uln, ecog, stage, sites, ipi, ipi group, r-ipi group, aaipi, aaipi group)
IPI_CASES = [
    ("IPI-1", 60, 250, 250, 1, "II", 1, 0, "Low", "Very good", 0, "Low"),
    ("IPI-3", 45, 300, 250, 0, "IV", 0, 2, "Low-intermediate", "Good", 2, "High-intermediate"),
    ("IPI-5", 66, 500, 250, 1, "IV", 1, 3, "High-intermediate", "Poor", 2, "High-intermediate"),
    ("IPI-7", 72, 375, 250, 2, "III", 1, 4, "High", "Poor", 3, "High"),
]


@pytest.mark.parametrize(("case", "age", "ldh", "uln", "ecog", "stage", "sites", "ipi", "group", "ripi",
                          "aaipi", "aagroup"), IPI_CASES)
def test_ipi_family_score_cases(case, age, ldh, uln, ecog, stage, sites, ipi, group, ripi, aaipi, aagroup):
    inputs = dict(age=age, ldh=ldh, ldh_uln=uln, ecog=ecog, stage=stage, extranodal_sites=sites)
    res = compute("ipi", inputs)
    assert (res.value, res.group) == (ipi, group), case
    assert compute("ripi", inputs).group == ripi, case
    aa = compute("aaipi", {k: v for k, v in inputs.items() if k not in {"age", "extranodal_sites"}})
    assert (aa.value, aa.group) == (aaipi, aagroup), case


def test_ipi_1_boundaries_give_no_points():
    # IPI-1: age 60 is not > 60; LDH/ULN 1.00 is not elevated; 1 site is not > 1 (scores.md §1)
    pts = compute("ipi", dict(age=60, ldh=250, ldh_uln=250, ecog=1, stage=2, extranodal_sites=1)).points
    assert pts == {"age": 0, "ldh": 0, "ecog": 0, "stage": 0, "extranodal_sites": 0}


def test_ipi_group_edges_by_hand():
    # 5 factors present: IPI 5 -> High; R-IPI Poor.  ECOG 2 is the first point (>= 2).
    inputs = dict(age=61, ldh=251, ldh_uln=250, ecog=2, stage=3, extranodal_sites=2)
    res = compute("ipi", inputs)
    assert (res.value, res.group) == (5, "High")
    assert compute("ripi", inputs).group == "Poor"
    # exactly one factor (age): IPI 1 -> Low; R-IPI 1 -> Good
    one = dict(age=61, ldh=200, ldh_uln=250, ecog=1, stage=2, extranodal_sites=0)
    assert compute("ipi", one).group == "Low"
    assert compute("ripi", one).group == "Good"


def test_ldh_ratio_uses_the_local_uln():
    # LDH 400 is elevated against an IFCC ULN of 250 but not against a lactate->pyruvate ULN of 480 (§1)
    base = dict(ecog=0, stage=1)
    assert compute("aaipi", {**base, "ldh": 400, "ldh_uln": 250}).points["ldh"] == 1
    assert compute("aaipi", {**base, "ldh": 400, "ldh_uln": 480}).points["ldh"] == 0


def test_ldh_in_ukat_per_litre_is_converted():
    # 1 ukat/L = 60 U/L: 5 ukat/L = 300 U/L > ULN 250
    res = compute("aaipi", dict(ldh="5 ukat/L", ldh_uln=250, ecog=0, stage=1))
    assert res.points["ldh"] == 1
    assert res.to_dict()["ldh_ratio"] == pytest.approx(300 / 250)


def test_extranodal_site_names_follow_the_counting_rule():
    # spleen and Waldeyer's ring are lymphatic (Ann Arbor); nodal sites do not count; a repeated site once
    assert count_extranodal_sites("spleen;waldeyer;cervical") == 0
    assert count_extranodal_sites("bone_marrow;liver;liver") == 2
    assert count_extranodal_sites(["bone", "skin"]) == 2
    res = compute("ipi", dict(age=50, ldh=100, ldh_uln=250, ecog=0, stage=4, extranodal_sites="spleen;liver"))
    assert res.points["extranodal_sites"] == 0          # 1 extranodal site is not > 1


# score_cases.md B: (id, age, ldh ratio as ldh/uln, stage, key site, ecog, points, total, group)
NCCN_CASES = [
    ("N-1", 40, (250, 250), 2, "no", 1, [0, 0, 0, 0, 0], 0, "Low"),
    ("N-3", 60, (250, 250), 1, "no", 0, [1, 0, 0, 0, 0], 1, "Low"),
    ("N-5", 75, (250, 250), 1, "no", 0, [2, 0, 0, 0, 0], 2, "Low-intermediate"),
    ("N-7", 50, (750, 250), 1, "no", 0, [1, 1, 0, 0, 0], 2, "Low-intermediate"),
    ("N-9", 30, (200, 250), 4, "bone_marrow", 0, [0, 0, 1, 1, 0], 2, "Low-intermediate"),
    ("N-11", 62, (800, 250), 3, "lung", 1, [2, 2, 1, 1, 0], 6, "High"),
    ("N-13", 58, (600, 250), 2, "no", 2, [1, 1, 0, 0, 1], 3, "Low-intermediate"),
    ("N-15", 68, (350, 250), 4, "cns;liver;bone_marrow", 1, [2, 1, 1, 1, 0], 5, "High-intermediate"),
]


@pytest.mark.parametrize(("case", "age", "ldh", "stage", "key", "ecog", "points", "total", "group"), NCCN_CASES)
def test_nccn_ipi_score_cases(case, age, ldh, stage, key, ecog, points, total, group):
    res = compute("nccn-ipi", dict(age=age, ldh=ldh[0], ldh_uln=ldh[1], stage=stage, key_extranodal=key,
                                   ecog=ecog))
    order = ["age", "ldh", "stage", "key_extranodal", "ecog"]
    assert [res.points[k] for k in order] == points, case
    assert (res.value, res.group) == (total, group), case


def test_nccn_age_and_ldh_bands_by_hand():
    base = dict(ldh=250, ldh_uln=250, stage=1, key_extranodal="no", ecog=0)
    # age bands <=40 / 41-60 / 61-75 / >75 (scores.md §4)
    assert [compute("nccn-ipi", {**base, "age": a}).points["age"] for a in (41, 61, 76)] == [1, 2, 3]
    # LDH ratio 3.004 (751/250) is > 3 -> 2 points; 1.004 (251/250) is > 1 -> 1 point
    assert compute("nccn-ipi", {**base, "age": 30, "ldh": 751}).points["ldh"] == 2
    assert compute("nccn-ipi", {**base, "age": 30, "ldh": 251}).points["ldh"] == 1


def test_nccn_non_key_sites_and_pleura_switch():
    base = dict(age=30, ldh=250, ldh_uln=250, stage=1, ecog=0)
    assert compute("nccn-ipi", {**base, "key_extranodal": "bone;kidney;skin"}).points["key_extranodal"] == 0
    assert compute("nccn-ipi", {**base, "key_extranodal": "pleura"}).points["key_extranodal"] == 0
    assert compute("nccn-ipi", {**base, "key_extranodal": "pleura"},
                   pleura_as_lung=True).points["key_extranodal"] == 1
    assert compute("nccn-ipi", {**base, "key_extranodal": "gi_tract"}).points["key_extranodal"] == 1


def test_missing_component_is_not_computable_never_zero():
    res = compute("ipi", dict(age=70, ldh=300, ldh_uln=250, stage=3, extranodal_sites=2))
    assert res.computable is False and res.value is None and res.group is None
    assert "ecog" in res.messages[0]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("stage", "V", r"not an Ann Arbor stage"),
    ("ecog", 5, r"outside the allowed range"),
    ("ecog", 1.5, r"whole number"),
    ("age", 150, r"outside the allowed range"),
    ("extranodal_sites", "moon", r"unknown site"),
    ("ldh", "300 mg/dL", r"not a unit for ldh"),
])
def test_ipi_rejects_bad_values(field, value, message):
    inputs = dict(age=60, ldh=250, ldh_uln=250, ecog=1, stage=2, extranodal_sites=1) | {field: value}
    with pytest.raises(ScoreInputError, match=message) as info:
        compute("ipi", inputs)
    assert info.value.field == field


def test_unknown_input_is_refused():
    with pytest.raises(ScoreInputError, match="not an input of ipi"):
        compute("ipi", dict(age=60, ldh=250, ldh_uln=250, ecog=1, stage=2, extranodal_sites=1, crp=1))


def test_aaipi_accepts_the_ipi_input_set():
    # cli.md lists one input set for ipi, aaipi and ripi; age and sites are accepted but not scored
    inputs = dict(age=72, ldh=375, ldh_uln=250, ecog=2, stage="III", extranodal_sites=1)     # IPI-7
    res = compute("aaipi", inputs)
    assert (res.value, res.group) == (3, "High")
    assert "age > 60" in res.messages[0]
