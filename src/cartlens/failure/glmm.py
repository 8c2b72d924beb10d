"""Random-intercept logistic GLMM by adaptive Gauss–Hermite quadrature (sensitivity model).

Why our own: the spec (patterns_of_failure.md §2.5) asks for a random-intercept logistic GLMM
as a sensitivity analysis beside the GEE.  Python offers no maximum-likelihood fitter for it:
statsmodels' ``BinomialBayesMixedGLM`` is a variational-Bayes approximation whose estimates do
not match ``lme4::glmer``, and ``pymer4`` needs R at run time.  A single scalar random effect
makes the likelihood a product of one-dimensional integrals, which adaptive Gauss–Hermite
quadrature (AGQ) evaluates to near machine precision; maximising it gives the same estimates as
``glmer(y ~ x + (1 | patient), family = binomial, nAGQ = 25)`` (checked in
``tests/failure/test_gee.py`` against ``tests/reference/gee_logistic.json``).

The fixed-effect covariance is the inverse of the numerically differentiated Hessian of the
negative log-likelihood over (beta, log sigma), which is what lme4 reports for nAGQ > 1.
The ORs are *conditional* (patient-specific) and therefore further from 1 than the GEE's
marginal ORs.

References
----------
Pinheiro JC, Bates DM. Approximations to the log-likelihood function in the nonlinear
mixed-effects model. J Comput Graph Stat 1995;4:12-35.  Bates D et al. lme4, J Stat Softw
2015;67(1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit, log_expit

from cartlens.stats.gee import or_row

__all__ = ["GLMMResult", "logistic_glmm"]


@dataclass(frozen=True)
class GLMMResult:
    """A fitted random-intercept logistic model (conditional ORs)."""

    terms: tuple[str, ...]
    coef: dict[str, float]
    se: dict[str, float]
    sd_intercept: float
    loglik: float
    n_obs: int
    n_groups: int
    n_agq: int
    converged: bool
    conf_level: float = 0.95
    messages: tuple[str, ...] = field(default_factory=tuple)

    def _row(self, name: str) -> dict[str, float | None]:
        return or_row(self.coef[name], self.se[name], self.conf_level)

    def to_dict(self) -> dict[str, Any]:
        return {"terms": {t: self._row(t) for t in self.terms}, "sd_intercept": self.sd_intercept,
                "loglik": self.loglik, "n_obs": self.n_obs, "n_groups": self.n_groups, "n_agq": self.n_agq,
                "converged": self.converged, "messages": list(self.messages)}

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([{"term": t, **self._row(t)} for t in self.terms]).set_index("term")


def _loglik(theta: np.ndarray, x: np.ndarray, y: np.ndarray, g: np.ndarray, starts: np.ndarray,
            nodes: np.ndarray, weights: np.ndarray, modes: np.ndarray) -> float:
    """Marginal log-likelihood by AGQ; theta = (beta..., log sigma).

    Rows are sorted by cluster (``g`` non-decreasing, ``starts`` the first row of each), so cluster
    sums are one ``np.add.reduceat``. ``modes`` holds each cluster's random-effect mode from the
    previous call and is updated in place (warm start of the Newton steps; the result does not
    depend on it beyond the 1e-12 tolerance).
    """
    beta, sigma = theta[:-1], float(np.exp(theta[-1]))
    eta = x @ beta
    b = modes
    for _ in range(100):                                  # Newton for each cluster's mode, vectorised
        p = expit(eta + b[g])
        grad = np.add.reduceat(y - p, starts) - b / sigma**2
        hess = -np.add.reduceat(p * (1 - p), starts) - 1 / sigma**2
        step = grad / hess
        b -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = expit(eta + b[g])
    scale = 1 / np.sqrt(np.add.reduceat(p * (1 - p), starts) + 1 / sigma**2)
    bk = b[None, :] + np.sqrt(2) * scale[None, :] * nodes[:, None]          # (K, clusters)
    lin = eta[None, :] + bk[:, g]                                            # (K, rows)
    ll = np.add.reduceat(y * log_expit(lin) + (1 - y) * log_expit(-lin), starts, axis=1)
    terms = np.log(weights)[:, None] + nodes[:, None] ** 2 + ll - bk**2 / (2 * sigma**2)
    top = terms.max(axis=0)
    total = top + np.log(np.exp(terms - top).sum(axis=0))
    total += np.log(np.sqrt(2) * scale) - np.log(np.sqrt(2 * np.pi) * sigma)
    return float(total.sum())


def _hessian(fun: Any, theta: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian."""
    k = len(theta)
    h = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * step, np.eye(k)[j] * step
            val = (fun(theta + ei + ej) - fun(theta + ei - ej) - fun(theta - ei + ej) + fun(theta - ei - ej))
            h[i, j] = h[j, i] = val / (4 * step * step)
    return h


