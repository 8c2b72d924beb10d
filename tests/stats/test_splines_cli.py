"""``cartlens stats spline`` (cli.md keys) against the R splines fixture (lung, rcs(age, 4) + sex)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cartlens.cli import app

REF = json.loads((Path(__file__).parents[1] / "reference" / "prognostic_splines.json").read_text())


def test_spline_json_matches_r(tmp_path: Path) -> None:
    lung = REF["lung"]
    path = tmp_path / "lung.csv"
    pd.DataFrame({"time": lung["time"], "event": lung["event"], "age": lung["age"], "sex": lung["sex"]}).to_csv(
        path, index=False)
    fit = REF["fits"]["rcs4_sex"]
    grid = [fit["ref"], *fit["grid"]]
    res = CliRunner().invoke(app, ["stats", "spline", "--data", str(path), "--time", "time", "--event", "event",
                                   "--variable", "age", "--knots", "4", "--covariates", "sex",
                                   "--grid", ",".join(map(str, grid)), "--format", "json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.output.strip().splitlines()[-1])
    assert body["knots"] == pytest.approx(fit["spec"]["knots"], rel=1e-12)
    assert body["loglik"] == pytest.approx(fit["loglik"], rel=1e-9)
    assert body["log_hr_vs_first_grid_point"][0] == 0.0
    assert body["log_hr_vs_first_grid_point"][1:] == pytest.approx(fit["contrast"], rel=1e-6, abs=1e-12)
