"""``cartlens stats km | logrank | cox``: CSV in, JSON out, R survival's defaults (spec cli.md, Statistics).

Input handling, decided once for the three commands (docs/stats_survival.md):

* the CSV is read as text; the columns named by the options must exist;
* rows with an empty/NA value in any column the command uses are dropped, as R's ``na.omit`` does, and the
  number dropped is reported on stderr and as ``n_dropped_missing`` in the JSON;
* any other non-numeric time, event or covariate value is an error ``file:row:column: message`` (exit 2);
* the event column must be 0/1 or true/false; ``--event-value V`` instead marks rows equal to V as events
  (e.g. ``--event-value 2`` for R's 1/2 coding); it is never guessed;
* a non-numeric Cox covariate is expanded into treatment-coded dummies named ``<column><level>`` with the
  first sorted level as reference, as R's ``model.matrix``.

Exit status: 0 success, 2 invalid input, 1 anything else.
"""

from __future__ import annotations

import json
import math
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

__all__ = ["register"]

_MISSING = {"", "na", "nan", "null", "none", "."}


class Format(str, Enum):
    table = "table"
    json = "json"


class ConfType(str, Enum):
    log = "log"
    log_log = "log-log"
    plain = "plain"
    logit = "logit"
    arcsin = "arcsin"


class Ties(str, Enum):
    efron = "efron"
    breslow = "breslow"