def logistic_glmm(df: pd.DataFrame, outcome: str, predictors: Sequence[str], group: str, *,
                  n_agq: int = 25, conf_level: float = 0.95) -> GLMMResult:
    """Fit ``outcome ~ predictors + (1 | group)`` with a logit link by adaptive quadrature.

    Parameters
    ----------
    df : DataFrame
        One row per lesion; incomplete rows are dropped.
    outcome : str
        0/1 column.
    predictors : sequence of str
        Numeric or boolean columns (an intercept is added).
    group : str
        Cluster (patient) column.
    n_agq : int
        Quadrature points per cluster (lme4's ``nAGQ``), 1..50. 1 is the Laplace approximation.

    Returns
    -------
    GLMMResult
        Conditional log-ORs, their SEs, the random-intercept SD and the log-likelihood.
    """
    if not 1 <= n_agq <= 50:
        raise ValueError(f"n_agq must be in 1..50, got {n_agq!r}")
    missing = [c for c in (outcome, group, *predictors) if c not in df.columns]
    if missing:
        raise ValueError(f"logistic_glmm: column(s) {missing} not in the data")
    data = df[[outcome, group, *predictors]].dropna()
    y = data[outcome].astype(float).to_numpy()
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"logistic_glmm: outcome {outcome!r} must be 0/1")
    x = np.column_stack([np.ones(len(y)), data[list(predictors)].astype(float).to_numpy()])
    g, uniques = pd.factorize(data[group])
    order = np.argsort(g, kind="stable")
    x, y, g = x[order], y[order], g[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    nodes, weights = np.polynomial.hermite.hermgauss(n_agq)
    modes = np.zeros(len(uniques))

    def nll(theta: np.ndarray) -> float:
        return -_loglik(theta, x, y, g, starts, nodes, weights, modes)

    start = np.zeros(x.shape[1] + 1)
    res = optimize.minimize(nll, start, method="BFGS", options={"gtol": 1e-8, "maxiter": 500})
    # BFGS often stops with "precision loss" at the optimum; a small gradient is what matters.
    ok = bool(res.success) or float(np.max(np.abs(res.jac))) < 1e-4
    messages = [] if ok else [f"optimiser did not converge: {res.message}"]
    names = ["(Intercept)", *predictors]
    try:
        cov = np.linalg.inv(_hessian(nll, res.x))
        se = np.sqrt(np.diag(cov))[:-1]
    except np.linalg.LinAlgError:
        se = np.full(len(names), np.nan)
        messages.append("singular Hessian: standard errors not available")
    return GLMMResult(
        terms=tuple(predictors), coef=dict(zip(names, map(float, res.x[:-1]))),
        se=dict(zip(names, map(float, se))), sd_intercept=float(np.exp(res.x[-1])), loglik=float(-res.fun),
        n_obs=len(y), n_groups=len(uniques), n_agq=n_agq,
        converged=ok and bool(np.all(np.isfinite(se))), conf_level=conf_level,
        messages=tuple(messages),
    )
