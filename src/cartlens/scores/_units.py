"""Thin adapter between the scores and :mod:`cartlens.units` (the project's one conversion table).

The scores never convert units themselves: every conversion goes through ``cartlens.units.convert``
and ``cartlens.units.parse_quantity``. This module only turns their answers and errors into
:class:`~cartlens.scores.common.ScoreInputError` (which names the score input) and adds a hint when a
value is implausible in its stated unit ("did you mean mg/L?").
"""

from __future__ import annotations

from typing import Any

from cartlens import units as _u

__all__ = ["check_number", "convert_pair", "parse", "to_canonical"]


def _error(field_name: str, message: str) -> Exception:
    from cartlens.scores.common import ScoreInputError  # local import: common imports this module

    return ScoreInputError(field_name, message)


def parse(field_name: str, text: str) -> tuple[float, str | None, str | None]:
    """``"45 mg/L"`` -> ``(45.0, "mg/L", None)``; ``"<0.3"`` -> ``(0.3, None, "<")``."""
    try:
        value, unit, censored = _u.parse_quantity(text)
    except (_u.UnitError, ValueError) as exc:
        # parse_quantity refuses a unit that starts with a digit ("2.5 10^9/L"), to catch digit groups
        # ("40 000"). When number and unit are separated by blanks, read the number alone; a digit group then
        # fails later as an unknown unit ("000 /uL"), so nothing is guessed.
        head, _, tail = str(text).strip().partition(" ")
        try:
            value, unit, censored = _u.parse_quantity(head)
        except (_u.UnitError, ValueError):
            raise _error(field_name, f"cannot read {text!r}: {exc}") from None
        if unit is not None or not tail.strip():
            raise _error(field_name, f"cannot read {text!r}: {exc}") from None
        unit = tail.strip()
    return float(value), unit, censored


def to_canonical(field_name: str, analyte: str, text: str, canonical: str | None) -> tuple[float, str | None]:
    """Convert a lab text (``"90 g/L"``, ``"9.0"``, ``"<0.3 mg/dL"``) to the canonical unit.

    A bare number is taken as already canonical (spec ``cli.md``). The value is checked for plausibility in
    its stated unit by ``cartlens.units.check_plausible`` (CRP "45 mg/dL", platelets "175000 10^9/L" and Hb
    "85 g/dL" are refused, naming the likely unit). Returns the value and, for a censored value, a message
    saying it was scored at its limit.
    """
    value, unit, censored = parse(field_name, text)
    try:
        stated = unit if unit is not None else (canonical or _u.canonical_unit(analyte))
        _u.check_plausible(analyte, value, stated)
        value = float(_u.convert(analyte, value, stated))
    except (_u.UnitError, ValueError, KeyError) as exc:
        raise _error(field_name, f"{text!r}: {exc}") from None
    note = None
    if censored:
        note = (f"{field_name} reported as {text!r} (censored at the limit of quantification); "
                f"scored at the limit {value:g} {canonical or ''}".rstrip())
    return value, note


def check_number(field_name: str, analyte: str, value: float, canonical: str | None) -> None:
    """Plausibility of a bare number read in the canonical unit (same check as for text)."""
    try:
        _u.check_plausible(analyte, value, canonical or _u.canonical_unit(analyte))
    except (_u.UnitError, ValueError) as exc:
        raise _error(field_name, f"{value!r}: {exc}") from None


def convert_pair(field_name: str, analyte: str, raw: Any, canonical: str | None) -> float:
    """Value of a lab (number in the canonical unit or text with unit) in the canonical unit, as float."""
    if isinstance(raw, str):
        value, _ = to_canonical(field_name, analyte, raw, canonical)
        return value
    return float(raw)
