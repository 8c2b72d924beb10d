"""Severe4, Deauville, ASTCT CRS / ICANS / ICE against score_cases.md G-J and hand-worked rules."""

from __future__ import annotations

import pytest

from cartlens.scores import ScoreInputError, compute

# ---------------------------------------------------------------------------------------- Severe4 (G)


@pytest.mark.parametrize(("case", "ratings", "expected"), [
    ("S4-1", dict(respiratory=3, upper_gi=2, hepatic=2, renal=2), 1),     # 3 is "severe" [boundary]
    ("S4-3", dict(respiratory=2, upper_gi=2, hepatic=2, renal=2), 0),     # not additive
    ("S4-5", dict(respiratory=0, upper_gi=0, hepatic=3, renal=4), 1),     # two systems still 1
])
def test_severe4_cases(case, ratings, expected):
    assert compute("severe4", ratings).value == expected, case


def test_severe4_missing_system_not_computable():
    res = compute("severe4", dict(respiratory=4, upper_gi=0, hepatic=0))
    assert not res.computable and "renal" in res.messages[0]


def test_severe4_rating_out_of_range():
    with pytest.raises(ScoreInputError, match="allowed range"):
        compute("severe4", dict(respiratory=5, upper_gi=0, hepatic=0, renal=0))


# --------------------------------------------------------------------------------------- Deauville (H)


@pytest.mark.parametrize(("case", "inputs", "ds"), [
    ("D-1", dict(lesion="none"), 1),
    ("D-3", dict(lesion=2.2, mbp=1.8, liver=2.5), 3),
    ("D-5", dict(lesion=3.5, mbp=1.8, liver=2.5), 4),                     # 1.4 x liver
    ("D-7", dict(new_lesion="lymphoma"), 5),
])
def test_deauville_cases(case, inputs, ds):
    assert compute("deauville", inputs).value == ds, case


def test_deauville_boundaries_by_hand():
    ref = dict(mbp=1.8, liver=2.5)
    assert compute("deauville", {**ref, "lesion": 1.8}).value == 2        # = MBP -> 2 (<= mediastinum)
    assert compute("deauville", {**ref, "lesion": 2.5}).value == 3        # = liver -> 3 (<= liver)
    assert compute("deauville", {**ref, "lesion": 5.0}).value == 4        # = 2.0 x liver -> not markedly higher
    assert compute("deauville", {**ref, "lesion": 5.01}).value == 5
    assert compute("deauville", {**ref, "lesion": 5.0}, multiplier=1.5).value == 5   # 5.0 > 3.75


def test_deauville_x_and_recorded_mismatch():
    assert compute("deauville", dict(new_lesion="unlikely")).group == "DS X"
    res = compute("deauville", dict(lesion=3.5, mbp=1.8, liver=2.5, recorded="3"))
    assert res.to_dict()["mismatch"] is True and "differs" in res.messages[-1]
    assert compute("deauville", dict(lesion=3.5, mbp=1.8, liver=2.5, recorded=4)).to_dict()["mismatch"] is False


def test_deauville_needs_reference_regions():
    res = compute("deauville", dict(lesion=3.0))
    assert not res.computable and "mbp" in res.messages[0]


# --------------------------------------------------------------------------------------------- CRS (I)


@pytest.mark.parametrize(("case", "inputs", "grade"), [
    ("CRS-1", dict(temperature=38.5, hypotension="none", oxygen="none"), 1),
    ("CRS-3", dict(temperature=38.2, hypotension="none", oxygen="nasal_cannula", o2_flow=6), 2),
    ("CRS-5", dict(temperature=39.0, hypotension="one_vasopressor", vasopressors="norepinephrine+vasopressin",
                   oxygen="none"), 3),
    ("CRS-7", dict(temperature=38.6, hypotension="none", oxygen="bipap"), 4),
    ("CRS-9", dict(temperature=37.9, hypotension="none", oxygen="none"), 0),
    ("CRS-11", dict(temperature=38.4, hypotension="no_vasopressor", oxygen="facemask"), 3),
])
def test_crs_cases(case, inputs, grade):
    assert compute("crs", inputs).value == grade, case


