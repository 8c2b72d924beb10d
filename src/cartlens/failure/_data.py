"""Input checks and normalisation for the patterns-of-failure core (pure; no I/O).

The tables are those of data_model.md (``scans``, ``lesions``, optional ``patients``) plus two
optional inputs that the data model does not (yet) carry:

* ``later_therapy``: ``patient_id, centre, day, type`` (``rt`` | ``systemic`` | ``allo_sct``) and
  optional ``lesion_id`` (for RT to one lesion) — the censoring events of spec §2.2;
* optional lesion columns ``bridging_rt`` (bool, lesion inside a bridging RT field) and
  ``centroid_x_mm``, ``centroid_y_mm``, ``centroid_z_mm`` (lesion centre in the baseline scan's
  frame after registration, for the no-mask fallback of spec §2.3 step 3).

Every problem is reported as ``table:row:column: message`` (row = 1-based data row + 1 for the
header, as a spreadsheet shows it) in one :class:`FailureInputError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

STATES = ("measured", "too_small", "absent", "not_evaluable")
ATTRIBUTIONS = ("lymphoma", "equivocal", "not_lymphoma")
THERAPY_TYPES = ("rt", "systemic", "allo_sct")
REQUIRED = {
    "scans": ("patient_id", "centre", "scan_id", "day"),
    "lesions": ("patient_id", "centre", "scan_id", "lesion_id", "site", "nodal", "state"),
    "later_therapy": ("patient_id", "centre", "day", "type"),
}


class FailureInputError(ValueError):
    """All located problems in the input of the failure analysis, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


def dec(value: object) -> Decimal | None:
    """A number as an exact Decimal (via its shortest repr), or None when missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a number") from exc


def as_bool(value: object) -> bool | None:
    """Parse a boolean cell: bool, 0/1, true/false/yes/no; None when missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "t", "1.0"):
        return True
    if text in ("0", "false", "no", "n", "f", "0.0"):
        return False
    if text == "":
        return None
    raise ValueError(f"{value!r} is not a boolean")


