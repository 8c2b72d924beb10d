"""``cartlens response DATA_DIR`` (cli.md, Response section): JSON keys, formats, exit codes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from cartlens.cli import app

from .helpers import FIXTURES, frames, load_case

KEYS = {"patient_id", "centre", "scan_id", "day", "criterion", "category", "reasons", "rules", "spd",
        "spd_change_baseline_pct", "spd_change_nadir_pct", "sld", "flags"}


def write_dir(tmp_path, case_ids=("C21", "C39"), with_patients=True):
    scans, lesions, patients = [], [], []
    for i, cid in enumerate(case_ids):
        s, les = frames(load_case(FIXTURES / f"{cid}.json"), patient=f"P{i}")
        scans.append(s)
        lesions.append(les)
        patients.append({"patient_id": f"P{i}", "centre": "C", "age": 60, "stage": 3})
    pd.concat(scans).to_csv(tmp_path / "scans.csv", index=False)
    pd.concat(lesions).to_csv(tmp_path / "lesions.csv", index=False)
    if with_patients:
        pd.DataFrame(patients).to_csv(tmp_path / "patients.csv", index=False)
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(app, ["response", *map(str, args)])


@pytest.mark.parametrize("with_patients", [True, False])
def test_json_contract(tmp_path, with_patients) -> None:
    result = invoke(write_dir(tmp_path, with_patients=with_patients), "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert len(body) == (1 + 2) * 4            # C21 one follow-up, C39 two; four criteria each
    for obj in body:
        assert KEYS <= set(obj)
        assert ("ct_category" in obj) == (obj["criterion"] == "lugano")
    lyric = [o for o in body if o["patient_id"] == "P0" and o["criterion"] == "lyric"][0]
    assert (lyric["category"], lyric["reasons"]) == ("IR2a", ["NL"])     # C21 expected file
    lug = [o for o in body if o["patient_id"] == "P0" and o["criterion"] == "lugano"][0]
    assert lug["pet_category"] == "PMD" and lug["spd"] == pytest.approx(2.5 * 2 + 1.8 * 1.2 + 1.5 * 1.0)


def test_criteria_subset_and_csv(tmp_path) -> None:
    result = invoke(write_dir(tmp_path), "--criteria", "recil,lugano", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("patient_id,centre,scan_id,day,criterion,category,reasons,rules")
    assert len(lines) == 1 + 3 * 2


def test_options_file(tmp_path) -> None:
    (tmp_path / "d").mkdir()
    data = write_dir(tmp_path / "d", ("C35",))
    opts = tmp_path / "o.toml"
    opts.write_text('A8 = "best"\n')
    body = json.loads(invoke(data, "--format", "json", "--options", opts).stdout)
    assert [o["category"] for o in body if o["criterion"] == "lugano"] == ["PR"]   # NMR + CT PR, "best"


@pytest.mark.parametrize(("args", "message"), [
    (("--criteria", "lugano,who"), "--criteria"),
    (("--options", "MISSING.toml"), "cannot read options"),
])
def test_bad_arguments_exit_2(tmp_path, args, message) -> None:
    result = invoke(write_dir(tmp_path), *args, "--format", "json")
    assert result.exit_code == 2 and message in result.stderr


def test_unknown_option_key_exit_2(tmp_path) -> None:
    opts = tmp_path / "o.toml"
    opts.write_text("A14 = \"ihp\"\nfoo = 1\n")
    result = invoke(write_dir(tmp_path), "--options", opts, "--format", "json")
    assert result.exit_code == 2 and "unknown response option 'foo'" in result.stderr


def test_invalid_lesion_row_names_file_row_column(tmp_path) -> None:
    data = write_dir(tmp_path)
    lesions = pd.read_csv(data / "lesions.csv")
    lesions.loc[2, "state"] = "gone"
    lesions.to_csv(data / "lesions.csv", index=False)
    result = invoke(data, "--format", "json")
    assert result.exit_code == 2
    assert "lesions.csv:4:state" in result.stderr


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("C*.json")), ids=lambda p: p.stem)
def test_every_fixture_through_the_cli(tmp_path, path) -> None:
    # The acceptance path: a data directory -> cartlens response --format json (cartlens.io reader).
    case = load_case(path)
    write_dir(tmp_path, (path.stem,))
    body = json.loads(invoke(tmp_path, "--format", "json").stdout)
    for scan_id, per_criterion in case["expected"].items():
        for criterion, expected in per_criterion.items():
            obj = next(o for o in body if o["scan_id"] == scan_id and o["criterion"] == criterion)
            assert (obj["category"], sorted(obj["reasons"])) == (expected["category"], sorted(expected["reasons"]))
