"""Shared helpers of the report sections: number formatting, KM panels with log-rank and HRs, Cox rows.

Conventions (survival_stats.md section 10, survminer ``ggsurvplot``): times in months from infusion
(days / 30.4375); log-rank p printed as ``p < 0.0001`` or with 2 significant digits; HRs with Wald 95 % CI
(R ``summary(coxph)``); KM medians with log-transformed 95 % CI (R ``survfit`` default ``conf.type = "log"``).
Every number shown in the report is rounded here, once, so that the HTML and ``tables/*.csv`` carry
identical values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cartlens.report.figures import SYNTHETIC_LABEL, km_figure
from cartlens.report.html import Figure, Section
from cartlens.stats.cox import coxph
from cartlens.stats.km import kaplan_meier
from cartlens.stats.logrank import survdiff

MONTH_DAYS = 30.4375
ENDPOINTS = {"pfs": "Progression-free survival", "os": "Overall survival"}


@dataclass
class SectionResult:
    """A rendered section plus the key numbers (JSON-ready) that go to run.json."""

    section: Section
    values: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"          # "ok", "skipped" (cannot run on these data) or "failed"


def skipped(title: str, reason: str) -> SectionResult:
    """A section that cannot run on the given data: says why instead of crashing the run."""
    return SectionResult(Section(title=title, notes=[f"Not run: {reason}"]), {"reason": reason}, "skipped")


def fmt_p(p: float | None) -> str:
    """p as the field prints it: ``< 0.0001`` or two significant digits (survminer)."""
    if p is None or not np.isfinite(p):
        return ""
    if p < 1e-4:
        return "< 0.0001"
    return f"{float(f'{p:.2g}'):g}"


def r3(x: Any) -> Any:
    """Round to 3 decimals (None/NaN kept as None)."""
    if x is None:
        return None
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return x
    return None if not math.isfinite(xf) else round(xf, 3)


def r2(x: Any) -> Any:
    if x is None:
        return None
    xf = float(x)
    return None if not math.isfinite(xf) else round(xf, 2)


def fmt_hr(hr: float | None, lo: float | None, hi: float | None) -> str:
    """``"2.10 (1.40-3.15)"``; "not estimable" when the Cox fit gave no finite HR (e.g. a group without events)."""
    if any(v is None or not math.isfinite(float(v)) for v in (hr, lo, hi)):
        return "not estimable"
    return f"{hr:.2f} ({lo:.2f}-{hi:.2f})"


def tidy(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Round every float column so HTML and CSV show the same numbers."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(digits)
    return out


def months(days: Any) -> np.ndarray:
    return np.asarray(days, dtype=float) / MONTH_DAYS


def surv_data(frame: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """Rows with a known time and event for ``endpoint`` ('pfs' or 'os'), times in months (``_t``, ``_e``)."""
    f = frame.dropna(subset=[f"{endpoint}_days", f"{endpoint}_event"])
    return f.assign(_t=months(f[f"{endpoint}_days"]), _e=f[f"{endpoint}_event"].astype(int).to_numpy())


def median_text(t: np.ndarray, e: np.ndarray) -> tuple[str, float | None]:
    """KM median in months with 95 % CI as text ("NR" = not reached) and the median value."""
    med, lo, hi = kaplan_meier(t, e).median()
    f = (lambda v: "NR" if v is None else f"{v:.1f}")
    return f"{f(med)} ({f(lo)}-{f(hi)})", med


def surv_at(t: np.ndarray, e: np.ndarray, horizon: float) -> dict[str, Any]:
    row = kaplan_meier(t, e).at([horizon])[0]
    return {"surv": r3(row["surv"]), "lower": r3(row["lower"]), "upper": r3(row["upper"])}


def cox_row(t: np.ndarray, e: np.ndarray, x: np.ndarray, name: str, *, strata: Any = None) -> dict[str, Any]:
    """Univariable Cox HR (95 % CI), p, n, events of one covariate (R ``coxph(Surv(t, e) ~ x)``)."""
    try:
        fit = coxph(t, e, np.asarray(x, float).reshape(-1, 1), names=[name], strata=strata)
    except ValueError as exc:
        return {"covariate": name, "n": len(t), "events": int(np.sum(e)), "hr": None, "lower": None,
                "upper": None, "p": None, "note": str(exc)}
    c = fit.to_dict()["coef"][name]
    return {"covariate": name, "n": fit.n, "events": fit.n_events, "hr": r3(c["hr"]), "lower": r3(c["hr_lower"]),
            "upper": r3(c["hr_upper"]), "p": c["p"], "note": ""}


def km_panel(frame: pd.DataFrame, endpoint: str, group_col: str, order: Sequence[str], *, name: str,
             caption: str, title: str = "", label: str = "", horizon: float = 12.0,
             reference: str | None = None) -> tuple[Figure | None, pd.DataFrame, dict[str, Any]]:
    """KM curves by group with numbers at risk, log-rank (K - 1 df) and HRs vs ``reference`` in the panel.

    Returns the figure, a per-group table (n, events, median (95 % CI), survival at ``horizon`` months,
    HR vs the reference group) and the numbers (JSON) for run.json.
    """
    d = surv_data(frame, endpoint).dropna(subset=[group_col])
    groups = [g for g in order if (d[group_col] == g).any()]
    ref = reference if reference in groups else (groups[0] if groups else None)
    rows: list[dict[str, Any]] = []
    values: dict[str, Any] = {"groups": {}, "logrank": None}
    for g in groups:
        sub = d[d[group_col] == g]
        text, med = median_text(sub["_t"].to_numpy(), sub["_e"].to_numpy())
        at = surv_at(sub["_t"].to_numpy(), sub["_e"].to_numpy(), horizon)
        row = {"group": g, "n": len(sub), "events": int(sub["_e"].sum()), "median, months (95% CI)": text,
               f"{horizon:g}-month survival": at["surv"], "95% CI lower": at["lower"], "95% CI upper": at["upper"],
               "HR (95% CI)": "ref." if g == ref else ""}
        if g != ref and ref is not None:
            pair = d[d[group_col].isin([ref, g])]
            hr = cox_row(pair["_t"].to_numpy(), pair["_e"].to_numpy(), (pair[group_col] == g).to_numpy(float), g)
            if hr["hr"] is not None:
                row["HR (95% CI)"] = fmt_hr(hr["hr"], hr["lower"], hr["upper"])
            values["groups"].setdefault(g, {})["hr_vs_ref"] = {k: hr[k] for k in ("hr", "lower", "upper", "p")}
        values["groups"].setdefault(g, {}).update({"n": len(sub), "events": int(sub["_e"].sum()),
                                                   "median_months": r3(med), f"surv_{horizon:g}m": at["surv"]})
        rows.append(row)
    table = pd.DataFrame(rows)
    annotation = ""
    if len(groups) >= 2:
        lr = survdiff(d["_t"].to_numpy(), d["_e"].to_numpy(), d[group_col].astype(str).to_numpy())
        values["logrank"] = {"chisq": r3(lr.chisq), "df": lr.df, "p": lr.p}
        annotation = f"log-rank p {fmt_p(lr.p)}" if lr.p >= 1e-4 else "log-rank p < 0.0001"
        if len(groups) == 2:
            hr = values["groups"][groups[1]].get("hr_vs_ref")
            if hr and hr["hr"] is not None:
                annotation = f"HR {fmt_hr(hr['hr'], hr['lower'], hr['upper'])}; " + annotation
        table["log-rank p"] = [fmt_p(lr.p)] + [""] * (len(table) - 1)
    fig = None
    if groups:
        curves = {g: (d.loc[d[group_col] == g, "_t"].to_numpy(), d.loc[d[group_col] == g, "_e"].to_numpy())
                  for g in groups}
        fig = km_figure(curves, name=name, caption=caption, title=title or ENDPOINTS.get(endpoint, endpoint),
                        ylabel=ENDPOINTS.get(endpoint, "Survival probability"), annotation=annotation, label=label)
    return fig, table, values


def demo_label(truth: dict | None) -> str:
    return SYNTHETIC_LABEL if truth is not None else ""


def planted_table(rows: list[tuple[str, Any, Any, str]]) -> pd.DataFrame:
    """A "planted vs recovered" table from (quantity, planted, recovered, note) tuples."""
    return pd.DataFrame([{"quantity": q, "planted": r3(p) if isinstance(p, (int, float)) else p,
                          "recovered": r3(v) if isinstance(v, (int, float)) else v, "note": n}
                         for q, p, v, n in rows])
