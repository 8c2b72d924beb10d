"""CAR-IMPI: the IMPI re-fitted for CD19 CAR-T — a configured or fitted linear predictor, never built in.

Source: Winkelmann M, Raj S et al., "Optimization and validation of the international metabolic prognostic
index for CD19 CAR-T in large B-cell lymphoma", Blood Cancer J 2025;15(1):144,
doi:10.1038/s41408-025-01338-1. Spec ``scores.md`` §6; cases ``score_cases.md`` E.

* Structure (reported, not verified): Cox model with a linear spline of pre-LD MTV (knot 44.3 mL), age and
  stage::

      LP = b_mtv*MTV + b_mtv_above_knot*max(0, MTV - knot) + b_age*age + b_stage[stage]

* **Coefficients: NOT FOUND** (supplement unreachable). cartlens therefore ships none: a model comes either
  from a reviewed TOML file (:meth:`CarImpi.from_toml`) or from a fit by the study pipeline
  (``CarImpi(coefficients=..., knot=..., provenance=...)``); both are used the same way. Without one,
  :func:`require_model` refuses with :class:`CoefficientsNotConfigured`.
* Cutoffs (abstract, CONFIRMED): median 1.35 (two groups); terciles 1.07 and 1.58 (three groups). The full
  text reportedly gives 1.53 as the upper tercile: available as :data:`UPPER_TERCILE_ALTERNATIVE`.
* Boundary convention (UNVERIFIED, proposed by the spec): a value >= cutoff goes to the higher-risk group.
* These cutoffs belong to CAR-IMPI only; never apply them to the original IMPI LP (:mod:`.impi`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from cartlens.scores.common import InputSpec, ScoreInputError, ScoreResult, exact, not_computable
from cartlens.scores.ipi import parse_stage

SOURCE = ("Winkelmann M, Raj S et al., Blood Cancer J 2025;15(1):144 (CAR-IMPI); coefficients from a configured "
          "or fitted model; scores.md §6")

#: Cutoffs from the CAR-IMPI abstract (scores.md §6). Changing them needs a matching change in the spec note
#: (a test pins these values).
CUTOFFS_VERSION = "winkelmann2025-abstract"
MEDIAN_CUTOFF = 1.35
LOWER_TERCILE = 1.07
UPPER_TERCILE = 1.58
UPPER_TERCILE_ALTERNATIVE = 1.53     # reported in the full text (seed_results.md 001); not the default
DEFAULT_KNOT_ML = 44.3

PROVENANCE_STATUSES = ("reviewed", "fitted", "example")
REQUIRED_PROVENANCE = ("status", "source")

INPUTS = (
    InputSpec("mtv", "number", "total MTV on the last PET before lymphodepletion, mL", unit="mL",
              minimum=0, maximum=20000),
    InputSpec("age", "number", "age in years", unit="years", minimum=18, maximum=110),
    InputSpec("stage", "text", "Ann Arbor stage 1-4 (or I-IV)"),
)


class CoefficientsNotConfigured(ValueError):
    """CAR-IMPI was asked for without a reviewed (or fitted) coefficient set."""


@dataclass(frozen=True, slots=True)
class CarImpiCutoffs:
    """Grouping cutoffs on the CAR-IMPI LP; a value >= cutoff goes to the higher group (UNVERIFIED)."""

    median: float = MEDIAN_CUTOFF
    lower_tercile: float = LOWER_TERCILE
    upper_tercile: float = UPPER_TERCILE
    version: str = CUTOFFS_VERSION

    def __post_init__(self) -> None:
        if not self.lower_tercile < self.upper_tercile:
            raise ValueError(f"cutoffs: lower tercile {self.lower_tercile} must be < upper {self.upper_tercile}")

    def two_groups(self, lp: float) -> str:
        """``low`` / ``high`` by the median cutoff."""
        return "high" if exact(lp) >= exact(self.median) else "low"

    def three_groups(self, lp: float) -> str:
        """``low`` / ``intermediate`` / ``high`` by the tercile cutoffs."""
        value = exact(lp)
        if value >= exact(self.upper_tercile):
            return "high"
        return "intermediate" if value >= exact(self.lower_tercile) else "low"

    def to_dict(self) -> dict[str, Any]:
        return {"median": self.median, "lower_tercile": self.lower_tercile,
                "upper_tercile": self.upper_tercile, "version": self.version}


def cutoffs_from_development(lp: Sequence[float], *, version: str = "development-cohort") -> CarImpiCutoffs:
    """Median and terciles of a development cohort's LPs (R ``quantile`` type 7, R's default)."""
    values = np.asarray(lp, dtype=float)
    if values.size < 3 or not np.all(np.isfinite(values)):
        raise ValueError("need at least 3 finite linear-predictor values to set cutoffs")
    median, low, high = np.quantile(values, [0.5, 1 / 3, 2 / 3])
    return CarImpiCutoffs(float(median), float(low), float(high), version)


@dataclass(frozen=True)
class CarImpi:
    """A CAR-IMPI linear-predictor model (configured from TOML or fitted), with its grouping cutoffs.

    Parameters
    ----------
    coefficients : mapping
        ``mtv`` (per mL), ``mtv_above_knot`` (change in slope per mL above the knot), ``age`` (per year) and
        ``stage``: a mapping stage 1-4 -> log-hazard term (the reference stage has 0).
    knot : float, default 44.3
        Spline knot, mL.
    provenance : mapping
        ``status`` (``reviewed``, ``fitted`` or ``example``), ``source`` and any review fields
        (``reviewed_by``, ``reviewed_on``, ``notes``). Travels with every result.
    cutoffs : CarImpiCutoffs
        Grouping cutoffs (default: the published ones).
    """

    coefficients: Mapping[str, Any]
    provenance: Mapping[str, str]
    knot: float = DEFAULT_KNOT_ML
    cutoffs: CarImpiCutoffs = field(default_factory=CarImpiCutoffs)

    def __post_init__(self) -> None:
        expected = {"mtv", "mtv_above_knot", "age", "stage"}
        if set(self.coefficients) != expected:
            raise ValueError(f"coefficients: need exactly {sorted(expected)}, got {sorted(self.coefficients)}")
        stage = {int(k): float(v) for k, v in dict(self.coefficients["stage"]).items()}
        if sorted(stage) != [1, 2, 3, 4]:
            raise ValueError(f"coefficients.stage: need stages 1-4, got {sorted(stage)}")
        for name in ("mtv", "mtv_above_knot", "age"):
            if not np.isfinite(float(self.coefficients[name])):
                raise ValueError(f"coefficients.{name}: not a finite number")
        missing = [k for k in REQUIRED_PROVENANCE if not str(self.provenance.get(k, "")).strip()]
        if missing:
            raise ValueError(f"provenance: missing {missing}")
        if self.provenance["status"] not in PROVENANCE_STATUSES:
            raise ValueError(f"provenance.status: {self.provenance['status']!r} not one of {PROVENANCE_STATUSES}")
        if not self.knot > 0:
            raise ValueError(f"knot must be > 0 mL, got {self.knot}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CarImpi:
        """Build from the parsed TOML layout (tables ``provenance``, ``model``, ``coefficients``, ``cutoffs``)."""
        unknown = set(data) - {"provenance", "model", "coefficients", "cutoffs"}
        if unknown:
            raise ValueError(f"unknown table(s) {sorted(unknown)} in CAR-IMPI configuration")
        model = dict(data.get("model", {}))
        if set(model) - {"knot_ml"}:
            raise ValueError(f"model: unknown key(s) {sorted(set(model) - {'knot_ml'})}")
        cut = dict(data.get("cutoffs", {}))
        cutoffs = CarImpiCutoffs(**cut) if cut else CarImpiCutoffs()
        return cls(coefficients=dict(data.get("coefficients", {})), provenance=dict(data.get("provenance", {})),
                   knot=float(model.get("knot_ml", DEFAULT_KNOT_ML)), cutoffs=cutoffs)

    @classmethod
    def from_toml(cls, path: str | Path) -> CarImpi:
        """Read a reviewed coefficient file (see ``cartlens/scores/data/car_impi_example.toml``)."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{Path(path).name}: cannot read CAR-IMPI coefficients: {exc}") from None
        try:
            return cls.from_mapping(data)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{Path(path).name}: {exc}") from None

    def terms(self, mtv_ml: Decimal, age: Decimal, stage: int) -> dict[str, float]:
        """The LP terms (their sum is the LP)."""
        c = self.coefficients
        above = max(Decimal(0), mtv_ml - exact(self.knot))
        stage_terms = {int(k): float(v) for k, v in dict(c["stage"]).items()}
        return {"mtv": float(c["mtv"]) * float(mtv_ml), "mtv_above_knot": float(c["mtv_above_knot"]) * float(above),
                "age": float(c["age"]) * float(age), "stage": stage_terms[stage]}

    def linear_predictor(self, mtv_ml: float, age: float, stage: int) -> float:
        """LP for one patient (MTV mL, age years, stage 1-4)."""
        return float(sum(self.terms(exact(mtv_ml), exact(age), int(stage)).values()))


