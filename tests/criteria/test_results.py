"""Per-patient result objects, protocol time points (T-FU) and the T-BL flag."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cartlens.criteria import assess, cheson2007, lugano, lyric, recil

from .helpers import FIXTURES, baseline, frames, lesion, load_case, run, scan


def test_assess_patient_per_criterion() -> None:
    scans, lesions = frames(load_case(FIXTURES / "C37.json"))
    res = lugano.assess_patient(scans, lesions)
    assert [t.category for t in res.timepoints] == ["PD", "PR"]           # C37 expected file
    assert res.timepoints[0].reasons == ("PMD", "TL") and res.timepoints[0].pet_category == "PMD"
    d = res.to_dict()
    json.dumps(d)                                                          # plain JSON types only
    assert d["timepoints"][0]["ct_category"] == "PD"
    assert res.category("FU2", "lugano") == "PR"
    assert lyric.assess_patient(scans, lesions).timepoints[0].category == "IR1"
    assert recil.assess_patient(scans, lesions).timepoints[1].category == "MR"
    assert cheson2007.assess_patient(scans, lesions).timepoints[1].category == "SD"
    assert "ct_category" not in lyric.assess_patient(scans, lesions).timepoints[0].to_dict()


def test_summary_table() -> None:
    scans, lesions = frames(load_case(FIXTURES / "C21.json"))
    from cartlens.criteria import assess_one
    table = assess_one(scans, lesions).summary()
    assert table.loc[("FU1", 30), "lyric"] == "IR2a (NL)"
    assert table.loc[("FU1", 30), "cheson2007"] == "PD (NL)"


def test_assess_one_refuses_two_patients() -> None:
    from cartlens.criteria import assess_one
    s1, l1 = frames(load_case(FIXTURES / "C01.json"), patient="A")
    s2, l2 = frames(load_case(FIXTURES / "C03.json"), patient="B")
    with pytest.raises(ValueError, match="one patient, got 2"):
        assess_one(pd.concat([s1, s2]), pd.concat([l1, l2]))


def test_protocol_timepoints_and_old_baseline() -> None:
    scans = [scan("BL", -40, deterioration=None), scan("A", 20, "ct"), scan("B", 33, "ct"),
             scan("C", 95, "ct"), scan("D", 80, "ct")]
    rows = baseline() + [lesion(s, "T1", 4.0, 3.0) for s in "ABCD"] + \
        [lesion(s, "T2", 3.0, 2.0, site="axillary") for s in "ABCD"] + \
        [lesion(s, "T3", 2.5, 2.0, site="iliac") for s in "ABCD"]
    out = run(scans, rows)
    tp = out[out.criterion == "lugano"].set_index("scan_id")["protocol_timepoint"]
    # FU1 window 21-45 holds only B (day 20 is outside); FU2 window 75-120: |80-90| = |95-90|... D 10, C 5.
    assert tp["B"] == "FU1" and tp["C"] == "FU2" and tp["A"] is None and tp["D"] is None
    assert all("baseline_older_than_30_days" in f for f in out["flags"])   # T-BL: BL at day -40


def test_infusion_day_shifts_the_window_but_not_the_reported_day() -> None:
    case = load_case(FIXTURES / "C25b.json")          # FU2 at day 80: IR1 from infusion at day 0
    scans, lesions = frames(case)
    scans["day"] = scans["day"] + 100                  # calendar-like scale; infusion at day 100
    out = assess(scans, lesions, infusion_day=100)
    row = out[(out.scan_id == "FU2") & (out.criterion == "lyric")].iloc[0]
    assert row.category == "IR1" and row.day == 180
