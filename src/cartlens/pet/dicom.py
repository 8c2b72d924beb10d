"""Read a PET DICOM series into an SUV volume (pydicom).  This module is the PET area's file shell.

Spec: pet_quantification.md §1 (tags of §1.2, private tags through their creator), §1.10 (slice
sorting, per-slice slope applied in float before stacking), §1.9 (NAC series skipped, not fatal).
The arithmetic lives in :mod:`cartlens.pet.suv`; this module only collects header values, decodes
pixels and stacks them.  No patient value or identifier is logged; error messages name the file
(base name only) and the tag.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from cartlens.pet.deidentify import header_summary
from cartlens.pet.dicomtime import combine, parse_da, parse_dt, parse_tm
from cartlens.pet.errors import PETInputError
from cartlens.pet.suv import SeriesHeader, SliceHeader, SUVConversion, suv_factors
from cartlens.pet.volume import SUVVolume, affine_from_dicom, slice_order, suv_value_flags

PHILIPS_CREATOR = "Philips PET Private Group"     # (7053,xx00) SUV factor, (7053,xx09) activity factor
GE_PET_CREATOR = "GEMS_PETD_01"                   # (0009,xx0D) scan datetime
PET_SOP_CLASSES = ("1.2.840.10008.5.1.4.1.1.128",)  # PET Image Storage (classic)


def _float(value: Any) -> float | None:
    """A DS/IS/bytes value as float; ``None`` when empty or unparsable."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace").strip("\x00 ")
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        value = value[0] if len(value) else None
        if value is None:
            return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    s = str(value).strip("\x00 ")
    return s or None


def private_value(ds: Dataset, group: int, creator: str, offset: int, notes: list[str]) -> Any:
    """Value of a private element looked up through its creator (PS3.5 §7.8.1).

    Falls back to the conventional element ``(group, 0x10xx)`` only when the group has no private
    creator at all (some test objects omit it), recording ``private_tag_without_creator``.
    """
    try:
        block = ds.private_block(group, creator)
        return block[offset].value if offset in block else None
    except KeyError:
        pass
    has_creator = any((group, e) in ds for e in range(0x10, 0x100))
    tag = (group << 16) | 0x1000 | offset
    if not has_creator and tag in ds:
        notes.append(f"private_tag_without_creator:({group:04X},{0x1000 | offset:04X})")
        return ds[tag].value
    return None


def _datetime(ds: Dataset, date_kw: str, time_kw: str) -> Any:
    return combine(parse_da(ds.get(date_kw)), parse_tm(ds.get(time_kw)))


def slice_header(ds: Dataset, notes: list[str]) -> SliceHeader:
    """Per-image SUV inputs of one dataset."""
    acq = _datetime(ds, "AcquisitionDate", "AcquisitionTime")
    if acq is None and ds.get("AcquisitionDateTime"):
        acq = parse_dt(ds.AcquisitionDateTime)[0]  # type: ignore[index]
    slope = _float(ds.get("RescaleSlope"))
    return SliceHeader(
        rescale_slope=1.0 if slope is None else slope,
        rescale_intercept=_float(ds.get("RescaleIntercept")) or 0.0,
        acquisition=acq,
        frame_reference_time_ms=_float(ds.get("FrameReferenceTime")),
        frame_duration_ms=_float(ds.get("ActualFrameDuration")),
        philips_suv_factor=_float(private_value(ds, 0x7053, PHILIPS_CREATOR, 0x00, notes)),
        philips_activity_factor=_float(private_value(ds, 0x7053, PHILIPS_CREATOR, 0x09, notes)),
    )