class InputProblem(ValueError):
    """One located problem in the input file (``file:row:column: message``)."""


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _read(path: Path, columns: list[str]) -> tuple[pd.DataFrame, int]:
    """Read the CSV as text, keep ``columns``, drop rows with a missing value in them (R na.omit)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputProblem(f"{path.name}:0:-: cannot read CSV: {exc}") from None
    for col in columns:
        if col not in frame.columns:
            raise InputProblem(f"{path.name}:1:{col}: column not found (columns: {', '.join(frame.columns)})")
    frame = frame[list(dict.fromkeys(columns))].copy()
    frame.index = pd.RangeIndex(2, len(frame) + 2)       # spreadsheet row numbers (header = 1)
    missing = frame.apply(lambda s: s.str.strip().str.lower().isin(_MISSING)).any(axis=1)
    return frame.loc[~missing], int(missing.sum())


def _numeric(frame: pd.DataFrame, col: str, path: Path) -> np.ndarray:
    values = pd.to_numeric(frame[col].str.strip(), errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        row = bad.idxmax()
        raise InputProblem(f"{path.name}:{row}:{col}: {frame.at[row, col]!r} is not a finite number")
    return values.to_numpy(dtype=float)


def _event(frame: pd.DataFrame, col: str, path: Path, event_value: str | None) -> np.ndarray:
    text = frame[col].str.strip()
    if event_value is not None:
        return (text == event_value.strip()).to_numpy()
    lowered = text.str.lower()
    mapping = {"0": False, "1": True, "0.0": False, "1.0": True, "false": False, "true": True}
    bad = ~lowered.isin(mapping)
    if bad.any():
        row = bad.idxmax()
        raise InputProblem(f"{path.name}:{row}:{col}: {frame.at[row, col]!r} is not 0/1 or true/false "
                           "(use --event-value V to mark rows equal to V as events, e.g. 2 for R's 1/2 coding)")
    return lowered.map(mapping).to_numpy(dtype=bool)


def _columns(spec: str | None) -> list[str]:
    """``"a,b"`` -> ["a", "b"]; several columns define one grouping by their combination (R interaction)."""
    return [c.strip() for c in spec.split(",") if c.strip()] if spec else []


def _labels(frame: pd.DataFrame, cols: list[str]) -> np.ndarray | None:
    """One label per row from one or more columns (combined as "a, b", like R's strata(a, b))."""
    if not cols:
        return None
    parts = [frame[c].str.strip() for c in cols]
    combined = parts[0] if len(parts) == 1 else parts[0].str.cat(parts[1:], sep=", ")
    return combined.to_numpy()


def _covariates(frame: pd.DataFrame, cols: list[str], path: Path) -> pd.DataFrame:
    """Numeric columns as they are; text columns as R treatment-coded dummies (first sorted level = reference)."""
    out: dict[str, np.ndarray] = {}
    for col in cols:
        as_num = pd.to_numeric(frame[col].str.strip(), errors="coerce")
        if not as_num.isna().any():
            out[col] = _numeric(frame, col, path)
            continue
        levels = sorted(frame[col].str.strip().unique())
        if len(levels) < 2:
            raise InputProblem(f"{path.name}:2:{col}: {levels[0]!r} is not a number and the column has one level")
        for level in levels[1:]:
            out[f"{col}{level}"] = (frame[col].str.strip() == level).to_numpy(dtype=float)
    return pd.DataFrame(out)


def _clean(obj: Any) -> Any:
    """nan/inf -> None recursively so that the JSON is strict (cli.md: undefined is null)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _emit(body: dict[str, Any], fmt: Format, tables: list[tuple[str, pd.DataFrame]]) -> None:
    if fmt is Format.json:
        typer.echo(json.dumps(_clean(body), allow_nan=False))
        return
    for title, table in tables:
        typer.echo(f"{title}\n{table.to_string()}\n")


def _km_title(level: str, curve: Any) -> str:
    med, lo, hi = curve.median()
    show = (lambda v: "NA" if v is None else f"{v:g}")
    return (f"{level}: n = {curve.n}, events = {curve.events:g}, median = {show(med)} "
            f"({curve.conf_level:.0%} CI {show(lo)} to {show(hi)})")


def _parse_times(text: str) -> list[float]:
    if not text.strip():
        return []
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"--times: {text!r} is not a comma-separated list of numbers") from None
    if any(not math.isfinite(v) for v in values):
        raise typer.BadParameter("--times: values must be finite")
    return values


def _note_dropped(n: int) -> None:
    if n:
        typer.echo(f"note: {n} row(s) with missing values dropped (R na.omit)", err=True)


DataOpt = Annotated[Path, typer.Option("--data", exists=True, dir_okay=False, help="CSV file, one row per patient.")]
TimeOpt = Annotated[str, typer.Option("--time", help="Column: follow-up time (e.g. days or months).")]
EventOpt = Annotated[str, typer.Option("--event", help="Column: event indicator, 0/1 or true/false.")]
EventValueOpt = Annotated[str | None, typer.Option("--event-value", help="Value of --event that marks an event.")]
FormatOpt = Annotated[Format, typer.Option("--format", help="json (cli.md contract) or table.")]


def km_command(data: DataOpt, time: TimeOpt, event: EventOpt,
               group: Annotated[str | None, typer.Option("--group", help="Column(s), comma-separated: one curve per level.")] = None,
               conf_type: Annotated[ConfType, typer.Option("--conf-type", help="Pointwise CI (R default log).")]
               = ConfType.log,
               conf_level: Annotated[float, typer.Option("--conf-level", min=0.0, max=1.0)] = 0.95,
               times: Annotated[str, typer.Option("--times", help="Comma-separated times, e.g. 6,12,24.")] = "",
               event_value: EventValueOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Kaplan-Meier per group with median (CI) and survival / numbers at risk at --times (R survfit)."""
    from cartlens.stats.km import km_by_group

    at = _parse_times(times)
    try:
        frame, dropped = _read(data, [time, event, *_columns(group)])
        t, d = _numeric(frame, time, data), _event(frame, event, data, event_value)
        labels = _labels(frame, _columns(group))
        curves = {str(k): c for k, c in km_by_group(t, d, labels, conf_type=conf_type.value,
                                                    conf_level=conf_level).items()}
    except ValueError as exc:
        raise _fail(str(exc)) from None
    _note_dropped(dropped)
    body = {"groups": {k: c.to_dict(at=at) for k, c in curves.items()}, "n_dropped_missing": dropped}
    _emit(body, fmt, [(_km_title(k, c), pd.DataFrame(c.at(at)) if at else c.summary()) for k, c in curves.items()])


def logrank_command(data: DataOpt, time: TimeOpt, event: EventOpt,
                    group: Annotated[str, typer.Option("--group", help="Column(s): groups to compare.")],
                    strata: Annotated[str | None, typer.Option("--strata", help="Column(s): strata.")] = None,
                    rho: Annotated[float, typer.Option("--rho", help="0 log-rank, 1 Peto-Peto.")] = 0.0,
                    event_value: EventValueOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Log-rank (G-rho) test between groups, optionally stratified (R survdiff)."""
    from cartlens.stats.logrank import survdiff

    if not _columns(group):
        raise typer.BadParameter("--group: at least one column is needed")
    try:
        frame, dropped = _read(data, [time, event, *_columns(group), *_columns(strata)])
        labels = _labels(frame, _columns(group))
        assert labels is not None
        res = survdiff(_numeric(frame, time, data), _event(frame, event, data, event_value), labels, rho=rho,
                       strata=_labels(frame, _columns(strata)))
    except ValueError as exc:
        raise _fail(str(exc)) from None
    _note_dropped(dropped)
    _emit(res.to_dict() | {"n_dropped_missing": dropped}, fmt,
          [(f"chisq = {res.chisq:.6g} on {res.df} df, p = {res.p:.4g}", res.summary())])


def cox_command(data: DataOpt, time: TimeOpt, event: EventOpt,
                covariates: Annotated[str, typer.Option("--covariates", help="Comma-separated columns.")],
                strata: Annotated[str | None, typer.Option("--strata", help="Column(s), comma-separated: strata.")] = None,
                ties: Annotated[Ties, typer.Option("--ties", help="Tie handling (R default efron).")] = Ties.efron,
                cluster: Annotated[str | None, typer.Option("--cluster", help="Column: cluster id (robust se).")]
                = None,
                robust: Annotated[bool, typer.Option("--robust", help="Robust (sandwich) variance.")] = False,
                event_value: EventValueOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Cox proportional-hazards model (R coxph): coefficients, HRs, LR/Wald/score tests, concordance."""
    import warnings

    from cartlens.stats.cox import CoxConvergenceWarning, coxph

    cols = [c.strip() for c in covariates.split(",") if c.strip()]
    if not cols:
        raise typer.BadParameter("--covariates: at least one column is needed")
    extra = [*_columns(strata), *_columns(cluster)]
    try:
        frame, dropped = _read(data, [time, event, *cols, *extra])
        x = _covariates(frame, cols, data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CoxConvergenceWarning)
            fit = coxph(_numeric(frame, time, data), _event(frame, event, data, event_value), x, ties=ties.value,
                        strata=_labels(frame, _columns(strata)), cluster=_labels(frame, _columns(cluster)),
                        robust=True if robust else None)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    _note_dropped(dropped)
    _emit(fit.to_dict() | {"n_dropped_missing": dropped}, fmt, [("Cox model", fit.summary())])


def register(stats_app: typer.Typer) -> None:
    """Attach ``km``, ``logrank`` and ``cox`` to the ``stats`` command group."""
    stats_app.command("km")(km_command)
    stats_app.command("logrank")(logrank_command)
    stats_app.command("cox")(cox_command)


if __name__ == "__main__":   # pragma: no cover
    sys.exit("use: cartlens stats km|logrank|cox")
