"""``cartlens pet quantify`` / ``pet batch`` (cli.md PET contract; exit codes)."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from typer.testing import CliRunner

from cartlens.cli import app

from .dicom_factory import write_series

runner = CliRunner()


def _nifti(path: Path, hot: float = 10.0) -> Path:
    # 2 mm voxels; a 5x5x5 cube of SUV `hot` (1.0 mL) in background 1
    arr = np.ones((20, 20, 20), np.float32)
    arr[5:10, 5:10, 5:10] = hot
    nib.save(nib.Nifti1Image(arr, np.diag([2.0, 2.0, 2.0, 1.0])), path)
    return path


def test_quantify_nifti_json(tmp_path: Path) -> None:
    res = runner.invoke(app, ["pet", "quantify", "--nifti", str(_nifti(tmp_path / "a.nii.gz")), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["method"] == "suv4" and out["n_lesions"] == 1
    assert out["mtv_ml"] == 1.0 and out["tlg"] == 10.0 and out["suvmax"] == 10.0 and out["dmax_cm"] == 0.0
    assert set(out["lesions"][0]) >= {"id", "volume_ml", "suvmax", "suvmean", "suvpeak", "tlg", "centroid_mm",
                                      "max_diameter_cm"}


def test_quantify_dicom_pct41_min_volume(tmp_path: Path) -> None:
    px = np.full((6, 8, 8), 5000, np.int16)          # SUV 1.381683 background (hand value, §5.4.1)
    px[2:4, 2:4, 2:4] = 20000                        # SUV 5.526732
    write_series(tmp_path / "s", px)
    res = runner.invoke(app, ["pet", "quantify", "--dicom", str(tmp_path / "s"), "--method", "pct41",
                              "--min-volume-ml", "0.1", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    # 8 voxels x 64 uL = 0.512 mL >= 0.1; 41 % of 5.5267 = 2.27 > background 1.38
    assert out["method"] == "pct41" and out["n_lesions"] == 1 and out["mtv_ml"] == 0.512
    assert abs(out["suvmax"] - 4 * 1.381683) < 1e-5


def test_quantify_invalid_input_exit_2(tmp_path: Path) -> None:
    write_series(tmp_path / "s", np.full((2, 3, 3), 5000, np.int16), series={"Units": "PROPCNTS"})
    res = runner.invoke(app, ["pet", "quantify", "--dicom", str(tmp_path / "s"), "--format", "json"])
    assert res.exit_code == 2
    assert "Units (0054,1001)" in res.stderr and res.stdout == ""


def test_quantify_needs_exactly_one_source(tmp_path: Path) -> None:
    res = runner.invoke(app, ["pet", "quantify", "--format", "json"])
    assert res.exit_code == 2 and "exactly one of" in res.stderr


def test_batch_resumable(tmp_path: Path) -> None:
    _nifti(tmp_path / "a.nii.gz", 10.0)
    _nifti(tmp_path / "b.nii.gz", 6.0)
    (tmp_path / "m.csv").write_text("scan_id,patient_id,nifti\nS1,P1,a.nii.gz\nS2,P2,b.nii.gz\nS3,P3,missing.nii\n")
    out = tmp_path / "res.parquet"
    res = runner.invoke(app, ["pet", "batch", str(tmp_path / "m.csv"), "--out", str(out), "--workers", "1"])
    assert res.exit_code == 0, res.output
    scans = pd.read_parquet(out).set_index("scan_id")
    assert scans.loc["S1", "mtv_ml"] == 1.0 and scans.loc["S2", "tlg"] == 6.0
    assert scans.loc["S3", "status"].startswith("invalid: missing.nii")
    lesions = pd.read_parquet(tmp_path / "res.lesions.parquet")
    assert sorted(lesions["scan_id"]) == ["S1", "S2"] and set(lesions.columns) >= {"patient_id", "volume_ml", "suvmax"}
    # re-run (in-process): S1, S2 kept, S3 retried (still failing) -> no duplicate rows
    res = runner.invoke(app, ["pet", "batch", str(tmp_path / "m.csv"), "--out", str(out), "--workers", "0"])
    assert res.exit_code == 0 and "pet batch: 1/1 scans" in res.stderr
    assert sorted(pd.read_parquet(out)["scan_id"]) == ["S1", "S2", "S3"]


def test_batch_manifest_errors(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("scan_id,nifti,method\nS1,a.nii,suv5\nS1,,\n")
    res = runner.invoke(app, ["pet", "batch", str(tmp_path / "m.csv"), "--out", str(tmp_path / "o.parquet")])
    assert res.exit_code == 2
    assert "m.csv:2:method: 'suv5' is not suv4 or pct41" in res.stderr
    assert "m.csv:3:dicom: give exactly one of dicom / nifti" in res.stderr
    assert "m.csv:3:scan_id: duplicate 'S1'" in res.stderr


def test_quantify_with_masks(tmp_path: Path) -> None:
    # lesion A (cube, SUV 10) inside an "organ" mask -> removed; lesion B (SUV 6) kept; liver block SUV 2
    arr = np.full((40, 40, 40), 1.0, np.float32)
    arr[2:6, 2:6, 2:6] = 10.0
    arr[30:34, 30:34, 30:34] = 6.0
    arr[10:30, 10:30, 10:30] = 2.0                  # 40 mm cube of "liver" at 2 mm voxels
    aff = np.diag([2.0, 2.0, 2.0, 1.0])
    organ = np.zeros(arr.shape, np.uint8)
    organ[1:7, 1:7, 1:7] = 1
    liver = np.zeros(arr.shape, np.uint8)
    liver[10:30, 10:30, 10:30] = 1
    for name, a in (("pet", arr), ("organ", organ), ("liver", liver)):
        nib.save(nib.Nifti1Image(a, aff), tmp_path / f"{name}.nii.gz")
    res = runner.invoke(app, ["pet", "quantify", "--nifti", str(tmp_path / "pet.nii.gz"), "--exclude-mask",
                              str(tmp_path / "organ.nii.gz"), "--liver-mask", str(tmp_path / "liver.nii.gz"),
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["n_lesions"] == 1 and out["suvmax"] == 6.0
    assert out["removed"][0]["reason"] == "excluded_organ" and out["removed"][0]["suvmax"] == 10.0
    assert out["liver"]["mean"] == 2.0


def test_mask_on_other_grid_rejected(tmp_path: Path) -> None:
    _nifti(tmp_path / "pet.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((20, 20, 20), np.uint8), np.diag([3.0, 2.0, 2.0, 1.0])), tmp_path / "m.nii.gz")
    res = runner.invoke(app, ["pet", "quantify", "--nifti", str(tmp_path / "pet.nii.gz"), "--exclude-mask",
                              str(tmp_path / "m.nii.gz"), "--format", "json"])
    assert res.exit_code == 2 and "m.nii.gz: mask geometry (affine) differs" in res.stderr


def test_dicom_body_values_give_sdmax(tmp_path: Path) -> None:
    # two hot voxels 40 mm apart on x (4 mm voxels), weight 70 kg, height 1.75 m (header)
    px = np.full((3, 4, 14), 5000, np.int16)
    px[1, 1, 1] = px[1, 1, 11] = 20000
    write_series(tmp_path / "s", px)
    res = runner.invoke(app, ["pet", "quantify", "--dicom", str(tmp_path / "s"), "--format", "json"])
    out = json.loads(res.stdout)
    assert out["n_lesions"] == 2 and out["dmax_cm"] == 4.0
    # SDmax = 0.040 m / 1.848143 m^2 (Du Bois, 70 kg, 175 cm)
    assert abs(out["sdmax_per_m"] - 0.040 / 1.848143) < 1e-6


def test_deidentify_command(tmp_path: Path) -> None:
    write_series(tmp_path / "s", np.full((2, 3, 3), 5000, np.int16))
    (tmp_path / "key").write_bytes(b"0123456789abcdef-secret")
    res = runner.invoke(app, ["pet", "deidentify", str(tmp_path / "s"), "--out", str(tmp_path / "o"),
                              "--pseudonym", "P9", "--key-file", str(tmp_path / "key"), "--anchor", "2024-01-01"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["files"] == 2
    (tmp_path / "short").write_bytes(b"abc")
    res = runner.invoke(app, ["pet", "deidentify", str(tmp_path / "s"), "--out", str(tmp_path / "o2"),
                              "--pseudonym", "P9", "--key-file", str(tmp_path / "short")])
    assert res.exit_code == 2 and "at least 16 bytes" in res.stderr


def test_quantify_pct41_with_external_seeds(tmp_path: Path) -> None:
    # a lesion of SUV 3 (below 4: no SUV4 seed) becomes quantifiable with an external seed mask
    arr = np.ones((20, 20, 20), np.float32)
    arr[5:8, 5:8, 5:8] = 3.0
    seeds = np.zeros(arr.shape, np.uint8)
    seeds[6, 6, 6] = 1
    aff = np.diag([2.0, 2.0, 2.0, 1.0])
    nib.save(nib.Nifti1Image(arr, aff), tmp_path / "pet.nii.gz")
    nib.save(nib.Nifti1Image(seeds, aff), tmp_path / "seeds.nii.gz")
    base = ["pet", "quantify", "--nifti", str(tmp_path / "pet.nii.gz"), "--format", "json"]
    assert json.loads(runner.invoke(app, base + ["--method", "pct41"]).stdout)["n_lesions"] == 0
    res = runner.invoke(app, base + ["--method", "pct41", "--seeds", str(tmp_path / "seeds.nii.gz")])
    out = json.loads(res.stdout)
    # 41 % of 3 = 1.23 > background 1: the 27-voxel cube (27 x 0.008 = 0.216 mL)
    assert out["n_lesions"] == 1 and abs(out["mtv_ml"] - 0.216) < 1e-9
    res = runner.invoke(app, base + ["--method", "suv4", "--seeds", str(tmp_path / "seeds.nii.gz")])
    assert res.exit_code == 2 and "pct41 only" in res.stderr


def test_liver_point_option(tmp_path: Path) -> None:
    arr = np.full((30, 30, 30), 2.0, np.float32)          # uniform SUV 2 "liver"; 2 mm voxels, RAS diagonal
    nib.save(nib.Nifti1Image(arr, np.diag([2.0, 2.0, 2.0, 1.0])), tmp_path / "pet.nii.gz")
    base = ["pet", "quantify", "--nifti", str(tmp_path / "pet.nii.gz"), "--format", "json"]
    # voxel (i, j, k) = (15, 15, 15) is RAS (30, 30, 30) = LPS (-30, -30, 30)
    out = json.loads(runner.invoke(app, base + ["--liver-point", "-30,-30,30"]).stdout)
    assert out["liver"]["mean"] == 2.0 and out["liver"]["centre_mm"] == [-30.0, -30.0, 30.0]
    res = runner.invoke(app, base + ["--liver-point", "1,2"])
    assert res.exit_code == 2 and "three numbers" in res.stderr
