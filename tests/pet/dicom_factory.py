"""Build tiny synthetic PET DICOM series with pydicom (test helper; values are chosen in each test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

PET_SOP = "1.2.840.10008.5.1.4.1.1.128"

BASE: dict[str, Any] = {
    "Modality": "PT", "Units": "BQML", "DecayCorrection": "START", "CorrectedImage": ["ATTN", "DECY"],
    "SeriesType": ["WHOLE BODY", "IMAGE"], "SeriesDate": "20240101", "SeriesTime": "110000",
    "AcquisitionDate": "20240101", "AcquisitionTime": "110000", "PatientWeight": "70", "PatientSize": "1.75",
    "PatientSex": "M", "PatientName": "Doe^Jane", "PatientID": "MRN12345", "PatientBirthDate": "19600101",
    "InstitutionName": "General Hospital", "ActualFrameDuration": 180000, "FrameReferenceTime": 0,
}
RADIOPHARM: dict[str, Any] = {
    "Radiopharmaceutical": "FDG", "RadiopharmaceuticalStartTime": "100000",
    "RadiopharmaceuticalStartDateTime": "20240101100000", "RadionuclideTotalDose": "370000000",
    "RadionuclideHalfLife": "6586.2",
}


def write_series(folder: Path, pixels: np.ndarray, *, spacing: tuple[float, float, float] = (4.0, 4.0, 4.0),
                 series: dict[str, Any] | None = None, radiopharm: dict[str, Any] | None = None,
                 per_slice: list[dict[str, Any]] | None = None, slopes: list[float] | None = None,
                 series_uid: str | None = None, drop: tuple[str, ...] = (), shuffle: bool = True,
                 private: list[tuple[int, int, str, Any]] = ()) -> list[Path]:
    """Write ``pixels`` (z, y, x int) as one file per slice; returns the paths.

    ``series`` / ``radiopharm`` override the base tags (value None deletes a tag); ``per_slice[k]``
    overrides tags of slice k; ``slopes[k]`` is slice k's RescaleSlope; ``private`` adds
    ``(group, element, VR, value)`` elements to every slice.
    """
    folder.mkdir(parents=True, exist_ok=True)
    uid = series_uid or generate_uid()
    study = generate_uid()
    nz, ny, nx = pixels.shape
    tags = {**BASE, **(series or {})}
    rp_tags = {**RADIOPHARM, **(radiopharm or {})}
    order = list(range(nz))
    if shuffle:
        order = order[::-1]            # files written in reverse so that sorting must use positions
    paths = []
    for n, k in enumerate(order):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = PET_SOP
        sop = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = sop
        ds.SOPClassUID, ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID = PET_SOP, sop, uid, study
        for key, value in {**tags, **((per_slice or [{}] * nz)[k])}.items():
            if value is not None and key not in drop:
                setattr(ds, key, value)
        rp = Dataset()
        for key, value in rp_tags.items():
            if value is not None and key not in drop:
                setattr(rp, key, value)
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "C-111A1", "SRT", "^18^Fluorine"
        rp.RadionuclideCodeSequence = [code]
        ds.RadiopharmaceuticalInformationSequence = [rp]
        ds.ImagePositionPatient = [0.0, 0.0, float(k * spacing[0])]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing = [spacing[1], spacing[2]]
        ds.SliceThickness = spacing[0]
        ds.InstanceNumber = n + 1
        ds.Rows, ds.Columns = ny, nx
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept = "0"
        ds.RescaleSlope = str((slopes or [1.0] * nz)[k])
        for group, element, vr, value in private:
            ds.add_new((group, element), vr, value)
        ds.PixelData = np.ascontiguousarray(pixels[k], dtype="<i2").tobytes()
        path = folder / f"img{n:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
