"""Report section 1, "Cohort": Table 1 by cohort and survival overview (spec study_report.md section 1).

Table 1 mirrors CAR-IMPI Table 1 (Winkelmann M, Raj S, et al., Blood Cancer J 2025;15:144; seed_results.md 001):
median (Q1, Q3) for continuous variables (quartiles by R's default type 7, numpy's "linear"), n (%) for
categories with n/N where data are missing.  p-values compare development vs validation: Mann-Whitney U
(two-sided, normal approximation with continuity correction, as R ``wilcox.test(exact = FALSE)``) for
continuous variables; Pearson chi-square without continuity correction (as ``cartlens stats table``) for
categories, Fisher's exact test for 2 x 2 tables with an expected count < 5.

Inputs are the canonical tables in canonical units (as loaded from the store or returned by
``cartlens.io``).  Baseline labs are the latest value per analyte between day -14 and day -1 (before
lymphodepletion; day-0 labs are post-lymphodepletion and excluded).  CAR-HEMATOTOX points follow
``cartlens.scores.hematotox`` (scores.md section 7); "high" is >= 3 as in CAR-IMPI Table 1.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cartlens.report.html import Figure, Section
from cartlens.scores.hematotox import hematotox_points
from cartlens.stats.km import kaplan_meier, reverse_km_median_followup

__all__ = ["MONTH_DAYS", "baseline_labs", "cohort_section", "hematotox_scores", "survival_overview", "table1"]

MONTH_DAYS = 30.4375
LAB_WINDOW = (-14, -1)
_LAB_ROWS = (("ldh", "LDH, U/L"), ("hb", "Haemoglobin, g/dL"), ("plt", "Platelets, 10^9/L"),
             ("anc", "ANC, 10^9/L"), ("ferritin", "Ferritin, ng/mL"), ("crp", "CRP, mg/dL"))


def baseline_labs(labs: pd.DataFrame, window: tuple[int, int] = LAB_WINDOW) -> pd.DataFrame:
    """Wide table (index ``centre, patient_id``) of the latest canonical value per analyte in ``window`` days,
    plus ``ldh_uln``."""
    w = labs[(labs["day"] >= window[0]) & (labs["day"] <= window[1])].sort_values("day")
    last = w.groupby(["centre", "patient_id", "analyte"]).tail(1)
    wide = last.pivot(index=["centre", "patient_id"], columns="analyte", values="value")
    uln = last[last["analyte"] == "ldh"].set_index(["centre", "patient_id"])["uln"].rename("ldh_uln")
    return wide.join(uln)


def hematotox_scores(lab_wide: pd.DataFrame) -> pd.Series:
    """CAR-HEMATOTOX score per patient (NA when any of platelets, ANC, Hb, CRP, ferritin is missing)."""
    cols = ["plt", "anc", "hb", "crp", "ferritin"]
    out = {}
    for key, row in lab_wide.reindex(columns=cols).iterrows():
        if row.isna().any():
            out[key] = pd.NA
        else:
            out[key] = sum(hematotox_points(*(Decimal(str(float(row[c]))) for c in cols)).values())
    return pd.Series(out, dtype="Int64", name="car_hematotox")


def _median_iqr(x: pd.Series, n_total: int, digits: int) -> str:
    x = x.dropna().astype(float)
    if x.empty:
        return "–"
    q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    text = f"{med:.{digits}f} ({q1:.{digits}f}, {q3:.{digits}f})"
    return text if len(x) == n_total else f"{text} [n = {len(x)}]"


def _count(flag: pd.Series) -> str:
    known = flag.dropna().astype(bool)
    k, n = int(known.sum()), len(known)
    if n == 0:
        return "–"
    pct = 100.0 * k / n
    pct_text = f"{pct:.1f}" if pct < 10 else f"{pct:.0f}"
    return f"{k} ({pct_text} %)" if n == len(flag) else f"{k}/{n} ({pct_text} %)"


def _p_continuous(a: pd.Series, b: pd.Series) -> float | None:
    a, b = a.dropna().astype(float), b.dropna().astype(float)
    if a.empty or b.empty:
        return None
    return float(stats.mannwhitneyu(a, b, alternative="two-sided", use_continuity=True,
                                    method="asymptotic").pvalue)


def _p_categorical(values: pd.Series, group: pd.Series) -> float | None:
    ok = values.notna()
    table = pd.crosstab(values[ok], group[ok])
    if table.shape[0] < 2 or table.shape[1] < 2:
        return None
    expected = stats.contingency.expected_freq(table.to_numpy())
    if table.shape == (2, 2) and (expected < 5).any():
        return float(stats.fisher_exact(table.to_numpy()).pvalue)
    return float(stats.chi2_contingency(table.to_numpy(), correction=False).pvalue)


def _fmt_p(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return ""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _patient_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    p = tables["patients"].set_index(["centre", "patient_id"])
    labs = baseline_labs(tables["labs"]) if "labs" in tables and len(tables["labs"]) else None
    df = p.join(labs, how="left") if labs is not None else p.copy()
    if labs is not None and len(labs):
        df["car_hematotox"] = hematotox_scores(labs).reindex(df.index)
    df["cohort"] = df["cohort"].fillna("all")
    return df


def table1(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Table 1: characteristic x (all, each cohort, p) as formatted text (see the module docstring)."""
    df = _patient_frame(tables)
    cohorts = sorted(df["cohort"].unique())
    groups = {"all": df, **{c: df[df["cohort"] == c] for c in cohorts}}
    rows: list[dict[str, Any]] = []

    def add(label: str, fmt, p: float | None = None) -> None:
        rows.append({"characteristic": label, **{f"{k} (n = {len(g)})": fmt(g) for k, g in groups.items()},
                     "p": _fmt_p(p)})

    two = len(cohorts) == 2
    a, b = (groups[cohorts[0]], groups[cohorts[1]]) if two else (df, df)
    pc = (lambda col: _p_continuous(a[col], b[col]) if two else None)
    pk = (lambda s: _p_categorical(s, df["cohort"]) if two else None)
    has = (lambda *cols: all(c in df.columns and df[c].notna().any() for c in cols))

    def flag_row(label: str, flag: pd.Series) -> None:
        add(label, lambda g: _count(flag.loc[g.index]), pk(flag))

    def cont_row(label: str, col: str, digits: int) -> None:
        add(label, lambda g: _median_iqr(g[col], len(g), digits), pc(col))

    if has("age"):
        cont_row("Age, years", "age", 0)
    if has("sex"):
        flag_row("Female", df["sex"].map({"F": True, "M": False}).astype("boolean"))
    if has("ecog"):
        flag_row("ECOG >= 2", (df["ecog"].astype("Float64") >= 2))
    if has("product"):
        prod_p = pk(df["product"])
        for prod in ("axi-cel", "liso-cel", "tisa-cel", "brexu-cel", "other"):
            if (df["product"] == prod).any():
                flag = (df["product"] == prod).astype("boolean").where(df["product"].notna())
                add(f"Product: {prod}", lambda g, f=flag: _count(f.loc[g.index]), prod_p)
                prod_p = None
    if has("prior_lines"):
        cont_row("Prior lines (bridging excluded)", "prior_lines", 0)
    if has("bridging"):
        flag_row("Bridging therapy received", (df["bridging"] != "none").astype("boolean").where(df["bridging"].notna()))
    for col, label in (("primary_refractory", "Primary refractory"), ("prior_auto_hct", "Prior autologous HCT")):
        if has(col):
            flag_row(label, df[col].astype("boolean"))
    if has("mtv_ml"):
        cont_row("Baseline MTV, mL", "mtv_ml", 0)
    if has("stage"):
        flag_row("Ann Arbor stage III-IV", df["stage"].astype("Float64") >= 3)
    if has("histology"):
        flag_row("Transformed disease", (df["histology"] == "tFL").astype("boolean").where(df["histology"].notna()))
    for col, label in _LAB_ROWS:
        if has(col):
            cont_row(label, col, 2 if col == "anc" else (1 if col in ("hb", "crp") else 0))
    if has("ldh", "ldh_uln"):
        flag_row("LDH > ULN", (df["ldh"] > df["ldh_uln"]).astype("boolean").where(df["ldh"].notna()
                                                                                  & df["ldh_uln"].notna()))
    if has("car_hematotox"):
        flag_row("CAR-HEMATOTOX high (>= 3)", (df["car_hematotox"] >= 3).astype("boolean"))
    return pd.DataFrame(rows)


