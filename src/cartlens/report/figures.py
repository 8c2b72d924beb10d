"""Publication figures with matplotlib, following the field's conventions.

* Kaplan–Meier: step curves, censoring ticks, numbers at risk beneath the x-axis, HR (95 % CI) and
  log-rank p in the panel (as in the CAR-IMPI and CAR-HEMATOTOX papers).
* Forest plot: point estimate and 95 % CI on a log axis, reference line at 1; optional published estimate
  beside the cohort's.
* Spline: log hazard ratio against a continuous marker with a shaded 95 % CI band and a reference point.
* Sankey/alluvial: flows of response categories between two criteria.
* Swimmer plot: one bar per patient with response assessments over time.

Every function returns a :class:`cartlens.report.html.Figure` (PNG bytes + SVG text); nothing is written
to disk here. The Agg backend is used so no display is needed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from cartlens.report.html import Figure

DPI = 110
PALETTE = ("#1f4e79", "#c0504d", "#4f8f3a", "#8064a2", "#d08a1e", "#2a9fbc")
CATEGORY_COLOURS = {"CR": "#2e7d32", "PR": "#7cb342", "MR": "#c0ca33", "SD": "#fdd835", "PD": "#e53935",
                    "NE": "#9e9e9e", "IR1": "#fb8c00", "IR2a": "#f4511e", "IR2b": "#ef6c00", "IR3": "#ff7043"}
SYNTHETIC_LABEL = "synthetic demonstration data"


_WITH_SVG: ContextVar[bool] = ContextVar("cartlens_figures_svg", default=True)


@contextmanager
def svg_output(enabled: bool) -> Iterator[None]:
    """Within the block, figures carry SVG text (default) or PNG only (faster; study.svg = false)."""
    token = _WITH_SVG.set(bool(enabled))
    try:
        yield
    finally:
        _WITH_SVG.reset(token)


def _finish(fig: plt.Figure, name: str, caption: str) -> Figure:
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=DPI, bbox_inches="tight")
    svg = None
    if _WITH_SVG.get():
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight")
        svg = buf.getvalue()
    plt.close(fig)
    return Figure(name=name, caption=caption, png=png.getvalue(), svg=svg)


def _label(ax: plt.Axes, label: str, *, top: bool = False) -> None:
    """The data label (e.g. "synthetic demonstration data") in the bottom-right (or top-left) corner."""
    if label:
        x, y, ha, va = (0.0, 1.0, "left", "bottom") if top else (0.99, 0.01, "right", "bottom")
        ax.text(x, y, label, transform=ax.transAxes, ha=ha, va=va, fontsize=7, color="#777")


def km_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], *, name: str, caption: str,
              title: str = "", xlabel: str = "Months since infusion", ylabel: str = "Survival probability",
              time_scale: float = 1.0, risk_times: Sequence[float] | None = None, annotation: str = "",
              label: str = "") -> Figure:
    """Kaplan–Meier curves with censor ticks and a numbers-at-risk table.

    Parameters
    ----------
    curves : mapping group label -> (time, event) arrays (time in the data's unit, e.g. days).
    time_scale : divide times by this for the x-axis (30.4375 for months from days).
    risk_times : x-axis times (in plotted units) for the numbers at risk; default: 6 even ticks.
    annotation : text placed in the panel, e.g. ``"HR 2.1 (1.5–3.0); log-rank p < 0.001"``.
    """
    from cartlens.stats.km import kaplan_meier

    fits = {g: kaplan_meier(np.asarray(t, float) / time_scale, e) for g, (t, e) in curves.items() if len(t)}
    tmax = max((float(f.times.max()) for f in fits.values()), default=1.0)
    if risk_times is None:
        step = max(1.0, float(np.ceil(tmax / 6 / 6) * 6)) if tmax > 12 else max(tmax / 5, 1e-9)
        risk_times = list(np.arange(0.0, tmax + 1e-9, step))
    n_groups = len(fits)
    fig = plt.figure(figsize=(6.4, 4.2 + 0.22 * n_groups))
    ax = fig.add_axes((0.12, 0.12 + 0.055 * n_groups + 0.08, 0.84, 0.75 - 0.055 * n_groups))
    for i, (group, fit) in enumerate(fits.items()):
        colour = PALETTE[i % len(PALETTE)]
        x = np.concatenate(([0.0], fit.times))
        y = np.concatenate(([1.0], fit.surv))
        ax.step(x, y, where="post", color=colour, lw=1.6, label=f"{group} (n={fit.n})")
        cens = fit.n_censor > 0
        ax.plot(fit.times[cens], fit.surv[cens], "|", color=colour, ms=6, mew=1.0)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, max(risk_times[-1], tmax) * 1.02)
    ax.set_xticks(list(risk_times))
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    if annotation:
        ax.text(0.02, 0.04, annotation, transform=ax.transAxes, fontsize=8, va="bottom")
    ax.spines[["top", "right"]].set_visible(False)
    _label(ax, label)
    _risk_table(fig, ax, fits, risk_times)
    return _finish(fig, name, caption)


def _risk_table(fig: plt.Figure, ax: plt.Axes, fits: Mapping[str, object], risk_times: Sequence[float]) -> None:
    """Numbers at risk beneath the axis, aligned with the x ticks."""
    n_groups = len(fits)
    box = ax.get_position()
    tab = fig.add_axes((box.x0, 0.03, box.width, 0.055 * n_groups + 0.02))
    tab.set_xlim(ax.get_xlim())
    tab.set_ylim(-0.5, n_groups - 0.5)
    tab.axis("off")
    tab.text(ax.get_xlim()[0], n_groups - 0.3, "Number at risk", fontsize=7, va="bottom")
    for i, (group, fit) in enumerate(fits.items()):
        rows = fit.at(list(risk_times))  # type: ignore[attr-defined]
        y = n_groups - 1 - i
        tab.text(-0.03, y, str(group), transform=tab.get_yaxis_transform(), ha="right", va="center",
                 fontsize=7, color=PALETTE[i % len(PALETTE)])
        for row in rows:
            tab.text(row["time"], y, f"{int(row['n_risk'])}", ha="center", va="center", fontsize=7)


def forest_figure(rows: pd.DataFrame, *, name: str, caption: str, label: str = "",
                  xlabel: str = "Hazard ratio (95 % CI), log scale") -> Figure:
    """Forest plot of ``rows`` with columns ``label, hr, lower, upper`` and optional published
    ``pub_hr, pub_lower, pub_upper`` (drawn as open squares beneath each cohort estimate)."""
    n = len(rows)
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.32 * max(n, 1)))
    ys = np.arange(n)[::-1]
    has_pub = {"pub_hr", "pub_lower", "pub_upper"} <= set(rows.columns)
    for y, (_, r) in zip(ys, rows.iterrows(), strict=True):
        if np.isfinite(r["hr"]):
            ax.plot([r["lower"], r["upper"]], [y + 0.12, y + 0.12], color=PALETTE[0], lw=1.4)
            ax.plot(r["hr"], y + 0.12, "s", color=PALETTE[0], ms=5)
        if has_pub and pd.notna(r.get("pub_hr")):
            lo, hi = r.get("pub_lower"), r.get("pub_upper")
            if pd.notna(lo) and pd.notna(hi):
                ax.plot([lo, hi], [y - 0.15, y - 0.15], color=PALETTE[1], lw=1.2)
            ax.plot(r["pub_hr"], y - 0.15, "s", mfc="white", color=PALETTE[1], ms=5)
    ax.axvline(1.0, color="#555", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(ys)
    ax.set_yticklabels(rows["label"].astype(str), fontsize=8)
    ax.set_xlabel(xlabel)
    ax.spines[["top", "right"]].set_visible(False)
    if has_pub:
        ax.plot([], [], "s", color=PALETTE[0], label="this cohort")
        ax.plot([], [], "s", mfc="white", color=PALETTE[1], label="published")
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    _label(ax, label, top=True)
    return _finish(fig, name, caption)


def spline_figure(x: np.ndarray, log_hr: np.ndarray, lower: np.ndarray, upper: np.ndarray, *, name: str,
                  caption: str, xlabel: str, knots: Sequence[float] = (), vline: float | None = None,
                  vline_label: str = "", label: str = "", log_x: bool = False) -> Figure:
    """Log hazard ratio against a marker with a shaded 95 % CI band; knots as rug ticks."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.fill_between(x, lower, upper, color=PALETTE[0], alpha=0.18, lw=0)
    ax.plot(x, log_hr, color=PALETTE[0], lw=1.8)
    ax.axhline(0.0, color="#555", lw=0.8, ls="--")
    for k in knots:
        ax.axvline(k, ymax=0.04, color="#333", lw=1.0)
    if vline is not None:
        ax.axvline(vline, color=PALETTE[1], lw=1.0, ls=":")
        ax.text(vline, ax.get_ylim()[1], f" {vline_label}", color=PALETTE[1], fontsize=8, va="top")
    if log_x:
        ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("log hazard ratio (95 % CI)")
    ax.spines[["top", "right"]].set_visible(False)
    _label(ax, label)
    return _finish(fig, name, caption)


def sankey_figure(pairs: pd.DataFrame, left: str, right: str, *, name: str, caption: str,
                  order: Sequence[str] = ("CR", "PR", "MR", "SD", "IR1", "IR2a", "IR2b", "IR3", "PD", "NE"),
                  label: str = "") -> Figure:
    """Alluvial flows of categories from ``pairs[left]`` to ``pairs[right]`` (one row per patient)."""
    counts = pairs.groupby([left, right]).size()
    total = float(len(pairs)) or 1.0
    cats_l = [c for c in order if c in set(pairs[left])] + sorted(set(pairs[left]) - set(order))
    cats_r = [c for c in order if c in set(pairs[right])] + sorted(set(pairs[right]) - set(order))
    gap = 0.02

    def stack(cats: list[str], col: str) -> dict[str, list[float]]:
        pos, y = {}, 1.0
        for c in cats:
            h = float((pairs[col] == c).sum()) / total * (1 - gap * (len(cats) - 1))
            pos[c] = [y - h, y]
            y -= h + gap
        return pos

    pos_l, pos_r = stack(cats_l, left), stack(cats_r, right)
    fill_l = {c: p[1] for c, p in pos_l.items()}
    fill_r = {c: p[1] for c, p in pos_r.items()}
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    scale = 1 - gap * (max(len(cats_l), len(cats_r)) - 1)
    for a in cats_l:
        for b in cats_r:
            n = counts.get((a, b), 0)
            if not n:
                continue
            h = n / total * scale
            y0a, y0b = fill_l[a], fill_r[b]
            fill_l[a] -= h
            fill_r[b] -= h
            verts = [(0.1, y0a), (0.5, y0a), (0.5, y0b), (0.9, y0b), (0.9, y0b - h), (0.5, y0b - h),
                     (0.5, y0a - h), (0.1, y0a - h), (0.1, y0a)]
            codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.LINETO,
                     MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.CLOSEPOLY]
            ax.add_patch(PathPatch(MplPath(verts, codes), fc=CATEGORY_COLOURS.get(a, "#999"), alpha=0.45, lw=0))
    for cats, pos, x in ((cats_l, pos_l, 0.05), (cats_r, pos_r, 0.9)):
        for c in cats:
            lo, hi = pos[c]
            ax.add_patch(plt.Rectangle((x, lo), 0.05, hi - lo, fc=CATEGORY_COLOURS.get(c, "#999"), ec="white"))
            n = int(((pairs[left] if x < 0.5 else pairs[right]) == c).sum())
            ax.text(x - 0.01 if x < 0.5 else x + 0.06, (lo + hi) / 2, f"{c} ({n})", fontsize=8, va="center",
                    ha="right" if x < 0.5 else "left")
    ax.text(0.075, 1.03, left, ha="center", fontsize=9, weight="bold")
    ax.text(0.925, 1.03, right, ha="center", fontsize=9, weight="bold")
    ax.set_xlim(-0.15, 1.15)
    ax.set_ylim(-0.02, 1.08)
    ax.axis("off")
    _label(ax, label, top=True)
    return _finish(fig, name, caption)


