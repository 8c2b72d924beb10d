"""The CAR-IMPI procedure of the study pipeline against R (tests/reference/study_car_impi.R and .json).

Same committed input (a synthetic demo cohort): maxstat cutpoint/statistic/Lau94 p, linear-spline Cox
coefficients, type-7 cutoffs, validation group sizes and log-rank chi-square, Harrell's C, calibration slope and
the development baseline survival at 12 months.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartlens.stats.concordance import harrell_c
from cartlens.stats.logrank import survdiff
from cartlens.stats.validation import calibration_at_horizon
from cartlens.study.config import CarImpiOptions
from cartlens.study.sections.car_impi_fit import baseline_survival, fit_car_impi

REF = Path(__file__).parents[1] / "reference"


@pytest.fixture(scope="module")
def fitted():
    d = pd.read_csv(REF / "study_car_impi_input.csv").set_index(["centre", "patient_id"])
    d = d.assign(cohort_label=d["cohort"])
    fit = fit_car_impi(d, d[d["cohort"] == "development"], CarImpiOptions(bootstrap=0))
    return d, fit, json.loads((REF / "study_car_impi.json").read_text())


def test_cutpoint_and_coefficients_match_r(fitted):
    _, fit, ref = fitted
    assert fit.knot == pytest.approx(ref["cutpoint"])
    assert fit.cut.statistic == pytest.approx(ref["statistic"], rel=1e-9)
    assert fit.cut.p == pytest.approx(ref["p_lau94"], rel=1e-6)
    c = fit.model.coefficients
    assert c["mtv"] == pytest.approx(ref["coef"]["mtv_below"], rel=1e-6)
    assert c["mtv"] + c["mtv_above_knot"] == pytest.approx(ref["coef"]["mtv_above"], rel=1e-5)
    assert c["age"] == pytest.approx(ref["coef"]["age"], rel=1e-6)
    for s in (2, 3, 4):
        assert c["stage"][s] == pytest.approx(ref["coef"][f"stage{s}"], rel=1e-6)
    assert c["stage"][1] == 0.0
    assert fit.median.cutpoints[0] == pytest.approx(ref["cutoffs"]["median"], rel=1e-7)
    assert fit.tercile.cutpoints == pytest.approx((ref["cutoffs"]["lower_tercile"], ref["cutoffs"]["upper_tercile"]),
                                                  rel=1e-7)


def test_validation_groups_logrank_c_and_calibration_match_r(fitted):
    d, fit, ref = fitted
    v = d[d["cohort"] == "validation"]
    lp = fit.lp.reindex(v.index).to_numpy()
    t, e = v["pfs_days"].to_numpy() / 30.4375, v["pfs_event"].to_numpy()
    med = fit.median.labels_of(lp)
    ter = fit.tercile.labels_of(lp)
    rv = ref["validation"]
    assert int((med == "high").sum()) == rv["n_high_median"]
    assert [int((ter == g).sum()) for g in ("low", "intermediate", "high")] == rv["tercile_sizes"]
    assert survdiff(t, e, med).chisq == pytest.approx(rv["logrank_median_chisq"], rel=1e-7)
    assert survdiff(t, e, ter).chisq == pytest.approx(rv["logrank_tercile_chisq"], rel=1e-7)
    assert harrell_c(t, e, lp)[0] == pytest.approx(rv["harrell_c"], rel=1e-9)
    s0 = baseline_survival(fit, 12.0)
    assert s0 == pytest.approx(ref["baseline_surv_12m"], rel=1e-6)
    cal = calibration_at_horizon(t, e, lp, t0=12.0, baseline_survival=s0)
    assert cal.slope == pytest.approx(rv["calibration_slope"], rel=1e-5)
    assert np.isfinite(cal.predicted_surv)
