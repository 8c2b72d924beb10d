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
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from cartlens.pet.deidentify import header_summary
from cartlens.pet.dicomtime import combine, parse_da, parse_dt, parse_tm
from cartlens.pet.errors import PETInputError
from cartlens.pet.suv import SeriesHeader, SliceHeader, SUVConversion, suv_factors
from cartlens.pet.volume import SUVVolume, affine_from_dicom, slice_order, suv_value_flags

PHILIPS_CREATOR = "Philips PET Private Group"     # (7053,xx00) SUV factor, (7053,xx09) activity factor
GE_PET_CREATOR = "GEMS_PETD_01"                   # (0009,xx0D) scan datetime
PET_SOP_CLASSES = ("1.2.840.10008.5.1.4.1.1.128",)  # PET Image Storage (classic)
#: attributes that must agree on every image of a series (else: mixed series)
SERIES_LEVEL = ("Units", "DecayCorrection", "SUVType", "PatientWeight")


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
    tag = (group << 16) | 0x1000 | offset
    if tag in ds and not ds.private_creators(group):
        notes.append(f"private_tag_without_creator:({group:04X},{0x1000 | offset:04X})")
        return ds[tag].value
    return None


_TAGS = {"AcquisitionDate": "(0008,0022)", "AcquisitionTime": "(0008,0032)", "AcquisitionDateTime": "(0008,002A)",
         "SeriesDate": "(0008,0021)", "SeriesTime": "(0008,0031)", "StudyDate": "(0008,0020)",
         "RadiopharmaceuticalStartTime": "(0018,1072)", "RadiopharmaceuticalStartDateTime": "(0018,1078)",
         "DecayCorrectionDateTime": "(0018,9701)", "ImagePositionPatient": "(0020,0032)",
         "ImageOrientationPatient": "(0020,0037)", "PixelSpacing": "(0028,0030)"}


def _parse(ds: Dataset, keyword: str, parser: Any) -> Any:
    """Parse one date/time attribute; a malformed value is a named error (value not echoed: dates are PHI)."""
    try:
        return parser(ds.get(keyword))
    except ValueError as err:
        raise PETInputError(f"{keyword} {_TAGS.get(keyword, '')}".strip(), "malformed DICOM date/time value") from err


def _datetime(ds: Dataset, date_kw: str, time_kw: str) -> Any:
    return combine(_parse(ds, date_kw, parse_da), _parse(ds, time_kw, parse_tm))


def slice_header(ds: Dataset, notes: list[str]) -> SliceHeader:
    """Per-image SUV inputs of one dataset.

    AcquisitionDate missing but AcquisitionTime present: the date is taken from SeriesDate, then
    StudyDate (noted as ``acquisition_date_borrowed``).
    """
    acq = _datetime(ds, "AcquisitionDate", "AcquisitionTime")
    if acq is None and ds.get("AcquisitionDateTime"):
        acq = _parse(ds, "AcquisitionDateTime", parse_dt)[0]
    if acq is None and ds.get("AcquisitionTime"):
        day = _parse(ds, "SeriesDate", parse_da) or _parse(ds, "StudyDate", parse_da)
        acq = combine(day, _parse(ds, "AcquisitionTime", parse_tm))
        if acq is not None:
            notes.append("acquisition_date_borrowed")
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


def _optional_dt(ds: Dataset, keyword: str, notes: list[str]) -> Any:
    """A DT that has a fallback: malformed -> None with a note (the fallback rule then applies)."""
    try:
        return parse_dt(ds.get(keyword))
    except ValueError:
        notes.append(f"{keyword}_malformed_ignored")
        return None


