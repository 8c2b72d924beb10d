"""Section 8, Patterns of failure (seed 004: Figura NB et al., Int J Radiat Oncol Biol Phys 2021;111:1145).

The analysis is :func:`cartlens.failure.analyse` (patterns_of_failure.md section 2): the section shows its
section 2.6 tables (patterns, lesion failure rates, GEE/GLMM odds ratios, patient-level survival), a forest
plot of the lesion-level ORs beside the published ones, and PFS/OS by any pre-treatment lesion >= 5 cm
(KM + log-rank + HR).  The per-lesion audit listing goes to ``tables/failure_listing.csv`` only in the
CSV-sized form of the engine (it is too long for the page).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cartlens.failure import analyse
from cartlens.report.figures import forest_figure
from cartlens.report.html import Section
from cartlens.study.common import SectionResult, demo_label, km_panel, planted_table, r3, skipped, tidy

TITLE = "Patterns of failure"
PUBLISHED_OR = {"Diameter >= 5 cm": (2.34, 1.55, 3.55), "SUVmax >= 10": (2.08, 1.38, 3.12),
                "Extranodal": (1.49, 1.10, 2.04)}
PUBLISHED_PATTERN = {"any_local_pct": 86.0, "strictly_local_pct": 36.0}


def _forest(model: pd.DataFrame, label: str):
    mv = model[(model["Model"] == "GEE multivariable") & model["or"].notna()]
    if mv.empty:
        return None
    rows = pd.DataFrame({"label": mv["Factor"], "hr": mv["or"].astype(float), "lower": mv["or_lower"].astype(float),
                         "upper": mv["or_upper"].astype(float),
                         "pub_hr": mv["Factor"].map(lambda f: PUBLISHED_OR.get(f, (None,) * 3)[0]),
                         "pub_lower": mv["Factor"].map(lambda f: PUBLISHED_OR.get(f, (None,) * 3)[1]),
                         "pub_upper": mv["Factor"].map(lambda f: PUBLISHED_OR.get(f, (None,) * 3)[2])})
    return forest_figure(rows, name="failure_lesion_or", label=label, xlabel="Odds ratio of local failure (95 % CI)",
                         caption="Lesion-level odds ratios of local failure (GEE multivariable, filled) vs seed 004 "
                                 "(open).")


def _planted(ctx, summary: dict[str, Any], model: pd.DataFrame) -> pd.DataFrame:
    pf = ctx.truth["patterns_of_failure"]
    probs = pf["pattern_probs"]
    rows = [("any local component, % of patients with PD", 100 * (probs["strictly_local"] + probs["mixed"]),
             summary.get("any_local_pct"), "seed 004: 86 %"),
            ("strictly local, % of patients with PD", 100 * probs["strictly_local"], summary.get("strictly_local_pct"),
             "seed 004: 36 %")]
    import math
    mv = model[model["Model"] == "GEE multivariable"].set_index("Factor")
    for key, name in (("bulky_5cm", "Diameter >= 5 cm"), ("suv_ge10", "SUVmax >= 10"), ("extranodal", "Extranodal")):
        got = mv["or"].get(name) if name in mv.index else None
        rows.append((f"OR {name} (conditional, planted) vs GEE (marginal)", math.exp(pf["lesion_log_or"][key]), got,
                     f"seed 004: {PUBLISHED_OR[name][0]}"))
    return planted_table(rows)


def build(ctx) -> SectionResult:
    scans, lesions = ctx.tables.get("scans"), ctx.tables.get("lesions")
    if scans is None or lesions is None or scans.empty or lesions.empty:
        return skipped(TITLE, "no scans/lesions tables")
    o = ctx.plan.failure
    res = analyse(ctx.tables, criterion=o.criterion, margin_mm=o.margin_mm, fit_models=o.models)
    sec = res.report_section()
    tabs = sec["tables"]
    summary = res.summary_dict()
    label = demo_label(ctx.truth)
    tables = {"failure_pattern": tabs["pattern"], "failure_lesion_rates": tidy(tabs["lesions"]),
              "failure_model": tidy(tabs["model"].drop(columns=["or", "or_lower", "or_upper", "p_value"])),
              "failure_survival": tidy(tabs["survival"])}
    captions = {"failure_pattern": "Patterns of failure (patients with PD)",
                "failure_lesion_rates": "Index lesions and local failure by lesion feature",
                "failure_model": "Lesion-level odds ratios of local failure",
                "failure_survival": "Patient-level PFS/OS by high-risk lesions (failure engine)"}
    figs = []
    forest = _forest(tabs["model"], label)
    if forest is not None:
        figs.append(forest)
    values: dict[str, Any] = {"summary": summary, "criterion": o.criterion}
    if "any_lesion_ge5" in ctx.frame:
        f = ctx.frame.assign(lesion_ge5=ctx.frame["any_lesion_ge5"].map({1.0: "any lesion >= 5 cm",
                                                                         0.0: "all lesions < 5 cm"}))
        order = ["all lesions < 5 cm", "any lesion >= 5 cm"]
        km_tabs = []
        for ep in ("pfs", "os"):
            fig, tab, v = km_panel(f, ep, "lesion_ge5", order, name=f"failure_km_lesion_ge5_{ep}", label=label,
                                   caption=f"{ep.upper()} by any pre-treatment lesion >= 5 cm (seed 004: HR 2.41 PFS, "
                                           "3.36 OS).", reference=order[0])
            if fig is not None:
                figs.append(fig)
            km_tabs.append(tab.assign(endpoint=ep.upper()))
            values[f"lesion_ge5_{ep}"] = v
        tables["failure_km_lesion_ge5"] = tidy(pd.concat(km_tabs, ignore_index=True))
        captions["failure_km_lesion_ge5"] = "PFS/OS by any pre-treatment lesion >= 5 cm"
    if not o.models:
        captions["failure_model"] += " (not fitted: failure.models = false)"
    if ctx.truth is not None and "patterns_of_failure" in ctx.truth:
        tables["failure_planted"] = _planted(ctx, summary, tabs["model"])
        captions["failure_planted"] = "Synthetic cohort: planted vs recovered"
    notes = [f"Method: {sec['method']}", *[str(n) for n in sec["notes"]],
             (f"{summary['patients_with_pd']} patients with PD under {o.criterion}; {summary['n_index_lesions']} index "
             f"lesions, {summary['n_index_lesions_failed']} failed locally. Planted ORs are conditional (random "
             "patient effect) and GEE ORs marginal, so GEE ORs are expected to be somewhat closer to 1."),
             ("Seed 004: 36 of 63 patients recurred; 86 % with a local component, 36 % strictly local; lesion ORs 2.34 "
             "(>= 5 cm), 2.08 (SUVmax >= 10), 1.49 (extranodal); any lesion >= 5 cm HR 2.41 (PFS), 3.36 (OS).")]
    values["any_local_pct"] = r3(summary.get("any_local_pct"))
    return SectionResult(Section(title=TITLE, tables=tables, figures=figs, notes=notes, captions=captions), values)
