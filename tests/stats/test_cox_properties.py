"""Property tests (hypothesis) for the survival core: invariances that must hold for any data set."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cartlens.stats.concordance import harrell_c
from cartlens.stats.cox import CoxConvergenceWarning, coxph
from cartlens.stats.km import kaplan_meier
from cartlens.stats.logrank import survdiff

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cohorts(draw, min_n: int = 12, max_n: int = 60):
    """Random cohorts with tied times (integer days), censoring, 2 covariates and a group."""
    n = draw(st.integers(min_n, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    time = rng.integers(1, 25, n).astype(float)          # few distinct values: many ties
    event = rng.random(n) < 0.7
    event[:3] = True
    x = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n)])
    group = rng.integers(0, 3, n)
    group[:3] = [0, 1, 2]
    return time, event, x, group, rng


def _fit(time, event, x, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoxConvergenceWarning)
        try:
            return coxph(time, event, x, **kw)
        except ValueError as exc:            # e.g. a binary covariate constant in a small draw: not a case
            assume("collinear" not in str(exc))
            raise


@SETTINGS
@given(cohorts())
def test_row_order_does_not_matter(data) -> None:
    time, event, x, group, rng = data
    perm = rng.permutation(time.size)
    for ties in ("efron", "breslow"):
        a, b = _fit(time, event, x, ties=ties), _fit(time[perm], event[perm], x[perm], ties=ties)
        assume(a.converged and not a.infinite)       # near-separation: coefficients not identified
        np.testing.assert_allclose(a.coef, b.coef, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(a.var, b.var, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(a.linear_predictors[perm], b.linear_predictors, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(a.concordance, b.concordance, rtol=1e-10)
    ka, kb = kaplan_meier(time, event), kaplan_meier(time[perm], event[perm])
    np.testing.assert_array_equal(ka.surv, kb.surv)
    la, lb = survdiff(time, event, group), survdiff(time[perm], event[perm], group[perm])
    assert abs(la.chisq - lb.chisq) <= 1e-9 * max(1.0, la.chisq)


@SETTINGS
@given(cohorts())
def test_negating_a_covariate_flips_its_coefficient(data) -> None:
    time, event, x, _, _ = data
    flipped = x.copy()
    flipped[:, 0] = -flipped[:, 0]
    a, b = _fit(time, event, x), _fit(time, event, flipped)
    assume(a.converged and not a.infinite)
    np.testing.assert_allclose(b.coef, [-a.coef[0], a.coef[1]], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-7)
    assert abs(a.loglik[1] - b.loglik[1]) <= 1e-9 * abs(a.loglik[1])


@SETTINGS
@given(st.lists(st.integers(0, 50), min_size=1, max_size=80))
def test_km_without_censoring_is_one_minus_ecdf(times) -> None:
    t = np.array(times, dtype=float)
    fit = kaplan_meier(t, np.ones(t.size, bool))
    ecdf = np.searchsorted(np.sort(t), fit.times, side="right") / t.size
    np.testing.assert_allclose(fit.surv, 1.0 - ecdf, atol=1e-12)


@SETTINGS
@given(cohorts())
def test_integer_weights_equal_replicated_rows(data) -> None:
    time, event, x, _, rng = data
    w = rng.integers(1, 4, time.size)
    rep = np.repeat(np.arange(time.size), w)
    # Breslow only: R's Efron correction counts tied deaths as rows, so weights != replication there
    a = _fit(time, event, x, weights=w.astype(float), robust=False, ties="breslow")
    b = _fit(time[rep], event[rep], x[rep], ties="breslow")
    assume(a.converged and not a.infinite)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(a.var, b.var, rtol=1e-7, atol=1e-12)
    ka, kb = kaplan_meier(time, event, weights=w), kaplan_meier(time[rep], event[rep])
    np.testing.assert_allclose(ka.surv, kb.surv, rtol=1e-12)
    np.testing.assert_allclose(ka.std_err, kb.std_err, rtol=1e-12)
    ca, cb = harrell_c(time, event, x[:, 0], weights=w), harrell_c(time[rep], event[rep], x[rep, 0])
    assert abs(ca[0] - cb[0]) < 1e-12


def test_concordance_hand_count() -> None:
    """Hand count: times 1,2,3,4 (events at 1,2,4; 3 censored), risk 4,2,3,1.

    Comparable pairs (earlier event first): (1,2) (1,3) (1,4) (2,3) (2,4); (4, .) none. Concordant when the
    earlier event has the higher risk: (1,2) 4>2 yes, (1,3) 4>3 yes, (1,4) 4>1 yes, (2,3) 2<3 no, (2,4) 2>1 yes.
    C = 4/5.
    """
    c, _ = harrell_c([1, 2, 3, 4], [1, 1, 0, 1], [4, 2, 3, 1])
    assert c == 0.8


def test_identical_covariate_rows_get_identical_linear_predictors() -> None:
    """Ties in the linear predictor decide R's tied.x; identical rows must not differ in the last bit."""
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(12, 4)) * np.array([1e3, 1e-3, 7.1, 12.9])
    x = rows[rng.integers(0, 12, 301)]
    time = rng.integers(1, 40, 301).astype(float)
    event = rng.random(301) < 0.7
    fit = _fit(time, event, x)
    assert np.unique(fit.linear_predictors).size == np.unique(x, axis=0).shape[0]