def series_header(ds: Dataset, notes: list[str]) -> SeriesHeader:
    """Series-level SUV inputs, from the first dataset of the series (§1.2)."""
    rp: Dataset = ds.RadiopharmaceuticalInformationSequence[0] \
        if ds.get("RadiopharmaceuticalInformationSequence") else Dataset()
    code = rp.RadionuclideCodeSequence[0] if rp.get("RadionuclideCodeSequence") else Dataset()
    inj = parse_dt(rp.get("RadiopharmaceuticalStartDateTime"))
    ge = _text(private_value(ds, 0x0009, GE_PET_CREATOR, 0x0D, notes))
    dcdt = parse_dt(ds.get("DecayCorrectionDateTime"))
    tz = _text(ds.get("TimezoneOffsetFromUTC"))
    corrected = ds.get("CorrectedImage")
    return SeriesHeader(
        units=_text(ds.get("Units")) or "",
        decay_correction=_text(ds.get("DecayCorrection")) or "",
        corrected_image=None if corrected is None else tuple(str(c) for c in
                                                             (corrected if not isinstance(corrected, str) else [corrected])),
        series_type=tuple(str(t) for t in (ds.get("SeriesType") or ())),
        series_date=parse_da(ds.get("SeriesDate")),
        series_datetime=_datetime(ds, "SeriesDate", "SeriesTime"),
        utc_offset_min=None if not tz else _tz_minutes(tz),
        weight=_float(ds.get("PatientWeight")),
        height=_float(ds.get("PatientSize")),
        sex=_text(ds.get("PatientSex")),
        radiopharmaceutical=_text(rp.get("Radiopharmaceutical")),
        total_dose=_float(rp.get("RadionuclideTotalDose")),
        half_life_s=_float(rp.get("RadionuclideHalfLife")),
        nuclide_code=_text(code.get("CodeValue")),
        nuclide_meaning=_text(code.get("CodeMeaning")),
        injection_datetime=None if inj is None else inj[0],
        injection_utc_offset_min=None if inj is None else inj[1],
        injection_time=parse_tm(rp.get("RadiopharmaceuticalStartTime")),
        suv_type=_text(ds.get("SUVType")),
        decay_correction_datetime=None if dcdt is None else dcdt[0],
        ge_scan_datetime=None if ge is None else parse_dt(ge)[0],  # type: ignore[index]
        dose_calibration_factor=_float(ds.get("DoseCalibrationFactor")),
        notes=tuple(dict.fromkeys(notes)),
    )


def _tz_minutes(text: str) -> int | None:
    s = text.strip()
    if len(s) != 5 or s[0] not in "+-" or not s[1:].isdigit():
        return None
    return (-1 if s[0] == "-" else 1) * (int(s[1:3]) * 60 + int(s[3:5]))


def _read_all(directory: Path) -> tuple[dict[str, list[tuple[str, Dataset]]], set[str]]:
    """Every readable DICOM file under ``directory``, PET images grouped by SeriesInstanceUID."""
    if not directory.is_dir():
        raise PETInputError(directory.name or str(directory), "is not a directory")
    series: dict[str, list[tuple[str, Dataset]]] = defaultdict(list)
    modalities: set[str] = set()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(path)
        except InvalidDicomError:
            continue                                     # not DICOM (README, mask NIfTI, ...)
        except Exception as err:
            raise PETInputError(path.name, f"unreadable or truncated DICOM file ({type(err).__name__})") from err
        modality = _text(ds.get("Modality")) or "?"
        modalities.add(modality)
        if modality == "PT" and "PixelData" in ds:
            series[_text(ds.get("SeriesInstanceUID")) or "?"].append((path.name, ds))
    return series, modalities


def _choose_series(groups: dict[str, list[tuple[str, Dataset]]], modalities: set[str],
                   series_uid: str | None, notes: list[str]) -> list[tuple[str, Dataset]]:
    """One series: the requested one, or the only attenuation-corrected one (§1.9: NAC skipped)."""
    if not groups:
        raise PETInputError("Modality (0008,0060)", f"no PET (PT) images found; modalities present: "
                            f"{sorted(modalities) or 'none'}")
    if series_uid is not None:
        if series_uid not in groups:
            raise PETInputError("SeriesInstanceUID (0020,000E)", "requested series not found")
        return groups[series_uid]
    if len(groups) == 1:
        return next(iter(groups.values()))

    def is_ac(files: list[tuple[str, Dataset]]) -> bool:
        corrected = files[0][1].get("CorrectedImage") or ()
        return "ATTN" in {str(c).upper() for c in corrected}

    ac = [files for files in groups.values() if is_ac(files)]
    if len(ac) == 1:
        notes.append(f"skipped_non_ac_series:{len(groups) - 1}")
        return ac[0]
    raise PETInputError("SeriesInstanceUID (0020,000E)",
                        f"{len(groups)} PET series in one directory (mixed series); pass series_uid")


