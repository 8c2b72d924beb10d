"""``cartlens stats cutpoint`` (cli.md keys) against the R maxstat fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cartlens.cli import app

REF = json.loads((Path(__file__).parents[1] / "reference" / "prognostic_maxstat.json").read_text())
DLBCL = next(c for c in REF["cases"] if c["name"] == "DLBCL_MGE")


@pytest.fixture()
def dlbcl_csv(tmp_path: Path) -> Path:
    path = tmp_path / "dlbcl.csv"
    frame = pd.DataFrame({"time": DLBCL["time"], "cens": DLBCL["event"], "MGE": DLBCL["x"]})
    frame.loc[len(frame)] = ["", 1, 0.5]                      # a missing time: dropped as R's na.omit
    frame.to_csv(path, index=False)
    return path


def _run(args: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["stats", "cutpoint", *args])
    return res.exit_code, res.output


@pytest.mark.parametrize(("pmethod", "key", "stat_key"), [
    ("Lau92", "Lau92", "statistic"), ("Lau94", "Lau94", "statistic"), ("HL", "HL", "HL_statistic")])
def test_cutpoint_json_matches_r(dlbcl_csv: Path, pmethod: str, key: str, stat_key: str) -> None:
    code, out = _run(["--data", str(dlbcl_csv), "--time", "time", "--event", "cens", "--variable", "MGE",
                      "--pmethod", pmethod, "--format", "json"])
    assert code == 0, out
    body = json.loads(out.strip().splitlines()[-1])
    assert body["cutpoint"] == DLBCL["cutpoint"]
    assert body["statistic"] == pytest.approx(DLBCL[stat_key], rel=1e-9)
    assert body["p"] == pytest.approx(DLBCL[key], rel=1e-6)
    assert body["n"] == 40 and body["n_dropped_missing"] == 1


def test_cutpoint_default_pmethod_is_r_none(dlbcl_csv: Path) -> None:
    code, out = _run(["--data", str(dlbcl_csv), "--time", "time", "--event", "cens", "--variable", "MGE",
                      "--format", "json"])
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["p"] is None


def test_cutpoint_bad_event_exits_2_with_location(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"t": [1, 2, 3], "e": [1, 2, 1], "x": [1, 2, 3]}).to_csv(path, index=False)
    res = CliRunner().invoke(app, ["stats", "cutpoint", "--data", str(path), "--time", "t", "--event", "e",
                                   "--variable", "x", "--format", "json"])
    assert res.exit_code == 2
    assert "bad.csv:3:e:" in res.output
