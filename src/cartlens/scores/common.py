"""Shared machinery of the score modules: result type, input specifications, exact numbers, units.

Every score in :mod:`cartlens.scores` follows one calling convention (spec ``architecture.md``): a pure
function ``score_fn(values, **config) -> ScoreResult`` whose inputs were first read by :func:`read_inputs`
against the score's :class:`InputSpec` tuple. Reading does three things and nothing else:

* a missing input (absent, ``None``, ``NaN`` or an empty string) is recorded as missing, never as 0
  (spec ``scores.md`` §0.2: the score then is *not computable*);
* a value with a unit (``"90 g/L"``) is converted to the score's canonical unit through
  :mod:`cartlens.units` (the one conversion table of the project); a bare number is read in the
  canonical unit (spec ``cli.md``, Scores);
* numbers become :class:`decimal.Decimal` rounded to 12 significant digits, so that a value converted
  from another unit lands exactly on a threshold (7 g/L x 0.1 -> 0.7 g/dL, not 0.7000000000000001) and
  threshold comparisons are exact (spec ``architecture.md``: no bare float comparisons at thresholds).

Invalid input (a unit that does not fit the analyte, a value out of the plausible range, an unknown
choice) raises :class:`ScoreInputError`, which names the field: a unit error is never scored silently.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from cartlens.scores import _units

__all__ = [
    "InputSpec",
    "ScoreInputError",
    "ScoreResult",
    "ScoreSpec",
    "exact",
    "not_computable",
    "read_inputs",
]

SIGNIFICANT_DIGITS = 12  # converted values are rounded to this many significant digits before comparison


class ScoreInputError(ValueError):
    """One invalid score input; ``field`` is the input name (as the CLI flag, dashes as underscores)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One input of a score, as shown in forms and ``--help``.

    Parameters
    ----------
    name : str
        Input name; the CLI flag is ``--`` + name with underscores as dashes.
    kind : {"lab", "number", "integer", "choice", "bool"}
        ``lab`` values may carry a unit and go through :mod:`cartlens.units` (``analyte`` names the analyte).
    unit : str or None
        Canonical unit in which a bare number is read.
    minimum, maximum : float or None
        Allowed (plausible) range in the canonical unit, both ends inclusive.
    choices : tuple of str
        Allowed values of a ``choice`` input (after lower-casing and ``-`` -> ``_``).
    required : bool
        A missing required input makes the score not computable; optional inputs may be absent.
    """

    name: str
    kind: str
    help: str
    unit: str | None = None
    analyte: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Metadata for building forms (web calculators)."""
        return {"name": self.name, "kind": self.kind, "help": self.help, "unit": self.unit,
                "analyte": self.analyte, "minimum": self.minimum, "maximum": self.maximum,
                "choices": list(self.choices), "required": self.required}


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """The result of one score for one patient.

    ``to_dict()`` is the JSON contract of ``cartlens score NAME --format json`` (spec ``cli.md``):
    ``score``, ``computable``, ``value``, ``group``, ``points``, ``messages``, plus ``source`` (citation),
    ``unverified`` and any score-specific keys in ``extra``. ``value`` is None when not computable.
    """

    score: str
    computable: bool
    value: float | None
    group: str | None
    points: Mapping[str, Any]
    messages: tuple[str, ...]
    source: str
    unverified: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; keys of spec ``cli.md`` first, then ``source``, ``unverified`` and extras."""
        out: dict[str, Any] = {
            "score": self.score,
            "computable": self.computable,
            "value": self.value,
            "group": self.group,
            "points": dict(self.points),
            "messages": list(self.messages),
            "source": self.source,
            "unverified": self.unverified,
        }
        for key, val in self.extra.items():
            out.setdefault(key, val)
        return out

    def summary(self) -> pd.DataFrame:
        """One row per item (points), then the total; readable by a clinician."""
        rows = [{"item": k, "points": v} for k, v in self.points.items()]
        rows.append({"item": "total" if self.computable else "total (not computable)", "points": self.value})
        frame = pd.DataFrame(rows)
        frame.attrs.update(score=self.score, group=self.group, source=self.source)
        return frame


ScoreFunction = Callable[..., ScoreResult]


@dataclass(frozen=True, slots=True)
class ScoreSpec:
    """Registry entry of one score: its inputs, citation and the pure function that computes it."""

    name: str
    title: str
    inputs: tuple[InputSpec, ...]
    source: str
    function: ScoreFunction
    unverified: bool = False
    groups: tuple[str, ...] = ()
    notes: str = ""
    aliases: Mapping[str, str] = field(default_factory=dict)   # other accepted input names -> input name

    def to_dict(self) -> dict[str, Any]:
        """Metadata for forms: inputs with canonical units, citation, unverified flag, group labels."""
        return {"name": self.name, "title": self.title, "source": self.source, "unverified": self.unverified,
                "groups": list(self.groups), "notes": self.notes,
                "inputs": [spec.to_dict() for spec in self.inputs]}


# ---------------------------------------------------------------------------------------------- numbers


def exact(value: float | str | Decimal) -> Decimal:
    """A finite number as a Decimal rounded to 12 significant digits (float noise removed)."""
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, float):
        dec = Decimal(f"{value:.{SIGNIFICANT_DIGITS}g}")
    else:
        dec = Decimal(str(value).strip())
    if not dec.is_finite():
        raise InvalidOperation(str(value))
    return Decimal(format(dec, f".{SIGNIFICANT_DIGITS}g"))


def is_missing(value: Any) -> bool:
    """True for None, NaN, pandas NA and blank strings."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == "" or value.strip().lower() in {"na", "nan", "null"}
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _number(spec: InputSpec, raw: Any) -> tuple[Decimal, str | None]:
    """Canonical Decimal value of a number or lab input, plus a message for censored values."""
    note = None
    if isinstance(raw, bool):
        raise ScoreInputError(spec.name, f"expected a number, got {raw!r}")
    if spec.kind == "lab" and isinstance(raw, str):
        value, note = _units.to_canonical(spec.name, spec.analyte or spec.name, raw, spec.unit)
        dec = exact(value)
    else:
        try:
            if isinstance(raw, str):
                number, unit, _ = _units.parse(spec.name, raw)
                if unit is not None and spec.unit is not None and unit != spec.unit:
                    raise ScoreInputError(spec.name, f"unit {unit!r} not accepted; give the value in {spec.unit}")
                dec = exact(number)
            else:
                dec = exact(raw)
                if spec.kind == "lab":
                    _units.check_number(spec.name, spec.analyte or spec.name, float(dec), spec.unit)
        except (InvalidOperation, ValueError, TypeError) as exc:
            if isinstance(exc, ScoreInputError):
                raise
            raise ScoreInputError(spec.name, f"expected a number, got {raw!r}") from None
    return dec, note


