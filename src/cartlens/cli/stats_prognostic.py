"""``cartlens stats cutpoint | spline | groups | table``: CSV in, JSON out, R's defaults (spec cli.md).

Input handling is shared with ``stats km|logrank|cox`` (``cartlens.cli.stats_survival``): rows with a missing
value in a used column are dropped (R ``na.omit``) and counted in ``n_dropped_missing``; a bad value is an
error ``file:row:column: message`` with exit status 2; the event column is 0/1 or true/false, or
``--event-value V`` marks rows equal to V as events (R's 1/2 coding: ``--event-value 2``).
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from cartlens.cli.stats_survival import (
    DataOpt,
    EventOpt,
    EventValueOpt,
    Format,
    FormatOpt,
    Ties,
    TimeOpt,
    _columns,
    _covariates,
    _emit,
    _event,
    _fail,
    _note_dropped,
    _numeric,
    _read,
)

__all__ = ["register"]


class PMethodOpt(str, Enum):
    none = "none"
    lau92 = "Lau92"
    lau94 = "Lau94"
    lau94clamped = "Lau94clamped"
    exact_gauss = "exactGauss"
    hl = "HL"
    cond_mc = "condMC"
    min = "min"


def _float_list(text: str, option: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"{option}: {text!r} is not a comma-separated list of numbers") from None
    if not values or any(not math.isfinite(v) for v in values):
        raise typer.BadParameter(f"{option}: give one or more finite numbers")
    return values


def cutpoint_command(
    data: DataOpt, time: TimeOpt, event: EventOpt,
    variable: Annotated[str, typer.Option("--variable", help="Column: the continuous marker (e.g. MTV).")],
    minprop: Annotated[float, typer.Option("--minprop", min=0.0, max=1.0, help="R default 0.1.")] = 0.1,
    maxprop: Annotated[float, typer.Option("--maxprop", min=0.0, max=1.0, help="R default 0.9.")] = 0.9,
    pmethod: Annotated[PMethodOpt, typer.Option("--pmethod", help="P-value method; R's default 'none' gives p = null.")]
    = PMethodOpt.none,
    iscores: Annotated[bool | None, typer.Option("--iscores/--no-iscores", help="Integer scores (forced for HL).")]
    = None,
    n_perm: Annotated[int, typer.Option("--n-perm", min=1, help="condMC permutations (R's B).")] = 10000,
    seed: Annotated[int, typer.Option("--seed", help="condMC seed.")] = 0,
    event_value: EventValueOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """Optimal cutpoint by maximally selected log-rank statistics (R maxstat.test, smethod = "LogRank")."""
    from cartlens.stats.cutpoint import maxstat

    try:
        frame, dropped = _read(data, [time, event, variable])
        t, d = _numeric(frame, time, data), _event(frame, event, data, event_value)
        x = _numeric(frame, variable, data)
        res = maxstat(t, d, x, pmethod=pmethod.value, minprop=minprop, maxprop=maxprop, iscores=iscores,
                      n_perm=n_perm, seed=seed)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    _note_dropped(dropped)
    body = {**res.to_dict(), "n_dropped_missing": dropped}
    _emit(body, fmt, [("cutpoint", pd.DataFrame([res.to_dict()]).T), ("candidates", res.summary())])


def spline_command(
    data: DataOpt, time: TimeOpt, event: EventOpt,
    variable: Annotated[str, typer.Option("--variable", help="Column: the continuous marker.")],
    knots: Annotated[int, typer.Option("--knots", min=3, max=10, help="Number of knots (rms placement).")] = 4,
    grid: Annotated[str, typer.Option("--grid", help="Comma-separated marker values; log HR vs the first.")] = "",
    covariates: Annotated[str | None, typer.Option("--covariates", help="Adjustment columns, comma-separated.")]
    = None,
    ties: Annotated[Ties, typer.Option("--ties", help="Cox tie handling (R default efron).")] = Ties.efron,
    event_value: EventValueOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """Cox model with a restricted cubic spline of the marker, knots at Harrell's default quantiles (rms)."""
    from cartlens.stats.splines import spline_cox

    values = _float_list(grid, "--grid") if grid.strip() else None
    adjust = _columns(covariates)
    try:
        frame, dropped = _read(data, [time, event, variable, *adjust])
        t, d = _numeric(frame, time, data), _event(frame, event, data, event_value)
        x = _numeric(frame, variable, data)
        z = _covariates(frame, adjust, data) if adjust else None
        res = spline_cox(t, d, x, knots=knots, covariates=z, name=variable, ties=ties.value)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    _note_dropped(dropped)
    body = {**res.to_dict(grid=values), "n_dropped_missing": dropped}
    g = np.asarray(values if values is not None else res.knots)
    _emit(body, fmt, [("coefficients", res.summary()), ("log HR vs first grid point", res.log_hr(g, float(g[0])))])


def groups_command(
    data: DataOpt,
    group: Annotated[str, typer.Option("--group", help="Column: group labels.")],
    value: Annotated[str, typer.Option("--value", help="Column: continuous value to compare.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Kruskal-Wallis and (two groups) Mann-Whitney with R's W, plus median (Q1, Q3) per group."""
    from cartlens.stats.tests import group_tests

    try:
        frame, dropped = _read(data, [group, value])
        res = group_tests(_numeric(frame, value, data), frame[group].str.strip().to_numpy())
    except ValueError as exc:
        raise _fail(str(exc)) from None
    _note_dropped(dropped)
    _emit({**res.to_dict(), "n_dropped_missing": dropped}, fmt, [("groups", res.summary())])


def table_command(
    data: DataOpt,
    row: Annotated[str, typer.Option("--row", help="Column: row variable.")],
    col: Annotated[str, typer.Option("--col", help="Column: column variable.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Contingency table: Pearson chi-square without continuity correction and Fisher's exact test (r x c)."""
    from cartlens.stats.tests import table_tests

    try:
        frame, dropped = _read(data, [row, col])
        res = table_tests(frame[row].str.strip().to_numpy(), frame[col].str.strip().to_numpy())
    except ValueError as exc:
        raise _fail(str(exc)) from None
    _note_dropped(dropped)
    _emit({**res.to_dict(), "n_dropped_missing": dropped}, fmt, [("counts", res.summary())])


def register(stats_app: typer.Typer) -> None:
    """Attach ``cutpoint``, ``spline``, ``groups`` and ``table`` to the ``stats`` command group."""
    stats_app.command("cutpoint")(cutpoint_command)
    stats_app.command("spline")(spline_command)
    stats_app.command("groups")(groups_command)
    stats_app.command("table")(table_command)
