"""`cartlens import` / `cartlens export` through the real CLI entry point (Typer CliRunner)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cartlens.cli import app
from cartlens.store import Store, sqlite_url

from .helpers import DATA, write_files
from .test_io_validation import EXPECTED_ERRORS

runner = CliRunner()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_invalid_directory_lists_every_error_exits_2_and_leaves_db_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "cartlens.db"
    assert runner.invoke(app, ["import", str(DATA / "good"), "--db", str(db)]).exit_code == 0
    store = Store(sqlite_url(db))
    before, digest = store.load_tables(), _sha(db)
    result = runner.invoke(app, ["import", str(DATA / "errors"), "--db", str(db)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    located = [line.split(": ", 1)[0] for line in lines[:-1]]
    assert located == [f"{f}:{r}:{c}" for f, r, c, _ in EXPECTED_ERRORS]
    assert lines[-1] == f"{len(EXPECTED_ERRORS)} error(s); nothing stored"
    assert result.stdout == ""
    assert _sha(db) == digest                       # the file is not even opened for writing
    after = store.load_tables()
    for name, table in before.items():
        assert table.equals(after[name]), name
    store.dispose()


@pytest.mark.parametrize(("files", "expected"), [
    ({"patients.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"},
     "patients.csv:0:-: binary file, not CSV text (save the table as UTF-8 CSV)"),
    ({"patients.csv": b""}, "patients.csv:0:-: file is empty (a header line with the column names is required)"),
    ({"patients.csv": b"patient_id,centre,age,stage\nP1,A,50,2\n", "labs.xlsx": b"not a zip at all"},
     "labs.xlsx:0:-: cannot read as an XLSX workbook (BadZipFile)"),
    ({"patients.parquet": b"PAR1garbage"}, "patients.parquet:0:-: cannot read as a Parquet file"),
    ({"patients.csv": b"patient_id;centre;age;stage\nP1;A;50;2\n"},
     "patients.csv:1:-: columns are separated by ';'; cartlens reads comma-separated files"),
    ({"patients.csv": "patient_id,centre,age,stage\nP\xe9,A,50,2\n".encode("latin-1")},
     "patients.csv:0:-: not UTF-8 text (byte 0xe9 at offset 29); save the table as UTF-8 CSV"),
    ({"patients.csv": b'patient_id,centre,age,stage\nP1,A,50,2\n"P2,A,60,3\n'},
     "patients.csv:3:-: malformed CSV: unexpected end of data"),
    ({"patients.csv": b"patient_id,centre,age,stage\nP1,A,50,2,9,9\n"},
     "patients.csv:2:-: malformed CSV: expected 4 fields as in the header, found 6"),
    ({"patients.csv": b"patient_id,centre,age,stage\nP1,A,50\n"},
     "patients.csv:2:-: malformed CSV: expected 4 fields as in the header, found 3"),
])
def test_malformed_files_give_clean_errors(tmp_path: Path, files: dict[str, bytes], expected: str) -> None:
    root = tmp_path / "d"
    root.mkdir()
    for name, data in files.items():
        (root / name).write_bytes(data)
    result = runner.invoke(app, ["import", str(root), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith(expected)
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)      # a clean exit, not an escaped exception
    assert not (tmp_path / "x.db").exists()


def test_dry_run_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    result = runner.invoke(app, ["import", str(DATA / "good"), "--db", str(db), "--dry-run", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["valid"] and body["dry_run"] and body["import"] is None
    assert body["tables"] == {"patients": 2, "labs": 5, "scans": 2, "lesions": 2, "toxicity": 2}
    assert not db.exists()


def test_import_export_import_and_reimport_through_cli(tmp_path: Path) -> None:
    db, out = tmp_path / "a.db", tmp_path / "out"
    first = runner.invoke(app, ["import", str(DATA / "good"), "--db", str(db), "--format", "json"])
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["import"]["inserted"]["labs"] == 5
    again = runner.invoke(app, ["import", str(DATA / "good"), "--db", sqlite_url(db), "--format", "json"])
    assert json.loads(again.stdout)["import"]["changed"] is False
    exported = runner.invoke(app, ["export", "--db", str(db), "--out", str(out)])
    assert exported.exit_code == 0, exported.stderr
    assert sorted(p.name for p in out.iterdir()) == ["biomarkers.csv", "labs.csv", "lesions.csv",
                                                     "patients.csv", "scans.csv", "toxicity.csv"]
    back = runner.invoke(app, ["import", str(out), "--db", str(db), "--format", "json"])
    assert json.loads(back.stdout)["import"]["changed"] is False


def test_export_of_missing_database_is_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "--db", str(tmp_path / "none.db"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{tmp_path / 'none.db'}: no such database file"


def test_warnings_go_to_stderr_and_do_not_fail(tmp_path: Path) -> None:
    root = write_files(tmp_path / "d", {"patients.csv": "patient_id,centre,age,stage,note\nP1,A,50,2,x\n",
                                        "README.txt": "notes"})
    result = runner.invoke(app, ["import", str(root), "--db", str(tmp_path / "x.db"), "--allow-extra"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        ("README.txt:0:-: warning: ignored: not a table file (patients, labs, scans, lesions, toxicity, biomarkers "
        "with .csv/.xlsx/.parquet)"),
        "patients.csv:1:note: warning: unknown column ignored",
    ]


def test_unusable_inputs_and_databases(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["import", str(tmp_path / "nowhere"), "--db", str(tmp_path / "x.db")])
    assert (missing.exit_code, missing.stderr.splitlines()[0]) == (2, "nowhere:0:-: not a directory")
    trailing = write_files(tmp_path / "t", {"patients.csv": "patient_id,centre,age,stage,\nP1,A,50,2,\n"})
    result = runner.invoke(app, ["import", str(trailing), "--db", str(tmp_path / "x.db")])
    assert result.stderr.splitlines()[0] == "patients.csv:1:-: column 5 has no name in the header (a trailing comma?)"
    for url in ("nosuchdialect://x", "postgresql+nosuchdriver://u@127.0.0.1:1/db",
                f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"):
        bad_db = runner.invoke(app, ["import", str(DATA / "good"), "--db", url])
        assert bad_db.exit_code == 1, (url, bad_db.output)
        assert bad_db.stderr.startswith(f"{url}: database error: ")
        assert len(bad_db.stderr.splitlines()) == 1 and isinstance(bad_db.exception, SystemExit)
