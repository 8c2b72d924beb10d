"""End to end through ``cartlens stats km|logrank|cox --format json`` on 24 random R cohorts.

Cohorts and R's answers: tests/reference/survival_random.R (ties of four kinds, heavy censoring, 1-5 centres as
strata, a log-normal marker, a text factor expanded as R's treatment contrasts).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cartlens.cli import app

try:  # tests/stats as a package or as a plain directory of test modules
    from ._survival_ref import load, why
except ImportError:
    from _survival_ref import load, why  # type: ignore[no-redef]

REF = load("survival_random")
runner = CliRunner()


def _json(*args: str) -> dict:
    res = runner.invoke(app, ["stats", *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _nan(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@pytest.fixture(params=range(len(REF["cohorts"])), ids=lambda i: f"cohort{i + 1}")
def cohort(request, tmp_path: Path) -> tuple[dict, Path]:
    ref = REF["cohorts"][request.param]
    frame = pd.DataFrame(ref["data"])
    frame["logmtv"] = np.log(frame["mtv"])
    path = tmp_path / "cohort.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    return ref, path


def test_km(cohort) -> None:
    ref, path = cohort
    base = ["km", "--data", str(path), "--time", "time", "--event", "status", "--group", "grp"]
    for conf_type in ("log", "log-log"):
        r = ref[f"km_{conf_type}"]
        body = _json(*base, "--conf-type", conf_type, "--times", ",".join(map(str, REF["times_at"])))
        for i, level in enumerate(r["strata"]):
            g = body["groups"][level]
            got = _nan([g["median"], g["median_lower"], g["median_upper"]])
            want = _nan([r["median"][i], r["lower"][i], r["upper"][i]])
            np.testing.assert_allclose(got, want, rtol=1e-9, equal_nan=True, err_msg=f"{why(REF)} {level}")
        at_rows = {(lvl, t): k for k, (lvl, t) in enumerate(zip(r["at_strata"], r["at_time"]))}
        for level, g in body["groups"].items():
            for row in g["at"]:
                k = at_rows[(level, row["time"])]
                assert row["n_risk"] == r["n_risk"][k]
                np.testing.assert_allclose(_nan([row["surv"], row["lower"], row["upper"]]),
                                           _nan([r["surv"][k], r["at_lower"][k], r["at_upper"][k]]),
                                           rtol=1e-9, equal_nan=True)


def test_logrank(cohort) -> None:
    ref, path = cohort
    base = ["logrank", "--data", str(path), "--time", "time", "--event", "status", "--group", "grp"]
    body = _json(*base)
    assert body["chisq"] == pytest.approx(ref["logrank"]["chisq"], rel=1e-6)
    assert body["p"] == pytest.approx(ref["logrank"]["p"], rel=1e-6, abs=1e-12)
    if "logrank_strata" in ref:
        body = _json(*base, "--strata", "ctr")
        assert body["chisq"] == pytest.approx(ref["logrank_strata"]["chisq"], rel=1e-6)


def _check_cox(body: dict, r: dict, names: list[str]) -> None:
    np.testing.assert_allclose([body["coef"][n]["coef"] for n in names], r["coef"], rtol=1e-6)
    np.testing.assert_allclose([body["coef"][n]["se"] for n in names], r["se"], rtol=1e-6)
    np.testing.assert_allclose(body["loglik"], r["loglik"], rtol=1e-9)
    np.testing.assert_allclose([body["score_test"]["chisq"], body["wald_test"]["chisq"]], [r["score"], r["wald"]],
                               rtol=1e-6)
    np.testing.assert_allclose([body["concordance"]["c"], body["concordance"]["se"]], r["concordance"], rtol=1e-6)


def test_cox(cohort) -> None:
    ref, path = cohort
    base = ["cox", "--data", str(path), "--time", "time", "--event", "status"]
    names = ["mtv", "age", "stage"]
    _check_cox(_json(*base, "--covariates", "mtv,age,stage"), ref["cox_efron"], names)
    _check_cox(_json(*base, "--covariates", "mtv,age,stage", "--ties", "breslow"), ref["cox_breslow"], names)
    if "cox_strata" in ref:
        _check_cox(_json(*base, "--covariates", "mtv,age,stage", "--strata", "ctr"), ref["cox_strata"], names)
    body = _json(*base, "--covariates", "logmtv,grp")
    _check_cox(body, ref["cox_factor"], ["logmtv", "grplow", "grpmid"])
