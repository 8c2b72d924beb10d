"""Planted outcomes: survival medians, follow-up and recovery of the planted Cox coefficients.

Targets: CAR-IMPI (seed_results.md 001, "Follow-up and survival"): median PFS 7.6 months and OS 34.0 months
overall (development 7.9 / 33.4, validation 7.5 / 34.0), median follow-up 27.6 / 45.4 months.
Kaplan-Meier and Cox fits use lifelines (an independent implementation), 1 month = 30.4375 days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

lifelines = pytest.importorskip("lifelines")

MONTH = 30.4375


def _km(t, e):
    return lifelines.KaplanMeierFitter().fit(np.asarray(t) / MONTH, np.asarray(e))


def _median_ci(kmf):
    ci = lifelines.utils.median_survival_times(kmf.confidence_interval_)
    return kmf.median_survival_time_, float(ci.iloc[0, 0]), float(ci.iloc[0, 1])


def test_times_are_days_and_consistent(cohort):
    p = cohort.tables["patients"]
    assert (p["pfs_days"] <= p["os_days"]).all()               # progression or death cannot follow death
    assert ((p["os_event"] == 1) <= (p["pfs_event"] == 1)).all()  # a death is also a PFS event
    assert (p["pfs_days"] >= 1).all() and (p["os_days"] > 365).mean() > 0.5     # days, not months


@pytest.mark.parametrize("endpoint,target", [("pfs", 7.6), ("os", 34.0)])
def test_overall_medians(cohort, endpoint, target):
    """The published median lies inside the 95 % CI of the KM median, and the point estimate is close:
    PFS within 1.5 months, OS within 8 months (the OS median sits where few remain at risk; its CI is wide)."""
    p = cohort.tables["patients"]
    med, lo, hi = _median_ci(_km(p[f"{endpoint}_days"], p[f"{endpoint}_event"]))
    assert lo <= target <= hi
    assert abs(med - target) <= (1.5 if endpoint == "pfs" else 8.0)


@pytest.mark.parametrize("cohort_name,target", [("development", 7.9), ("validation", 7.5)])
def test_pfs_median_by_cohort(cohort, cohort_name, target):
    p = cohort.tables["patients"]
    g = p[p["cohort"] == cohort_name]
    _, lo, hi = _median_ci(_km(g["pfs_days"], g["pfs_event"]))
    assert lo <= target <= hi


@pytest.mark.parametrize("cohort_name,target", [("development", 27.6), ("validation", 45.4)])
def test_median_follow_up_reverse_km(cohort, cohort_name, target):
    """Reverse KM (censoring as the event).  Potential follow-up is uniform on [a, 2 m - a]; the SE of its
    sample median is (b - a) / (2 sqrt(n)) = 1.4 / 2.1 months (dev / val); we allow 4 SE."""
    p = cohort.tables["patients"]
    g = p[p["cohort"] == cohort_name]
    med = _km(g["os_days"], 1 - g["os_event"]).median_survival_time_
    se = {"development": (2 * 27.6 - 12) / (2 * np.sqrt(len(g))),
          "validation": (2 * 45.4 - 24) / (2 * np.sqrt(len(g)))}[cohort_name]
    assert abs(med - target) <= 4 * se


def _design(cohort) -> pd.DataFrame:
    p = cohort.tables["patients"].set_index(["centre", "patient_id"])
    labs = cohort.tables["labs"]
    pre = labs[labs["day"] < 0]
    crp = pre[pre["analyte"] == "crp"].set_index(["centre", "patient_id"])
    crp_mg_dl = crp["value"].where(crp["unit"] == "mg/dL", crp["value"] / 10.0)   # C2 reports mg/L
    ldh = pre[pre["analyte"] == "ldh"].set_index(["centre", "patient_id"])
    p = p.assign(crp=crp_mg_dl, ldh_high=(ldh["value"] > ldh["uln"]).astype(int)).dropna(subset=["crp"])
    return pd.DataFrame({
        "t": p["pfs_days"], "e": p["pfs_event"], "cohort": p["cohort"],
        "mtv_below_knot_per_ml": np.minimum(p["mtv_ml"], 44.3),
        "mtv_above_knot_per_ml": np.maximum(p["mtv_ml"] - 44.3, 0.0),
        "mtv_step_at_knot": (p["mtv_ml"] > 44.3).astype(int),
        "age_per_year_from_64": p["age"] - 64, "stage_2": (p["stage"] == 2).astype(int),
        "stage_3": (p["stage"] == 3).astype(int), "stage_4": (p["stage"] == 4).astype(int),
        "ecog_ge2": (p["ecog"] >= 2).astype(int), "ldh_gt_uln": p["ldh_high"], "crp_per_mg_dl": p["crp"],
        "tisa_cel": (p["product"] == "tisa-cel").astype(int), "liso_cel": (p["product"] == "liso-cel").astype(int),
    }).reset_index(drop=True)


def test_cox_recovers_planted_coefficients(cohort):
    """A Cox model with the planted terms (stratified by cohort, which absorbs the cohort offsets) recovers
    each planted log-HR within 4 standard errors; the MTV slope is steeper below the 44.3 mL knot."""
    fit = lifelines.CoxPHFitter().fit(_design(cohort), "t", "e", strata=["cohort"])
    planted = cohort.truth["survival"]["pfs_coefficients"]
    s = fit.summary
    z = {k: (s.loc[k, "coef"] - v) / s.loc[k, "se(coef)"] for k, v in planted.items()}
    assert all(abs(v) < 4 for v in z.values()), z
    assert planted["mtv_below_knot_per_ml"] > planted["mtv_above_knot_per_ml"] > 0
    assert cohort.truth["survival"]["knot_ml"] == 44.3
    # MTV carries the signal: the below-knot slope and the step at the knot are both positive, and together
    # they are far from zero (with the step in the model the slope alone is only weakly identified).
    assert s.loc["mtv_below_knot_per_ml", "coef"] > 0 and s.loc["mtv_step_at_knot", "coef"] > 0
    assert min(s.loc["mtv_below_knot_per_ml", "p"], s.loc["mtv_step_at_knot", "p"]) < 0.05


def test_mtv_above_the_knot_separates_pfs(cohort):
    """Patients above the planted knot progress earlier (log-rank, lifelines): the cutpoint carries signal."""
    p = cohort.tables["patients"]
    high = p["mtv_ml"] > 44.3
    res = lifelines.statistics.logrank_test(p.loc[high, "pfs_days"], p.loc[~high, "pfs_days"],
                                            p.loc[high, "pfs_event"], p.loc[~high, "pfs_event"])
    assert res.p_value < 1e-6


def test_day30_deauville_landmark_signal(cohort):
    """Study report section 7: from a day-30 landmark, patients whose day-30 scan keeps Deauville 4-5 uptake
    progress earlier than those with Deauville 1-3 (log-rank, lifelines, p < 0.001)."""
    scans, les, p = cohort.tables["scans"], cohort.tables["lesions"], cohort.tables["patients"]
    fu1 = scans[(scans["scan_id"] == "FU1")][["centre", "patient_id", "day"]]
    ds = les[les["scan_id"] == "FU1"].assign(ds=lambda d: pd.to_numeric(d["deauville"], errors="coerce"))
    worst = ds.groupby(["centre", "patient_id"])["ds"].max().rename("worst_ds").reset_index()
    d = p.merge(fu1, on=["centre", "patient_id"]).merge(worst, on=["centre", "patient_id"])
    d = d[d["pfs_days"] > d["day"]]                      # alive and progression-free at the day-30 scan
    high = d["worst_ds"] >= 4
    res = lifelines.statistics.logrank_test(d.loc[high, "pfs_days"] - d.loc[high, "day"],
                                            d.loc[~high, "pfs_days"] - d.loc[~high, "day"],
                                            d.loc[high, "pfs_event"], d.loc[~high, "pfs_event"])
    assert high.sum() > 30 and (~high).sum() > 30
    assert res.p_value < 0.001
