"""Risk groups fitted on survival::rotterdam and applied unchanged to survival::gbsg, against R
(tests/reference/prognostic_validation.R -> .json; spec survival_stats.md §6)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cartlens.stats.cox import coxph
from cartlens.stats.logrank import survdiff
from cartlens.stats.riskgroups import fit_risk_groups, quantile_type7
from cartlens.stats.validation import calibration_at_horizon

REF = json.loads((Path(__file__).parents[1] / "reference" / "prognostic_validation.json").read_text())
P = REF["pipeline"]
WHY = f"R {REF['r_version']}, survival {REF['survival']}"


def _cohort(key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = P[key]
    return np.asarray(c["time"], float), np.asarray(c["event"], int), np.asarray(c["X"], float)


@pytest.fixture(scope="module")
def development() -> dict:
    t, e, x = _cohort("dev")
    fit = coxph(t, e, x, names=["nodes_lo", "nodes_hi", "age", "grade3"])
    base = fit.basehaz(centered=False)
    h0 = float(base["hazard"][base["time"] <= P["t0"]].iloc[-1])
    return {"fit": fit, "pi": _index(x, fit.coef), "h0": h0}


def _index(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Row-wise sum (not BLAS): identical covariate rows get bit-identical indexes, so a validation
    subject whose index equals a development quantile is placed exactly as in R (x <= q is low)."""
    return (x * coef).sum(axis=1)


def test_development_model_and_index_match_r(development: dict) -> None:
    assert development["fit"].coef == pytest.approx(P["beta"], rel=1e-6), WHY
    assert development["pi"] == pytest.approx(P["dev"]["pi"], rel=1e-6), WHY
    assert development["h0"] == pytest.approx(P["H0_t0"], rel=1e-6), WHY


def test_cutpoints_are_type7_quantiles_of_the_development_index() -> None:
    pi = np.asarray(P["dev"]["pi"])
    assert fit_risk_groups(pi, scheme="tercile").cutpoints == pytest.approx(
        [P["quantiles"][0], P["quantiles"][2]], rel=1e-12), WHY
    assert fit_risk_groups(pi, scheme="median").cutpoints == pytest.approx([P["quantiles"][1]], rel=1e-12), WHY


@pytest.mark.parametrize("cohort", ["dev", "val"])
def test_groups_applied_unchanged_sizes_and_logrank_match_r(cohort: str) -> None:
    groups_t = fit_risk_groups(P["dev"]["pi"], scheme="tercile")
    groups_m = fit_risk_groups(P["dev"]["pi"], scheme="median")
    c = P[cohort]
    t, e, _ = _cohort(cohort)
    assert list(groups_t.sizes(c["pi"])) == c["tercile_sizes"], WHY
    assert list(groups_m.sizes(c["pi"])) == c["median_sizes"], WHY
    assert survdiff(t, e, groups_t.apply(c["pi"])).chisq == pytest.approx(c["tercile_chisq"], rel=1e-6), WHY
    assert survdiff(t, e, groups_m.apply(c["pi"])).chisq == pytest.approx(c["median_chisq"], rel=1e-6), WHY


def test_validation_calibration_matches_r(development: dict) -> None:
    groups = fit_risk_groups(development["pi"], scheme="tercile")
    t, e, x = _cohort("val")
    pi = _index(x, development["fit"].coef)
    res = calibration_at_horizon(t, e, pi, t0=P["t0"], baseline_survival=float(np.exp(-development["h0"])),
                                 groups=groups.apply(pi))
    v = P["val"]
    assert res.slope == pytest.approx(v["calibration_slope"], rel=1e-6), WHY
    assert res.slope_se == pytest.approx(v["calibration_slope_se"], rel=1e-6), WHY
    assert res.observed_surv == pytest.approx(v["km_all_t0"], rel=1e-6), WHY
    assert res.predicted_surv == pytest.approx(v["pred_mean_t0"], rel=1e-6), WHY
    table = res.groups.sort_values("group")
    assert table["observed_surv"].to_numpy() == pytest.approx(v["km_tercile_t0"], rel=1e-6), WHY
    assert table["predicted_surv"].to_numpy() == pytest.approx(v["pred_tercile_t0"], rel=1e-6), WHY
    assert table["n"].tolist() == v["tercile_sizes"]


def test_boundary_value_goes_to_the_lower_group() -> None:
    groups = fit_risk_groups([1.0, 2.0, 3.0, 4.0, 5.0], scheme="median")   # median 3 (type 7)
    assert groups.cutpoints == (3.0,)
    assert groups.labels_of([3.0, 3.0000001]).tolist() == ["low", "high"]


def test_quantile_type7_hand_values() -> None:
    # n = 4, p = 1/3: index = 1 + 3/3 = 2 -> x(2) exactly; p = 0.5: index 2.5 -> (2 + 3)/2
    assert quantile_type7([4.0, 1.0, 3.0, 2.0], [1 / 3, 0.5, 1.0]).tolist() == [2.0, 2.5, 4.0]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"scheme": "quintile"}, r"scheme must be one of"),
    ({"probs": [0.6, 0.3]}, r"increasing values in \(0, 1\)"),
])
def test_bad_scheme_is_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_risk_groups([1.0, 2.0, 3.0], **kwargs)


def test_nan_index_is_rejected() -> None:
    groups = fit_risk_groups([1.0, 2.0, 3.0], scheme="median")
    with pytest.raises(ValueError, match=r"index\[1\]"):
        groups.apply([1.0, float("nan")])