def series_header(ds: Dataset, notes: list[str]) -> SeriesHeader:
    """Series-level SUV inputs, from the first dataset of the series (§1.2)."""
    rp: Dataset = ds.RadiopharmaceuticalInformationSequence[0] \
        if ds.get("RadiopharmaceuticalInformationSequence") else Dataset()
    code = rp.RadionuclideCodeSequence[0] if rp.get("RadionuclideCodeSequence") else Dataset()
    inj = _optional_dt(rp, "RadiopharmaceuticalStartDateTime", notes)
    ge_text = _text(private_value(ds, 0x0009, GE_PET_CREATOR, 0x0D, notes))
    ge = None if ge_text is None else _ge_datetime(ge_text, notes)
    dcdt = _optional_dt(ds, "DecayCorrectionDateTime", notes)
    tz = _text(ds.get("TimezoneOffsetFromUTC"))
    corrected = ds.get("CorrectedImage")
    return SeriesHeader(
        units=_text(ds.get("Units")) or "",
        decay_correction=_text(ds.get("DecayCorrection")) or "",
        corrected_image=None if corrected is None else tuple(str(c) for c in
                                                             (corrected if not isinstance(corrected, str) else [corrected])),
        series_type=tuple(str(t) for t in (ds.get("SeriesType") or ())),
        series_date=_parse(ds, "SeriesDate", parse_da),
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
        injection_time=_parse(rp, "RadiopharmaceuticalStartTime", parse_tm),
        suv_type=_text(ds.get("SUVType")),
        decay_correction_datetime=None if dcdt is None else dcdt[0],
        ge_scan_datetime=ge,
        dose_calibration_factor=_float(ds.get("DoseCalibrationFactor")),
        notes=tuple(dict.fromkeys(notes)),
    )


def _ge_datetime(text: str, notes: list[str]) -> Any:
    try:
        value = parse_dt(text)
    except ValueError:
        notes.append("ge_private_scan_datetime_malformed_ignored")
        return None
    return None if value is None else value[0]


def _tz_minutes(text: str) -> int | None:
    s = text.strip()
    if len(s) != 5 or s[0] not in "+-" or not s[1:].isdigit():
        return None
    return (-1 if s[0] == "-" else 1) * (int(s[1:3]) * 60 + int(s[3:5]))


def _read_without_preamble(path: Path) -> Dataset | None:
    """A DICOM data set written without the 128-byte preamble / file meta (old exports), else None."""
    try:
        ds = pydicom.dcmread(path, force=True)
        ok = "SOPClassUID" in ds and "Modality" in ds
        _ = ds.get("Modality"), ds.get("SOPClassUID")
    except Exception:  # noqa: BLE001 - any parse failure means "not a DICOM file"
        return None
    if not ok:
        return None
    implicit, little = ds.original_encoding
    syntax = (ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian) if little else ExplicitVRBigEndian
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax                # what the data set was actually parsed with
    return ds


def _read_all(directory: Path) -> tuple[dict[str, list[tuple[str, Dataset]]], set[str]]:
    """Every readable DICOM file under ``directory``, PET images grouped by SeriesInstanceUID."""
    if not directory.is_dir():
        raise PETInputError(directory.name or str(directory), "is not a directory")
    series: dict[str, list[tuple[str, Dataset]]] = defaultdict(list)
    modalities: set[str] = set()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        ds: Dataset | None
        try:
            ds = pydicom.dcmread(path)
        except InvalidDicomError:
            ds = _read_without_preamble(path)
        except Exception as err:
            raise PETInputError(path.name, f"unreadable or truncated DICOM file ({type(err).__name__})") from err
        if ds is None:
            continue                                     # not DICOM (README, mask NIfTI, ...)
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


