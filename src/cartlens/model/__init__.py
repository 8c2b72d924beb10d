"""Validated domain types of cartlens (spec data_model.md; style: invalid objects cannot be constructed).

Each type checks its fields against the column specification of ``cartlens.model.schema.TABLES`` and the
cross-field rules of ``cartlens.model.rules`` in ``__post_init__`` and raises :class:`FieldError` naming the
field.  ``from_row`` builds a type from one canonical table row (a mapping; NaN/None = missing).  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import pandas as pd

from cartlens.model.rules import (
    FieldError,
    check_event,
    check_extranodal_sites,
    check_measurement,
    check_mtv,
    check_range,
    split_sites,
)
from cartlens.model.schema import TABLES
from cartlens.units import UnitError, canonical_unit

__all__ = ["FieldError", "LabValue", "Lesion", "LesionMeasurement", "Outcome", "Patient", "Scan", "Toxicity"]


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))  # NaN / pd.NA / NaT
    except (TypeError, ValueError):
        return False


def _check_columns(obj: object, table: str, *, skip: tuple[str, ...] = ()) -> None:
    """Type, requiredness, enum and range of every field that is a column of ``table``."""
    spec = TABLES[table].by_name
    for f in fields(obj):  # type: ignore[arg-type]
        col = spec.get(f.name)
        if col is None or f.name in skip:
            continue
        value = getattr(obj, f.name)
        if _missing(value):
            if col.required:
                raise FieldError(f.name, "required value is missing")
            continue
        if col.type in ("str", "enum"):
            if not isinstance(value, str) or (col.required and not value.strip()):
                raise FieldError(f.name, f"{value!r} is not a non-empty string")
            if col.type == "enum" and value not in col.values:
                raise FieldError(f.name, f"{value!r} is not one of {list(col.values)}")
        elif col.type == "bool":
            if not isinstance(value, bool):
                raise FieldError(f.name, f"{value!r} is not true/false")
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise FieldError(f.name, f"{value!r} is not a number")
            if col.type == "int" and float(value) != int(value):
                raise FieldError(f.name, f"{value!r} is not a whole number")
            for column, message in check_range(f.name, float(value), col.minimum, col.maximum, col.unit):
                raise FieldError(column, message)


def _raise_first(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise FieldError(*problems[0])


def _clean(row: Mapping[str, Any], names: list[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        value: Any = row.get(name)
        if _missing(value):
            value = None
        elif hasattr(value, "item"):
            value = value.item()  # numpy scalar -> Python
        out[name] = value
    return out


class _RowMixin:
    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Any:
        """Build from one canonical table row (extra keys are ignored, NaN/None = missing)."""
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        return cls(**_clean(row, names))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (JSON-ready)."""
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class Outcome(_RowMixin):
    """Progression-free and overall survival, days from infusion (data_model.md patients)."""

    pfs_days: float | None = None
    pfs_event: int | None = None
    os_days: float | None = None
    os_event: int | None = None

    def __post_init__(self) -> None:
        _check_columns(self, "patients")
        _raise_first(check_event("pfs", self.pfs_days, self.pfs_event) + check_event("os", self.os_days,
                                                                                     self.os_event))


@dataclass(frozen=True, slots=True)
class Patient(_RowMixin):
    """One patient at infusion (data_model.md patients); ``outcome`` holds PFS/OS."""

    patient_id: str
    centre: str
    age: float
    stage: int
    cohort: str | None = None
    sex: str | None = None
    histology: str | None = None
    ecog: int | None = None
    extranodal_sites: tuple[str, ...] = ()
    prior_lines: int | None = None
    prior_auto_hct: bool | None = None
    primary_refractory: bool | None = None
    bridging: str | None = None
    product: str | None = None
    mtv_ml: float | None = None
    mtv_method: str | None = None
    outcome: Outcome = Outcome()

    def __post_init__(self) -> None:
        if isinstance(self.extranodal_sites, str):
            object.__setattr__(self, "extranodal_sites", split_sites(self.extranodal_sites))
        _check_columns(self, "patients", skip=("extranodal_sites",))
        _raise_first(check_extranodal_sites(self.extranodal_sites) + check_mtv(self.mtv_ml, self.mtv_method))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Patient:
        """Build from a ``patients`` row (outcome columns included)."""
        names = [f.name for f in fields(cls) if f.name != "outcome"]
        values = _clean(row, names)
        values["extranodal_sites"] = split_sites(values["extranodal_sites"])
        return cls(**values, outcome=Outcome.from_row(row))

    @property
    def costimulation(self) -> str | None:
        """CD28 (axi-cel, brexu-cel) or 4-1BB (tisa-cel, liso-cel); product labels (FDA/EMA SmPC)."""
        return {"axi-cel": "CD28", "brexu-cel": "CD28", "tisa-cel": "4-1BB", "liso-cel": "4-1BB"}.get(
            self.product or "")


