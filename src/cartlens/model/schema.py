"""The canonical tables of cartlens, column by column (spec ``data_model.md``).

``TABLES`` is the single machine-readable copy of data_model.md: every reader (``cartlens.io``), the store
(``cartlens.store``), the demo generator and the web upload validate against it.  Pure: no I/O.

Additions to data_model.md (documented in docs/data_model.md):

* ``labs.censored`` (``<``/``>``) keeps the flag of a value reported as ``"<0.5"``; ``labs.warning`` keeps the
  message of an implausible value accepted with ``--accept-suspicious``.
* ``lesions.centroid_x_mm/_y_mm/_z_mm`` and ``lesions.bridging_rt`` (patterns_of_failure.md section 2.1/2.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from cartlens.units import ANALYTES

__all__ = [
    "EXTRANODAL_SITES",
    "NCCN_KEY_SITES",
    "NODAL_SITES",
    "SITES",
    "TABLES",
    "TABLE_ORDER",
    "ColumnSpec",
    "TableSpec",
    "cast_table",
    "empty_table",
    "is_lymphatic",
    "is_nodal",
]

ColumnType = Literal["str", "int", "float", "bool", "enum"]

# Site vocabulary, data_model.md "Site vocabulary".
NODAL_SITES: tuple[str, ...] = (
    "cervical", "supraclavicular", "axillary", "mediastinal", "hilar", "mesenteric", "retroperitoneal",
    "iliac", "inguinal", "waldeyer", "other_nodal",
)
EXTRANODAL_SITES: tuple[str, ...] = (
    "bone_marrow", "cns", "liver", "gi_tract", "lung", "pleura", "bone", "kidney", "adrenal", "skin",
    "soft_tissue", "breast", "testis", "spleen", "other_extranodal",
)
SITES: tuple[str, ...] = NODAL_SITES + EXTRANODAL_SITES
# NCCN-IPI key extranodal sites: bone marrow, CNS, liver/GI tract, lung (Zhou Z et al., Blood 2014;123:837,
# Table 2; data_model.md "Site vocabulary").
NCCN_KEY_SITES: frozenset[str] = frozenset({"bone_marrow", "cns", "liver", "gi_tract", "lung"})


def is_nodal(site: str) -> bool:
    """True for a nodal site of the vocabulary, False for an extranodal one (``spleen`` is extranodal here).

    Raises
    ------
    ValueError
        For a name outside the site vocabulary.
    """
    if site in NODAL_SITES:
        return True
    if site in EXTRANODAL_SITES:
        return False
    raise ValueError(f"site {site!r} is not in the site vocabulary {list(SITES)}")


def is_lymphatic(site: str) -> bool:
    """Nodal sites plus the spleen: lymphatic tissue, not counted as extranodal by the IPI.

    Source: data_model.md ("Spleen counts as lymphatic for the IPI extranodal count"); Lugano staging
    (Cheson BD et al., J Clin Oncol 2014;32:3059, Table 1 footnotes: spleen and Waldeyer's ring are nodal tissue).
    """
    return is_nodal(site) or site == "spleen"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One canonical column.

    Attributes
    ----------
    name : str
        Exact lower-case column name.
    type : {"str", "int", "float", "bool", "enum"}
        Stored type.  ``labs.value`` is ``float`` but also accepts ``"<0.5"`` / ``"45 mg/L"`` on input.
    required : bool
        A value is required in every row.  Conditional requirements (``mtv_method`` with ``mtv_ml``, diameters
        of measured lesions, ``role`` at baseline) are rules of ``cartlens.model.rules``.
    values : tuple of str
        Allowed values of an enum (matched case-insensitively on input, stored in this spelling).
    minimum, maximum : float or None
        Inclusive range of a number.
    unit : str
        Unit of a number, for messages and documentation.
    description : str
        Meaning, from data_model.md.
    """

    name: str
    type: ColumnType
    required: bool = False
    values: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    description: str = ""

    def range_text(self) -> str:
        """Human text of the allowed range, e.g. ``"18-100 years"``."""
        low = "" if self.minimum is None else f"{self.minimum:g}"
        high = "" if self.maximum is None else f"{self.maximum:g}"
        text = f"{low}-{high}" if high else f">= {low}"
        return f"{text} {self.unit}".strip()


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One canonical table: its columns, natural key and the parent its rows must refer to."""

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    parent: tuple[str, tuple[str, ...]] | None = None      # (table, columns) that must exist
    description: str = ""
    by_name: Mapping[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def column_names(self) -> list[str]:
        """Column names in canonical order."""
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        """Columns that must be present in the file (and hold a value in every row)."""
        return [c.name for c in self.columns if c.required]


def _c(name: str, type_: ColumnType, required: bool = False, *, values: tuple[str, ...] = (),
       minimum: float | None = None, maximum: float | None = None, unit: str = "", description: str = "",
       ) -> ColumnSpec:
    return ColumnSpec(name, type_, required, values, minimum, maximum, unit, description)


_ID = (_c("patient_id", "str", True, description="study pseudonym, unique within centre"),
       _c("centre", "str", True, description="treating centre; the access-control unit"))

PATIENTS = TableSpec("patients", (
    *_ID,
    _c("cohort", "str", description="free label, e.g. development / validation"),
    _c("sex", "enum", values=("F", "M")),
    _c("age", "float", True, minimum=18, maximum=100, unit="years", description="age at infusion"),
    _c("histology", "enum", values=("DLBCL", "tFL", "HGBL", "PMBCL", "THRLBCL", "MCL", "other")),
    _c("stage", "int", True, minimum=1, maximum=4, description="Ann Arbor stage before infusion"),
    _c("ecog", "int", minimum=0, maximum=4),
    _c("extranodal_sites", "str", description="';'-separated extranodal site names; empty = none"),
    _c("prior_lines", "int", minimum=0, description="systemic lines before CAR-T, bridging excluded"),
    _c("prior_auto_hct", "bool"),
    _c("primary_refractory", "bool"),
    _c("bridging", "enum", values=("none", "systemic", "radiation", "combined")),
    _c("product", "enum", values=("axi-cel", "tisa-cel", "liso-cel", "brexu-cel", "other")),
    _c("mtv_ml", "float", minimum=0, unit="mL", description="total MTV before lymphodepletion"),
    _c("mtv_method", "enum", values=("suv4", "pct41"), description="required with mtv_ml"),
    _c("pfs_days", "float", minimum=0, unit="days"),
    _c("pfs_event", "int", minimum=0, maximum=1, description="1 = progression (Lugano) or death"),
    _c("os_days", "float", minimum=0, unit="days"),
    _c("os_event", "int", minimum=0, maximum=1, description="1 = death from any cause"),
), key=("centre", "patient_id"), description="one row per patient")

LABS = TableSpec("labs", (
    *_ID,
    _c("day", "int", True, unit="days", description="relative to infusion"),
    _c("analyte", "enum", True, values=ANALYTES),
    _c("value", "float", True, description="converted to the analyte's canonical unit on import"),
    _c("unit", "str", True, description="as reported on input; canonical after import"),
    _c("uln", "float", minimum=0, description="reporting lab's upper limit of normal, same unit as value"),
    _c("censored", "enum", values=("<", ">"), description="value is a limit of quantification"),
    _c("warning", "str", description="message of an implausible value accepted with --accept-suspicious"),
), key=("centre", "patient_id", "day", "analyte"), parent=("patients", ("centre", "patient_id")),
    description="long format, one row per patient, day and analyte")

BIOMARKERS = TableSpec("biomarkers", (
    *_ID,
    _c("day", "int", True, unit="days"),
    _c("marker", "str", True, description="ctdna_detectable, ctdna_level, cart_peak, cart_auc28, ... or free"),
    _c("value", "float", True),
    _c("unit", "str"),
), key=("centre", "patient_id", "day", "marker"), parent=("patients", ("centre", "patient_id")))

TOXICITY = TableSpec("toxicity", (
    *_ID,
    _c("crs_grade", "int", True, minimum=0, maximum=5, description="ASTCT 2019 CRS grade"),
    _c("icans_grade", "int", True, minimum=0, maximum=5, description="ASTCT 2019 ICANS grade"),
    _c("icu", "bool"),
    _c("tocilizumab", "bool"),
    _c("corticosteroids", "bool"),
    _c("icaht_grade", "int", minimum=0, maximum=4, description="EHA/EBMT 2023 ICAHT grade"),
), key=("centre", "patient_id"), parent=("patients", ("centre", "patient_id")))

SCANS = TableSpec("scans", (
    *_ID,
    _c("scan_id", "str", True, description="unique per patient"),
    _c("day", "int", True, unit="days", description="baseline = last scan at day <= 0"),
    _c("modality", "enum", True, values=("petct", "ct")),
    _c("spleen_cm", "float", minimum=0, unit="cm", description="spleen vertical length"),
    _c("marrow", "enum", values=("not_involved", "reactive", "suspected", "involved")),
    _c("nontarget", "enum", values=("absent", "present", "unequivocal_progression")),
    _c("clinical_deterioration", "bool"),
    _c("liver_suvmean", "float", minimum=0),
    _c("mbp_suvmax", "float", minimum=0),
    _c("image", "str", description="path or URI of the PET series / NIfTI"),
), key=("centre", "patient_id", "scan_id"), parent=("patients", ("centre", "patient_id")))

LESIONS = TableSpec("lesions", (
    *_ID,
    _c("scan_id", "str", True),
    _c("lesion_id", "str", True, description="stable across scans"),
    _c("site", "enum", True, values=SITES),
    _c("nodal", "bool", True),
    _c("role", "enum", values=("target", "nontarget"), description="required at baseline"),
    _c("state", "enum", True, values=("measured", "too_small", "absent", "not_evaluable")),
    _c("ldi_cm", "float", minimum=0, unit="cm"),
    _c("sdi_cm", "float", minimum=0, unit="cm"),
    _c("volume_ml", "float", minimum=0, unit="mL"),
    _c("suvmax", "float", minimum=0),
    _c("deauville", "enum", values=("1", "2", "3", "4", "5", "X")),
    _c("uptake_vs_baseline", "enum", values=("decreased", "unchanged", "increased")),
    _c("attribution", "enum", values=("lymphoma", "equivocal", "not_lymphoma")),
    _c("biopsy_proven", "bool"),
    _c("centroid_x_mm", "float", unit="mm"),
    _c("centroid_y_mm", "float", unit="mm"),
    _c("centroid_z_mm", "float", unit="mm"),
    _c("bridging_rt", "bool", description="lesion in a bridging radiotherapy field"),
), key=("centre", "patient_id", "scan_id", "lesion_id"), parent=("scans", ("centre", "patient_id", "scan_id")))

TABLES: dict[str, TableSpec] = {t.name: t for t in (PATIENTS, LABS, SCANS, LESIONS, TOXICITY, BIOMARKERS)}
"""Canonical tables by name (data_model.md)."""
TABLE_ORDER: tuple[str, ...] = ("patients", "toxicity", "labs", "biomarkers", "scans", "lesions")
"""Parents before children (insert order; reverse for deletes)."""

_DTYPES = {"str": object, "enum": object, "float": "float64", "int": "Int64", "bool": "boolean"}


def empty_table(name: str) -> pd.DataFrame:
    """An empty DataFrame with the canonical columns and dtypes of table ``name``."""
    spec = TABLES[name]
    return pd.DataFrame({c.name: pd.Series([], dtype=_DTYPES[c.type]) for c in spec.columns})


def cast_table(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical column order and dtypes: str/enum -> object (None = missing), float -> float64,
    int -> Int64, bool -> boolean; rows sorted by the natural key, index reset.

    The input must already hold valid values (this is not a validator; see ``cartlens.io``).
    """
    spec = TABLES[name]
    out = {}
    for col in spec.columns:
        series = frame[col.name] if col.name in frame else pd.Series([None] * len(frame), index=frame.index)
        if col.type in ("str", "enum"):
            out[col.name] = series.astype(object).where(series.notna(), None)
        elif col.type == "float":
            out[col.name] = pd.to_numeric(series, errors="raise").astype("float64")
        elif col.type == "int":
            out[col.name] = pd.to_numeric(series, errors="raise").astype("Int64")
        else:
            out[col.name] = series.astype("boolean")
    result = pd.DataFrame(out, index=frame.index)
    return result.sort_values(list(spec.key), kind="stable").reset_index(drop=True)
