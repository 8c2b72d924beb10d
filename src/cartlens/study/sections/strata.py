"""Section 5, Radio-inflammatory strata (seed 001, "Combined strata", exploratory, cohorts pooled).

CAR-IMPI median group (development cutoff) x CAR-HEMATOTOX (high = score >= 3; Rejeski K et al., Blood
2021;138:2499) and x InflaMix cluster (Raj SS et al., Nat Med 2025;31:1183).  Per stratum: Kaplan-Meier
PFS and OS, survival at the plan's horizon (default 1 year) with 95 % CI, HR vs the lowest-risk stratum
(c-low / h-low, c-low / non-inflamed), log-rank across strata.  InflaMix comes from the user's model file, or,
when the plan says ``"stand-in"``, from :mod:`.inflamix_standin` (clearly labelled; never the published model).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cartlens.report.html import Section
from cartlens.study.common import SectionResult, demo_label, km_panel, planted_table, skipped, tidy

TITLE = "Radio-inflammatory strata"
PUBLISHED_1Y = {"c-low/h-low": (57, 82), "c-low/h-high": (51, 73), "c-high/h-low": (34, 63),
                "c-high/h-high": (22, 38), "c-low/non-inflamed": (57, 84), "c-high/inflamed": (24, 41)}


def _inflamix(ctx) -> tuple[pd.Series | None, str, dict[str, Any]]:
    choice = ctx.plan.strata.inflamix
    labs = ctx.tables.get("labs")
    if choice == "none":
        return None, "InflaMix strata not requested (strata.inflamix = \"none\").", {}
    if labs is None or labs.empty:
        return None, "InflaMix strata not run: no labs table.", {}
    from cartlens.scores import score_patients

    info: dict[str, Any] = {}
    if choice == "stand-in":
        from cartlens.study.sections.inflamix_standin import PROVENANCE, fit_standin

        try:
            model, n_fit = fit_standin(labs, seed=ctx.plan.study.seed)
        except ValueError as exc:
            return None, f"InflaMix stand-in not fitted: {exc}", {}
        text = (f"InflaMix column = {PROVENANCE}: a two-component Gaussian mixture fitted by EM to {n_fit} patients "
                "with all 14 day-0 labs, on the published InflaMix scale; it is NOT InflaMix and its clusters are "
                "only a demonstration of the workflow.")
        info["fitted_on"] = n_fit
    else:
        from cartlens.scores import load_inflamix_model

        model = load_inflamix_model(ctx.plan.resolve(choice))
        text = ("InflaMix clusters from the user's model file (research use only, InflaMix Terms of Use).")
    sc = score_patients({"patients": ctx.tables["patients"], "labs": labs}, inflamix_model=model)
    grp = sc.set_index(["centre", "patient_id"])["inflamix_group"].map(
        {"Inflammatory": "inflamed", "Non-inflammatory": "non-inflamed"})
    return grp, text, info


def _strata_block(ctx, d: pd.DataFrame, col: str, order: list[str], tag: str, label: str):
    figs, tabs, vals = [], [], {}
    for ep in ("pfs", "os"):
        fig, tab, v = km_panel(d, ep, col, order, name=f"strata_{tag}_{ep}", label=label,
                               caption=f"{ep.upper()} by CAR-IMPI x {tag.replace('_', '-')} stratum (pooled).",
                               horizon=ctx.plan.strata.horizon_months, reference=order[0])
        if fig is not None:
            figs.append(fig)
        tabs.append(tab.assign(endpoint=ep.upper()))
        vals[ep] = v
    table = pd.concat(tabs, ignore_index=True)
    table = table[["endpoint"] + [c for c in table.columns if c != "endpoint"]]
    published = table["group"].map(lambda g: PUBLISHED_1Y.get(g))
    table["seed 001 1-year %"] = [("" if p is None else str(p[0] if e == "PFS" else p[1]))
                                  for p, e in zip(published, table["endpoint"])]
    return figs, tidy(table), vals


def build(ctx) -> SectionResult:
    if "car_impi_median" not in ctx.frame:
        return skipped(TITLE, "CAR-IMPI groups are not available (section 3 did not run)")
    d = ctx.frame.copy()
    c = "c-" + d["car_impi_median"].astype(object)
    label = demo_label(ctx.truth)
    figs, tables, captions, values, notes = [], {}, {}, {}, []
    cut = ctx.plan.strata.hematotox_high
    if "car_hematotox" in d and d["car_hematotox"].notna().any():
        h = d["car_hematotox"].astype(float).map(lambda v: None if pd.isna(v) else ("h-high" if v >= cut else "h-low"))
        d["stratum_hematotox"] = (c + "/" + h).where(c.notna() & h.notna())
        order = ["c-low/h-low", "c-low/h-high", "c-high/h-low", "c-high/h-high"]
        f, t, v = _strata_block(ctx, d, "stratum_hematotox", order, "hematotox", label)
        figs += f
        tables["strata_hematotox"] = t
        captions["strata_hematotox"] = f"CAR-IMPI (median) x CAR-HEMATOTOX (high >= {cut})"
        values["hematotox"] = v
    infl, text, info = _inflamix(ctx)
    notes.append(text)
    if infl is not None and infl.notna().any():
        d["inflamix"] = infl.reindex(d.index)
        d["stratum_inflamix"] = (c + "/" + d["inflamix"]).where(c.notna() & d["inflamix"].notna())
        order = ["c-low/non-inflamed", "c-low/inflamed", "c-high/non-inflamed", "c-high/inflamed"]
        f, t, v = _strata_block(ctx, d, "stratum_inflamix", order, "inflamix", label)
        figs += f
        tables["strata_inflamix"] = t
        captions["strata_inflamix"] = "CAR-IMPI (median) x InflaMix cluster" + (
            " (STAND-IN mixture, not InflaMix)" if ctx.plan.strata.inflamix == "stand-in" else "")
        values["inflamix"] = {**v, **info, "n_assigned": int(d["inflamix"].notna().sum())}
        if ctx.truth is not None and "inflammation" in ctx.truth:
            tables["strata_planted"] = _planted(ctx, d)
            captions["strata_planted"] = "Synthetic cohort: planted vs recovered clusters"
    if not tables:
        return skipped(TITLE, "neither CAR-HEMATOTOX (baseline labs) nor InflaMix clusters are available")
    notes.insert(0, "Method: strata pooled over cohorts; CAR-IMPI split at the development median; Kaplan-Meier "
                    f"survival at {ctx.plan.strata.horizon_months:g} months with log-transformed 95 % CI; Cox HR "
                    "vs the lowest-risk stratum; log-rank across strata.")
    notes.append("Seed 001 (1-year PFS / OS): c-low/h-low 57/82 %, c-low/h-high 51/73 %, c-high/h-low 34/63 %, "
                 "c-high/h-high 22/38 %; c-low/non-inflamed 57/84 %, c-high/inflamed 24/41 %.")
    return SectionResult(Section(title=TITLE, tables=tables, figures=figs, notes=notes, captions=captions), values)


def _planted(ctx, d: pd.DataFrame) -> pd.DataFrame:
    t = ctx.truth["inflammation"]
    planted = pd.Series(t["inflamed"])
    rec = d.reset_index().set_index("patient_id")["inflamix"]
    both = pd.concat([planted.rename("planted"), rec.rename("recovered")], axis=1, join="inner").dropna()
    agree = float(((both["recovered"] == "inflamed") == both["planted"].astype(bool)).mean()) if len(both) else None
    return planted_table([
        ("inflamed fraction", t["inflamed_fraction"], float((both["recovered"] == "inflamed").mean()) if len(both)
         else None, f"{len(both)} patients with planted clusters"),
        ("cluster agreement (planted vs stand-in)", 1.0, agree, ("fraction of patients assigned to their planted "
         "cluster"))])
