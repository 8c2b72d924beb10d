"""``cartlens pet quantify --db``: the baseline MTV is written to the patient through the audited import path."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
from typer.testing import CliRunner

from cartlens.cli import app
from cartlens.io import read_data_dir
from cartlens.store import Store, sqlite_url

PATIENTS = "patient_id,centre,age,stage\nP1,A,64,3\n"
SCANS = "patient_id,centre,scan_id,day,modality\nP1,A,S0,-10,petct\nP1,A,S1,30,petct\n"


def _db(tmp_path) -> Store:
    data = tmp_path / "data"
    data.mkdir()
    (data / "patients.csv").write_text(PATIENTS)
    (data / "scans.csv").write_text(SCANS)
    store = Store(sqlite_url(tmp_path / "pet.db"))
    store.migrate()
    store.import_batch(read_data_dir(data), user="fixture")
    return store


def _cube_nifti(path) -> None:
    # 10 x 10 x 10 voxels of SUV 8 in a background of SUV 1, voxels 2 x 2 x 2 mm:
    # MTV (SUV >= 4) = 1000 voxels x 8 mm^3 = 8000 mm^3 = 8.0 mL (hand calculation)
    vol = np.ones((40, 40, 40), dtype=np.float32)
    vol[10:20, 10:20, 10:20] = 8.0
    nib.save(nib.Nifti1Image(vol, np.diag([2.0, 2.0, 2.0, 1.0])), str(path))


def test_baseline_mtv_is_stored_and_audited(tmp_path):
    store = _db(tmp_path)
    _cube_nifti(tmp_path / "pet.nii.gz")
    args = ["pet", "quantify", "--nifti", str(tmp_path / "pet.nii.gz"), "--method", "suv4", "--format", "json",
            "--db", str(tmp_path / "pet.db"), "--centre", "A", "--patient", "P1", "--scan", "S0"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["mtv_ml"] == 8.0
    patient = store.load_tables()["patients"].iloc[0]
    assert patient["mtv_ml"] == 8.0 and patient["mtv_method"] == "suv4"
    audit = store.audit_log()
    changed = audit[(audit["table_name"] == "patients") & (audit["column_name"] == "mtv_ml")]
    assert len(changed) == 1 and "PET quantification" in changed["reason"].iloc[0]


def test_follow_up_scan_does_not_change_baseline_mtv_and_unknown_scan_is_refused(tmp_path):
    store = _db(tmp_path)
    _cube_nifti(tmp_path / "pet.nii.gz")
    base = ["pet", "quantify", "--nifti", str(tmp_path / "pet.nii.gz"), "--format", "json",
            "--db", str(tmp_path / "pet.db"), "--centre", "A", "--patient", "P1"]
    assert CliRunner().invoke(app, [*base, "--scan", "S1"]).exit_code == 0
    assert store.load_tables()["patients"]["mtv_ml"].isna().all()
    bad = CliRunner().invoke(app, [*base, "--scan", "NOPE"])
    assert bad.exit_code == 2 and "NOPE" in bad.output