def test_crs_rules_by_hand():
    # NC 6.5 L/min is high-flow (> 6) -> 3; two non-vasopressin pressors -> 4; 100.4 F = 38.0 C is fever
    assert compute("crs", dict(temperature=38.1, hypotension="none", oxygen="nasal_cannula", o2_flow=6.5)).value == 3
    assert compute("crs", dict(temperature=38.1, vasopressors="norepinephrine,phenylephrine",
                               oxygen="none")).value == 4
    assert compute("crs", dict(temperature="100.4 F", hypotension="none", oxygen="none")).value == 1
    # after tocilizumab fever is not required: afebrile with one vasopressor -> 3
    assert compute("crs", dict(temperature=37.0, hypotension="one_vasopressor", oxygen="none",
                               prior_therapy="yes")).value == 3
    # without prior therapy, no fever -> not CRS, with a message
    res = compute("crs", dict(temperature=37.0, hypotension="one_vasopressor", oxygen="none"))
    assert res.value == 0 and "no fever" in res.messages[0]
    assert compute("crs", dict(hypotension="none", oxygen="none", death="yes")).value == 5


def test_crs_recorded_grade_mismatch_flagged():
    res = compute("crs", dict(temperature=38.5, hypotension="none", oxygen="facemask", recorded=2))
    assert res.value == 3 and res.to_dict()["mismatch"] is True


def test_crs_missing_temperature_not_computable():
    res = compute("crs", dict(hypotension="none", oxygen="none"))
    assert not res.computable and "temperature" in res.messages[0]


def test_crs_contradicting_hypotension_refused():
    with pytest.raises(ScoreInputError, match="contradicts") as info:
        compute("crs", dict(temperature=38.5, hypotension="none", vasopressors="norepinephrine", oxygen="none"))
    assert info.value.field == "hypotension"


def test_crs_vasopressin_alone_refused():
    with pytest.raises(ScoreInputError, match="vasopressin alone"):
        compute("crs", dict(temperature=38.5, hypotension="one_vasopressor", vasopressors="vasopressin",
                            oxygen="none"))


# ------------------------------------------------------------------------------------------- ICANS (J)

NONE = dict(seizure="none", motor="none", icp="none")


@pytest.mark.parametrize(("case", "inputs", "grade"), [
    ("ICANS-1", dict(ice=10, consciousness="alert", **NONE), 0),
    ("ICANS-3", dict(ice=6, consciousness="awakens_to_voice", **NONE), 2),
    ("ICANS-5", dict(ice=2, consciousness="awakens_to_voice", **NONE), 3),
    ("ICANS-7", dict(ice=0, consciousness="unarousable", **NONE), 4),
    ("ICANS-9", dict(ice=8, consciousness="awakens_spontaneously", seizure="none", motor="none",
                     icp="diffuse_oedema"), 4),
])
def test_icans_cases(case, inputs, grade):
    assert compute("icans", inputs).value == grade, case


def test_icans_awake_ice_zero_is_grade_3_and_unarousable_needs_no_ice():
    assert compute("icans", dict(ice=0, consciousness="alert", **NONE)).value == 3
    assert compute("icans", dict(consciousness="unarousable", **NONE)).value == 4
    assert not compute("icans", dict(consciousness="alert", **NONE)).computable


def test_icans_ice_bands_by_hand():
    grades = [compute("icans", dict(ice=i, consciousness="alert", **NONE)).value for i in (9, 7, 6, 3, 2)]
    assert grades == [1, 1, 2, 2, 3]


def test_ice_worked_example():
    # score_cases.md J: orientation 3/4, naming 3/3, command 1, writing 1, attention 0 -> ICE 8
    items = dict(ice_orientation=3, ice_naming=3, ice_command=1, ice_writing=1, ice_attention=0)
    assert compute("ice", items).value == 8
    assert compute("icans", dict(items, consciousness="alert", **NONE)).value == 1
    with pytest.raises(ScoreInputError, match="differs from the sum"):
        compute("icans", dict(items, ice=9, consciousness="alert", **NONE))


def test_deauville_needs_only_the_regions_the_decision_uses():
    assert compute("deauville", dict(lesion=1.5, mbp=1.8)).value == 2            # <= MBP: liver not needed
    assert compute("deauville", dict(lesion=6.0, liver=2.5)).value == 5          # > 2 x liver: MBP not needed
    res = compute("deauville", dict(lesion=2.2, liver=2.5))                      # 2 or 3 depends on MBP
    assert not res.computable and "mbp" in res.messages[0]