def _check_range(spec: InputSpec, dec: Decimal, raw: Any) -> None:
    unit = f" {spec.unit}" if spec.unit else ""
    low = None if spec.minimum is None else exact(spec.minimum)
    high = None if spec.maximum is None else exact(spec.maximum)
    if (low is not None and dec < low) or (high is not None and dec > high):
        raise ScoreInputError(
            spec.name, f"{raw!r} gives {dec}{unit}, outside the allowed range {spec.minimum}–{spec.maximum}{unit}")


def _choice(spec: InputSpec, raw: Any) -> str:
    text = str(raw).strip().lower().replace("-", "_").replace(" ", "_")
    if text not in spec.choices:
        raise ScoreInputError(spec.name, f"{raw!r} is not one of {list(spec.choices)}")
    return text


TRUE_WORDS = {"yes", "y", "true", "1", "present"}
FALSE_WORDS = {"no", "n", "false", "0", "absent", "none"}


def parse_bool(name: str, raw: Any) -> bool:
    """yes/no, true/false, 1/0 (case-insensitive) -> bool; anything else is an error naming ``name``."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ScoreInputError(name, f"expected yes or no, got {raw!r}")


def _read_one(spec: InputSpec, raw: Any, messages: list[str]) -> Any:
    if spec.kind == "choice":
        return _choice(spec, raw)
    if spec.kind == "bool":
        return parse_bool(spec.name, raw)
    if spec.kind == "text":
        return raw
    dec, note = _number(spec, raw)
    if note:
        messages.append(note)
    if spec.kind == "integer" and dec != dec.to_integral_value():
        raise ScoreInputError(spec.name, f"expected a whole number, got {raw!r}")
    _check_range(spec, dec, raw)
    return int(dec) if spec.kind == "integer" else dec


def read_inputs(
    specs: Sequence[InputSpec], inputs: Mapping[str, Any], *, score: str, aliases: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Validate and convert the inputs of one score.

    Returns
    -------
    values : dict
        Input name -> canonical value (Decimal for numbers/labs, int, str choice, bool); missing inputs absent.
    missing : list of str
        Names of required inputs that are missing.
    messages : list of str
        Notes made while reading (e.g. censored values).

    Raises
    ------
    ScoreInputError
        For an unknown input name, a bad unit, an implausible value or an unknown choice.
    """
    known = {spec.name: spec for spec in specs}
    aliases = aliases or {}
    normalised: dict[str, Any] = {}
    for key, val in inputs.items():
        name = key.replace("-", "_")
        name = aliases.get(name, name)
        if name not in known:
            raise ScoreInputError(key, f"is not an input of {score}; inputs are {sorted(known)}")
        if name in normalised:
            raise ScoreInputError(key, f"given twice (as {name})")
        normalised[name] = val
    values: dict[str, Any] = {}
    missing: list[str] = []
    messages: list[str] = []
    for spec in specs:
        raw = normalised.get(spec.name)
        if is_missing(raw):
            if spec.required:
                missing.append(spec.name)
            continue
        values[spec.name] = _read_one(spec, raw, messages)
    return values, missing, messages


def not_computable(
    score: str, missing: Sequence[str], *, source: str, unverified: bool = False,
    messages: Sequence[str] = (), extra: Mapping[str, Any] | None = None,
) -> ScoreResult:
    """A result saying which inputs are missing (spec ``scores.md`` §0.2: never a silent 0)."""
    text = [f"not computable: missing {', '.join(missing)}"] if missing else []
    return ScoreResult(score=score, computable=False, value=None, group=None, points={},
                       messages=tuple(text) + tuple(messages), source=source, unverified=unverified,
                       extra=dict(extra or {}))


def as_float(value: Decimal | float) -> float:
    """Plain float for JSON (never NaN: callers pass finite numbers only)."""
    out = float(value)
    if not math.isfinite(out):
        raise ValueError("non-finite result")
    return out