def require_model(model: CarImpi | str | Path | None, *, allow_example: bool = False) -> CarImpi:
    """The configured model, or a refusal that says how to configure one."""
    if model is None:
        raise CoefficientsNotConfigured(
            "CAR-IMPI coefficients not configured: the published coefficients were not found (scores.md §6); "
            "pass a reviewed coefficients file (--coefficients FILE / coefficients=...) or a fitted CarImpi model")
    if not isinstance(model, CarImpi):
        model = CarImpi.from_toml(model)
    if model.provenance["status"] == "example" and not allow_example:
        raise CoefficientsNotConfigured(
            "CAR-IMPI coefficients file is marked status = \"example\" (not reviewed); refusing to score. "
            "Use a reviewed file, or pass allow_example=True for demonstrations only")
    return model


def car_impi(values: dict[str, Any], missing: list[str], messages: list[str], *,
             coefficients: CarImpi | str | Path | None = None, allow_example: bool = False,
             upper_tercile: float | None = None, **_: Any) -> ScoreResult:
    """CAR-IMPI LP with median group (``group``) and tercile group (``group_terciles``).

    Refuses (:class:`CoefficientsNotConfigured`) without a configured model. ``upper_tercile`` overrides the
    model's upper tercile (e.g. 1.53, the full-text alternative).
    """
    model = require_model(coefficients, allow_example=allow_example)
    cutoffs = model.cutoffs
    if upper_tercile is not None:
        cutoffs = CarImpiCutoffs(cutoffs.median, cutoffs.lower_tercile, float(upper_tercile),
                                 f"{cutoffs.version}+upper={upper_tercile}")
    extra = {"provenance": dict(model.provenance), "cutoffs": cutoffs.to_dict(), "knot_ml": model.knot}
    if missing:
        return not_computable("car-impi", missing, source=SOURCE, messages=messages, extra=extra)
    terms = model.terms(values["mtv"], values["age"], parse_stage(values["stage"]))
    lp = float(sum(terms.values()))
    msgs = list(messages)
    if model.provenance["status"] == "example":
        msgs.append("EXAMPLE coefficients (not reviewed): for demonstration only")
    return ScoreResult("car-impi", True, lp, cutoffs.two_groups(lp), terms, tuple(msgs), SOURCE,
                       extra={**extra, "group_terciles": cutoffs.three_groups(lp)})


def group_car_impi(lp: float, *, cutoffs: CarImpiCutoffs | None = None) -> dict[str, str]:
    """Median and tercile groups of an already computed CAR-IMPI LP (score_cases.md E)."""
    cut = cutoffs or CarImpiCutoffs()
    if not np.isfinite(lp):
        raise ScoreInputError("lp", f"not a finite number: {lp!r}")
    return {"median": cut.two_groups(lp), "terciles": cut.three_groups(lp)}
