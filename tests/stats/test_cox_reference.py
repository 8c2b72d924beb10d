"""coxph against R survival 3.5-3 (tests/reference/survival_cox.R -> survival_cox.json)."""

from __future__ import annotations

import numpy as np
import pytest

from cartlens.stats.cox import coxph

try:  # tests/stats as a package or as a plain directory of test modules
    from ._survival_ref import arr, load, why
except ImportError:
    from _survival_ref import arr, load, why  # type: ignore[no-redef]

REF = load("survival_cox")
RTOL = 1e-6


def _lung(mask_col: str | None = None):
    lung = REF["lung"]
    t, status, age, sex = (arr(lung[k]) for k in ("time", "status", "age", "sex"))
    keep = np.ones(t.size, bool) if mask_col is None else ~np.isnan(arr(lung[mask_col]))
    x = np.column_stack([age, sex])
    extra = None if mask_col is None else arr(lung[mask_col])[keep]
    return t[keep], status[keep] == 2, x[keep], extra


def _synth():
    s = REF["synth"]
    return np.array(s["time"]), np.array(s["status"]), np.column_stack([s["x1"], s["x2"], s["x3"]]), s


def _check(fit, r: dict) -> None:
    msg = why(REF)
    np.testing.assert_allclose(fit.coef, r["coef"], rtol=RTOL, err_msg=msg)
    np.testing.assert_allclose(fit.var, np.array(r["var"]), rtol=RTOL, err_msg=msg)
    np.testing.assert_allclose(fit.loglik, r["loglik"], rtol=RTOL, err_msg=msg)
    np.testing.assert_allclose(fit.linear_predictors, r["lp"], rtol=RTOL, atol=1e-12, err_msg=msg)
    np.testing.assert_allclose(fit.means, r["means"], rtol=RTOL, atol=1e-12, err_msg=msg)
    assert fit.iterations == r["iter"], msg
    assert (fit.n, fit.n_events) == (r["n"], r["nevent"]), msg
    np.testing.assert_allclose(fit.wald_test["chisq"], r["wald"], rtol=RTOL, err_msg=msg)
    lr, _, lr_p = r["logtest"]
    np.testing.assert_allclose(fit.lr_test["chisq"], lr, rtol=RTOL, err_msg=msg)
    np.testing.assert_allclose(fit.lr_test["p"], lr_p, rtol=RTOL, atol=1e-12, err_msg=msg)
    score = r["robscore"] if "robscore" in r else r["sctest"]
    np.testing.assert_allclose(fit.score_test["chisq"], score[0], rtol=RTOL, err_msg=msg)
    np.testing.assert_allclose(fit.score_test["p"], score[2], rtol=RTOL, atol=1e-12, err_msg=msg)
    c, se = fit.concordance
    np.testing.assert_allclose([c, se], r["concordance"][5:7], rtol=RTOL, err_msg=msg)
    # summary(fit)$coefficients: coef, exp(coef), se(coef), [robust se], z, p
    table = np.array(r["coefficients"])
    np.testing.assert_allclose(fit.z, table[:, -2], rtol=RTOL, err_msg=msg)
    np.testing.assert_allclose(fit.p, table[:, -1], rtol=RTOL, atol=1e-12, err_msg=msg)
    lo, hi = fit.hr_ci()
    ci = np.array(r["conf_int"])
    np.testing.assert_allclose(np.column_stack([lo, hi]), ci[:, 2:4], rtol=RTOL, err_msg=msg)
    if "naive_var" in r:
        np.testing.assert_allclose(fit.naive_var, np.array(r["naive_var"]), rtol=RTOL, err_msg=msg)


@pytest.mark.parametrize(("name", "kwargs"), [
    ("efron", {}), ("breslow", {"ties": "breslow"}), ("robust_efron", {"robust": True}),
    ("robust_breslow", {"robust": True, "ties": "breslow"}),
])
def test_lung_age_sex(name: str, kwargs: dict) -> None:
    t, d, x, _ = _lung()
    _check(coxph(t, d, x, names=["age", "sex"], **kwargs), REF["fits"][name])


def test_lung_spec_values() -> None:
    """Numbers quoted in survival_stats.md §4.4 (R 4.2.2 / survival 3.5-3)."""
    t, d, x, _ = _lung()
    fit = coxph(t, d, x)
    np.testing.assert_allclose(fit.coef, [0.01704533185, -0.51321851711], rtol=1e-9)
    np.testing.assert_allclose(fit.se, [0.009223273477, 0.167457962356], rtol=1e-9)
    np.testing.assert_allclose(fit.loglik, [-749.9098014, -742.8482458], rtol=1e-9)
    assert fit.concordance[0] == pytest.approx(0.602853, abs=5e-7)


def test_lung_strata() -> None:
    t, d, x, ecog = _lung("ph_ecog")
    _check(coxph(t, d, x, strata=ecog), REF["fits"]["strata_ecog"])


@pytest.mark.parametrize(("name", "ties"), [("cluster_efron", "efron"), ("cluster_breslow", "breslow")])
def test_lung_cluster(name: str, ties: str) -> None:
    t, d, x, inst = _lung("inst")
    _check(coxph(t, d, x, cluster=inst, ties=ties), REF["fits"][name])