def _pixels(name: str, ds: Dataset) -> np.ndarray:
    try:
        return np.asarray(ds.pixel_array, dtype=np.float64)
    except Exception as err:
        raise PETInputError(name, f"pixel data cannot be decoded ({type(err).__name__}: truncated?)") from err


def _geometry(files: list[tuple[str, Dataset]]) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    ref = files[0][1]
    if int(_float(ref.get("NumberOfFrames")) or 1) > 1:
        raise PETInputError("NumberOfFrames (0028,0008)", "multi-frame (enhanced) PET is not supported")
    try:
        orientation = np.array([float(v) for v in ref.ImageOrientationPatient])
        spacing = tuple(float(v) for v in ref.PixelSpacing)
        positions = np.array([[float(v) for v in ds.ImagePositionPatient] for _, ds in files])
    except (AttributeError, TypeError, ValueError) as err:
        raise PETInputError("ImagePositionPatient/ImageOrientationPatient/PixelSpacing",
                            "missing or malformed geometry") from err
    for name, ds in files:
        if [float(v) for v in ds.ImageOrientationPatient] != list(orientation) or \
                (ds.Rows, ds.Columns) != (ref.Rows, ref.Columns):
            raise PETInputError(name, "orientation or matrix size differs from the first slice (mixed series)")
    return positions, orientation, spacing  # type: ignore[return-value]


def load_dicom_suv(directory: str | Path, *, suv_type: str = "bw", series_uid: str | None = None,
                   dose_override_bq: float | None = None) -> SUVVolume:
    """Read a PET DICOM series and convert it to SUV (float32, ``(z, y, x)``).

    Parameters
    ----------
    directory : str or Path
        Folder searched recursively; non-DICOM files are ignored, other modalities skipped.
    suv_type : {"bw", "lbm_james", "lbm_janmahasatian", "ibw", "bsa"}
        SUV normaliser (spec §1.4); SUVbw (g/mL) by default.
    series_uid : str, optional
        Which series to read when the folder holds several attenuation-corrected PET series.
    dose_override_bq : float, optional
        Net injected activity (Bq) replacing RadionuclideTotalDose (residual activity, §1.8).

    Returns
    -------
    SUVVolume
        With ``header`` = de-identified summary (no names, IDs, dates, UIDs; times relative) and
        ``qc_flags`` (§1.11).

    Raises
    ------
    PETInputError
        Not PET, mixed series, truncated file, missing dose/time/weight, non-quantitative units,
        non-uniform slice spacing — the message names the file or tag.
    """
    groups, modalities = _read_all(Path(directory))
    notes: list[str] = []
    files = _choose_series(groups, modalities, series_uid, notes)
    positions, orientation, pixel_spacing = _geometry(files)
    order, geo_flags = slice_order(positions, orientation)
    files = [files[i] for i in order]
    slices = [slice_header(ds, notes) for _, ds in files]
    series = series_header(files[0][1], notes)
    conversion: SUVConversion = suv_factors(series, slices, suv_type=suv_type, dose_override_bq=dose_override_bq)
    data = np.empty((len(files), int(files[0][1].Rows), int(files[0][1].Columns)), dtype=np.float32)
    for k, ((name, ds), sl, f) in enumerate(zip(files, slices, conversion.factors)):
        data[k] = _pixels(name, ds) * (sl.rescale_slope * f)     # per-slice slope in float64 first (§1.10)
    affine = affine_from_dicom(positions[order], orientation, pixel_spacing)
    flags = tuple(dict.fromkeys([*conversion.qc_flags, *notes, *geo_flags, *suv_value_flags(data)]))
    header = header_summary(files[0][1], conversion, n_slices=len(files))
    return SUVVolume(data, affine, flags, header, suv_type)
