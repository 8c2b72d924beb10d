"""Malformed DICOM input gives a named PETInputError, never a crash (issue 6 tests; spec §1.9)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from cartlens.pet import PETInputError, load_dicom_suv, load_nifti

from .dicom_factory import write_series


def _px() -> np.ndarray:
    return np.full((3, 4, 5), 5000, dtype=np.int16)


def test_non_pet_dicom(tmp_path: Path) -> None:
    write_series(tmp_path / "ct", _px(), series={"Modality": "CT"})
    with pytest.raises(PETInputError, match=r"no PET \(PT\) images found; modalities present: \['CT'\]"):
        load_dicom_suv(tmp_path / "ct")


def test_empty_or_missing_directory(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not dicom")
    with pytest.raises(PETInputError, match="modalities present: none"):
        load_dicom_suv(tmp_path / "empty")
    with pytest.raises(PETInputError, match="is not a directory"):
        load_dicom_suv(tmp_path / "nope")


def test_mixed_series(tmp_path: Path) -> None:
    write_series(tmp_path / "d" / "a", _px())
    write_series(tmp_path / "d" / "b", _px())
    with pytest.raises(PETInputError, match="2 PET series in one directory") as info:
        load_dicom_suv(tmp_path / "d")
    assert info.value.field == "SeriesInstanceUID (0020,000E)"


def test_mixed_series_same_uid_duplicate_positions(tmp_path: Path) -> None:
    write_series(tmp_path / "d" / "a", _px(), series_uid="1.2.3.4")
    write_series(tmp_path / "d" / "b", _px(), series_uid="1.2.3.4")
    with pytest.raises(PETInputError, match="duplicate slice positions"):
        load_dicom_suv(tmp_path / "d")


def test_truncated_file(tmp_path: Path) -> None:
    paths = write_series(tmp_path / "s", _px())
    raw = paths[1].read_bytes()
    paths[1].write_bytes(raw[: len(raw) - 30])             # pixel data cut short
    with pytest.raises(PETInputError) as info:
        load_dicom_suv(tmp_path / "s")
    assert info.value.field == paths[1].name
    assert "truncated" in info.value.message


def test_missing_slice_gap(tmp_path: Path) -> None:
    paths = write_series(tmp_path / "s", np.full((4, 4, 5), 5000, dtype=np.int16), shuffle=False)
    paths[2].unlink()                                        # slice at z = 8 mm missing
    with pytest.raises(PETInputError, match="non-uniform slice spacing"):
        load_dicom_suv(tmp_path / "s")


def test_nonzero_intercept(tmp_path: Path) -> None:
    write_series(tmp_path / "s", _px(), series={"RescaleIntercept": "5"})
    for f in (tmp_path / "s").iterdir():
        ds = pydicom.dcmread(f)
        ds.RescaleIntercept = "5"
        ds.save_as(f)
    with pytest.raises(PETInputError, match="must be 0 for PET"):
        load_dicom_suv(tmp_path / "s")


def test_corrupt_nifti(tmp_path: Path) -> None:
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(PETInputError, match="not a readable NIfTI"):
        load_nifti(bad)


def test_malformed_time_is_named(tmp_path: Path) -> None:
    write_series(tmp_path / "s", _px(), series={"SeriesTime": "25:99"})
    with pytest.raises(PETInputError, match="malformed DICOM date/time") as info:
        load_dicom_suv(tmp_path / "s")
    assert info.value.field == "SeriesTime (0008,0031)"


def test_malformed_injection_datetime_falls_back_to_time(tmp_path: Path) -> None:
    # (0018,1078) unusable -> (0018,1072) 10:00 on SeriesDate: 3600 s uptake, SUV of spec §5.4.1
    write_series(tmp_path / "s", _px(), radiopharm={"RadiopharmaceuticalStartDateTime": "2024-01-01T10"})
    vol = load_dicom_suv(tmp_path / "s")
    assert vol.header["uptake_s"] == 3600.0
    assert "RadiopharmaceuticalStartDateTime_malformed_ignored" in vol.qc_flags


def test_file_without_preamble_is_read(tmp_path: Path) -> None:
    paths = write_series(tmp_path / "s", _px())
    for p in paths:                                    # rewrite as a bare data set (no preamble, no meta)
        ds = pydicom.dcmread(p)
        del ds.file_meta
        ds.preamble = None
        pydicom.dcmwrite(p, ds, enforce_file_format=False, implicit_vr=False, little_endian=True)
        assert p.read_bytes()[128:132] != b"DICM"
    vol = load_dicom_suv(tmp_path / "s")
    assert np.allclose(vol.data, 1.381683, rtol=2e-6)


def test_acquisition_date_missing_borrows_series_date(tmp_path: Path) -> None:
    # re-saved series (SeriesTime 11:30), AcquisitionDate absent, AcquisitionTime 11:00 -> step 5 at 11:00
    write_series(tmp_path / "s", _px(), series={"SeriesTime": "113000", "AcquisitionDate": None})
    vol = load_dicom_suv(tmp_path / "s")
    assert vol.header["t_ref_rule"] == "earliest_acquisition" and vol.header["uptake_s"] == 3600.0
    assert "acquisition_date_borrowed" in vol.qc_flags


def test_units_differ_within_series(tmp_path: Path) -> None:
    per_slice = [{}, {"Units": "CNTS"}, {}]
    write_series(tmp_path / "s", _px(), per_slice=per_slice, shuffle=False)
    with pytest.raises(PETInputError, match="Units differs from the first slice") as info:
        load_dicom_suv(tmp_path / "s")
    assert info.value.field == "img001.dcm"


def test_missing_geometry_tolerated_with_flags(tmp_path: Path) -> None:
    # no ImagePositionPatient / ImageOrientationPatient: slices ordered by InstanceNumber at SliceThickness
    px = np.stack([np.full((2, 2), 1000 * (k + 1), np.int16) for k in range(3)])
    paths = write_series(tmp_path / "s", px, series={"Units": "GML", "SUVType": "BW"}, shuffle=True)
    for p in paths:
        ds = pydicom.dcmread(p)
        del ds.ImagePositionPatient
        del ds.ImageOrientationPatient
        ds.save_as(p)
    vol = load_dicom_suv(tmp_path / "s")
    # write_series numbers instances in file order (reversed slices): instance 1 holds slice 2
    assert vol.data[:, 0, 0].tolist() == [3000.0, 2000.0, 1000.0]
    assert vol.spacing_mm == (4.0, 4.0, 4.0)
    assert {"orientation_missing_assumed_axial", "image_position_missing_ordered_by_instance_number"} \
        <= set(vol.qc_flags)


def test_malformed_geometry_named(tmp_path: Path) -> None:
    paths = write_series(tmp_path / "s", _px())
    ds = pydicom.dcmread(paths[0])
    ds.ImagePositionPatient = [0.0, 0.0]
    ds.save_as(paths[0])
    with pytest.raises(PETInputError, match="expected 3 finite numbers") as info:
        load_dicom_suv(tmp_path / "s")
    assert info.value.field == "ImagePositionPatient (0020,0032)"
