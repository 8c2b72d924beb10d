"""Laboratory units: one conversion table, quantity parsing, unit/analyte and magnitude checks.

Every lab value in cartlens is stored in the canonical unit of its analyte (spec ``data_model.md``, labs;
``scores.md`` section 10).  This module is the only place where units are converted, so a unit slip has
exactly one place to be caught.  It is pure (no I/O).

Conversion factors and their sources
------------------------------------
* CRP: 1 mg/dL = 10 mg/L (definition: 1 dL = 0.1 L).  Canonical mg/dL (CAR-HEMATOTOX, m-EASIX; scores.md
  section 10).
* Haemoglobin: 1 g/dL = 10 g/L; mmol/L refers to the Hb *monomer* (molar mass 16 114.5 g/mol), so
  1 g/dL = 10 g/L / 16.1145 g/mmol = 0.6206 mmol/L and 1 mmol/L = 1.61145 g/dL (scores.md section 10; IFCC/ICSH
  convention, e.g. van Kampen & Zijlstra, Clin Chim Acta 1961;6:538).
* Platelets, ANC, WBC, ALC: 1 x 10^9/L = 10^3/uL = 1 G/L = 1 K/uL; a count "per uL" is divided by 1000
  (1 L = 10^6 uL; scores.md section 10).
* Ferritin: 1 ng/mL = 1 ug/L; 1 ng/mL = 2.247 pmol/L (scores.md section 10).
* Creatinine: 1 mg/dL = 88.4 umol/L (molar mass 113.12 g/mol: 10 000 / 113.12 = 88.40; scores.md section 10).
* LDH, ALP, AST, ALT: 1 ukat/L = 60 U/L (1 U = 1 umol/min, 1 kat = 1 mol/s, so 1 ukat = 60 U; IFCC/SI
  definition, scores.md section 10).
* Albumin: 1 g/dL = 10 g/L.  Bilirubin: 1 mg/dL = 17.1 umol/L (molar mass 584.66 g/mol; scores.md section 10).
* D-dimer: canonical mg/L (= ug/mL); ng/mL = ug/L = 0.001 mg/L.  The reporting basis (FEU vs DDU,
  FEU ~ 2 x DDU) is *not* converted: value and ULN must come from the same assay (scores.md section 10).
* IL-6, IL-10, TNF-alpha: pg/mL (= ng/L).

Arithmetic: factors are exact decimals (``"0.1"``, ``"/17.1"``); a conversion multiplies/divides the value's
shortest decimal repr exactly and rounds once to float (architecture.md: exact arithmetic at thresholds), so
106 g/L is exactly 10.6 g/dL.

Plausibility ranges (``PLAUSIBLE``) are deliberately wide, in canonical units; they exist to catch the unit slips
listed in scores.md section 10 ("Unit bugs that affect scores") and data_model.md (CRP 45 "mg/dL", Hb 85 "g/dL",
platelets 175000 "10^9/L").  They are checks on data entry, not clinical thresholds.  A value outside its range
raises :class:`UnitError` naming the unit under which the number *would* be plausible.

Written here rather than with ``pint``: pint does not know analyte-specific molar conversions (Hb monomer,
creatinine) nor the count conventions (K/uL), and the magnitude check needs per-analyte ranges anyway.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "ANALYTES",
    "CANONICAL",
    "PLAUSIBLE",
    "UnitError",
    "canonical_unit",
    "check_plausible",
    "convert",
    "converter",
    "factor",
    "from_canonical",
    "normalise_unit",
    "parse_quantity",
    "units_for",
]


class UnitError(ValueError):
    """A unit that does not fit the analyte, or a value implausible for its stated unit.

    Attributes
    ----------
    column : str
        The canonical column the problem belongs to (``"unit"`` or ``"value"``).
    suggested_unit : str or None
        For an implausible magnitude: the unit under which the number would be plausible.
    """

    def __init__(self, message: str, *, column: str = "unit", suggested_unit: str | None = None) -> None:
        super().__init__(message)
        self.column = column
        self.suggested_unit = suggested_unit


@dataclass(frozen=True, slots=True)
class _Analyte:
    canonical: str
    rules: dict[str, str]              # unit (canonical spelling) -> "x" (multiply by x) or "/x" (divide by x)
    plausible: tuple[float, float]     # inclusive range in the canonical unit
    typical: float                     # a typical value in the canonical unit (picks the likely intended unit)
    factors: dict[str, float] = field(init=False)                  # float multipliers (approximate uses)
    exact: dict[str, tuple[Decimal, Decimal]] = field(init=False)  # (multiplier, divisor), exact decimals

    def __post_init__(self) -> None:
        exact = {u: (Decimal(1), Decimal(r[1:])) if r.startswith("/") else (Decimal(r), Decimal(1))
                 for u, r in self.rules.items()}
        object.__setattr__(self, "exact", exact)
        object.__setattr__(self, "factors", {u: float(m / d) for u, (m, d) in exact.items()})


_COUNT = {"10^9/L": "1", "/uL": "0.001"}
_ENZYME = {"U/L": "1", "ukat/L": "60"}
_CYTOKINE = {"pg/mL": "1", "ng/mL": "1000"}

_TABLE: dict[str, _Analyte] = {
    "ldh": _Analyte("U/L", _ENZYME, (20.0, 50_000.0), 250.0),
    "crp": _Analyte("mg/dL", {"mg/dL": "1", "mg/L": "0.1"}, (0.0, 40.0), 1.0),
    "ferritin": _Analyte("ng/mL", {"ng/mL": "1", "pmol/L": "/2.247"}, (0.5, 250_000.0), 300.0),
    "hb": _Analyte("g/dL", {"g/dL": "1", "g/L": "0.1", "mmol/L": "1.61145"}, (2.0, 25.0), 11.0),
    "plt": _Analyte("10^9/L", _COUNT, (0.0, 2_000.0), 150.0),
    "anc": _Analyte("10^9/L", _COUNT, (0.0, 100.0), 3.0),
    "wbc": _Analyte("10^9/L", _COUNT, (0.0, 500.0), 6.0),
    "alc": _Analyte("10^9/L", _COUNT, (0.0, 300.0), 1.0),
    "albumin": _Analyte("g/dL", {"g/dL": "1", "g/L": "0.1"}, (0.5, 7.0), 3.8),
    "alp": _Analyte("U/L", _ENZYME, (3.0, 10_000.0), 90.0),
    "ast": _Analyte("U/L", _ENZYME, (2.0, 30_000.0), 30.0),
    "alt": _Analyte("U/L", _ENZYME, (2.0, 30_000.0), 30.0),
    "bilirubin": _Analyte("mg/dL", {"mg/dL": "1", "umol/L": "/17.1"}, (0.0, 50.0), 0.7),
    "creatinine": _Analyte("mg/dL", {"mg/dL": "1", "umol/L": "/88.4"}, (0.05, 25.0), 0.9),
    "il6": _Analyte("pg/mL", _CYTOKINE, (0.0, 1_000_000.0), 10.0),
    "il10": _Analyte("pg/mL", _CYTOKINE, (0.0, 1_000_000.0), 10.0),
    "tnfa": _Analyte("pg/mL", _CYTOKINE, (0.0, 1_000_000.0), 10.0),
    "ddimer": _Analyte("mg/L", {"mg/L": "1", "ng/mL": "0.001"}, (0.0, 200.0), 0.5),
}

ANALYTES: tuple[str, ...] = tuple(_TABLE)
"""Analyte codes of data_model.md (labs.analyte)."""
CANONICAL: dict[str, str] = {name: spec.canonical for name, spec in _TABLE.items()}
"""Canonical unit per analyte."""
PLAUSIBLE: dict[str, tuple[float, float]] = {name: spec.plausible for name, spec in _TABLE.items()}
"""Inclusive plausibility range per analyte, in the canonical unit."""

# Accepted spellings (after lower-casing, removing blanks and mapping micro signs to "u") -> canonical spelling.
_ALIASES: dict[str, str] = {
    "mg/dl": "mg/dL", "mg/l": "mg/L", "g/dl": "g/dL", "g/l": "g/L", "mmol/l": "mmol/L",
    "umol/l": "umol/L", "ng/ml": "ng/mL", "ug/l": "ng/mL", "pmol/l": "pmol/L", "pg/ml": "pg/mL",
    "ng/l": "pg/mL", "ug/ml": "mg/L", "u/l": "U/L", "iu/l": "U/L", "ukat/l": "ukat/L",
    "10^9/l": "10^9/L", "10*9/l": "10^9/L", "x10^9/l": "10^9/L", "10e9/l": "10^9/L", "g/l(cells)": "10^9/L",
    "10^3/ul": "10^9/L", "10*3/ul": "10^9/L", "x10^3/ul": "10^9/L", "k/ul": "10^9/L", "10e3/ul": "10^9/L",
    "/ul": "/uL", "cells/ul": "/uL", "/mm3": "/uL", "cells/mm3": "/uL", "1/ul": "/uL",
}
# Units whose spelling is shared by several analytes with different meanings:
# "ug/L" means ng/mL for ferritin but 0.001 mg/L for D-dimer; "G/L" is a count (10^9/L) for cells but g/L for mass.
_PER_ANALYTE_ALIASES: dict[str, dict[str, str]] = {
    "ddimer": {"ug/l": "ng/mL", "ug/ml": "mg/L"},
    "plt": {"g/l": "10^9/L"}, "anc": {"g/l": "10^9/L"}, "wbc": {"g/l": "10^9/L"}, "alc": {"g/l": "10^9/L"},
}

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTITY = re.compile(rf"^\s*(?P<cens><=|>=|[<>≤≥])?\s*(?P<num>{_NUMBER})\s*(?P<unit>\S.*?)?\s*$")
_POWER_UNIT = re.compile(r"^(?:10\s*[\^*eE]\s*\d+|1)\s*/")   # "10^9/L", "10*3/uL", "1/uL"
_CENSOR_MAP = {"<": "<", "<=": "<", "≤": "<", ">": ">", ">=": ">", "≥": ">"}


def _key(unit: str) -> str:
    return re.sub(r"\s+", "", unit).replace("µ", "u").replace("μ", "u").replace("×", "x").replace("⁹", "^9").lower()


def _spec(analyte: str) -> _Analyte:
    try:
        return _TABLE[analyte]
    except KeyError:
        raise UnitError(f"unknown analyte {analyte!r}; use one of {list(ANALYTES)}", column="analyte") from None


def canonical_unit(analyte: str) -> str:
    """Canonical unit of ``analyte`` (e.g. ``"crp"`` -> ``"mg/dL"``), per data_model.md."""
    return _spec(analyte).canonical


def units_for(analyte: str) -> list[str]:
    """Units accepted for ``analyte`` in their canonical spelling (aliases such as ``mg/l`` also accepted)."""
    return list(_spec(analyte).factors)


def normalise_unit(analyte: str, unit: str) -> str:
    """Map a reported unit spelling to its canonical spelling for ``analyte``.

    Raises
    ------
    UnitError
        When the unit is not a unit of this analyte (e.g. ``"U/L"`` for CRP).
    """
    spec = _spec(analyte)
    key = _key(unit)
    name = _PER_ANALYTE_ALIASES.get(analyte, {}).get(key) or _ALIASES.get(key)
    if name is None or name not in spec.factors:
        raise UnitError(f"{unit!r} is not a unit for {analyte}; use one of {list(spec.factors)}")
    return name


def factor(analyte: str, unit: str) -> float:
    """Multiplier that converts a value in ``unit`` into the canonical unit of ``analyte``."""
    return _spec(analyte).factors[normalise_unit(analyte, unit)]


def _scale(value: float, multiplier: Decimal, divisor: Decimal) -> float:
    """value x multiplier / divisor in exact decimal arithmetic on the value's shortest repr, rounded once to
    float, so 106 g/L -> 10.6 g/dL (not 10.600000000000001) and a file in g/L and one in g/dL agree exactly."""
    if multiplier == divisor:
        return float(value)
    return float(Decimal(repr(float(value))) * multiplier / divisor)


def converter(analyte: str, unit: str) -> Callable[[float], float]:
    """A function converting numbers in ``unit`` to the canonical unit of ``analyte`` (for many values)."""
    multiplier, divisor = _spec(analyte).exact[normalise_unit(analyte, unit)]
    return functools.partial(_scale, multiplier=multiplier, divisor=divisor)


def convert(analyte: str, value: float, unit: str) -> float:
    """Convert ``value`` reported in ``unit`` to the canonical unit of ``analyte``.

    Parameters
    ----------
    analyte : str
        Analyte code of data_model.md, e.g. ``"crp"``.
    value : float
        The number as reported.
    unit : str
        The reported unit, e.g. ``"mg/L"``; common spellings (``mg/l``, ``µmol/L``, ``K/uL``) are accepted.

    Returns
    -------
    float
        The value in :func:`canonical_unit` (e.g. CRP 45 mg/L -> 4.5 mg/dL).  No plausibility check; see
        :func:`check_plausible`.

    Raises
    ------
    UnitError
        Unknown analyte or a unit that does not fit the analyte.
    """
    return converter(analyte, unit)(value)


def from_canonical(analyte: str, value: float, unit: str) -> float:
    """Express ``value`` (in the canonical unit of ``analyte``) in ``unit``; the inverse of :func:`convert`.

    Example: ``from_canonical("hb", 9.0, "g/L")`` -> 90.0 (for showing a threshold in a lab's own unit).
    """
    multiplier, divisor = _spec(analyte).exact[normalise_unit(analyte, unit)]
    return _scale(value, divisor, multiplier)


def check_plausible(analyte: str, value: float, unit: str) -> None:
    """Raise :class:`UnitError` when ``value`` is implausible in ``unit``, naming the likely intended unit.

    The value is converted to the canonical unit and compared with ``PLAUSIBLE[analyte]``.  When it falls
    outside, every other unit of the analyte is tried; the one under which the number is plausible and closest
    (on a log scale) to a typical value is suggested.  Example: CRP 45 mg/dL -> "did you mean mg/L (4.5 mg/dL)?".
    """
    spec = _spec(analyte)
    stated = normalise_unit(analyte, unit)
    canonical = float(value) * spec.factors[stated]
    low, high = spec.plausible
    if not math.isfinite(canonical):
        raise UnitError(f"{value!r} is not a finite number", column="value")
    if low <= canonical <= high:
        return
    candidates = []
    for other, mult in spec.factors.items():
        alt = float(value) * mult
        if other != stated and low <= alt <= high:
            distance = abs(math.log(max(alt, 1e-12) / spec.typical))
            candidates.append((distance, other, alt))
    message = (f"{value:g} {stated} is implausible for {analyte} "
               f"(plausible {low:g}-{high:g} {spec.canonical})")
    if candidates:
        _, best, alt = min(candidates)
        message += f"; did you mean {best} (= {alt:.4g} {spec.canonical})?"
        raise UnitError(message, column="value", suggested_unit=best)
    raise UnitError(message, column="value")


def parse_quantity(text: str | float) -> tuple[float, str | None, str | None]:
    """Parse a reported lab quantity.

    Parameters
    ----------
    text : str or number
        ``"45 mg/L"``, ``"45"``, ``"<0.5"``, ``"< 0.5 mg/dL"``, ``">2000"``; a number passes through.

    Returns
    -------
    (value, unit, censored)
        ``value`` as float; ``unit`` as written (stripped) or None; ``censored`` is ``"<"`` (below the limit of
        quantification, value = the limit), ``">"`` (above the upper limit) or None.

    Raises
    ------
    ValueError
        When the text is not a number optionally preceded by ``<``/``>`` and followed by a unit (a decimal comma
        is refused rather than guessed).
    """
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a quantity")  # noqa: TRY004 - callers catch ValueError
    if isinstance(text, (int, float)):
        if not math.isfinite(float(text)):
            raise ValueError(f"{text!r} is not a finite number")
        return float(text), None, None
    match = _QUANTITY.match(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not a number (optionally '<x'/'>x' and a unit)")
    value = float(match["num"])
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    unit = match["unit"]
    if unit is not None and (unit[0] in ",." or (unit[0].isdigit() and not _POWER_UNIT.match(unit))):
        raise ValueError(f"{text!r} is not a number (decimal commas and digit groups are not accepted)")
    censored = _CENSOR_MAP[match["cens"]] if match["cens"] else None
    return value, unit, censored
