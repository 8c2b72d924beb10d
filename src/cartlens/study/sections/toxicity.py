"""Section 4, Toxicity by risk group (seed 001: toxicity by median CAR-IMPI, cohorts pooled).

CRS and ICANS by ASTCT consensus grade (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625), high grade
= grade >= 3; ICU admission; tocilizumab and corticosteroid use; by CAR-IMPI median group (development cutoff
applied to everyone).  p: Fisher's exact test for 2 x 2 tables with an expected count < 5, else Pearson
chi-square without continuity correction (the convention of report section 1); for the grade distributions
(r x 2) the chi-square test without correction (``cartlens.stats.tests.chisq_test``; the exact r x c Fisher test
is not used here because its network algorithm takes minutes on a few hundred patients).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from scipy import stats

from cartlens.report.figures import bar_figure
from cartlens.report.html import Section
from cartlens.stats.tests import chisq_test
from cartlens.study.common import SectionResult, demo_label, fmt_p, planted_table, skipped

TITLE = "Toxicity by risk group"
PUBLISHED = {"CRS grade >= 3": (13.2, 1.8, "< 0.001"), "ICANS grade >= 3": (21.1, 12.3, "figure only"),
             "ICU admission": (22.0, 7.9, "figure only")}


def _p_2x2(flag: pd.Series, group: pd.Series) -> float | None:
    ok = flag.notna() & group.notna()
    table = pd.crosstab(flag[ok].astype(bool), group[ok])
    if table.shape != (2, 2):
        return None
    expected = stats.contingency.expected_freq(table.to_numpy())
    if (expected < 5).any():
        return float(stats.fisher_exact(table.to_numpy()).pvalue)
    return float(stats.chi2_contingency(table.to_numpy(), correction=False).pvalue)


def _binary_rows(d: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    flags = {"CRS grade >= 3": d["crs_grade"] >= 3, "ICANS grade >= 3": d["icans_grade"] >= 3}
    for col, name in (("icu", "ICU admission"), ("tocilizumab", "Tocilizumab"),
                      ("corticosteroids", "Corticosteroids")):
        if col in d:
            flags[name] = d[col].astype("boolean")
    rows, vals = [], {}
    for name, flag in flags.items():
        flag = flag.astype("boolean")
        rec: dict[str, Any] = {"outcome": name}
        for g in ("high", "low"):
            f = flag[d["car_impi_median"] == g].dropna()
            rec[f"CAR-IMPI {g}: n/N"] = f"{int(f.sum())}/{len(f)}"
            rec[f"CAR-IMPI {g}: %"] = round(100.0 * f.mean(), 1) if len(f) else None
        p = _p_2x2(flag, d["car_impi_median"])
        rec["p"] = fmt_p(p)
        vals[name] = {"high_pct": rec["CAR-IMPI high: %"], "low_pct": rec["CAR-IMPI low: %"], "p": p}
        rows.append(rec)
    return pd.DataFrame(rows), vals


def _grades(d: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for col, name in (("crs_grade", "CRS"), ("icans_grade", "ICANS")):
        ok = d[col].notna()
        counts = pd.crosstab(d.loc[ok, col].astype(int), d.loc[ok, "car_impi_median"])
        counts = counts[[g for g in ("high", "low") if g in counts.columns]]
        chi = chisq_test(counts.to_numpy())
        for grade, row in counts.iterrows():
            rec = {"toxicity": name, "grade": grade}
            for g in counts.columns:
                n = int(counts[g].sum())
                rec[f"CAR-IMPI {g}"] = f"{int(row[g])} ({100.0 * row[g] / n:.1f} %)" if n else ""
            rows.append(rec)
        rows[-len(counts)]["p (chi-square)"] = fmt_p(chi.p)
    return pd.DataFrame(rows).fillna("")


def build(ctx) -> SectionResult:
    tox = ctx.tables.get("toxicity")
    fit = ctx.shared.get("car_impi")
    if tox is None or tox.empty:
        return skipped(TITLE, "no toxicity table")
    if fit is None or "car_impi_median" not in ctx.frame:
        return skipped(TITLE, "CAR-IMPI groups are not available (section 3 did not run)")
    d = tox.merge(ctx.frame["car_impi_median"].reset_index(), on=["centre", "patient_id"]).dropna(
        subset=["car_impi_median"])
    if d["car_impi_median"].nunique() < 2:
        return skipped(TITLE, "only one CAR-IMPI group among patients with toxicity data")
    binary, vals = _binary_rows(d)
    grades = _grades(d)
    bars = binary.set_index("outcome")[["CAR-IMPI high: %", "CAR-IMPI low: %"]]
    bars.columns = ["above median", "at/below median"]
    fig = bar_figure(bars, name="toxicity_by_car_impi", ylabel="% of patients", label=demo_label(ctx.truth),
                     caption="Toxicity and supportive treatment by CAR-IMPI median group (cohorts pooled).")
    tables = {"toxicity_binary": binary, "toxicity_grades": grades}
    captions = {"toxicity_binary": "High-grade toxicity, ICU and treatment by CAR-IMPI median group",
                "toxicity_grades": "CRS and ICANS grade distributions (ASTCT) by CAR-IMPI median group"}
    if ctx.truth is not None and "toxicity" in ctx.truth:
        t = ctx.truth["toxicity"]
        rows = []
        for key, name in (("crs_ge3", "CRS grade >= 3"), ("icans_ge3", "ICANS grade >= 3"), ("icu", "ICU admission")):
            rows.append((f"{name}, % above median", 100 * t[key]["rate_above_median"], vals[name]["high_pct"],
                         f"seed 001: {PUBLISHED[name][0]} %"))
            rows.append((f"{name}, % at/below median", 100 * t[key]["rate_below_median"], vals[name]["low_pct"],
                         f"seed 001: {PUBLISHED[name][1]} %"))
        tables["toxicity_planted"] = planted_table(rows)
        captions["toxicity_planted"] = "Synthetic cohort: planted vs recovered rates"
    notes = [(f"Method: {len(d)} patients with toxicity data and a CAR-IMPI score; groups by the development median "
             f"cutoff {fit.median.cutpoints[0]:.3f} (at or below = low). High grade = ASTCT grade >= 3. p: Fisher's "
             "exact test when a 2 x 2 expected count is < 5, else chi-square without continuity correction."),
             ("Seed 001 (pooled, above vs below median): high-grade CRS 13.2 % vs 1.8 % (p < 0.001); high-grade ICANS "
             "21.1 % vs 12.3 %; ICU admission 22 % vs 7.9 %.")]
    return SectionResult(Section(title=TITLE, tables=tables, figures=[fig], notes=notes, captions=captions),
                         {"n": len(d), "outcomes": vals})
