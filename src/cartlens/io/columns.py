"""Column-level parsing of raw (string) table cells against ``cartlens.model.schema`` column specs.

Every cell arrives as a stripped string ("" = missing) so CSV, XLSX, Parquet and in-memory DataFrames share one
parser.  Parsing is vectorised per column; each problem is returned as ``(position, message)`` so the caller can
attach file, row and column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cartlens.model.schema import ColumnSpec

__all__ = ["MISSING_TOKENS", "RawProblem", "blank_missing", "parse_column", "to_strings"]

MISSING_TOKENS = frozenset({"", "NA", "N/A", "#N/A", "NaN", "nan", "NULL", "null", "None"})
"""Cell texts read as missing in every format (R writes NA; spreadsheets #N/A; databases NULL)."""

RawProblem = tuple[int, str]

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def _cell_text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    return str(value).strip()


def to_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as a stripped string; missing (None, NaN, NA, empty) becomes ``""``.

    Floats are written with Python's shortest round-trip repr, so no precision is lost.
    """
    out = {}
    for name in frame.columns:
        series = frame[name]
        if isinstance(series.dtype, np.dtype) and series.dtype.kind == "f":   # numpy float: shortest round-trip repr, vectorised
            values = series.to_numpy()
            text = pd.Series(np.where(np.isnan(values), "", values.astype(str)), index=frame.index)
        elif isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":   # numpy int: never missing
            text = pd.Series(series.to_numpy().astype(str), index=frame.index)
        elif pd.api.types.is_float_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
            text = series.astype(object).map(_cell_text)
        else:
            text = series.map(_cell_text)
        out[str(name)] = text.astype(object)
    return pd.DataFrame(out, index=frame.index, columns=[str(c) for c in frame.columns])


def blank_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Replace the :data:`MISSING_TOKENS` by ``""`` (in place) and return the frame."""
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        mask = column.isin(MISSING_TOKENS)
        if mask.any():
            frame.iloc[mask.to_numpy(), position] = ""
    return frame


def _numbers(raw: pd.Series, col: ColumnSpec) -> tuple[pd.Series, list[RawProblem]]:
    present = raw != ""
    values = pd.to_numeric(raw.where(present, None), errors="coerce").astype("float64")
    problems: list[RawProblem] = []
    bad = present & (values.isna() | ~np.isfinite(values.fillna(0.0)))
    for pos in np.flatnonzero(bad.to_numpy()):
        problems.append((int(pos), f"{raw.iloc[pos]!r} is not a number"))
    values = values.where(~bad)
    if col.type == "int":
        frac = present & ~bad & (values != np.round(values))
        for pos in np.flatnonzero(frac.to_numpy()):
            problems.append((int(pos), f"{raw.iloc[pos]!r} is not a whole number"))
        values = values.where(~frac)
    low, high = col.minimum, col.maximum
    out_of_range = pd.Series(False, index=raw.index)
    if low is not None:
        out_of_range |= values < low
    if high is not None:
        out_of_range |= values > high
    for pos in np.flatnonzero(out_of_range.to_numpy()):
        problems.append((int(pos), f"{values.iloc[pos]:g} is out of range (allowed {col.range_text()})"))
    values = values.where(~out_of_range)
    if col.type == "int":
        return values.round().astype("Int64"), problems
    return values, problems


def parse_column(raw: pd.Series, col: ColumnSpec) -> tuple[pd.Series, list[RawProblem]]:
    """Parse one column of raw strings.

    Returns
    -------
    (values, problems)
        ``values`` in the canonical dtype (invalid cells become missing); ``problems`` lists
        ``(position, message)`` for required-but-missing, wrong type, unknown enum and out-of-range cells.
    """
    problems: list[RawProblem] = []
    present = raw != ""
    if col.required:
        for pos in np.flatnonzero((~present).to_numpy()):
            problems.append((int(pos), "required value is missing"))
    if col.type in ("int", "float"):
        values, more = _numbers(raw, col)
        return values, problems + more
    if col.type == "bool":
        lower = raw.str.lower()
        values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        values[lower.isin(_TRUE)] = True
        values[lower.isin(_FALSE)] = False
        bad = present & values.isna()
        for pos in np.flatnonzero(bad.to_numpy()):
            problems.append((int(pos), f"{raw.iloc[pos]!r} is not true/false (use true/false, yes/no or 1/0)"))
        return values, problems
    if col.type == "enum":
        lookup = {v.lower(): v for v in col.values}
        lookup.update({f"{v}.0": v for v in col.values if v.isdigit()})  # 4.0 from a numeric spreadsheet cell
        mapped = raw.str.lower().map(lookup)
        bad = present & mapped.isna()
        for pos in np.flatnonzero(bad.to_numpy()):
            problems.append((int(pos), f"{raw.iloc[pos]!r} is not one of {list(col.values)}"))
        return mapped.astype(object).where(mapped.notna(), None), problems
    return raw.astype(object).where(present, None), problems
