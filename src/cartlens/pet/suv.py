"""SUV conversion factors from PET header values (pure: no file access).

Spec: pet_quantification.md §1 (every rule below cites its subsection).  The input is the set of
header values a DICOM reader collected (:class:`SeriesHeader`, one :class:`SliceHeader` per image,
built by :mod:`cartlens.pet.dicom`); the output is one multiplicative factor per slice such that

    SUV = (stored value x RescaleSlope) x factor        (RescaleIntercept must be 0, §1.1)

together with the reference-time branch that was taken (§1.6), the body-size values used, and the
QC flags of §1.11.  Written here rather than taken from a library because the peers examined for
the spec disagree with the known-answer data (§1.7: up to 33 % off on real headers).

References
----------
* IBSI / OncoRay SUV computation manual (oncoray.github.io/suv_computation) and DROs.
* QIBA vendor-neutral SUV pseudo-code (qibawiki.rsna.org, "Standardized Uptake Value (SUV)").
* DICOM PS3.3 C.8.9.4 (PET Series / PET Image modules; C.8.9.4.1.5 Frame Reference Time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from cartlens.pet.errors import PETInputError
from cartlens.pet.normalisers import DICOM_SUV_TYPE, SUV_TYPES, bsa_dubois_m2

#: Half-lives (s) by radionuclide, used only when (0018,1075) is absent (§1.8: never default silently).
#: Values: DDEP / LNHB recommended data (www.lnhb.fr/ddep), NNDC NuDat 3 — F-18 109.77 min,
#: C-11 20.364 min, N-13 9.965 min, O-15 122.24 s, Ga-68 67.71 min, Rb-82 1.273 min, Cu-64 12.701 h,
#: Zr-89 78.41 h.
HALF_LIFE_S: dict[str, float] = {
    "F-18": 6586.2, "C-11": 1221.84, "N-13": 597.9, "O-15": 122.24, "Ga-68": 4062.6,
    "Rb-82": 76.38, "Cu-64": 45723.6, "Zr-89": 282276.0,
}
#: RadionuclideCodeSequence (0054,0300) code values -> nuclide.  SNOMED-RT codes of DICOM CID 4020
#: "PET Radionuclide" (PS3.16) and the SNOMED CT concept for F-18.
NUCLIDE_CODES: dict[str, str] = {
    "C-111A1": "F-18", "77004003": "F-18", "C-105A1": "C-11", "C-107A1": "N-13", "C-B1038": "O-15",
    "C-131A3": "Ga-68", "C-128A2": "Rb-82",
}
_MEANING_WORDS = {"fluorine": "F-18", "carbon": "C-11", "nitrogen": "N-13", "oxygen": "O-15",
                  "gallium": "Ga-68", "rubidium": "Rb-82", "copper": "Cu-64", "zirconium": "Zr-89"}

#: Units (0054,1001) handled, §1.3.  Anything else is rejected with the value named.
QUANTITATIVE_UNITS = ("BQML", "CNTS", "GML", "CM2ML")
SERIES_TIME_TOLERANCE_S = 1.0          # §1.6 step 3: Siemens AcquisitionTime 5 us before SeriesTime
T_REF_AGREEMENT_S = 1.0                # §1.11 / §1.6 step 4
MBQ_DOSE_LIMIT = 1.0e5                 # §1.8: dose below 1e5 is read as MBq
MIDNIGHT_MIN_GAP_S = 12 * 3600.0       # time-only injection "after" t_ref by less than this: not a midnight case


@dataclass(frozen=True, slots=True)
class SliceHeader:
    """Per-image values that SUV needs (DICOM keyword and tag in the comment)."""

    rescale_slope: float = 1.0                      # RescaleSlope (0028,1053)
    rescale_intercept: float = 0.0                  # RescaleIntercept (0028,1052)
    acquisition: datetime | None = None             # AcquisitionDate/Time (0008,0022/0032) or (0008,002A)
    frame_reference_time_ms: float | None = None    # FrameReferenceTime (0054,1300)
    frame_duration_ms: float | None = None          # ActualFrameDuration (0018,1242)
    philips_suv_factor: float | None = None         # private (7053,1000) "Philips PET Private Group"
    philips_activity_factor: float | None = None    # private (7053,1009) same creator


@dataclass(frozen=True, slots=True)
class SeriesHeader:
    """Series-level values that SUV needs, as read (units not yet sanity-corrected)."""

    units: str                                      # Units (0054,1001)
    decay_correction: str                           # DecayCorrection (0054,1102)
    corrected_image: tuple[str, ...] | None = None  # CorrectedImage (0028,0051)
    series_type: tuple[str, ...] = ()               # SeriesType (0054,1000)
    series_date: date | None = None                 # SeriesDate (0008,0021)
    series_datetime: datetime | None = None         # SeriesDate + SeriesTime (0008,0021/0031)
    utc_offset_min: int | None = None               # TimezoneOffsetFromUTC (0008,0201)
    weight: float | None = None                     # PatientWeight (0010,1030), kg (or g, §1.8)
    height: float | None = None                     # PatientSize (0010,1020), m (or cm, §1.8)
    sex: str | None = None                          # PatientSex (0010,0040)
    radiopharmaceutical: str | None = None          # Radiopharmaceutical (0018,0031)
    total_dose: float | None = None                 # RadionuclideTotalDose (0018,1074), Bq (or MBq)
    half_life_s: float | None = None                # RadionuclideHalfLife (0018,1075)
    nuclide_code: str | None = None                 # RadionuclideCodeSequence (0054,0300) CodeValue
    nuclide_meaning: str | None = None              # ... CodeMeaning
    injection_datetime: datetime | None = None      # RadiopharmaceuticalStartDateTime (0018,1078)
    injection_utc_offset_min: int | None = None     # its &ZZXX suffix
    injection_time: timedelta | None = None         # RadiopharmaceuticalStartTime (0018,1072)
    suv_type: str | None = None                     # SUVType (0054,1006)
    decay_correction_datetime: datetime | None = None  # DecayCorrectionDateTime (0018,9701), enhanced
    ge_scan_datetime: datetime | None = None        # private (0009,100D) "GEMS_PETD_01"
    dose_calibration_factor: float | None = None    # DoseCalibrationFactor (0054,1322)
    notes: tuple[str, ...] = ()                     # reader remarks carried into qc_flags


@dataclass(frozen=True, slots=True)
class SUVConversion:
    """Per-slice SUV factors and how they were obtained.

    ``factors[i]`` multiplies ``stored x RescaleSlope`` of slice ``i`` (DICOM order of the input).
    Times are relative (seconds), never absolute dates (de-identification, web_and_security.md).
    """

    factors: np.ndarray
    suv_type: str
    units: str
    decay_correction: str
    t_ref_rule: str | None
    uptake_s: float | None
    weight_kg: float | None
    height_cm: float | None
    dose_bq: float | None
    half_life_s: float | None
    normaliser: float | None
    qc_flags: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        """Method parameters for output rows (spec §0: every row carries what was used)."""
        return {"suv_type": self.suv_type, "units": self.units, "decay_correction": self.decay_correction,
                "t_ref_rule": self.t_ref_rule, "uptake_s": self.uptake_s, "weight_kg": self.weight_kg,
                "height_cm": self.height_cm, "dose_bq": self.dose_bq, "half_life_s": self.half_life_s,
                "qc_flags": list(self.qc_flags)}


# --------------------------------------------------------------------------------------------
# sanity rules (§1.8)
# --------------------------------------------------------------------------------------------

def weight_kg(raw: float | None, flags: list[str]) -> float:
    """PatientWeight in kg: > 1000 is read as grams; missing or <= 0 rejects (§1.8)."""
    if raw is None or not math.isfinite(raw) or raw <= 0:
        raise PETInputError("PatientWeight (0010,1030)", f"needed for SUV, found {raw!r}")
    if raw > 1000:
        flags.append("weight_read_as_grams")
        return raw / 1000.0
    return float(raw)


def height_cm(raw: float | None, flags: list[str]) -> float:
    """PatientSize in cm: the field is defined in m; a value > 3 is read as cm (§1.8)."""
    if raw is None or not math.isfinite(raw) or raw <= 0:
        raise PETInputError("PatientSize (0010,1020)", f"height needed for this SUV normaliser, found {raw!r}")
    cm = raw if raw > 3 else raw * 100.0
    if raw > 3:
        flags.append("height_read_as_cm")
    if not 50.0 <= cm <= 250.0:
        raise PETInputError("PatientSize (0010,1020)", f"height {cm:g} cm is implausible (50-250 cm)")
    return cm


def dose_bq(raw: float | None, flags: list[str]) -> float:
    """RadionuclideTotalDose in Bq: below 1e5 it is read as MBq (IBSI clusters, §1.8)."""
    if raw is None or not math.isfinite(raw) or raw <= 0:
        raise PETInputError("RadionuclideTotalDose (0018,1074)", f"needed for SUV, found {raw!r}")
    if raw < MBQ_DOSE_LIMIT:
        flags.append("dose_read_as_mbq")
        return raw * 1.0e6
    return float(raw)


def nuclide_half_life_s(series: SeriesHeader, flags: list[str]) -> float:
    """RadionuclideHalfLife, else derived from RadionuclideCodeSequence (§1.8); never a silent default."""
    if series.half_life_s is not None and math.isfinite(series.half_life_s) and series.half_life_s > 0:
        return float(series.half_life_s)
    nuclide = NUCLIDE_CODES.get((series.nuclide_code or "").strip())
    if nuclide is None and series.nuclide_meaning:
        words = series.nuclide_meaning.lower()
        nuclide = next((n for w, n in _MEANING_WORDS.items() if w in words), None)
    if nuclide is None:
        raise PETInputError("RadionuclideHalfLife (0018,1075)",
                            "missing, and RadionuclideCodeSequence (0054,0300) names no known nuclide "
                            f"(code {series.nuclide_code!r})")
    flags.append(f"half_life_from_code_sequence:{nuclide}")
    return HALF_LIFE_S[nuclide]


def time_average_s(duration_s: float, lam: float) -> float:
    """T_ave = (1/lambda) ln(lambda T / (1 - exp(-lambda T))): time of average count rate (PS3.3 C.8.9.4.1.5)."""
    if duration_s <= 0:
        return 0.0
    x = lam * duration_s
    return math.log(x / -math.expm1(-x)) / lam


# --------------------------------------------------------------------------------------------
# reference time (§1.6) and injection time (§1.8)
# --------------------------------------------------------------------------------------------

def reference_times(series: SeriesHeader, slices: list[SliceHeader], lam: float,
                    flags: list[str]) -> tuple[list[datetime], str]:
    """t_ref per slice for DecayCorrection START, and the branch id of §1.6 that produced it."""
    n = len(slices)
    if series.decay_correction_datetime is not None:                                # step 1
        return [series.decay_correction_datetime] * n, "decay_correction_datetime"
    if series.ge_scan_datetime is not None:                                         # step 2
        return [series.ge_scan_datetime] * n, "ge_private_scan_datetime"
    acquisitions = [s.acquisition for s in slices if s.acquisition is not None]
    a0 = min(acquisitions) if acquisitions else None
    s = series.series_datetime
    if s is not None and (a0 is None or (s - a0).total_seconds() <= SERIES_TIME_TOLERANCE_S):   # step 3
        if a0 is None:
            flags.append("acquisition_time_missing")
        return [s] * n, "series_time"
    if a0 is None:
        raise PETInputError("SeriesTime (0008,0031)", "no series or acquisition date/time to decay-correct to")
    usable = all(sl.acquisition is not None and (sl.frame_reference_time_ms or 0) > 0
                 and (sl.frame_duration_ms or 0) > 0 for sl in slices)
    if s is not None and usable:                                                     # step 4
        t_refs = [_back_computed(sl, lam) for sl in slices]
        spread = (max(t_refs) - min(t_refs)).total_seconds()
        if spread > T_REF_AGREEMENT_S:
            flags.append(f"t_ref_disagreement_s:{spread:.1f}")
        return t_refs, "frame_reference_back_computed"
    return [a0] * n, "earliest_acquisition"                                          # step 5


def _back_computed(sl: SliceHeader, lam: float) -> datetime:
    """§1.6 step 4: t_ref = t_acq + T_ave - FrameReferenceTime (slice has all three)."""
    assert sl.acquisition is not None and sl.frame_duration_ms and sl.frame_reference_time_ms is not None
    offset = time_average_s(sl.frame_duration_ms / 1000.0, lam) - sl.frame_reference_time_ms / 1000.0
    return sl.acquisition + timedelta(seconds=offset)


def injection_time(series: SeriesHeader, t_ref: datetime, flags: list[str]) -> datetime:
    """Injection datetime: (0018,1078), else (0018,1072) on SeriesDate, a day earlier if after t_ref (§1.8)."""
    if series.injection_datetime is not None:
        t_adm = series.injection_datetime
        if series.injection_utc_offset_min is not None:
            if series.utc_offset_min is not None:
                t_adm += timedelta(minutes=series.utc_offset_min - series.injection_utc_offset_min)
            else:
                flags.append("injection_utc_offset_ignored")
        return t_adm
    if series.injection_time is None:
        raise PETInputError("RadiopharmaceuticalStartTime (0018,1072)",
                            "injection time missing (neither (0018,1078) nor (0018,1072) present)")
    day = series.series_date or t_ref.date()
    t_adm = datetime(day.year, day.month, day.day) + series.injection_time
    if t_adm > t_ref:
        ahead = (t_adm - t_ref).total_seconds()
        if ahead < MIDNIGHT_MIN_GAP_S:           # 23:59 uptake is no midnight crossing but a clock mismatch
            raise PETInputError("RadiopharmaceuticalStartTime (0018,1072)",
                                f"injection time of day is {ahead:.0f} s after the reference time; a previous-"
                                "day injection would mean more than 12 h uptake (clock mismatch?)")
        t_adm -= timedelta(days=1)
        flags.append("injection_before_midnight")
    return t_adm


def check_uptake(uptake_s: float, series: SeriesHeader, half_life_s: float, flags: list[str]) -> None:
    """Reject negative or implausibly long uptake; flag FDG outside 45-90 min (§1.8, §1.11)."""
    if uptake_s < 0:
        raise PETInputError("RadiopharmaceuticalStartDateTime (0018,1078)",
                            f"injection is {-uptake_s:.0f} s after the reference time")
    limit = 24 * 3600.0 if abs(half_life_s - HALF_LIFE_S["F-18"]) < 60 else max(24 * 3600.0, 10 * half_life_s)
    if uptake_s > limit:
        raise PETInputError("RadiopharmaceuticalStartDateTime (0018,1078)",
                            f"uptake time {uptake_s / 3600:.1f} h exceeds {limit / 3600:.0f} h")
    pharm = (series.radiopharmaceutical or "").lower()
    if ("fdg" in pharm or "fluorodeoxyglucose" in pharm) and not 45 * 60 <= uptake_s <= 90 * 60:
        flags.append(f"uptake_outside_45_90_min:{uptake_s / 60:.1f}")


# --------------------------------------------------------------------------------------------
# series checks and units dispatch (§1.1, §1.3, §1.9)
# --------------------------------------------------------------------------------------------

def check_series(series: SeriesHeader, slices: list[SliceHeader], flags: list[str]) -> None:
    """Reject series that cannot give SUV: units, dynamic/gated, NAC, non-zero intercept (§1.1, §1.3, §1.9)."""
    if not slices:
        raise PETInputError("series", "no images")
    units = (series.units or "").strip().upper()
    if units not in QUANTITATIVE_UNITS:
        raise PETInputError("Units (0054,1001)", f"{series.units!r} is not quantitative for SUV "
                            f"(handled: {list(QUANTITATIVE_UNITS)}; CPS/PROPCNTS/PROPCPS/1CM are rejected)")
    kinds = {t.strip().upper() for t in series.series_type}
    if kinds & {"DYNAMIC", "GATED"}:
        raise PETInputError("SeriesType (0054,1000)", f"{sorted(kinds)}: dynamic/gated series are not handled")
    if series.corrected_image is None:
        flags.append("corrected_image_missing")
    else:
        corrected = {c.strip().upper() for c in series.corrected_image}
        if "ATTN" not in corrected:
            raise PETInputError("CorrectedImage (0028,0051)",
                                f"{sorted(corrected)} lacks ATTN: not attenuation corrected (NAC)")
        dc = (series.decay_correction or "").strip().upper()
        if units == "BQML" and dc in ("START", "ADMIN") and "DECY" not in corrected:
            flags.append("decy_missing_in_corrected_image")
    for i, s in enumerate(slices):
        if s.rescale_intercept != 0:
            raise PETInputError("RescaleIntercept (0028,1052)",
                                f"slice {i}: {s.rescale_intercept!r}, must be 0 for PET (IBSI)")
        if not math.isfinite(s.rescale_slope) or s.rescale_slope <= 0:
            raise PETInputError("RescaleSlope (0028,1053)", f"slice {i}: {s.rescale_slope!r} must be > 0")


def _philips(slices: list[SliceHeader], attr: str) -> np.ndarray | None:
    """Per-slice Philips private factor if every slice has a non-zero one, else ``None``."""
    values = [getattr(s, attr) for s in slices]
    if all(v is not None and v != 0 for v in values):
        return np.asarray(values, dtype=np.float64)
    return None


def _bqml_to_suvbw(series: SeriesHeader, slices: list[SliceHeader], w_kg: float, flags: list[str],
                   dose_override_bq: float | None) -> tuple[np.ndarray, dict[str, object]]:
    """Bq/mL -> SUVbw factor per slice for DecayCorrection START / ADMIN / NONE (§1.5, §1.6)."""
    dose = dose_bq(dose_override_bq if dose_override_bq is not None else series.total_dose, flags)
    half = nuclide_half_life_s(series, flags)
    lam = math.log(2.0) / half
    dc = (series.decay_correction or "").strip().upper()
    w_g = w_kg * 1000.0
    meta: dict[str, object] = {"dose_bq": dose, "half_life_s": half, "t_ref_rule": None, "uptake_s": None}
    if dc == "START":
        t_refs, rule = reference_times(series, slices, lam, flags)
        t_adm = injection_time(series, min(t_refs), flags)
        waits = np.array([(t - t_adm).total_seconds() for t in t_refs])
        check_uptake(float(waits.min()), series, half, flags)
        meta.update(t_ref_rule=rule, uptake_s=float(waits.min()))
        return w_g / (dose * np.exp(-lam * waits)), meta
    if dc == "ADMIN":
        meta["t_ref_rule"] = "admin"
        return np.full(len(slices), w_g / dose), meta
    if dc == "NONE":
        if any(s.acquisition is None for s in slices):
            raise PETInputError("AcquisitionTime (0008,0032)", "needed on every slice for DecayCorrection NONE")
        starts = [s.acquisition for s in slices if s.acquisition is not None]
        t_adm = injection_time(series, min(starts), flags)
        waits = np.array([(t - t_adm).total_seconds() for t in starts])
        check_uptake(float(waits.min()), series, half, flags)
        durations = np.array([(s.frame_duration_ms or 0.0) / 1000.0 for s in slices])
        if np.any(durations <= 0):
            raise PETInputError("ActualFrameDuration (0018,1242)", "needed (> 0) on every slice for "
                                "DecayCorrection NONE")
        x = lam * durations
        meta.update(t_ref_rule="none_frame_start", uptake_s=float(waits.min()))
        return w_g / dose * (x / -np.expm1(-x)) * np.exp(lam * waits), meta   # §1.5 NONE
    raise PETInputError("DecayCorrection (0054,1102)", f"{series.decay_correction!r} is not START, ADMIN or NONE")


def _optional(parse: Any, raw: float | None) -> float | None:
    """A body value the conversion did not need, parsed for reporting (SDmax, SUL); None if unusable."""
    try:
        return float(parse(raw, []))
    except PETInputError:
        return None


def _needs_height(series: SeriesHeader, suv_type: str) -> bool:
    units = series.units.strip().upper()
    dicom_type = (series.suv_type or "BW").strip().upper()
    return suv_type != "bw" or units == "CM2ML" or (units == "GML" and dicom_type not in ("", "BW"))


def suv_factors(series: SeriesHeader, slices: list[SliceHeader], *, suv_type: str = "bw",
                dose_override_bq: float | None = None) -> SUVConversion:
    """Per-slice factors turning ``stored x RescaleSlope`` into SUV (spec §1).

    Parameters
    ----------
    series, slices : SeriesHeader, list of SliceHeader
        Header values of one series; ``slices`` in any order (factors follow it).
    suv_type : {"bw", "lbm_james", "lbm_janmahasatian", "ibw", "bsa"}
        Normaliser of the output (§1.4).  SUVbw (g/mL) is the default; SUVbsa is in cm^2/mL.
    dose_override_bq : float, optional
        Net injected activity in Bq (residual syringe activity is not in DICOM, §1.8).

    Returns
    -------
    SUVConversion
        ``factors`` (float64, one per slice), the §1.6 branch, body values used and QC flags.
    """
    if suv_type not in SUV_TYPES:
        raise PETInputError("suv_type", f"{suv_type!r} is not one of {sorted(SUV_TYPES)}")
    flags = list(series.notes)
    check_series(series, slices, flags)
    units = series.units.strip().upper()
    dicom_type = (series.suv_type or "BW").strip().upper() or "BW"
    height = height_cm(series.height, flags) if _needs_height(series, suv_type) else None
    sex = series.sex or ""
    meta: dict[str, object] = {"dose_bq": None, "half_life_s": None, "t_ref_rule": None, "uptake_s": None}
    w_kg: float | None = None
    philips_suv = _philips(slices, "philips_suv_factor") if units == "CNTS" else None
    if units == "GML":                                               # §1.3 GML: already normalised
        if dicom_type == "BW":
            bw = np.ones(len(slices))
        elif dicom_type in DICOM_SUV_TYPE:
            w_kg = weight_kg(series.weight, flags)
            bw = np.full(len(slices), w_kg / DICOM_SUV_TYPE[dicom_type](w_kg, height, sex))  # type: ignore[arg-type]
        else:
            raise PETInputError("SUVType (0054,1006)", f"{series.suv_type!r} is not valid with Units GML "
                                f"(expected BW or one of {sorted(DICOM_SUV_TYPE)}; BSA needs Units CM2ML)")
    elif units == "CM2ML":                                           # §1.3 CM2ML: SUVbsa
        w_kg = weight_kg(series.weight, flags)
        bw = np.full(len(slices), w_kg * 1000.0 / (bsa_dubois_m2(w_kg, height) * 1.0e4))  # type: ignore[arg-type]
    elif philips_suv is not None:                                    # §1.3 CNTS + (7053,1000)
        bw = philips_suv
        flags.append("philips_private_suv_factor")
    else:
        activity = np.ones(len(slices))
        if units == "CNTS":
            philips_act = _philips(slices, "philips_activity_factor")
            if philips_act is None:
                raise PETInputError("Units (0054,1001)", "CNTS without a non-zero Philips private factor "
                                    "(7053,1000) or (7053,1009) on every slice cannot be converted")
            activity = philips_act
            flags.append("philips_private_activity_factor")
        w_kg = weight_kg(series.weight, flags)
        per_bq, meta = _bqml_to_suvbw(series, slices, w_kg, flags, dose_override_bq)
        bw = activity * per_bq
    normaliser = None
    factors = bw
    if suv_type != "bw":
        w_kg = w_kg if w_kg is not None else weight_kg(series.weight, flags)
        normaliser = SUV_TYPES[suv_type](w_kg, height, sex)  # type: ignore[misc, arg-type]
        scale = normaliser * 1.0e4 / (w_kg * 1000.0) if suv_type == "bsa" else normaliser / w_kg
        factors = bw * scale
    rule = meta["t_ref_rule"]
    return SUVConversion(
        factors=np.asarray(factors, dtype=np.float64), suv_type=suv_type, units=units,
        decay_correction=(series.decay_correction or "").strip().upper(),
        t_ref_rule=None if rule is None else str(rule), uptake_s=_num(meta["uptake_s"]),
        weight_kg=w_kg if w_kg is not None else _optional(weight_kg, series.weight),
        height_cm=height if height is not None else _optional(height_cm, series.height),
        dose_bq=_num(meta["dose_bq"]), half_life_s=_num(meta["half_life_s"]), normaliser=normaliser,
        qc_flags=tuple(flags))


def _num(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
