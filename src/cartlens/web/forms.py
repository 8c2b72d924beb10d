"""Calculator form fields built from the score registry (:data:`cartlens.scores.SCORES`)."""

from __future__ import annotations

from typing import Any


def input_fields(spec: Any) -> list[dict[str, Any]]:
    """One form field per score input: name, label, canonical unit and the units a user may pick.

    Lab inputs offer every unit :mod:`cartlens.units` accepts for the analyte (canonical first), so a value
    typed in, say, g/L for haemoglobin is converted by the same table the importer uses.
    """
    from cartlens import units

    fields = []
    for inp in spec.inputs:
        choices: list[str] = []
        if inp.kind == "lab" and inp.analyte:
            try:
                choices = units.units_for(inp.analyte)
            except (KeyError, ValueError):
                choices = []
        canonical = inp.unit or ""
        ordered = [canonical] + [u for u in choices if u != canonical] if canonical else choices
        fields.append({"name": inp.name, "label": inp.help or inp.name, "unit": canonical,
                       "units": ordered, "kind": inp.kind, "choices": list(getattr(inp, "choices", ()))})
    return fields


def is_unverified(spec: Any) -> bool:
    """True for scores whose coefficients come from a secondary, unverified source (e.g. IMPI)."""
    return bool(getattr(spec, "unverified", False))
