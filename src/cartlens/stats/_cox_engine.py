"""Numerical engine of the Cox fitter: partial likelihood, score, information, score residuals.

This is a vectorised transcription of R survival's ``coxfit6`` (Newton-Raphson with step halving) and
``coxscore2`` (score residuals) for right-censored data, with Breslow or Efron ties, strata and case weights
(Therneau T, survival 3.5-3, src/coxfit6.c, src/coxscore2.c). We write our own rather than use lifelines or
statsmodels because neither reproduces R's Efron score residuals (robust variance), R's centring rules or its
convergence path (spec survival_stats.md §4.2-4.3).

Vectorisation: rows are sorted by (stratum, time). Risk-set sums at every distinct event time come from one
reverse cumulative sum; the Efron terms of a tie set of m deaths are expanded to m "elements"
(fraction r/m removed, r = 0..m-1), so the whole likelihood is a handful of array operations and the
information matrix one ``X.T @ (c * X)`` product, O(n p^2) per iteration. No per-subject Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: R ``coxph.control()`` defaults.
TOLER_CHOL = 1.818989e-12
TOLER_INF = 3.162278e-05

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CoxDesign:
    """Everything about the data that does not depend on beta (rows sorted by stratum, then time)."""

    x: FloatArray             # (n, p) centred covariates, sorted rows
    weight: FloatArray        # (n,)
    event: NDArray[np.bool_]  # (n,)
    order: NDArray[np.int64]  # sorted position -> original row
    death_rows: NDArray[np.int64]
    death_group: NDArray[np.int64]   # for each death row: its death-group index
    g_start: NDArray[np.int64]       # first sorted row of each death group's tie block
    g_end: NDArray[np.int64]         # one past the last row of its stratum
    g_first_death: NDArray[np.int64]  # position (in death_rows) where each group starts
    el_group: NDArray[np.int64]      # element -> death group
    el_frac: FloatArray              # fraction r/m of the tied deaths' risk removed
    el_wt: FloatArray                # weight of the element's log term (deadwt/m, or deadwt for Breslow)
    el_count: FloatArray             # number of elements of the element's group (m or 1)
    row_hi: NDArray[np.int64]        # number of death groups starting at or before each row (same stratum)
    row_lo: NDArray[np.int64]        # number of death groups before the row's stratum
    row_bounds: tuple[tuple[int, int], ...]    # row slices of the strata
    group_bounds: tuple[tuple[int, int], ...]  # death-group slices of the strata
    means: FloatArray                # centring constants (0 for covariates R does not centre)
    scale: FloatArray                # R coxfit6's column scaling (sum w / sum w |x - mean|; 1 if not centred)
    efron: bool


def build_design(time: FloatArray, event: NDArray[np.bool_], x: FloatArray, weight: FloatArray,
                 strata: NDArray[np.int64], *, efron: bool) -> CoxDesign:
    """Sort, centre (R's ``nocenter = c(-1, 0, 1)`` rule) and index the tie structure once."""
    n = time.size
    order = np.lexsort((time, strata))
    t, d, w, s = time[order], event[order], weight[order], strata[order]
    xs = x[order]
    # R centres a column unless all its values are in {-1, 0, 1} (coxph(nocenter = c(-1, 0, 1))).
    zero_one = np.all((xs == 0.0) | (xs == 1.0) | (xs == -1.0), axis=0)
    means = np.where(zero_one, 0.0, (w @ xs) / w.sum())
    xs = xs - means
    spread = (w @ np.abs(xs)) / w.sum()
    scale = np.where(zero_one | (spread <= 0), 1.0, 1.0 / np.where(spread > 0, spread, 1.0))
    new_stratum = np.concatenate(([True], s[1:] != s[:-1]))
    stratum_start_idx = np.flatnonzero(new_stratum)
    stratum_of_row = np.cumsum(new_stratum) - 1
    stratum_end = np.append(stratum_start_idx[1:], n)[stratum_of_row]
    stratum_start = stratum_start_idx[stratum_of_row]
    new_block = new_stratum | np.concatenate(([True], t[1:] != t[:-1]))
    block_id = np.cumsum(new_block) - 1
    block_start = np.flatnonzero(new_block)
    death_rows = np.flatnonzero(d)
    dblock = block_id[death_rows]
    g_blocks, g_first_death, ndead = np.unique(dblock, return_index=True, return_counts=True)
    death_group = np.searchsorted(g_blocks, dblock)
    g_start = block_start[g_blocks]
    g_end = stratum_end[g_start]
    deadwt = np.add.reduceat(w[death_rows], g_first_death) if death_rows.size else np.zeros(0)
    if efron:
        el_group = np.repeat(np.arange(g_blocks.size), ndead)
        within = np.arange(death_rows.size) - g_first_death[el_group]
        el_count = ndead[el_group].astype(float)
        el_frac = within / el_count
        el_wt = deadwt[el_group] / el_count
    else:
        el_group = np.arange(g_blocks.size)
        el_frac = np.zeros(g_blocks.size)
        el_wt = deadwt
        el_count = np.ones(g_blocks.size)
    rows = np.arange(n)
    row_hi = np.searchsorted(g_start, rows, side="right")
    row_lo = np.searchsorted(g_start, stratum_start, side="left")
    rb = np.append(stratum_start_idx, n)
    gb = np.searchsorted(g_start, rb)
    return CoxDesign(xs, w, d, order, death_rows, death_group, g_start, g_end, g_first_death, el_group,
                     el_frac, el_wt, el_count, row_hi, row_lo, tuple(zip(rb[:-1].tolist(), rb[1:].tolist())),
                     tuple(zip(gb[:-1].tolist(), gb[1:].tolist())), means, scale, efron)


def _segment_cumsum(values: FloatArray, bounds: tuple[tuple[int, int], ...], *, reverse: bool) -> FloatArray:
    """Cumulative sums restarted at every stratum (a loop over strata, never over subjects).

    Done per stratum rather than by differencing one global cumulative sum: a stratum with huge risk scores
    (e.g. exp(30)) would otherwise wipe out the digits of the others (catastrophic cancellation).
    """
    if len(bounds) == 1:
        return np.cumsum(values[::-1], axis=0)[::-1] if reverse else np.cumsum(values, axis=0)
    out = np.empty_like(values)
    for lo, hi in bounds:
        out[lo:hi] = np.cumsum(values[lo:hi][::-1], axis=0)[::-1] if reverse else np.cumsum(values[lo:hi], axis=0)
    return out


def row_dot(x: FloatArray, beta: FloatArray) -> FloatArray:
    """``x @ beta`` accumulated column by column, so that identical rows give bit-identical results.

    A BLAS product may round identical rows differently (blocked kernels); the linear predictor's ties
    decide tied.x in the concordance, so each row is summed in the same order, as R's loop does.
    """
    out = np.zeros(x.shape[0])
    for j in range(x.shape[1]):            # loop over covariates, not subjects
        out += x[:, j] * beta[j]
    return out


def _rsum(values: FloatArray, design: CoxDesign) -> FloatArray:
    """Risk-set sums at each death group: sum of ``values`` from the group's first row to its stratum end."""
    return _segment_cumsum(values, design.row_bounds, reverse=True)[design.g_start]


def _at_risk_cumsum(per_group: FloatArray, design: CoxDesign) -> FloatArray:
    """For every row: sum of ``per_group`` over the death groups of its stratum at or before the row's time."""
    cum = _segment_cumsum(per_group, design.group_bounds, reverse=False)
    idx = design.row_hi - 1
    has = design.row_hi > design.row_lo
    out = cum[np.maximum(idx, 0)]
    if out.ndim == 1:
        return np.where(has, out, 0.0)
    return np.where(has[:, None], out, 0.0)


def _group_sum(values: FloatArray, design: CoxDesign) -> FloatArray:
    """Sums over the deaths of each death group."""
    return np.add.reduceat(values[design.death_rows], design.g_first_death, axis=0)


@dataclass(frozen=True)
class CoxTerms:
    """Log partial likelihood, score and information at one beta (plus the per-element quantities)."""

    loglik: float
    score: FloatArray
    info: FloatArray
    risk: FloatArray      # exp(eta), sorted rows
    den: FloatArray       # per element
    mean: FloatArray      # per element, (n_el, p): Efron-weighted risk-set mean of x


def cox_terms(design: CoxDesign, beta: FloatArray, *, need_info: bool = True) -> CoxTerms:
    """Log partial likelihood, score vector and observed information at ``beta`` (R coxfit6_iter)."""
    x, w = design.x, design.weight
    eta = x @ beta      # inside the fit a last-bit difference between identical rows is immaterial
    risk = np.exp(eta)
    wr = w * risk
    if design.death_rows.size == 0:
        p = beta.size
        return CoxTerms(0.0, np.zeros(p), np.zeros((p, p)), risk, np.zeros(0), np.zeros((0, p)))
    both = np.empty((x.shape[0], x.shape[1] + 1))     # [w r, w r x]: one cumulative sum for both
    both[:, 0] = wr
    np.multiply(wr[:, None], x, out=both[:, 1:])
    s_all = _rsum(both, design)
    d_all = _group_sum(both, design)
    s0, s1, d0, d1 = s_all[:, 0], s_all[:, 1:], d_all[:, 0], d_all[:, 1:]
    g, frac, wt = design.el_group, design.el_frac, design.el_wt
    den = s0[g] - frac * d0[g]
    a = s1[g] - frac[:, None] * d1[g]
    mean = a / den[:, None]
    dr = design.death_rows
    wd = w[dr]
    loglik = float(wd @ eta[dr] - wt @ np.log(den))
    score = wd @ x[dr] - (wt / den) @ a
    terms = CoxTerms(loglik, score, np.zeros((beta.size, beta.size)), risk, den, mean)
    if need_info:
        terms = CoxTerms(loglik, score, weighted_information(design, terms), risk, den, mean)
    return terms


def weighted_information(design: CoxDesign, terms: CoxTerms, h: FloatArray | None = None) -> FloatArray:
    """``sum_g h_g V_g``: information contributions of the death groups, each scaled by ``h_g``.

    ``V_g = sum_{e in g} wt_e (C_e / den_e - mean_e mean_e')`` with ``C_e`` the (Efron-reduced) risk-set sum of
    ``r x x'``. ``h = 1`` gives the observed information; ``h = g(t)`` and ``g(t)^2`` give the blocks of
    ``cox.zph``'s score test. One ``X' diag(c) X`` product (risk-set sums via cumulative sums).
    """
    x, wr = design.x, design.weight * terms.risk
    g, frac, wt, den = design.el_group, design.el_frac, design.el_wt, terms.den
    ng = design.g_start.size
    a_g = _by_group(g, wt / den, ng)
    b_g = _by_group(g, wt * frac / den, ng)
    el_w = wt
    if h is not None:
        a_g, b_g, el_w = a_g * h, b_g * h, wt * h[g]
    c = wr * _at_risk_cumsum(a_g, design)
    dr = design.death_rows
    c[dr] -= wr[dr] * b_g[design.death_group]
    return (x.T * c) @ x - (terms.mean * el_w[:, None]).T @ terms.mean


def _by_group(groups: NDArray[np.int64], values: FloatArray, n_groups: int) -> FloatArray:
    """Sums of ``values`` (1-D or rows of a 2-D array) per group index."""
    if values.ndim == 1:
        return np.bincount(groups, weights=values, minlength=n_groups).astype(float)
    return np.stack([np.bincount(groups, weights=values[:, j], minlength=n_groups) for j in range(values.shape[1])],
                    axis=1).astype(float)


def score_residuals(design: CoxDesign, beta: FloatArray) -> FloatArray:
    """Score residuals (unweighted, sorted rows) as R ``residuals(fit, "score")``, Efron-weighted (coxscore2)."""
    x = design.x
    t = cox_terms(design, beta, need_info=False)
    risk = t.risk
    if design.death_rows.size == 0:
        return np.zeros_like(x)
    g, frac = design.el_group, design.el_frac
    ng = design.g_start.size
    hz = design.el_wt / t.den
    h_g, h2_g = _by_group(g, hz, ng), _by_group(g, hz * frac, ng)
    hm_g = _by_group(g, hz[:, None] * t.mean, ng)
    hm2_g = _by_group(g, (hz * frac)[:, None] * t.mean, ng)
    avg_mean = _by_group(g, t.mean, ng) / _by_group(g, np.ones(g.size), ng)[:, None]
    resid = -risk[:, None] * (x * _at_risk_cumsum(h_g, design)[:, None] - _at_risk_cumsum(hm_g, design))
    dr, dg = design.death_rows, design.death_group
    resid[dr] += (x[dr] - avg_mean[dg]) + risk[dr, None] * (x[dr] * h2_g[dg, None] - hm2_g[dg])
    return resid


def efron_hazard(design: CoxDesign, beta: FloatArray) -> FloatArray:
    """Baseline hazard increment at each death group (R agsurv: ctype 2 for Efron, 1 for Breslow).

    Evaluated at the centred covariates, i.e. for a subject at ``design.means``.
    """
    t = cox_terms(design, beta, need_info=False)
    return _by_group(design.el_group, design.el_wt / t.den, design.g_start.size)
