"""``cartlens stats km|logrank|cox --format json`` against the R fixtures (spec cli.md keys are a contract)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cartlens.cli import app

try:  # tests/stats as a package or as a plain directory of test modules
    from ._survival_ref import load
except ImportError:
    from _survival_ref import load  # type: ignore[no-redef]

COX, KM = load("survival_cox"), load("survival_km")
runner = CliRunner()


@pytest.fixture()
def lung_csv(tmp_path: Path) -> Path:
    lung = COX["lung"]
    frame = pd.DataFrame({k: lung[k] for k in ("time", "status", "age", "sex", "ph_ecog", "inst")})
    path = tmp_path / "lung.csv"
    frame.to_csv(path, index=False, na_rep="NA")
    return path


def _run(*args: str) -> tuple[int, dict | None, str]:
    res = runner.invoke(app, ["stats", *args, "--format", "json"])
    body = json.loads(res.stdout) if res.exit_code == 0 else None
    return res.exit_code, body, res.stderr if hasattr(res, "stderr") else res.output


def test_cox_json_contract_and_values(lung_csv: Path) -> None:
    code, body, _ = _run("cox", "--data", str(lung_csv), "--time", "time", "--event", "status",
                         "--event-value", "2", "--covariates", "age,sex")
    assert code == 0
    ref = COX["fits"]["efron"]
    assert set(body) >= {"n", "events", "coef", "loglik", "lr_test", "wald_test", "score_test", "concordance"}
    assert set(body["coef"]["sex"]) >= {"coef", "se", "hr", "hr_lower", "hr_upper", "z", "p"}
    np.testing.assert_allclose([body["coef"][k]["coef"] for k in ("age", "sex")], ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(body["loglik"], ref["loglik"], rtol=1e-9)
    np.testing.assert_allclose(body["score_test"]["chisq"], ref["sctest"][0], rtol=1e-6)
    np.testing.assert_allclose([body["concordance"]["c"], body["concordance"]["se"]], ref["concordance"][5:7],
                               rtol=1e-6)
    assert (body["n"], body["events"]) == (228, 165)


def test_cox_strata_drops_missing_like_r(lung_csv: Path) -> None:
    code, body, _ = _run("cox", "--data", str(lung_csv), "--time", "time", "--event", "status",
                         "--event-value", "2", "--covariates", "age,sex", "--strata", "ph_ecog")
    assert code == 0 and body["n_dropped_missing"] == 1
    np.testing.assert_allclose([body["coef"][k]["coef"] for k in ("age", "sex")],
                               COX["fits"]["strata_ecog"]["coef"], rtol=1e-6)


def test_logrank_and_km(lung_csv: Path) -> None:
    code, body, _ = _run("logrank", "--data", str(lung_csv), "--time", "time", "--event", "status",
                         "--event-value", "2", "--group", "sex")
    assert code == 0
    ref = KM["logrank"]["lung_sex"]
    assert body["chisq"] == pytest.approx(ref["chisq"], rel=1e-9) and body["df"] == 1
    assert body["p"] == pytest.approx(ref["p"], rel=1e-9)
    code, body, _ = _run("km", "--data", str(lung_csv), "--time", "time", "--event", "status", "--event-value", "2",
                         "--times", "180,365,730,800,1000,1100")
    assert code == 0
    curve = body["groups"]["all"]
    assert (curve["median"], curve["median_lower"], curve["median_upper"]) == (310, 285, 363)
    ref = KM["lung_km"]["log"]["at"]
    want = {t: i for i, t in enumerate(ref["times"])}
    for row in curve["at"]:
        i = want[row["time"]]
        assert row["n_risk"] == ref["n_risk"][i]
        for key in ("surv", "lower", "upper"):
            if ref[key][i] is None:
                assert row[key] is None
            else:
                assert row[key] == pytest.approx(ref[key][i], rel=1e-9)


def test_km_groups_and_null_median(tmp_path: Path) -> None:
    path = tmp_path / "toy.csv"
    path.write_text("t,e,g\n1,1,a\n2,1,a\n3,1,a\n4,1,a\n5,0,b\n6,1,b\n7,0,b\n8,0,b\n")
    code, body, _ = _run("km", "--data", str(path), "--time", "t", "--event", "e", "--group", "g")
    assert code == 0
    # R print(survfit): a -> 2.5 (exact 0.5 plateau, midpoint), b -> NA (S stays at 0.5 to the end);
    # both are cases 3 and 2 of survival_km.json "median_cases"
    assert [KM["median_cases"][i]["log"][0] for i in (2, 1)] == [2.5, None]
    assert body["groups"]["a"]["median"] == 2.5
    assert body["groups"]["b"]["median"] is None


@pytest.mark.parametrize(("content", "args", "message"), [
    ("t,e\n1,1\nabc,0\n", ["km", "--time", "t", "--event", "e"], "data.csv:3:t: 'abc' is not a finite number"),
    ("t,e\n1,1\n2,2\n", ["km", "--time", "t", "--event", "e"], "data.csv:3:e: '2' is not 0/1"),
    ("t,e\n1,1\n2,0\n", ["km", "--time", "days", "--event", "e"], "data.csv:1:days: column not found"),
])
def test_invalid_input_exit_2(tmp_path: Path, content: str, args: list[str], message: str) -> None:
    path = tmp_path / "data.csv"
    path.write_text(content)
    res = runner.invoke(app, ["stats", args[0], "--data", str(path), *args[1:], "--format", "json"])
    assert res.exit_code == 2
    assert message in res.output


def test_several_strata_columns_as_r_interaction(lung_csv: Path) -> None:
    """--strata a,b == R strata(a, b) (survival_cox.R multi_strata)."""
    ref = COX["multi_strata"]
    base = ["--data", str(lung_csv), "--time", "time", "--event", "status", "--event-value", "2"]
    code, body, _ = _run("logrank", *base, "--group", "sex", "--strata", "ph_ecog,inst")
    assert code == 0 and body["chisq"] == pytest.approx(ref["logrank_chisq"], rel=1e-9)
    code, body, _ = _run("cox", *base, "--covariates", "age", "--strata", "sex,ph_ecog")
    assert code == 0 and body["coef"]["age"]["coef"] == pytest.approx(ref["cox_coef"], rel=1e-7)
