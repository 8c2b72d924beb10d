"""Section 7, Post-infusion landmarks: day-30 Deauville group and SUVmax >= 10 (seed catalogue 002/003).

Deauville groups 1-2, 3, 4, 5 on the PET nearest day 30 (highest lesion score; Kuhnl A et al., Blood Adv
2022) and SUVmax >= 10 at day 30 (Al Zaki A et al., 2022, via reviews 002/003).  Survival is measured from
the landmark (Anderson JR, Cain KC, Gelber RD, J Clin Oncol 1983;1:710; survival_stats.md section 2.6):
patients with an event or censoring at or before the landmark are excluded, time is reset to time - day.
KM + log-rank and Cox HRs vs the lowest-risk group, for PFS and OS.
"""

from __future__ import annotations

import pandas as pd

from cartlens.report.html import Section
from cartlens.study.common import (
    MONTH_DAYS,
    SectionResult,
    demo_label,
    km_panel,
    planted_table,
    skipped,
    tidy,
)

TITLE = "Post-infusion landmarks"


def _landmark_frame(frame: pd.DataFrame, day: int) -> pd.DataFrame:
    """PFS/OS restarted at ``day`` for patients event-free and under follow-up beyond it (per endpoint)."""
    f = frame.copy()
    for ep in ("pfs", "os"):
        t = f[f"{ep}_days"].astype(float)
        keep = t > day
        f[f"{ep}_days"] = (t - day).where(keep)
        f[f"{ep}_event"] = f[f"{ep}_event"].where(keep)
    return f


def _group_deauville(v: float) -> str | None:
    if pd.isna(v):
        return None
    return "DS 1-2" if v <= 2 else f"DS {int(v)}"


def build(ctx) -> SectionResult:
    day = ctx.plan.landmarks.day
    dcol, scol = f"deauville_d{day}", f"suvmax_d{day}"
    if dcol not in ctx.frame or ctx.frame[dcol].notna().sum() < 10:
        return skipped(TITLE, f"fewer than 10 patients have a PET with Deauville scores within day {day} +/- "
                              f"{ctx.plan.landmarks.window}")
    f = _landmark_frame(ctx.frame, day)
    f["deauville_group"] = f[dcol].map(_group_deauville)
    cut = ctx.plan.landmarks.suvmax_cut
    f["suvmax_group"] = f[scol].map(lambda v: None if pd.isna(v) else
                                    (f"SUVmax >= {cut:g}" if v >= cut else f"SUVmax < {cut:g}"))
    label = demo_label(ctx.truth)
    figs, tabs, values = [], [], {}
    blocks = (("deauville_group", ["DS 1-2", "DS 3", "DS 4", "DS 5"], "Deauville group"),
              ("suvmax_group", [f"SUVmax < {cut:g}", f"SUVmax >= {cut:g}"], f"SUVmax >= {cut:g}"))
    for col, order, text in blocks:
        for ep in ("pfs", "os"):
            fig, tab, v = km_panel(f, ep, col, order, name=f"landmark_{col}_{ep}", label=label,
                                   caption=f"{ep.upper()} from the day-{day} landmark by {text} at day {day}.",
                                   title=f"{ep.upper()} from day {day}: {text}", reference=order[0])
            if fig is not None:
                figs.append(fig)
            tabs.append(tab.assign(factor=text, endpoint=ep.upper()))
            values[f"{col}_{ep}"] = v
    table = pd.concat(tabs, ignore_index=True)
    table = tidy(table[["factor", "endpoint"] + [c for c in table.columns if c not in ("factor", "endpoint")]])
    n_lm = int(f["deauville_group"].notna().sum())
    notes = [(f"Method: landmark at day {day} ({day / MONTH_DAYS:.1f} months); {n_lm} patients with a day-{day} PET "
             f"(scan nearest day {day} within +/- {ctx.plan.landmarks.window} days); highest lesion Deauville score "
             "(X = not evaluable, excluded) and highest lesion SUVmax (no measurable lesion = 0). Patients with an "
             "event or censoring at or before the landmark are excluded per endpoint; times restart at the landmark."),
             ("Published (catalogue 002/003): Deauville score at 1 month stratifies PFS/OS stepwise (Kuhnl 2022, "
             "n = 171); SUVmax >= 10 at day 30 predicts relapse (Al Zaki 2022).")]
    tables = {"landmarks": table}
    captions = {"landmarks": f"Day-{day} landmark analyses"}
    if ctx.truth is not None and "biomarkers" in ctx.truth and "ctdna_d28" in ctx.frame:
        tables["landmarks_planted"] = _planted(ctx)
        captions["landmarks_planted"] = "Synthetic cohort: planted vs recovered (day-28 ctDNA)"
    return SectionResult(Section(title=TITLE, tables=tables, figures=figs, notes=notes, captions=captions), values)


def _planted(ctx) -> pd.DataFrame:
    """ctDNA detectability at day 28 by progression within 365 days (the generator's planted probabilities)."""
    f = ctx.frame.dropna(subset=["ctdna_d28"])
    prog = (f["pfs_event"] == 1) & (f["pfs_days"] <= 365)
    probs = ctx.truth["biomarkers"]["ctdna_detectable_prob"]
    return planted_table([
        ("P(ctDNA detectable at day 28 | progression within 365 d)", probs["progression_within_365d"],
         float(f.loc[prog, "ctdna_d28"].mean()) if prog.any() else None, f"{int(prog.sum())} patients"),
        ("P(ctDNA detectable at day 28 | no progression within 365 d)", probs["otherwise"],
         float(f.loc[~prog, "ctdna_d28"].mean()) if (~prog).any() else None, f"{int((~prog).sum())} patients")])
