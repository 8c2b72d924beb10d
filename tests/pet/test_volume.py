"""Geometry: NIfTI axis order and affine, DICOM slice sorting (spec §0, §1.10)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from cartlens.pet import PETInputError, SUVVolume, load_dicom_suv, load_nifti

from .dicom_factory import write_series


def test_nifti_axis_order_and_spacing(tmp_path: Path) -> None:
    # nibabel array (i, j, k) = (x, y, z) of shape (5, 6, 7), voxel sizes 2 x 3 x 4 mm, RAS affine
    arr = np.zeros((5, 6, 7), dtype=np.float32)
    arr[1, 2, 3] = 9.0
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    affine[:3, 3] = (10.0, 20.0, 30.0)
    nib.save(nib.Nifti1Image(arr, affine), tmp_path / "suv.nii.gz")
    vol = load_nifti(tmp_path / "suv.nii.gz")
    assert vol.data.shape == (7, 6, 5)                       # (z, y, x)
    assert vol.spacing_mm == (4.0, 3.0, 2.0)                 # (dz, dy, dx)
    assert vol.data[3, 2, 1] == 9.0
    # voxel (i=1, j=2, k=3) is RAS (12, 26, 42) -> LPS (-12, -26, 42)
    assert vol.index_to_mm(np.array([3, 2, 1])).tolist() == [[-12.0, -26.0, 42.0]]
    assert vol.voxel_volume_ml == pytest.approx(0.024)
    assert "nifti_values_assumed_suv" in vol.qc_flags


def test_nifti_4d_rejected(tmp_path: Path) -> None:
    nib.save(nib.Nifti1Image(np.zeros((2, 2, 2, 3), np.float32), np.eye(4)), tmp_path / "x.nii")
    with pytest.raises(PETInputError, match="expected a 3-D image"):
        load_nifti(tmp_path / "x.nii")


def test_dicom_slices_sorted_by_position(tmp_path: Path) -> None:
    px = np.stack([np.full((2, 3), 1000 * (k + 1), np.int16) for k in range(4)])
    write_series(tmp_path / "s", px, spacing=(3.0, 2.0, 2.5), series={"Units": "GML", "SUVType": "BW"},
                 shuffle=True)
    vol = load_dicom_suv(tmp_path / "s")
    assert vol.data[:, 0, 0].tolist() == [1000.0, 2000.0, 3000.0, 4000.0]
    assert vol.spacing_mm == (3.0, 2.0, 2.5)
    # index (k=2, j=1, i=2): x = 2 x 2.5 (column spacing), y = 1 x 2.0 (row spacing), z = 2 x 3.0
    assert vol.index_to_mm(np.array([2, 1, 2])).tolist() == [[5.0, 2.0, 6.0]]


def test_volume_is_float32_and_read_only() -> None:
    vol = SUVVolume(np.ones((2, 2, 2), dtype=np.float64), np.eye(4))
    assert vol.data.dtype == np.float32
    with pytest.raises(ValueError):
        vol.data[0, 0, 0] = 3.0