def ds(value: object) -> str | None:
    """A Deauville score as '1'..'5' or 'X'; None when missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().upper()
    text = text.removesuffix(".0")
    if text == "":
        return None
    if text not in ("1", "2", "3", "4", "5", "X"):
        raise ValueError(f"{value!r} is not a Deauville score (1-5 or X)")
    return text


def _require(tables: Mapping[str, pd.DataFrame], name: str, problems: list[str]) -> pd.DataFrame | None:
    frame = tables.get(name)
    if frame is None:
        return None
    missing = [c for c in REQUIRED[name] if c not in frame.columns]
    for col in missing:
        problems.append(f"{name}:1:{col}: required column missing")
    return None if missing else frame.reset_index(drop=True)


def _parse(frame: pd.DataFrame, name: str, col: str, fn, problems: list[str]) -> list:
    out = []
    for i, v in enumerate(frame[col].tolist() if col in frame.columns else [None] * len(frame)):
        try:
            out.append(fn(v))
        except ValueError as exc:
            problems.append(f"{name}:{i + 2}:{col}: {exc}")
            out.append(None)
    return out


def _enum(allowed: tuple[str, ...], default: str | None = None):
    def parse(v: object) -> str | None:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
            return default
        text = str(v).strip().lower()
        if text not in allowed:
            raise ValueError(f"{v!r} is not one of {list(allowed)}")
        return text
    return parse


def _key_cols(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["patient_id"] = out["patient_id"].astype(str)
    out["centre"] = out["centre"].astype(str)
    return out


def normalise(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Check and normalise the input tables; raise FailureInputError listing every problem.

    Returns a dict with ``scans``, ``lesions``, ``patients`` (possibly empty) and
    ``later_therapy`` (possibly empty). Lesion sizes become ``Decimal`` (cm), booleans ``bool``
    or None, Deauville a string.
    """
    problems: list[str] = []
    for name in ("scans", "lesions"):
        if name not in tables:
            problems.append(f"{name}:0:-: table required for the failure analysis is missing")
    if problems:
        raise FailureInputError(problems)
    scans = _require(tables, "scans", problems)
    lesions = _require(tables, "lesions", problems)
    therapy = _require(tables, "later_therapy", problems)
    if problems:
        raise FailureInputError(problems)
    assert scans is not None and lesions is not None
    for name, frame in (("scans", scans), ("lesions", lesions)):
        for col in REQUIRED[name]:
            for i in map(int, np.flatnonzero(frame[col].isna().to_numpy() | (frame[col].astype(str).str.strip() == ""))):
                problems.append(f"{name}:{i + 2}:{col}: required value missing")
    scans = _key_cols(scans)
    scans["scan_id"] = scans["scan_id"].astype(str)
    scans["day"] = _parse(scans, "scans", "day", dec, problems)
    scans["marrow"] = _parse(scans, "scans", "marrow", _enum(("not_involved", "reactive", "suspected",
                                                            "involved")), problems)
    dup = scans.duplicated(["centre", "patient_id", "scan_id"])
    for i in map(int, np.flatnonzero(dup)):
        problems.append(f"scans:{i + 2}:scan_id: duplicate scan {scans.loc[i, 'scan_id']!r} for this patient")
    lesions = _key_cols(lesions)
    lesions["scan_id"] = lesions["scan_id"].astype(str)
    lesions["lesion_id"] = lesions["lesion_id"].astype(str)
    lesions["site"] = lesions["site"].astype(str).str.strip().str.lower()
    lesions["nodal"] = _parse(lesions, "lesions", "nodal", as_bool, problems)
    lesions["state"] = _parse(lesions, "lesions", "state", _enum(STATES), problems)
    lesions["attribution"] = _parse(lesions, "lesions", "attribution", _enum(ATTRIBUTIONS, "lymphoma"), problems)
    lesions["deauville"] = _parse(lesions, "lesions", "deauville", ds, problems)
    lesions["uptake_vs_baseline"] = _parse(lesions, "lesions", "uptake_vs_baseline",
                                           _enum(("decreased", "unchanged", "increased")), problems)
    for col in ("ldi_cm", "sdi_cm", "suvmax", "volume_ml", "centroid_x_mm", "centroid_y_mm", "centroid_z_mm"):
        lesions[col] = _parse(lesions, "lesions", col, dec, problems)
    lesions["bridging_rt"] = _parse(lesions, "lesions", "bridging_rt", as_bool, problems)
    for i, (state, ldi, sdi) in enumerate(zip(lesions["state"], lesions["ldi_cm"], lesions["sdi_cm"])):
        if state == "measured" and (ldi is None or sdi is None):
            problems.append(f"lesions:{i + 2}:ldi_cm: state 'measured' needs both ldi_cm and sdi_cm")
        elif ldi is not None and sdi is not None and sdi > ldi:
            problems.append(f"lesions:{i + 2}:sdi_cm: {sdi} cm must not exceed ldi_cm ({ldi} cm)")
    known = set(zip(scans["centre"], scans["patient_id"], scans["scan_id"]))
    for i, key in enumerate(zip(lesions["centre"], lesions["patient_id"], lesions["scan_id"])):
        if key not in known:
            problems.append(f"lesions:{i + 2}:scan_id: scan {key[2]!r} of this patient is not in scans")
    dup = lesions.duplicated(["centre", "patient_id", "scan_id", "lesion_id"])
    for i in map(int, np.flatnonzero(dup)):
        problems.append(f"lesions:{i + 2}:lesion_id: duplicate lesion row for this scan")
    if therapy is None:
        therapy = pd.DataFrame(columns=["patient_id", "centre", "day", "type", "lesion_id"])
    else:
        therapy = _key_cols(therapy)
        therapy["day"] = _parse(therapy, "later_therapy", "day", dec, problems)
        therapy["type"] = _parse(therapy, "later_therapy", "type", _enum(THERAPY_TYPES), problems)
        if "lesion_id" not in therapy.columns:
            therapy["lesion_id"] = None
        therapy["lesion_id"] = [None if (v is None or (isinstance(v, float) and np.isnan(v)) or str(v) == "")
                                else str(v) for v in therapy["lesion_id"]]
    patients = tables.get("patients")
    patients = pd.DataFrame(columns=["patient_id", "centre"]) if patients is None else _key_cols(patients)
    if problems:
        raise FailureInputError(problems)
    return {"scans": scans, "lesions": lesions, "patients": patients.reset_index(drop=True),
            "later_therapy": therapy}
