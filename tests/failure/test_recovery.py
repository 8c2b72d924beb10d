"""Recovery of planted patterns and ORs on a seeded synthetic cohort (failure_sim.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from failure_sim import PLANTED_OR, cohort

from cartlens.failure import analyse


@pytest.fixture(scope="module")
def run():
    tables, truth = cohort()
    return analyse(tables), truth, tables


def test_patterns_are_recovered_exactly(run) -> None:
    res, truth, _ = run
    got = res.patients.set_index("patient_id")
    want = truth.set_index("patient_id")
    assert (got["pattern"].fillna("none") == want["pattern"].fillna("none")).all()
    assert (got["mixed_response"].astype(object).fillna("none") == want["mixed_response"].astype(object).fillna("none")).all()
    s = res.summary_dict()
    counts = want["pattern"].value_counts()
    assert s["strictly_local"] == counts["strictly_local"] and s["mixed"] == counts["mixed"]
    assert s["strictly_de_novo"] == counts["strictly_de_novo"]
    assert s["patients_with_pd"] == int(want["pattern"].notna().sum())


def test_failed_index_lesions_match_the_planted_failures(run) -> None:
    res, _, tables = run
    les = tables["lesions"]
    planted = set(map(tuple, les[(les["scan_id"] == "FU2") & (les["deauville"] == "5") & (les["lesion_id"] != "NEW")]
                  [["patient_id", "lesion_id"]].to_numpy()))
    reg = res.registry
    assert set(map(tuple, reg.loc[reg["failed"], ["patient_id", "lesion_id"]].to_numpy())) == planted


def test_gee_confidence_intervals_cover_the_planted_odds_ratios(run) -> None:
    res, _, _ = run
    model = res.to_dict()["model"]
    for factor, planted in PLANTED_OR.items():
        row = model[factor]
        assert row["or_lower"] < planted < row["or_upper"], (factor, row)
    info = res.models
    assert info["n_events"] == int(res.registry["failed"].sum()) and info["epv"] > 10 and not info["epv_warning"]


def test_json_contract_keys(run) -> None:
    res, _, _ = run
    body = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert {"patients", "lesions", "summary", "model"} <= set(body)
    assert {"patient_id", "centre", "pattern", "first_pd_scan_id", "first_pd_day", "mixed_response"} <= set(
        body["patients"][0])
    assert {"patient_id", "lesion_id", "index", "class", "failed", "bulky_5cm", "suv_ge10", "extranodal"} <= set(
        body["lesions"][0])
    assert {"patients_with_pd", "any_local", "strictly_local", "mixed", "strictly_de_novo"} <= set(body["summary"])
    for k in ("bulky_5cm", "suv_ge10", "extranodal"):
        assert set(body["model"][k]) == {"or", "or_lower", "or_upper", "p"}
    assert {p["pattern"] for p in body["patients"]} <= {"strictly_local", "strictly_de_novo", "mixed", None}
    assert {x["class"] for x in body["lesions"]} <= {"local", "adjacent", "de_novo", None}


def test_tables_of_section_2_6(run) -> None:
    res, truth, _ = run
    t = res.tables()
    assert {"pattern", "lesions", "model", "listing"} <= set(t)
    n_pd = int(truth["pattern"].notna().sum())
    assert t["pattern"].iloc[0].tolist() == ["Patients with PD", str(n_pd), str(n_pd)]
    lt = t["lesions"].set_index(["Factor", "Level"])
    assert lt.loc[("All index lesions", ""), "Index lesions"] == len(res.registry)
    glmm = t["model"][t["model"]["Model"].str.startswith("GLMM")]
    gee = t["model"][t["model"]["Model"] == "GEE multivariable"]
    # conditional ORs equal marginal ones here (no patient effect planted); both near the planted values
    assert np.allclose(glmm["or"].to_numpy(), gee["or"].to_numpy(), rtol=0.1)


def test_patient_level_km_medians_follow_r_midpoint_rule() -> None:
    """Two groups of two patients, all progressing: 'yes' at days 10 and 30, 'no' at 100 and 200.
    KM: S = 0.5 exactly after the first event, so R's median is the midpoint to the next event time:
    (10 + 30) / 2 = 20 and (100 + 200) / 2 = 150 days."""

    from failure_builders import les, scan, tables

    s, rows, pts = [], [], []
    for pid, ldi, pfs in (("Y1", 6.0, 10), ("Y2", 6.0, 30), ("N1", 2.0, 100), ("N2", 2.0, 200)):
        s += [scan(pid, "BL", -5), scan(pid, "FU1", 30)]
        rows += [les(pid, "BL", "A", "lung", ldi=ldi, sdi=1.0, ds="5", suv=5),
                 les(pid, "FU1", "A", "lung", state="too_small", ds="2")]
        pts.append({"patient_id": pid, "centre": "C1", "pfs_days": pfs, "pfs_event": 1, "os_days": 400, "os_event": 0})
    res = analyse(tables(s, rows, pts))
    km = res.models["patient_survival"]["pfs_km_any_bulky_5cm"]
    assert km["yes"]["median_days"] == 20.0 and km["no"]["median_days"] == 150.0
    assert km["yes"]["n"] == 2 and km["no"]["events"] == 2
    section = res.report_section()
    assert section["title"] == "Patterns of failure" and "Figura" in section["method"]
    assert {"pattern", "lesions", "model", "listing", "survival"} <= set(section["tables"])