def _vector(ds: Dataset, keyword: str, size: int) -> np.ndarray | None:
    """A numeric multi-value attribute of ``size`` values, or None when absent (malformed raises)."""
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    try:
        out = np.array([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise PETInputError(f"{keyword} {_TAGS[keyword]}", "malformed value") from err
    if out.shape != (size,) or not np.all(np.isfinite(out)):
        raise PETInputError(f"{keyword} {_TAGS[keyword]}", f"expected {size} finite numbers")
    return out


def _geometry(files: list[tuple[str, Dataset]], notes: list[str]
              ) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Positions, orientation and pixel spacing (§1.10).

    Missing geometry is tolerated with a QC flag rather than rejected: ImageOrientationPatient absent ->
    axial; PixelSpacing absent -> 1 mm; ImagePositionPatient absent on any slice -> slices ordered by
    InstanceNumber at SpacingBetweenSlices or SliceThickness (else 1 mm). Volumes then depend on the flag.
    """
    ref = files[0][1]
    if int(_float(ref.get("NumberOfFrames")) or 1) > 1:
        raise PETInputError("NumberOfFrames (0028,0008)", "multi-frame (enhanced) PET is not supported")
    orientation = _vector(ref, "ImageOrientationPatient", 6)
    if orientation is None:
        orientation = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
        notes.append("orientation_missing_assumed_axial")
    spacing = _vector(ref, "PixelSpacing", 2)
    if spacing is None:
        spacing = np.array([1.0, 1.0])
        notes.append("pixel_spacing_missing_assumed_1mm")
    vectors = [_vector(ds, "ImagePositionPatient", 3) for _, ds in files]
    if any(v is None for v in vectors):
        step = _float(ref.get("SpacingBetweenSlices")) or _float(ref.get("SliceThickness")) or 1.0
        rank = np.argsort([_float(ds.get("InstanceNumber")) or 0.0 for _, ds in files], kind="stable")
        normal = np.cross(orientation[:3], orientation[3:])
        positions = np.zeros((len(files), 3))
        positions[rank] = np.arange(len(files))[:, None] * step * normal[None, :]
        notes.append("image_position_missing_ordered_by_instance_number")
    else:
        positions = np.array(vectors)
    for name, ds in files:
        other = _vector(ds, "ImageOrientationPatient", 6)
        if (other is not None and not np.allclose(other, orientation, atol=1e-4)) or \
                (ds.Rows, ds.Columns) != (ref.Rows, ref.Columns):
            raise PETInputError(name, "orientation or matrix size differs from the first slice (mixed series)")
        for keyword in SERIES_LEVEL:
            a, b = ds.get(keyword), ref.get(keyword)
            same = _float(a) == _float(b) if keyword == "PatientWeight" else _text(a) == _text(b)
            if not same:
                raise PETInputError(name, f"{keyword} differs from the first slice (mixed series)")
    return positions, orientation, (float(spacing[0]), float(spacing[1]))


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
    positions, orientation, pixel_spacing = _geometry(files, notes)
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


def deidentify_series(directory: str | Path, out_dir: str | Path, *, pseudonym: str, uid_key: bytes,
                      anchor: Any = None) -> int:
    """Write a de-identified copy of every PET/CT DICOM file under ``directory`` into ``out_dir``.

    Applies :func:`cartlens.pet.deidentify.deidentify` (PS3.15 basic profile with the options SUV
    needs). Files are named by their new SOPInstanceUID, so original names (which may carry
    identifiers) are not kept. ``anchor`` (a ``datetime.date``) defaults to the earliest StudyDate (or
    SeriesDate) found;
    pass the same anchor and key for every series of a patient so intervals stay consistent.

    Returns the number of files written.
    """
    from cartlens.pet.deidentify import deidentify

    src, dst = Path(directory), Path(out_dir)
    if not src.is_dir():
        raise PETInputError(src.name or str(src), "is not a directory")
    datasets = []
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(path)
        except InvalidDicomError:
            continue
        except Exception as err:
            raise PETInputError(path.name, f"unreadable or truncated DICOM file ({type(err).__name__})") from err
        datasets.append(ds)
    if anchor is None:
        days = [d for ds in datasets for kw in ("StudyDate", "SeriesDate") if (d := _parse(ds, kw, parse_da))]
        if not days:
            raise PETInputError("StudyDate (0008,0020)", "no study/series date to anchor the date shift; "
                                "pass anchor=")
        anchor = min(days)
    dst.mkdir(parents=True, exist_ok=True)
    for ds in datasets:
        anon = deidentify(ds, pseudonym=pseudonym, uid_key=uid_key, anchor=anchor)
        anon.save_as(dst / f"{anon.SOPInstanceUID}.dcm")
    return len(datasets)