def swimmer_figure(lanes: pd.DataFrame, marks: pd.DataFrame, *, name: str, caption: str,
                   time_scale: float = 30.4375, label: str = "", max_patients: int = 60) -> Figure:
    """Swimmer plot: ``lanes`` (patient, end_days, event) as bars; ``marks`` (patient, day, category)
    as coloured markers of the response assessments along each bar."""
    lanes = lanes.sort_values("end_days").tail(max_patients).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(6.4, 1.0 + 0.12 * len(lanes)))
    ys = {p: i for i, p in enumerate(lanes["patient"])}
    ax.barh(list(ys.values()), lanes["end_days"] / time_scale, color="#cfd8dc", height=0.7)
    dead = lanes[lanes["event"] == 1]
    ax.plot(dead["end_days"] / time_scale, [ys[p] for p in dead["patient"]], "x", color="#333", ms=4)
    m = marks[marks["patient"].isin(ys)]
    order = {c: i for i, c in enumerate(CATEGORY_COLOURS)}
    for cat, grp in sorted(m.groupby("category"), key=lambda kv: order.get(str(kv[0]), len(order))):
        ax.plot(grp["day"] / time_scale, [ys[p] for p in grp["patient"]], "o", ms=3.5,
                color=CATEGORY_COLOURS.get(str(cat), "#999"), label=str(cat))
    ax.plot([], [], "x", color="#333", ms=4, label="death")
    ax.set_yticks([])
    ax.set_xlabel("Months since infusion")
    ax.set_ylabel("Patients")
    ax.legend(fontsize=7, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=6)
    ax.spines[["top", "right"]].set_visible(False)
    _label(ax, label)
    return _finish(fig, name, caption)


def bar_figure(table: pd.DataFrame, *, name: str, caption: str, ylabel: str, label: str = "") -> Figure:
    """Grouped bar chart of a small table (index = x categories, columns = series)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    table.plot(kind="bar", ax=ax, color=PALETTE[: len(table.columns)], rot=0, width=0.8)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    _label(ax, label)
    return _finish(fig, name, caption)