def _median_text(res) -> str:
    med, lo, hi = res.median()
    f = (lambda v: "NR" if v is None else f"{v / MONTH_DAYS:.1f}")
    return f"{f(med)} ({f(lo)}-{f(hi)})"


def survival_overview(patients: pd.DataFrame) -> pd.DataFrame:
    """Median follow-up (reverse Kaplan-Meier), median PFS and OS (95 % CI, log), months, by cohort."""
    p = patients.assign(cohort=patients["cohort"].fillna("all"))
    groups = {"all": p, **{c: g for c, g in p.groupby("cohort")}}
    rows = []
    for name, g in groups.items():
        g = g.dropna(subset=["os_days", "os_event"])
        fu = reverse_km_median_followup(g["os_days"].to_numpy(float), g["os_event"].to_numpy(int))
        pfs = g.dropna(subset=["pfs_days", "pfs_event"])
        rows.append({
            "cohort": name, "n": len(g),
            "median follow-up, months (reverse KM)": "NR" if fu[0] is None else f"{fu[0] / MONTH_DAYS:.1f}",
            "median PFS, months (95 % CI)": _median_text(kaplan_meier(pfs["pfs_days"].to_numpy(float),
                                                                      pfs["pfs_event"].to_numpy(int))),
            "PFS events": int(pfs["pfs_event"].sum()),
            "median OS, months (95 % CI)": _median_text(kaplan_meier(g["os_days"].to_numpy(float),
                                                                     g["os_event"].to_numpy(int))),
            "deaths": int(g["os_event"].sum()),
        })
    return pd.DataFrame(rows)


