"""Toxicity, biomarkers, day-0 inflammation labs, reporting units and validation of the demo cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

K = 4.0
INFLAMIX_LABS = {"albumin", "alp", "ast", "ferritin", "hb", "ldh", "plt", "bilirubin", "il10", "il6", "tnfa",
                 "crp", "ddimer", "wbc"}          # inflamix.md section 2, the 14 model inputs


def _risk(p: pd.DataFrame, coef: dict) -> np.ndarray:
    """Planted CAR-IMPI ingredients, written out: b_low min(MTV, 44.3) + b_high max(0, MTV - 44.3)
    + step (MTV > 44.3) + age + stage."""
    stage = p["stage"].map({1: 0.0, 2: coef["stage_2"], 3: coef["stage_3"], 4: coef["stage_4"]})
    return (coef["mtv_below_knot_per_ml"] * np.minimum(p["mtv_ml"], 44.3)
            + coef["mtv_above_knot_per_ml"] * np.maximum(p["mtv_ml"] - 44.3, 0)
            + coef["mtv_step_at_knot"] * (p["mtv_ml"] > 44.3)
            + coef["age_per_year_from_64"] * (p["age"] - 64) + stage).to_numpy()


def test_toxicity_gradient_by_median_risk(cohort):
    """Seed 001: high-grade CRS 13.2 % vs 1.8 %, ICANS >= 3 21.1 % vs 12.3 %, ICU 22 % vs 7.9 % above vs below the
    median CAR-IMPI; each rate within 4 binomial SE (n = 252 per half)."""
    p = cohort.tables["patients"].merge(cohort.tables["toxicity"])
    risk = _risk(p, cohort.truth["survival"]["pfs_coefficients"])
    above = risk > np.median(risk)
    outcomes = {"crs": (p["crs_grade"] >= 3, 0.132, 0.018), "icans": (p["icans_grade"] >= 3, 0.211, 0.123),
                "icu": (p["icu"].astype(bool), 0.22, 0.079)}
    for name, (flag, hi, lo) in outcomes.items():
        for mask, target in ((above, hi), (~above, lo)):
            n = int(mask.sum())
            assert abs(flag[mask].mean() - target) <= K * np.sqrt(target * (1 - target) / n), name
    tox = cohort.tables["toxicity"]
    assert tox["crs_grade"].between(0, 5).all() and tox["icans_grade"].between(0, 5).all()
    assert (tox.loc[tox["crs_grade"] >= 2, "tocilizumab"]).mean() > 0.7


def test_ctdna_detectable_and_linked_to_progression(cohort):
    b = cohort.tables["biomarkers"]
    ct = b[b["marker"] == "ctdna_detectable"].merge(cohort.tables["patients"])
    assert (ct["day"] == 28).all()
    n, p0 = len(ct), 0.40
    assert abs(ct["value"].mean() - p0) <= K * np.sqrt(p0 * (1 - p0) / n)      # detectable in about 40 %
    prog_1y = (ct["pfs_event"] == 1) & (ct["pfs_days"] <= 365)
    # "strongly linked": progression within a year far more frequent when detectable (odds ratio > 5)
    tab = pd.crosstab(ct["value"] == 1, prog_1y)
    odds_ratio = (tab.loc[True, True] * tab.loc[False, False]) / (tab.loc[True, False] * tab.loc[False, True])
    assert odds_ratio > 5


def test_car_t_expansion_higher_without_early_progression(cohort):
    from scipy.stats import mannwhitneyu
    b = cohort.tables["biomarkers"]
    peak = b[b["marker"] == "cart_peak"].merge(cohort.tables["patients"])
    early = (peak["pfs_event"] == 1) & (peak["pfs_days"] <= 180)
    assert mannwhitneyu(peak.loc[~early, "value"], peak.loc[early, "value"], alternative="greater").pvalue < 0.01
    assert set(b["marker"]) >= {"ctdna_detectable", "ctdna_level", "cart_peak", "cart_auc28", "cd3_apheresis"}
    assert (b.loc[b["marker"] == "cd3_apheresis", "day"] < 0).all()


def test_day0_inflammation_labs_form_two_clusters(cohort):
    """The 14 InflaMix labs at day 0 with ULNs; a 2-component Gaussian mixture (scikit-learn) fitted on
    log(value / ULN) of complete rows finds the planted clusters (adjusted Rand index > 0.5)."""
    from sklearn.metrics import adjusted_rand_score
    from sklearn.mixture import GaussianMixture
    labs = cohort.tables["labs"]
    d0 = labs[labs["day"] == 0]
    assert set(d0["analyte"]) == INFLAMIX_LABS
    assert d0["uln"].notna().all()
    assert set(d0["centre"]) == {"C1", "C6"}
    ratio = np.log(d0["value"] / d0["uln"])
    wide = ratio.groupby([d0["patient_id"], d0["analyte"]]).first().unstack().dropna()
    truth = cohort.truth["inflammation"]["inflamed"]
    planted = np.array([truth[pid] for pid in wide.index])
    gm = GaussianMixture(2, covariance_type="full", random_state=0, n_init=5).fit(wide.to_numpy())
    assert adjusted_rand_score(planted, gm.predict(wide.to_numpy())) > 0.5
    assert 0.15 < planted.mean() < 0.40                 # about a quarter inflammatory (InflaMix: 39/149)


def test_reporting_units_vary_by_centre(cohort):
    labs = cohort.tables["labs"]
    units = labs.groupby(["centre", "analyte"])["unit"].first()
    assert units[("C2", "crp")] == "mg/L" and units[("C2", "hb")] == "g/L"
    assert all(units[(c, "crp")] == "mg/dL" for c in ("C1", "C3", "C4", "C5", "C6"))
    assert units[("C3", "creatinine")] == "umol/L" and units[("C1", "creatinine")] == "mg/dL"
    # C2's CRP in mg/L is ten times the mg/dL scale: medians differ by about 10x (C2 vs other development centres)
    crp = labs[(labs["analyte"] == "crp") & (labs["day"] < 0)]
    ratio = crp[crp["centre"] == "C2"]["value"].median() / crp[crp["centre"].isin(["C1", "C3", "C4", "C5"])][
        "value"].median()
    assert 4 < ratio < 25
    uln = labs[(labs["analyte"] == "ldh")].groupby("centre")["uln"].unique()
    assert all(len(v) == 1 for v in uln) and {float(v[0]) for v in uln} >= {250.0, 480.0}
    methods = cohort.tables["patients"].groupby("centre")["mtv_method"].first().to_dict()
    assert methods["C4"] == methods["C6"] == "suv4" and methods["C1"] == "pct41"


def test_validates_cleanly_through_io(cohort):
    io = pytest.importorskip("cartlens.io")
    batch = io.validate_tables(cohort.tables)
    assert batch.ok, [str(e) for e in batch.errors[:10]]
    assert len(batch.errors) == 0
    labs = batch.tables["labs"]
    assert set(labs.loc[labs["analyte"] == "crp", "unit"]) == {"mg/dL"}     # converted to canonical units
    c2 = labs[(labs["centre"] == "C2") & (labs["analyte"] == "hb")]["value"]
    assert c2.between(5, 17).all()                                            # g/L -> g/dL
