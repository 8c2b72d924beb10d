"""``cartlens stats groups`` and ``stats table`` (cli.md keys) against the R group-test fixture."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cartlens.cli import app

REF = json.loads((Path(__file__).parents[1] / "reference" / "prognostic_grouptests.json").read_text())


def _json(args: list[str]) -> dict:
    res = CliRunner().invoke(app, ["stats", *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output.strip().splitlines()[-1])


def test_groups_json_matches_r(tmp_path: Path) -> None:
    case = next(c for c in REF["two"] if c["name"] == "ties_40_35")
    path = tmp_path / "g.csv"
    pd.DataFrame({"arm": ["A"] * len(case["x"]) + ["B"] * len(case["y"]),
                  "ldh": case["x"] + case["y"]}).to_csv(path, index=False)
    body = _json(["groups", "--data", str(path), "--group", "arm", "--value", "ldh"])
    assert body["mannwhitney"]["statistic"] == case["W"]
    assert body["mannwhitney"]["p"] == pytest.approx(case["p_normal_cc"], rel=1e-9)
    assert body["kruskal"]["statistic"] == pytest.approx(case["kruskal"], rel=1e-9)
    assert body["kruskal"]["p"] == pytest.approx(case["kruskal_p"], rel=1e-9)


def test_table_json_matches_r(tmp_path: Path) -> None:
    case = next(c for c in REF["tables"] if c["name"] == "3x3_n60")
    counts = np.asarray(case["t"])
    rows = [(f"r{i}", f"c{j}") for i in range(3) for j in range(3) for _ in range(counts[i, j])]
    path = tmp_path / "t.csv"
    pd.DataFrame(rows, columns=["ecog", "group"]).to_csv(path, index=False)
    body = _json(["table", "--data", str(path), "--row", "ecog", "--col", "group"])
    assert body["chisq"]["statistic"] == pytest.approx(case["chisq"], rel=1e-9)
    assert body["chisq"]["p"] == pytest.approx(case["chisq_p"], rel=1e-9)
    assert body["fisher"]["p"] == pytest.approx(case["fisher_p"], rel=1e-6)
