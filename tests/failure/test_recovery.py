"""Recovery of planted patterns and ORs on a seeded synthetic cohort (failure_sim.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cartlens.failure import analyse

from failure_sim import PLANTED_OR, cohort


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
