"""REDCap export (flat CSV, "raw" data) -> canonical tables through a YAML mapping file.

Mapping format (documented with an example in docs/data_model.md)::

    tables:
      patients:
        where: {redcap_repeat_instrument: ""}        # optional row filter (field: value)
        columns:
          patient_id: record_id                      # canonical column: REDCap field
          centre: {field: redcap_data_access_group}
          sex: {field: sex, values: {"1": F, "2": M}}  # value map (unmapped values pass through and fail
          stage: {field: ann_arbor}                   #   validation if they are not canonical)
      labs:                                          # wide REDCap fields -> long rows: one entry per row kind
        rows:
          - {patient_id: record_id, centre: {value: A}, day: {value: -5}, analyte: {value: crp},
             value: crp_pre, unit: {field: crp_unit, values: {"1": mg/dL, "2": mg/L}}}

A plain string is a field name; ``{value: X}`` is a constant.  Rows with every mapped value empty are skipped
(REDCap exports one line per event / repeat instance).  Row numbers in messages are the export's line numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cartlens.io.batch import ImportBatch
from cartlens.io.readers import read_table_file
from cartlens.io.validate import Issues, RawTable, validate_raw
from cartlens.model.schema import TABLES

__all__ = ["read_redcap"]


def _column(export: pd.DataFrame, spec: Any, where: str, mapping_name: str, issues: Issues) -> pd.Series | None:
    if isinstance(spec, (str, int, float)) and not isinstance(spec, bool):
        spec = {"field": str(spec)}
    if not isinstance(spec, Mapping) or ("field" in spec) == ("value" in spec):
        issues.error(mapping_name, 0, where, "must be a REDCap field name, {field: ...} or {value: ...}")
        return None
    if "value" in spec:
        constant = "" if spec["value"] is None else str(spec["value"])
        return pd.Series(constant, index=export.index, dtype=object)
    field = str(spec["field"])
    if field not in export.columns:
        issues.error(mapping_name, 0, where, f"REDCap field {field!r} is not in the export")
        return None
    series = export[field]
    values = spec.get("values")
    if values is not None:
        if not isinstance(values, Mapping):
            issues.error(mapping_name, 0, where, "values must be a mapping {redcap_code: canonical_value}")
            return None
        lookup = {str(k): "" if v is None else str(v) for k, v in values.items()}
        series = series.map(lambda x: lookup.get(x, x))
    return series


def _one_table(export: pd.DataFrame, rows: np.ndarray, name: str, columns: Mapping[str, Any],
               where: Mapping[str, Any], mapping_name: str, issues: Issues) -> tuple[pd.DataFrame, np.ndarray]:
    keep = np.ones(len(export), dtype=bool)
    for field, wanted in (where or {}).items():
        if field not in export.columns:
            issues.error(mapping_name, 0, f"tables.{name}.where", f"REDCap field {field!r} is not in the export")
            continue
        keep &= (export[field] == ("" if wanted is None else str(wanted))).to_numpy()
    out = {}
    for column, spec in columns.items():
        series = _column(export, spec, f"tables.{name}.{column}", mapping_name, issues)
        if series is not None:
            out[str(column)] = series
    frame = pd.DataFrame(out, index=export.index)
    if len(frame.columns):
        keep &= (frame != "").any(axis=1).to_numpy()
    return frame[keep].reset_index(drop=True), rows[keep]


def _load_mapping(mapping_yaml: Path, issues: Issues) -> Mapping[str, Any] | None:
    try:
        mapping = yaml.safe_load(mapping_yaml.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        issues.error(mapping_yaml.name, 0, "-", f"cannot read the mapping file: {type(exc).__name__}: {exc}")
        return None
    if not isinstance(mapping, Mapping) or not isinstance(mapping.get("tables"), Mapping):
        issues.error(mapping_yaml.name, 0, "tables", "the mapping needs a 'tables' section")
        return None
    return mapping


def read_redcap(export_csv: str | Path, mapping_yaml: str | Path, *, allow_extra: bool = False,
                accept_suspicious: bool = False) -> ImportBatch:
    """Read a REDCap raw CSV export through a YAML mapping and validate it like a data directory.

    Parameters
    ----------
    export_csv : str or Path
        REDCap "CSV / Microsoft Excel (raw data)" export.
    mapping_yaml : str or Path
        Mapping file (module docstring): REDCap field -> canonical column, value maps, constant units.

    Returns
    -------
    ImportBatch
        Messages name the export file and its line numbers; mapping problems name the mapping file and the
        mapping key (``tables.patients.age``).
    """
    export_path, mapping_path = Path(export_csv), Path(mapping_yaml)
    issues = Issues()
    mapping = _load_mapping(mapping_path, issues)
    raw = read_table_file(export_path, issues, table="redcap")
    if mapping is None or raw is None:
        return ImportBatch(tables={}, errors=issues.errors)
    raws: dict[str, RawTable] = {}
    for name, spec in mapping["tables"].items():
        if name not in TABLES or not isinstance(spec, Mapping):
            issues.error(mapping_path.name, 0, f"tables.{name}", f"not a table mapping; tables are {list(TABLES)}")
            continue
        kinds = spec.get("rows") or [spec.get("columns") or {}]
        parts = [_one_table(raw.frame, raw.rows, name, kind, spec.get("where") or {}, mapping_path.name, issues)
                 for kind in kinds]
        frame = pd.concat([p[0] for p in parts], ignore_index=True).fillna("")
        raws[name] = RawTable(name, export_path.name, frame, np.concatenate([p[1] for p in parts]))
    digest = hashlib.sha256(export_path.read_bytes()).hexdigest()
    return validate_raw(raws, allow_extra=allow_extra, accept_suspicious=accept_suspicious, issues=issues,
                        source_hashes={export_path.name: digest})
