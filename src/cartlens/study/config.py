"""The study plan: a TOML file validated into :class:`StudyPlan` (spec ``study_report.md``).

Example::

    [study]
    title = "CAR-IMPI development and validation"
    seed = 20240501

    [data]
    source = "data/"                 # a data directory (CSV/XLSX/Parquet), or
    # db = "sqlite:///cartlens.db"   # a database URL (exactly one of the two)

    [cohorts]
    column = "cohort"                # patients column that defines the cohorts
    development = "development"
    validation = "validation"

    [sections]                       # switch sections on/off (all on by default)
    failure = false

    [car_impi]
    knot = "maxstat"                 # or a number in mL
    horizon_months = 12

Every key is checked; an unknown key, a wrong type or an impossible value is an error that names the key
(``car_impi.knot: …``), so a typo never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SECTION_NAMES = ("cohort", "response", "car_impi", "toxicity", "strata", "factors", "landmarks", "failure")
CRITERIA = ("lugano", "cheson2007", "recil", "lyric")
Criterion = Literal["lugano", "cheson2007", "recil", "lyric"]
_CRITERIA_DEFAULT: tuple[Criterion, ...] = ("lugano", "cheson2007", "recil", "lyric")


class PlanError(ValueError):
    """An invalid study plan; the message lists every problem as ``key: message``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StudyMeta(_Strict):
    title: str = "cartlens study"
    seed: int = Field(default=20240501, ge=0)
    label: str = ""
    svg: bool = True          # also write figures/*.svg (PNG is always written)


class DataSource(_Strict):
    source: str | None = None
    db: str | None = None
    centres: list[str] | None = None
    builtin: Literal["demo"] | None = None   # the synthetic demo cohort (tables passed in by ``cartlens demo``)

    @model_validator(mode="after")
    def _one_source(self) -> DataSource:
        if sum(x is not None for x in (self.source, self.db, self.builtin)) != 1:
            raise ValueError("give exactly one of 'source' (data directory) or 'db' (database URL)")
        return self


class Cohorts(_Strict):
    column: str = "cohort"
    development: str = "development"
    validation: str = "validation"


class Sections(_Strict):
    cohort: bool = True
    response: bool = True
    car_impi: bool = True
    toxicity: bool = True
    strata: bool = True
    factors: bool = True
    landmarks: bool = True
    failure: bool = True

    def enabled(self) -> list[str]:
        return [name for name in SECTION_NAMES if getattr(self, name)]


class ResponseOptions(_Strict):
    criteria: list[Criterion] = Field(default_factory=lambda: list(_CRITERIA_DEFAULT))
    options: str | None = None  # TOML file of A1-A34 switches (cartlens.criteria.options)
    fu1_window: tuple[int, int] = (23, 37)   # days after infusion: day 30 +/- 7 (demo_cohort.md)
    fu2_window: tuple[int, int] = (76, 104)  # day 90 +/- 14
    # "window": the scan inside each window nearest its nominal day (T-FU, response_criteria.md section 6);
    # "scan_id": the scans named FU1 / FU2 (a protocol imaging sub-study, as the demo's).
    timepoint_by: Literal["window", "scan_id"] = "window"

    @field_validator("fu1_window", "fu2_window")
    @classmethod
    def _ordered(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] > v[1]:
            raise ValueError("window must be (first day, last day) with first <= last")
        return v


class CarImpiOptions(_Strict):
    endpoint: Literal["pfs", "os"] = "pfs"
    knot: float | Literal["maxstat"] = "maxstat"
    spline_knots: int = Field(default=4, ge=3, le=7)
    minprop: float = Field(default=0.1, gt=0.0, lt=0.5)
    maxprop: float = Field(default=0.9, gt=0.5, lt=1.0)
    pmethod: Literal["Lau92", "Lau94", "exactGauss", "HL", "condMC"] = "Lau94"
    horizon_months: float = Field(default=12.0, gt=0)
    bootstrap: int = Field(default=200, ge=0, le=10000)
    groups: Literal["median", "tercile"] = "median"

    @field_validator("knot")
    @classmethod
    def _positive_knot(cls, v: float | str) -> float | str:
        if not isinstance(v, str) and v <= 0:
            raise ValueError("must be 'maxstat' or a positive number of mL")
        return v


class StrataOptions(_Strict):
    # "none": no InflaMix strata; "stand-in": a two-component Gaussian mixture fitted to this cohort's day-0
    # labs (synthetic stand-in, never the published model); any other value: path to the user's InflaMix
    # model.RData (obtained under its Terms of Use; cartlens ships no InflaMix parameters).
    inflamix: str = "none"
    hematotox_high: int = Field(default=3, ge=1, le=7)
    horizon_months: float = Field(default=12.0, gt=0)


class FactorOptions(_Strict):
    catalogue: str | None = None      # path to a prognostic_factors.yaml; default: the copy shipped in cartlens


class FailureOptions(_Strict):
    criterion: Literal["lugano", "cheson2007", "recil", "lyric"] = "lugano"
    margin_mm: float = Field(default=10.0, ge=0)
    models: bool = True       # fit the lesion-level GEE/GLMM models (the slowest step of the section)


class LandmarkOptions(_Strict):
    day: int = Field(default=30, ge=1)
    window: int = Field(default=7, ge=0)          # scans within day +/- window count as the landmark scan
    suvmax_cut: float = Field(default=10.0, gt=0)


class StudyPlan(_Strict):
    """A validated study plan (every section's options with documented defaults)."""

    study: StudyMeta = StudyMeta()
    data: DataSource
    cohorts: Cohorts = Cohorts()
    sections: Sections = Sections()
    response: ResponseOptions = ResponseOptions()
    car_impi: CarImpiOptions = CarImpiOptions()
    strata: StrataOptions = StrataOptions()
    factors: FactorOptions = FactorOptions()
    failure: FailureOptions = FailureOptions()
    landmarks: LandmarkOptions = LandmarkOptions()
    base_dir: str = "."

    def resolve(self, path: str) -> Path:
        """A path of the plan, relative to the plan file's folder."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir) / p


def _format(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(plan)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"{key}: {msg}")
    return "\n".join(lines)


def plan_from_dict(data: dict[str, Any], *, base_dir: str | Path = ".") -> StudyPlan:
    """Validate a plan given as a dict (as parsed from TOML); raises :class:`PlanError`."""
    try:
        return StudyPlan(**{**data, "base_dir": str(base_dir)})
    except ValidationError as exc:
        raise PlanError(_format(exc)) from None


def load_plan(path: str | Path) -> StudyPlan:
    """Read and validate a plan TOML file; raises :class:`PlanError` naming the file and each bad key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"{path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: not valid TOML ({exc})") from None
    try:
        return plan_from_dict(data, base_dir=path.parent)
    except PlanError as exc:
        raise PlanError("\n".join(f"{path.name}: {line}" for line in str(exc).splitlines())) from None
