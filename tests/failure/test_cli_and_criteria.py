"""`cartlens failure` (cli.md contract) and the re-run under each response criterion (spec §2.4)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from failure_builders import les, scan, tables
from test_scenarios import p1_tables
from typer.testing import CliRunner

from cartlens.cli import app
from cartlens.failure import analyse_by_criterion
from cartlens.io import write_data_dir


def metabolic_only() -> dict:
    """Index node back to DS 5 at day 90 while still too small to measure: PMD of a pre-existing site.
    Lugano counts PMD as PD; Cheson 2007 needs anatomic change (response_criteria.md §7 table)."""
    s = [scan("P", "BL", -5), scan("P", "FU1", 30), scan("P", "FU2", 90)]
    rows = [les("P", "BL", "A", "axillary", ldi=3.0, sdi=2.0, ds="5", suv=12),
            les("P", "FU1", "A", "axillary", state="too_small", ds="2"),
            les("P", "FU2", "A", "axillary", state="too_small", ds="5", uptake="increased")]
    return tables(s, rows)


def test_pattern_is_re_run_under_each_criterion() -> None:
    out = analyse_by_criterion(metabolic_only(), criteria=("lugano", "cheson2007"), fit_models=False)
    assert out["lugano"].patients.iloc[0]["pattern"] == "strictly_local"
    assert out["cheson2007"].patients.iloc[0]["pattern"] is None
    assert out["lugano"].registry.iloc[0]["failure_mode"] == "metabolic"
    assert not out["cheson2007"].registry.iloc[0]["failed"]


def _data_dir(tmp_path: Path, t: dict) -> Path:
    t = dict(t)
    t["patients"] = pd.DataFrame([{"patient_id": "P", "centre": "C1", "age": 61, "stage": 3}])
    write_data_dir(t, tmp_path)
    return tmp_path


def test_cli_json_contract(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["failure", str(_data_dir(tmp_path, p1_tables())), "--format", "json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    (patient,) = body["patients"]
    assert patient == {**patient, "patient_id": "P", "centre": "C1", "pattern": "strictly_local",
                       "first_pd_scan_id": "FU2", "first_pd_day": 90, "mixed_response": True}
    by_id = {x["lesion_id"]: x for x in body["lesions"]}
    assert by_id["A"]["class"] == "local" and by_id["A"]["failed"] is True and by_id["A"]["index"] is True
    assert by_id["B"]["class"] is None and by_id["B"]["failed"] is False
    assert body["summary"]["patients_with_pd"] == 1 and body["summary"]["strictly_local"] == 1
    assert set(body["model"]) >= {"bulky_5cm", "suv_ge10", "extranodal"}


def test_cli_margin_option_changes_the_fallback_class(tmp_path: Path) -> None:
    c0 = {"centroid_x_mm": 0.0, "centroid_y_mm": 0.0, "centroid_z_mm": 0.0}
    c1 = {"centroid_x_mm": 30.0, "centroid_y_mm": 0.0, "centroid_z_mm": 0.0}     # 30 mm: beyond 15 + 10
    s = [scan("P", "BL", -5), scan("P", "FU1", 60)]
    rows = [les("P", "BL", "A", "axillary", ldi=3.0, sdi=2.0, ds="5", suv=12, **c0),
            les("P", "FU1", "A", "axillary", state="too_small", ds="2", **c0),
            les("P", "FU1", "N", "axillary", ldi=2.0, sdi=1.5, ds="5", **c1)]
    d = _data_dir(tmp_path, tables(s, rows))
    runner = CliRunner()
    classes = {}
    for margin in ("10", "15"):
        res = runner.invoke(app, ["failure", str(d), "--margin-mm", margin, "--format", "json"])
        assert res.exit_code == 0, res.output
        classes[margin] = {x["lesion_id"]: x["class"] for x in json.loads(res.stdout)["lesions"]}["N"]
    assert classes == {"10": "de_novo", "15": "local"}      # 30 mm vs LDi/2 + m = 25 / 30 mm


def test_cli_invalid_input_exits_2_with_location(tmp_path: Path) -> None:
    t = p1_tables()
    t["lesions"].loc[0, "sdi_cm"] = 3.5
    res = CliRunner().invoke(app, ["failure", str(_data_dir(tmp_path, t)), "--format", "json"])
    assert res.exit_code == 2
    assert "lesions.csv:2:sdi_cm" in res.stderr


def test_cli_bad_override_file_exits_2(tmp_path: Path) -> None:
    d = _data_dir(tmp_path / "d", p1_tables())
    ovr = tmp_path / "ovr.csv"
    ovr.write_text("patient_id,lesion_id,field,value\nP,A,colour,red\n")
    res = CliRunner().invoke(app, ["failure", str(d), "--overrides", str(ovr), "--format", "json"])
    assert res.exit_code == 2 and "overrides:1:field: 'colour' is not one of" in res.stderr
