"""Unit safety: the same patient in different units gives the same score; unit slips are refused."""

from __future__ import annotations

import pytest

from cartlens.scores import ScoreInputError, compute

SI = dict(anc="2800/uL", hb="95 g/L", plt="140000/uL", crp="35 mg/L", ferritin="700 ug/L")
CONVENTIONAL = dict(anc=2.8, hb=9.5, plt=140, crp=3.5, ferritin=700)


def test_same_patient_in_two_unit_systems_scores_the_same():
    a, b = compute("car-hematotox", SI), compute("car-hematotox", CONVENTIONAL)
    # by hand: plt 140 -> 1, ANC 2.8 -> 0, Hb 9.5 -> 0, CRP 3.5 -> 1, ferritin 700 -> 1
    assert a.points == b.points == {"plt": 1, "anc": 0, "hb": 0, "crp": 1, "ferritin": 1}
    assert compute("m-easix", dict(ldh=300, crp="35 mg/L", plt="140000/uL")).value == pytest.approx(
        compute("m-easix", dict(ldh=300, crp=3.5, plt=140)).value)
    assert compute("car-hematotox", dict(CONVENTIONAL, hb="5.9 mmol/L")).points["hb"] == 0   # 5.9*1.611 = 9.5


@pytest.mark.parametrize(("score", "field", "value", "message"), [
    ("car-hematotox", "crp", "45 mg/dL", r"implausible.*did you mean mg/L"),   # CRP 45 stated as mg/dL
    ("car-hematotox", "crp", 45, r"implausible.*did you mean mg/L"),           # bare number = mg/dL
    ("car-hematotox", "plt", 175000, r"implausible.*did you mean /uL"),        # per-uL count as 10^9/L
    ("car-hematotox", "hb", 85, r"implausible.*did you mean g/L"),             # g/L read as g/dL
    ("car-hematotox", "crp", "3 U/L", r"not a unit for crp"),
    ("easix", "creatinine", 88, r"implausible.*did you mean umol/L"),          # umol/L read as mg/dL
])
def test_unit_slips_are_refused_with_the_likely_unit(score, field, value, message):
    base = {"car-hematotox": CONVENTIONAL, "easix": dict(ldh=250, creatinine=1.0, plt=200)}[score]
    with pytest.raises(ScoreInputError, match=message) as info:
        compute(score, {**base, field: value})
    assert info.value.field == field


def test_censored_value_is_scored_at_its_limit_with_a_message():
    res = compute("car-hematotox", dict(CONVENTIONAL, crp="<0.5 mg/dL"))
    assert res.points["crp"] == 0
    assert any("censored" in m for m in res.messages)