def test_binary_covariate_is_not_centred_as_r() -> None:
    t, d, x, _ = _lung()
    x01 = np.column_stack([x[:, 0], (x[:, 1] == 2).astype(float)])
    fit = coxph(t, d, x01)
    _check(fit, REF["fits"]["female01"])
    assert fit.means[1] == 0.0


def test_veteran_six_covariates() -> None:
    v = REF["veteran"]
    x = np.column_stack([v[k] for k in ("karno", "age", "trt", "smallcell", "adeno", "large")])
    _check(coxph(np.array(v["time"]), np.array(v["status"]), x), REF["fits"]["veteran"])


@pytest.mark.parametrize(("name", "kwargs"), [
    ("efron", {}), ("breslow", {"ties": "breslow"}), ("strata", {"strata": "centre"}),
    ("weights", {"weights": "w"}), ("cluster", {"cluster": "id"}),
    ("strata_cluster_breslow", {"strata": "centre", "cluster": "id", "ties": "breslow"}),
])
def test_synthetic_ties_weights_strata(name: str, kwargs: dict) -> None:
    t, d, x, s = _synth()
    resolved = {k: (s[v] if k in ("strata", "weights", "cluster") else v) for k, v in kwargs.items()}
    _check(coxph(t, d, x, **resolved), REF["synth_fits"][name])


def test_basehaz_and_predicted_survival() -> None:
    t, d, x, _ = _lung()
    fit = coxph(t, d, x)
    ref = REF["basehaz"]
    bh = fit.basehaz()
    np.testing.assert_allclose(bh["time"], ref["time"])
    np.testing.assert_allclose(bh["hazard"], ref["hazard"], rtol=RTOL)
    np.testing.assert_allclose(fit.basehaz(centered=False)["hazard"], ref["hazard_uncentered"], rtol=RTOL)
    pred = fit.survfit(np.array([[60.0, 1.0], [70.0, 2.0]]))
    np.testing.assert_allclose(pred.index.to_numpy(), ref["pred_time"])
    np.testing.assert_allclose(pred.to_numpy(), np.array(ref["pred_surv"]), rtol=RTOL)
    # spec §4.5: age 60 male, S(365) = 0.3552262 (R default, Efron increments), a step value
    s365 = pred.iloc[np.searchsorted(pred.index.to_numpy(), 365, side="right") - 1, 0]
    assert s365 == pytest.approx(0.3552262, abs=5e-8)


def test_basehaz_breslow_and_strata() -> None:
    t, d, x, _ = _lung()
    ref = REF["basehaz_breslow"]
    np.testing.assert_allclose(coxph(t, d, x, ties="breslow").basehaz()["hazard"], ref["hazard"], rtol=RTOL)
    t, d, x, ecog = _lung("ph_ecog")
    ref = REF["basehaz_strata"]
    bh = coxph(t, d, x, strata=ecog).basehaz()
    np.testing.assert_allclose(bh["time"], ref["time"])
    np.testing.assert_allclose(bh["hazard"], ref["hazard"], rtol=RTOL)
    assert [str(int(s)) for s in bh["strata"]] == [s.split("=")[1] for s in ref["strata"]]


def test_predicted_survival_in_a_stratum() -> None:
    """R survfit(coxph(... + strata(ph.ecog)), newdata = (60, male, 1), (70, female, 1)): two curves of stratum 1."""
    t, d, x, ecog = _lung("ph_ecog")
    fit = coxph(t, d, x, strata=ecog)
    ref = REF["pred_strata"]
    pred = fit.survfit(np.array([[60.0, 1.0], [70.0, 2.0]]), stratum=1.0)
    k = pred.shape[0]
    np.testing.assert_allclose(np.concatenate([pred.index.to_numpy()] * 2), ref["time"])
    np.testing.assert_allclose(np.concatenate([pred[0], pred[1]]), ref["surv"], rtol=RTOL)
    assert 2 * k == len(ref["surv"])
    with pytest.raises(ValueError, match="stratum: 7.0 is not one of"):
        fit.survfit(np.array([[60.0, 1.0]]), stratum=7.0)


def test_init_as_r() -> None:
    """coxph(init = c(0.01, -0.3)): loglik[1], score and Wald tests at / against init (robust score too)."""
    t, d, x, _ = _lung()
    ref = REF["init"]
    fit = coxph(t, d, x, init=ref["init"])
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=RTOL)
    np.testing.assert_allclose(fit.loglik, ref["loglik"], rtol=1e-9)
    assert fit.iterations == ref["iter"]
    np.testing.assert_allclose([fit.score_test["chisq"], fit.wald_test["chisq"]], [ref["score"], ref["wald"]],
                               rtol=RTOL)
    rob = coxph(t, d, x, init=ref["init"], robust=True)
    np.testing.assert_allclose([rob.score_test["chisq"], rob.wald_test["chisq"]],
                               [ref["robust_score"], ref["robust_wald"]], rtol=RTOL)
