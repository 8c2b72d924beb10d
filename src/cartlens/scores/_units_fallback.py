"""TEMPORARY stand-in for ``cartlens.units`` (removed once the foundation module is committed).

Same interface: ``convert(analyte, value, unit) -> float``, ``parse_quantity(text)``, ``UnitError``.
Factors from spec ``scores.md`` §10 / ``data_model.md``.
"""

from __future__ import annotations

import re

_F = {
    "crp": {"mg/dl": 1.0, "mg/l": 0.1},
    "hb": {"g/dl": 1.0, "g/l": 0.1, "mmol/l": 1.611},
    "plt": {"10^9/l": 1.0, "g/l": 1.0, "10^3/ul": 1.0, "k/ul": 1.0, "/ul": 0.001},
    "anc": {"10^9/l": 1.0, "g/l": 1.0, "10^3/ul": 1.0, "k/ul": 1.0, "/ul": 0.001},
    "wbc": {"10^9/l": 1.0, "g/l": 1.0, "10^3/ul": 1.0, "k/ul": 1.0, "/ul": 0.001},
    "ferritin": {"ng/ml": 1.0, "ug/l": 1.0},
    "creatinine": {"mg/dl": 1.0, "umol/l": 1 / 88.4},
    "ldh": {"u/l": 1.0, "iu/l": 1.0, "ukat/l": 60.0},
    "alp": {"u/l": 1.0, "iu/l": 1.0, "ukat/l": 60.0},
    "ast": {"u/l": 1.0, "iu/l": 1.0, "ukat/l": 60.0},
    "albumin": {"g/dl": 1.0, "g/l": 0.1},
    "bilirubin": {"mg/dl": 1.0, "umol/l": 1 / 17.1},
    "il6": {"pg/ml": 1.0, "ng/l": 1.0},
    "il10": {"pg/ml": 1.0, "ng/l": 1.0},
    "tnfa": {"pg/ml": 1.0, "ng/l": 1.0},
    "ddimer": {"ug/ml": 1.0, "mg/l": 1.0, "ng/ml": 0.001, "ug/l": 0.001},
}


class UnitError(ValueError):
    pass


def _norm(unit: str) -> str:
    return unit.strip().lower().replace("µ", "u").replace("μ", "u").replace(" ", "").replace("x10", "10")


def convert(analyte: str, value: float, unit: str) -> float:
    table = _F.get(analyte)
    if table is None:
        raise UnitError(f"unknown analyte {analyte!r}")
    factor = table.get(_norm(unit))
    if factor is None:
        raise UnitError(f"{unit!r} is not a unit for {analyte}")
    return value / (1 / factor) if factor < 1 else value * factor


_RX = re.compile(r"^\s*([<>]=?)?\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|[-+]?\.\d+)\s*(.*?)\s*$")


def parse_quantity(text: str) -> tuple[float, str | None, str | None]:
    m = _RX.match(str(text).replace(",", ""))
    if not m:
        raise UnitError(f"cannot read a number in {text!r}")
    return float(m.group(2)), (m.group(3) or None), (m.group(1) or None)


def canonical_unit(analyte: str) -> str:
    return {"crp": "mg/dL", "hb": "g/dL", "albumin": "g/dL", "bilirubin": "mg/dL", "creatinine": "mg/dL",
            "ferritin": "ng/mL"}.get(analyte, "U/L")


def check_plausible(analyte: str, value: float, unit: str) -> None:
    return None