@dataclass(frozen=True, slots=True)
class LabValue(_RowMixin):
    """One laboratory value in the canonical unit of its analyte (data_model.md labs; ``cartlens.units``)."""

    patient_id: str
    centre: str
    day: int
    analyte: str
    value: float
    unit: str
    uln: float | None = None
    censored: str | None = None
    warning: str | None = None

    def __post_init__(self) -> None:
        _check_columns(self, "labs")
        try:
            expected = canonical_unit(self.analyte)
        except UnitError as exc:
            raise FieldError("analyte", str(exc)) from None
        if self.unit != expected:
            raise FieldError("unit", f"{self.unit!r} is not the canonical unit {expected!r} of {self.analyte}; "
                                     "convert with cartlens.units.convert first")

    @property
    def uln_ratio(self) -> float | None:
        """value / ULN, or None without a ULN."""
        return None if not self.uln else self.value / self.uln


@dataclass(frozen=True, slots=True)
class Toxicity(_RowMixin):
    """ASTCT 2019 CRS/ICANS grades and management (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625)."""

    patient_id: str
    centre: str
    crs_grade: int
    icans_grade: int
    icu: bool | None = None
    tocilizumab: bool | None = None
    corticosteroids: bool | None = None
    icaht_grade: int | None = None

    def __post_init__(self) -> None:
        _check_columns(self, "toxicity")


@dataclass(frozen=True, slots=True)
class Scan(_RowMixin):
    """One imaging timepoint (data_model.md scans)."""

    patient_id: str
    centre: str
    scan_id: str
    day: int
    modality: str
    spleen_cm: float | None = None
    marrow: str | None = None
    nontarget: str | None = None
    clinical_deterioration: bool | None = None
    liver_suvmean: float | None = None
    mbp_suvmax: float | None = None
    image: str | None = None

    def __post_init__(self) -> None:
        _check_columns(self, "scans")


@dataclass(frozen=True, slots=True)
class Lesion(_RowMixin):
    """A lesion's identity, stable across scans: site, nodal flag and its baseline role."""

    patient_id: str
    centre: str
    lesion_id: str
    site: str
    nodal: bool
    role: str | None = None

    def __post_init__(self) -> None:
        _check_columns(self, "lesions")


@dataclass(frozen=True, slots=True)
class LesionMeasurement(_RowMixin):
    """One lesion on one scan (data_model.md lesions).  ``sdi_cm <= ldi_cm``; ``measured`` needs both.

    ``ldi_tenth_mm``/``sdi_tenth_mm`` give exact integers for threshold arithmetic (architecture.md).
    """

    patient_id: str
    centre: str
    scan_id: str
    lesion_id: str
    state: str
    ldi_cm: float | None = None
    sdi_cm: float | None = None
    volume_ml: float | None = None
    suvmax: float | None = None
    deauville: str | None = None
    uptake_vs_baseline: str | None = None
    attribution: str | None = None
    biopsy_proven: bool | None = None
    centroid_x_mm: float | None = None
    centroid_y_mm: float | None = None
    centroid_z_mm: float | None = None
    bridging_rt: bool | None = None

    def __post_init__(self) -> None:
        _check_columns(self, "lesions")
        _raise_first(check_measurement(self.state, self.ldi_cm, self.sdi_cm))

    @property
    def ldi_tenth_mm(self) -> int | None:
        """LDi in integer tenths of a millimetre (cm x 100, rounded half-even), or None."""
        return None if self.ldi_cm is None else round(self.ldi_cm * 100)

    @property
    def sdi_tenth_mm(self) -> int | None:
        """SDi in integer tenths of a millimetre, or None."""
        return None if self.sdi_cm is None else round(self.sdi_cm * 100)

    @property
    def product_cm2(self) -> float | None:
        """LDi x SDi (cm^2) of a measured lesion, else None."""
        if self.ldi_cm is None or self.sdi_cm is None:
            return None
        return self.ldi_cm * self.sdi_cm