def km_figure(patients: pd.DataFrame, *, label: str = "") -> Figure:
    """Kaplan-Meier curves of PFS and OS by cohort (months), with censoring ticks; ``label`` (e.g. "synthetic
    demonstration data") is printed on the figure so it stays labelled outside the report."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, (endpoint, panel_title) in zip(axes, (("pfs", "Progression-free survival"),
                                                  ("os", "Overall survival"))):
        for cohort, g in patients.groupby(patients["cohort"].fillna("all")):
            g = g.dropna(subset=[f"{endpoint}_days", f"{endpoint}_event"])
            res = kaplan_meier(g[f"{endpoint}_days"].to_numpy(float), g[f"{endpoint}_event"].to_numpy(int))
            t = np.concatenate(([0.0], res.times)) / MONTH_DAYS
            s = np.concatenate(([1.0], res.surv))
            line, = ax.step(t, s, where="post", label=f"{cohort} (n = {res.n})")
            cens = res.n_censor > 0
            ax.plot(res.times[cens] / MONTH_DAYS, res.surv[cens], "|", color=line.get_color(), markersize=5)
        ax.set_title(panel_title)
        ax.set_xlabel("Months from infusion")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Probability")
    axes[0].legend(loc="upper right", fontsize=8)
    if label:
        fig.text(0.99, 0.005, label, ha="right", va="bottom", fontsize=8, color="#8a6d00")
    png, svg = io.BytesIO(), io.StringIO()
    fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
    fig.savefig(svg, format="svg", bbox_inches="tight")
    plt.close(fig)
    caption = "Kaplan-Meier estimates of PFS and OS by cohort (censoring marked |)."
    return Figure("cohort_km_pfs_os", f"{caption} {label}".strip(), png.getvalue(), svg.getvalue())


_TARGET_ROWS = (("age", "Age, years"), ("mtv_ml", "Baseline MTV, mL"), ("ldh", "LDH, U/L"),
                ("hb", "Haemoglobin, g/dL"), ("plt", "Platelets, 10^9/L"), ("anc", "ANC, 10^9/L"),
                ("ferritin", "Ferritin, ng/mL"), ("crp", "CRP, mg/dL"))
_TARGET_FLAGS = (("female", "Female"), ("ecog_ge2", "ECOG >= 2"), ("bridging", "Bridging therapy received"),
                 ("primary_refractory", "Primary refractory"), ("prior_auto_hct", "Prior autologous HCT"),
                 ("stage34", "Ann Arbor stage III-IV"), ("transformed", "Transformed disease"))


def _sig(v: float) -> str:
    """About three significant digits without exponent or trailing zeros (1026 -> "1026", 0.805 -> "0.805")."""
    if v == 0 or not np.isfinite(v):
        return f"{v:g}"
    d = max(0, 2 - int(np.floor(np.log10(abs(v)))))
    text = f"{v:.{d}f}"
    return text.rstrip("0").rstrip(".") if d else text


def published_vs_generated(tables: dict[str, pd.DataFrame], targets: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Demo runs: the generator's published targets (CAR-IMPI Table 1) next to the generated cohort's values."""
    df = _patient_frame(tables)
    def col(name: str) -> pd.Series:
        return df[name] if name in df else pd.Series(pd.NA, index=df.index, dtype=object)

    flags = {"female": (col("sex") == "F").where(col("sex").notna()),
             "ecog_ge2": (col("ecog").astype("Float64") >= 2),
             "bridging": (col("bridging") != "none").where(col("bridging").notna()),
             "primary_refractory": col("primary_refractory"), "prior_auto_hct": col("prior_auto_hct"),
             "stage34": col("stage").astype("Float64") >= 3,
             "transformed": (col("histology") == "tFL").where(col("histology").notna())}
    rows = []
    for cohort, t in targets.items():
        g = df[df["cohort"] == cohort]
        for key, label in _TARGET_ROWS:
            if key in t and key in g:
                q = np.quantile(g[key].dropna().astype(float), [0.25, 0.5, 0.75])
                rows.append({"cohort": cohort, "characteristic": label,
                             "published": "{1:g} ({0:g}, {2:g})".format(*t[key]),
                             "generated": f"{_sig(q[1])} ({_sig(q[0])}, {_sig(q[2])})"})
        for key, label in _TARGET_FLAGS:
            f = flags[key].loc[g.index].dropna().astype(bool)
            if key in t and len(f):
                rows.append({"cohort": cohort, "characteristic": label, "published": f"{100 * t[key]:.0f} %",
                             "generated": f"{100 * f.mean():.0f} %"})
        p = g.reset_index()
        for endpoint, key in (("pfs", "median_pfs_months"), ("os", "median_os_months")):
            if key in t and f"{endpoint}_days" in p:
                med = kaplan_meier(p[f"{endpoint}_days"].to_numpy(float), p[f"{endpoint}_event"].to_numpy(int))
                rows.append({"cohort": cohort, "characteristic": f"Median {endpoint.upper()}, months",
                             "published": f"{t[key]:g}", "generated": _median_text(med)})
        if "median_followup_months" in t and "os_days" in p:
            fu = reverse_km_median_followup(p["os_days"].to_numpy(float), p["os_event"].to_numpy(int))[0]
            rows.append({"cohort": cohort, "characteristic": "Median follow-up, months (reverse KM)",
                         "published": f"{t['median_followup_months']:g}",
                         "generated": "NR" if fu is None else f"{fu / MONTH_DAYS:.1f}"})
    return pd.DataFrame(rows)


