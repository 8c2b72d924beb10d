"""Validate raw canonical tables: every rule of data_model.md "Validation rules", all problems collected.

Input is one :class:`RawTable` per table (cells as stripped strings, with the file's row numbers); output is an
:class:`~cartlens.io.batch.ImportBatch` with typed canonical tables, labs converted to canonical units
(``cartlens.units``), and every error and warning as ``file:row:column: message``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cartlens.io.batch import ImportBatch, ValidationIssue
from cartlens.io.columns import blank_missing, parse_column, to_strings
from cartlens.io.dates import dates_to_days
from cartlens.io.labs import convert_labs
from cartlens.model.rules import (
    check_event,
    check_extranodal_sites,
    check_measurement,
    check_mtv,
    check_site_nodal,
    measurement_warnings,
    split_sites,
)
from cartlens.model.schema import TABLES, TableSpec, cast_table

__all__ = ["Issues", "RawTable", "validate_raw", "validate_tables"]


@dataclass(frozen=True)
class RawTable:
    """One table as read: string cells ("" = missing) and the file row number of each record."""

    name: str
    file: str
    frame: pd.DataFrame
    rows: np.ndarray

    @classmethod
    def from_frame(cls, name: str, file: str, frame: pd.DataFrame) -> RawTable:
        """In-memory / Parquet / XLSX frame: record i is row i + 2 (header = row 1)."""
        text = to_strings(frame).reset_index(drop=True)
        return cls(name, file, text, np.arange(2, len(text) + 2))


@dataclass
class Issues:
    """Collects errors and warnings."""

    errors: list[ValidationIssue] = field(default_factory=list)
    warnings: list[ValidationIssue] = field(default_factory=list)
    _cells: set[tuple[str, int, str]] = field(default_factory=set, repr=False)

    def error(self, file: str, row: int, column: str, message: str) -> None:
        """Record an error."""
        self.errors.append(ValidationIssue(file, int(row), column, message))
        self._cells.add((file, int(row), column))

    def follow_up(self, file: str, row: int, column: str, message: str) -> None:
        """Record an error of a cross-field rule unless that cell already has an error (no double reports)."""
        if (file, int(row), column) not in self._cells:
            self.error(file, row, column, message)

    def warn(self, file: str, row: int, column: str, message: str) -> None:
        """Record a warning."""
        self.warnings.append(ValidationIssue(file, int(row), column, message))


def _value(x: object) -> object:
    return None if x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x)) else x


def _check_header(raw: RawTable, spec: TableSpec, allow_extra: bool, issues: Issues) -> list[str]:
    """Unknown, duplicated and missing columns; returns the canonical columns present."""
    names = [str(c) for c in raw.frame.columns]
    for name in sorted({n for n in names if names.count(n) > 1}):
        issues.error(raw.file, 1, name, "column appears more than once in the header")
    for index, name in enumerate(names, start=1):
        if name in spec.by_name:
            continue
        if not name.strip():
            issues.error(raw.file, 1, "-", f"column {index} has no name in the header (a trailing comma?)")
            continue
        close = difflib.get_close_matches(name.lower(), spec.column_names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        if allow_extra:
            issues.warn(raw.file, 1, name, f"unknown column ignored{hint}")
        else:
            issues.error(raw.file, 1, name, f"unknown column{hint}; use --allow-extra to ignore it")
    for name in spec.required_columns:
        if name not in names:
            issues.error(raw.file, 1, name, "required column is missing")
    return [n for n in spec.column_names if n in names]


def _parse(raw: RawTable, spec: TableSpec, allow_extra: bool, issues: Issues) -> pd.DataFrame:
    present = _check_header(raw, spec, allow_extra, issues)
    frame = raw.frame.loc[:, ~raw.frame.columns.duplicated()]
    parsed: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col.name not in present:
            continue
        if spec.name == "labs" and col.name in ("value", "unit", "censored"):
            parsed[col.name] = frame[col.name]      # parsed with the unit in cartlens.io.labs
            continue
        values, problems = parse_column(frame[col.name], col)
        for pos, message in problems:
            issues.error(raw.file, raw.rows[pos], col.name, message)
        parsed[col.name] = values
    return pd.DataFrame(parsed, index=frame.index)


def _check_keys(raw: RawTable, spec: TableSpec, table: pd.DataFrame, issues: Issues) -> None:
    if not set(spec.key) <= set(table.columns):
        return
    keys = table[list(spec.key)]
    complete = keys.notna().all(axis=1)
    dup = keys.duplicated(keep=False) & complete
    first: dict[tuple, int] = {}
    for pos in np.flatnonzero(dup.to_numpy()):
        key = tuple(keys.iloc[pos])
        if key not in first:
            first[key] = int(raw.rows[pos])
            continue
        shown = ", ".join(f"{k}={v}" for k, v in zip(spec.key, key))
        issues.error(raw.file, raw.rows[pos], spec.key[-1], f"duplicate key ({shown}); first at row {first[key]}")


def _check_parent(raw: RawTable, spec: TableSpec, table: pd.DataFrame, parsed: Mapping[str, pd.DataFrame],
                  names: Mapping[str, str], issues: Issues) -> None:
    if spec.parent is None or not set(spec.parent[1]) <= set(table.columns):
        return
    parent_name, cols = spec.parent
    parent = parsed.get(parent_name)
    if "patients" not in parsed:
        return      # the missing / unreadable patients file is reported once, not once per row
    known: set[tuple] = set()
    if parent is not None and set(cols) <= set(parent.columns):
        known = set(map(tuple, parent[list(cols)].dropna().itertuples(index=False)))
    patients = parsed.get("patients")
    known_patients: set[tuple] = set()
    if patients is not None and {"centre", "patient_id"} <= set(patients.columns):
        known_patients = set(map(tuple, patients[["centre", "patient_id"]].dropna().itertuples(index=False)))
    where = names.get(parent_name, f"{parent_name} table")
    for pos, key in enumerate(table[list(cols)].itertuples(index=False)):
        if any(_value(k) is None for k in key) or tuple(key) in known:
            continue
        if parent_name != "patients" and (key[0], key[1]) not in known_patients:
            column, what = "patient_id", f"patient {key[1]!r} of centre {key[0]!r} is not in {names.get('patients', 'patients table')}"
        else:
            column = cols[-1]
            what = f"{parent_name[:-1]} " + " / ".join(f"{c}={k}" for c, k in zip(cols, key)) + f" is not in {where}"
        issues.error(raw.file, raw.rows[pos], column, what)


def _patient_rules(raw: RawTable, table: pd.DataFrame, issues: Issues) -> None:
    get = {c: table[c].to_numpy(dtype=object) if c in table else np.full(len(table), None, dtype=object)
           for c in ("extranodal_sites", "mtv_ml", "mtv_method", "pfs_days", "pfs_event", "os_days", "os_event")}
    normalised: list[str | None] = []
    for pos in range(len(table)):
        v = {c: _value(a[pos]) for c, a in get.items()}
        sites = tuple(s.lower() for s in split_sites(v["extranodal_sites"]))  # type: ignore[arg-type]
        normalised.append(";".join(sites) or None)      # "Liver; BONE_MARROW" -> "liver;bone_marrow"
        problems = check_extranodal_sites(sites)
        problems += check_mtv(v["mtv_ml"], v["mtv_method"])  # type: ignore[arg-type]
        problems += check_event("pfs", v["pfs_days"], v["pfs_event"])  # type: ignore[arg-type]
        problems += check_event("os", v["os_days"], v["os_event"])  # type: ignore[arg-type]
        for column, message in problems:
            issues.follow_up(raw.file, raw.rows[pos], column, message)
        pfs, os_ = v["pfs_days"], v["os_days"]
        if isinstance(pfs, float) and isinstance(os_, float) and pfs > os_:
            issues.warn(raw.file, raw.rows[pos], "pfs_days", "pfs_days is longer than os_days")
    if "extranodal_sites" in table:
        table["extranodal_sites"] = pd.Series(normalised, index=table.index, dtype=object)


def _lesion_rules(raw: RawTable, table: pd.DataFrame, issues: Issues) -> None:
    get = {c: table[c].to_numpy(dtype=object) if c in table else np.full(len(table), None, dtype=object)
           for c in ("state", "ldi_cm", "sdi_cm", "site", "nodal")}
    for pos in range(len(table)):
        v = {c: _value(a[pos]) for c, a in get.items()}
        for column, message in check_measurement(v["state"], v["ldi_cm"], v["sdi_cm"]):  # type: ignore[arg-type]
            issues.follow_up(raw.file, raw.rows[pos], column, message)
        for column, message in (measurement_warnings(v["state"], v["ldi_cm"], v["sdi_cm"])  # type: ignore[arg-type]
                                + check_site_nodal(v["site"], v["nodal"])):  # type: ignore[arg-type]
            issues.warn(raw.file, raw.rows[pos], column, message)


def _biomarker_rules(raw: RawTable, table: pd.DataFrame, issues: Issues) -> None:
    """``ctdna_detectable`` is a 0/1 flag (data_model.md biomarkers)."""
    if not {"marker", "value"} <= set(table.columns):
        return
    for pos, (marker, value) in enumerate(table[["marker", "value"]].itertuples(index=False)):
        if marker == "ctdna_detectable" and _value(value) is not None and value not in (0.0, 1.0):
            issues.follow_up(raw.file, raw.rows[pos], "value", f"ctdna_detectable must be 0 or 1, got {value:g}")


def _baseline_roles(raw: RawTable, lesions: pd.DataFrame, scans: pd.DataFrame | None, issues: Issues) -> None:
    """Role is required at the baseline scan (last scan at day <= 0) and a lesion has one role only."""
    need = {"centre", "patient_id", "scan_id", "lesion_id", "role"}
    if not need <= set(lesions.columns):
        return
    baseline: dict[tuple, str] = {}
    if scans is not None and {"centre", "patient_id", "scan_id", "day"} <= set(scans.columns):
        pre = scans[scans["day"].notna() & (scans["day"] <= 0)].sort_values(["day", "scan_id"], kind="stable")
        baseline = {(c, p): s for c, p, s in pre[["centre", "patient_id", "scan_id"]].itertuples(index=False)}
    seen: dict[tuple, tuple[str, int]] = {}
    for pos, (centre, pid, scan, lesion, role) in enumerate(
            lesions[["centre", "patient_id", "scan_id", "lesion_id", "role"]].itertuples(index=False)):
        role = _value(role)
        if _value(scan) is not None and baseline.get((centre, pid)) == scan and role is None:
            issues.error(raw.file, raw.rows[pos], "role", "role (target/nontarget) is required at the baseline "
                                                         f"scan {scan!r}")
        if role is None or _value(lesion) is None:
            continue
        key = (centre, pid, lesion)
        if key in seen and seen[key][0] != role:
            issues.error(raw.file, raw.rows[pos], "role", f"lesion {lesion!r} has more than one baseline role "
                                                         f"({seen[key][0]!r} at row {seen[key][1]}, {role!r} here)")
        seen.setdefault(key, (role, int(raw.rows[pos])))


def validate_raw(raws: Mapping[str, RawTable], *, allow_extra: bool = False, accept_suspicious: bool = False,
                 issues: Issues | None = None, source_hashes: Mapping[str, str] | None = None) -> ImportBatch:
    """Validate raw tables (see module docstring); ``issues`` may carry problems found while reading."""
    issues = issues if issues is not None else Issues()
    names = {name: raw.file for name, raw in raws.items()}
    if "patients" not in raws and not any(e.file.lower().startswith("patients.") for e in issues.errors):
        issues.error("patients.csv", 0, "-", "the patients table is required (patients.csv, .xlsx or .parquet)")
    for raw in raws.values():
        blank_missing(raw.frame)
    dates_to_days(dict(raws), issues)
    parsed = {name: _parse(raw, TABLES[name], allow_extra, issues) for name, raw in raws.items()}
    if "labs" in parsed:
        parsed["labs"] = convert_labs(raws["labs"], parsed["labs"], issues, accept_suspicious=accept_suspicious)
    for name, table in parsed.items():
        raw, spec = raws[name], TABLES[name]
        _check_keys(raw, spec, table, issues)
        _check_parent(raw, spec, table, parsed, names, issues)
        if name == "patients":
            _patient_rules(raw, table, issues)
        if name == "biomarkers":
            _biomarker_rules(raw, table, issues)
        if name == "lesions":
            _lesion_rules(raw, table, issues)
            _baseline_roles(raw, table, parsed.get("scans"), issues)
    tables = {name: cast_table(name, parsed[name]) for name in TABLES if name in parsed}
    order = {name: i for i, name in enumerate(TABLES)}
    issues.errors.sort(key=lambda e: (order.get(e.file.split(".")[0], 99), e.file, e.row))
    return ImportBatch(tables=tables, errors=issues.errors, warnings=issues.warnings,
                       source_hashes=dict(source_hashes or {}), source_names=names)


def validate_tables(tables: Mapping[str, pd.DataFrame], *, source_names: Mapping[str, str] | None = None,
                    allow_extra: bool = False, accept_suspicious: bool = False) -> ImportBatch:
    """Validate in-memory tables (demo generator, web upload) exactly as files are validated.

    Parameters
    ----------
    tables : mapping of table name to DataFrame
        Keys among ``patients, labs, scans, lesions, toxicity, biomarkers``; cells may be typed or strings.
    source_names : mapping, optional
        File name to use in messages per table (default ``"<table>.csv"``); row numbers count the header as 1.
    allow_extra, accept_suspicious : bool
        As the CLI options of the same names.

    Returns
    -------
    ImportBatch
        ``source_hashes`` is empty (no file bytes).
    """
    issues = Issues()
    raws: dict[str, RawTable] = {}
    for name, frame in tables.items():
        file = (source_names or {}).get(name, f"{name}.csv")
        if name not in TABLES:
            issues.error(file, 0, "-", f"unknown table {name!r}; use one of {list(TABLES)}")
            continue
        raws[name] = RawTable.from_frame(name, file, frame)
    return validate_raw(raws, allow_extra=allow_extra, accept_suspicious=accept_suspicious, issues=issues)
