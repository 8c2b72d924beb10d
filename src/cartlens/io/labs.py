"""Lab values: parse ``"45 mg/L"`` / ``"<0.5"``, check the unit fits the analyte, convert to canonical units,
flag implausible magnitudes (``cartlens.units``; data_model.md labs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cartlens.model.schema import TABLES
from cartlens.units import PLAUSIBLE, UnitError, canonical_unit, check_plausible, converter, parse_quantity

if TYPE_CHECKING:
    from cartlens.io.validate import Issues, RawTable

__all__ = ["convert_labs"]


def _split_values(raw: RawTable, text: pd.Series, issues: Issues) -> tuple[pd.Series, list, list]:
    """Numbers, units written inside the value, and censoring marks, per row."""
    values = pd.to_numeric(text.where(text != "", None), errors="coerce").astype("float64")
    units: list = [None] * len(text)
    marks: list = [None] * len(text)
    for pos in np.flatnonzero((values.isna() & (text != "")).to_numpy()):
        try:
            number, unit, mark = parse_quantity(text.iloc[pos])
        except ValueError as exc:
            issues.error(raw.file, raw.rows[pos], "value", str(exc))
            continue
        values.iloc[pos], units[pos], marks[pos] = number, unit, mark
    for pos in np.flatnonzero((text == "").to_numpy()):
        issues.error(raw.file, raw.rows[pos], "value", "required value is missing")
    return values, units, marks


def _merge_text(raw: RawTable, column: str, given: pd.Series | None, inline: list, issues: Issues) -> list:
    """Combine a column (e.g. ``unit``) with the same information written inside ``value``; they must agree."""
    out = []
    cells = [""] * len(inline) if given is None else given.tolist()
    for pos, embedded in enumerate(inline):
        explicit = cells[pos] or None
        if explicit is not None and embedded is not None and explicit != embedded:
            issues.error(raw.file, raw.rows[pos], column, f"{explicit!r} disagrees with {embedded!r} in value")
        out.append(explicit if explicit is not None else embedded)
    return out


def convert_labs(raw: RawTable, parsed: pd.DataFrame, issues: Issues, *, accept_suspicious: bool) -> pd.DataFrame:
    """Return the labs table with ``value``/``uln`` in canonical units and ``unit`` set to the canonical unit.

    Rows whose analyte, unit or value is invalid get their errors and missing values.  An implausible value
    is an error naming the likely intended unit, or with ``accept_suspicious`` a warning whose message is kept
    in the row's ``warning`` column.
    """
    out = parsed.copy()
    if "value" not in out:
        return out
    values, inline_units, inline_marks = _split_values(raw, out["value"], issues)
    units = _merge_text(raw, "unit", out.get("unit"), inline_units, issues)
    marks = _merge_text(raw, "censored", out.get("censored"), inline_marks, issues)
    censor_spec = TABLES["labs"].by_name["censored"]
    for pos, mark in enumerate(marks):
        if mark is not None and mark not in censor_spec.values:
            issues.error(raw.file, raw.rows[pos], "censored", f"{mark!r} is not one of {list(censor_spec.values)}")
            marks[pos] = None
    analytes = out["analyte"].tolist() if "analyte" in out else [None] * len(out)
    uln = out["uln"].to_numpy(dtype=float) if "uln" in out else np.full(len(out), np.nan)
    warnings: list[str | None] = ([w or None for w in out["warning"].tolist()] if "warning" in out
                                  else [None] * len(out))
    numbers = values.to_numpy(dtype=float)
    new_value = np.full(len(out), np.nan)
    new_uln = np.full(len(out), np.nan)
    new_unit: list = [None] * len(out)
    factors: dict[tuple[str, str], Callable[[float], float] | UnitError] = {}
    for pos in range(len(out)):
        analyte, unit, value = analytes[pos], units[pos], numbers[pos]
        if unit is None and "unit" in out and not np.isnan(value):
            issues.error(raw.file, raw.rows[pos], "unit", "required value is missing")
        if analyte is None or unit is None or np.isnan(value):
            continue
        if (analyte, unit) not in factors:
            try:
                factors[analyte, unit] = converter(analyte, unit)
            except UnitError as exc:
                factors[analyte, unit] = exc
        mult = factors[analyte, unit]
        if isinstance(mult, UnitError):
            issues.error(raw.file, raw.rows[pos], "unit", str(mult))
            continue
        canonical = mult(value)
        low, high = PLAUSIBLE[analyte]
        if not low <= canonical <= high:
            try:
                check_plausible(analyte, value, unit)
            except UnitError as exc:
                if accept_suspicious or warnings[pos]:   # a kept warning = accepted before (round trip)
                    issues.warn(raw.file, raw.rows[pos], "value", str(exc))
                    warnings[pos] = warnings[pos] or str(exc)
                else:
                    issues.error(raw.file, raw.rows[pos], "value", f"{exc}; use --accept-suspicious to keep it")
                    continue
        if uln[pos] == 0:
            issues.error(raw.file, raw.rows[pos], "uln", "an upper limit of normal of 0 is impossible")
            continue
        new_value[pos], new_unit[pos] = canonical, canonical_unit(analyte)
        new_uln[pos] = mult(uln[pos]) if not np.isnan(uln[pos]) else np.nan
    out["value"], out["unit"], out["uln"] = new_value, new_unit, new_uln
    out["censored"], out["warning"] = marks, warnings
    return out