def cohort_section(tables: dict[str, pd.DataFrame], *, truth: dict[str, Any] | None = None,
                   figures: bool = True) -> Section:
    """Report section 1 (Cohort) from canonical tables; ``truth`` (demo runs) adds planted-vs-seed notes."""
    t1 = table1(tables)
    surv = survival_overview(tables["patients"])
    centres = (tables["patients"].groupby(["cohort", "centre"]).size().rename("patients").reset_index())
    notes = [("Medians with first and third quartiles (R type 7); n (%) with n/N where values are missing. "
              "p: Mann-Whitney U (continuous; normal approximation with continuity correction) or Pearson "
              "chi-square without continuity correction (Fisher's exact test for sparse 2 x 2 tables), "
              "development vs validation."),
             "Baseline labs: latest value per analyte from day -14 to day -1, converted to canonical units on import.",
             ("Published reference (CAR-IMPI, Blood Cancer J 2025;15:144, Table 1; seed_results.md 001): median "
              "follow-up 27.6 / 45.4 months, median PFS 7.9 / 7.5 months, median OS 33.4 / 34.0 months "
              "(development / validation).")]
    if truth is not None:
        surv_truth = truth.get("survival", {})
        notes.append(f"Synthetic demonstration data, seed {truth.get('seed')}: outcomes planted by a Weibull "
                     f"proportional-hazards model with a linear-spline MTV term (knot "
                     f"{surv_truth.get('knot_ml')} mL); planted coefficients are in run.json.")
    named = {"table1": t1, "survival_overview": surv, "centres": centres}
    captions = {"table1": "Table 1. Patient characteristics by cohort", "survival_overview": "Follow-up and survival",
                "centres": "Patients per centre"}
    label = str(truth.get("label", "")) if truth is not None else ""
    if label:
        captions = {k: f"{v} ({label})" for k, v in captions.items()}
    if truth is not None and truth.get("targets"):
        named["demo_published_vs_generated"] = published_vs_generated(tables, truth["targets"])
        captions["demo_published_vs_generated"] = ("Synthetic cohort: published targets (CAR-IMPI Table 1) vs "
                                                   "generated values")
    return Section(title="Cohort", tables=named, captions=captions,
                   figures=[km_figure(tables["patients"], label=label)] if figures else [], notes=notes)
