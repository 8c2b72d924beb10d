"""De-identification (PS3.15 Annex E basic profile + options; web_and_security.md Privacy)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pydicom
import pytest

from cartlens.pet import load_dicom_suv
from cartlens.pet.deidentify import deidentify

from .dicom_factory import write_series

KEY = b"study-key"


@pytest.fixture()
def series(tmp_path: Path) -> Path:
    private = [(0x7053, 0x0010, "LO", "Philips PET Private Group"), (0x7053, 0x1009, "DS", "0.5"),
               (0x0029, 0x0010, "LO", "SIEMENS CSA HEADER"), (0x0029, 0x1010, "LO", "secret")]
    write_series(tmp_path / "s", np.full((2, 3, 3), 5000, np.int16), private=private,
                 series={"SeriesDate": "20240101", "SeriesTime": "003000", "AcquisitionDate": "20240101",
                         "AcquisitionTime": "003000"},
                 radiopharm={"RadiopharmaceuticalStartDateTime": "20231231233000"})
    return tmp_path / "s"


def test_identifiers_removed_and_suv_inputs_kept(series: Path, tmp_path: Path) -> None:
    out = tmp_path / "anon"
    out.mkdir()
    for f in sorted(series.iterdir()):
        ds = pydicom.dcmread(f)
        anon = deidentify(ds, pseudonym="P001", uid_key=KEY, anchor=date(2024, 1, 1))
        assert str(anon.PatientName) == "P001" and anon.PatientID == "P001"
        for kw in ("PatientBirthDate", "InstitutionName"):
            assert kw not in anon
        assert anon.StudyInstanceUID != ds.StudyInstanceUID and anon.StudyInstanceUID.startswith("2.25.")
        assert anon.SOPClassUID == ds.SOPClassUID
        assert (0x0029, 0x1010) not in anon                     # unsafe private element removed
        assert anon[0x7053, 0x1009].value == "0.5"               # SUV-relevant private element kept
        assert (anon.PatientWeight, anon.PatientSex) == (ds.PatientWeight, ds.PatientSex)
        assert anon.SeriesDate == "20000101" and anon.SeriesTime == ds.SeriesTime
        rp = anon.RadiopharmaceuticalInformationSequence[0]
        assert rp.RadiopharmaceuticalStartDateTime == "19991231233000"    # shifted by the same days
        anon.save_as(out / f.name)
    # intervals survive: the de-identified series gives the same SUV (injection 23:30 the day before)
    original, anonymised = load_dicom_suv(series), load_dicom_suv(out)
    assert np.array_equal(original.data, anonymised.data)
    assert anonymised.header["uptake_s"] == 3600.0


def test_uid_mapping_consistent_across_files(series: Path) -> None:
    files = sorted(series.iterdir())
    a = deidentify(pydicom.dcmread(files[0]), pseudonym="P", uid_key=KEY, anchor=date(2024, 1, 1))
    b = deidentify(pydicom.dcmread(files[1]), pseudonym="P", uid_key=KEY, anchor=date(2024, 1, 1))
    assert a.SeriesInstanceUID == b.SeriesInstanceUID
    assert a.SOPInstanceUID != b.SOPInstanceUID


def test_header_summary_has_no_identifiers(series: Path) -> None:
    header = load_dicom_suv(series).header
    text = repr(header)
    for secret in ("Doe", "MRN12345", "1960", "General Hospital", "20240101"):
        assert secret not in text


def test_deidentify_series_folder(series: Path, tmp_path: Path) -> None:
    from cartlens.pet.dicom import deidentify_series

    n = deidentify_series(series, tmp_path / "out", pseudonym="P002", uid_key=KEY)
    files = sorted((tmp_path / "out").iterdir())
    assert n == 2 and len(files) == 2 and all(f.name.startswith("2.25.") for f in files)
    ds = pydicom.dcmread(files[0])
    assert ds.SeriesDate == "20000101" and str(ds.PatientName) == "P002"     # anchor = the series date
    assert np.array_equal(load_dicom_suv(tmp_path / "out").data, load_dicom_suv(series).data)
