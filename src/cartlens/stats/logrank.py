"""The G-rho family of k-sample tests as R ``survival::survdiff`` (survival 3.5-3).

Within each stratum, at each distinct event time t_j with n_gj at risk and d_gj events in group g,
weight ``w_j = S(t_j-)^rho`` (pooled Kaplan-Meier of the stratum, left limit):

    O_g - E_g = sum_j w_j (d_gj - d_j n_gj / n_j)
    V_gh      = sum_j w_j^2 d_j (n_j - d_j) / (n_j - 1) (n_gj / n_j) (delta_gh - n_hj / n_j)   (0 if n_j = 1)
    X^2       = (O - E)' V^- (O - E),  df = (#groups with E > 0) - 1

O - E and V are summed over strata before X^2 is formed (stratified test). rho = 0 is the log-rank test,
rho = 1 the Peto-Peto modification of the Gehan-Wilcoxon test. As R, the test drops the first group with
E > 0 and solves the remaining system.

References
----------
Mantel N. Cancer Chemother Rep 1966;50:163-70. Peto R, Peto J. J R Stat Soc A 1972;135:185-207.
Harrington DP, Fleming TR. Biometrika 1982;69:553-66. R survival 3.5-3: R/survdiff.R, src/survdiff2.c.
Spec: survival_stats.md §3.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special

from cartlens.stats._surv_data import check_surv, encode_groups

__all__ = ["LogrankResult", "survdiff"]


@dataclass(frozen=True, eq=False)
class LogrankResult:
    """k-sample test result; arrays follow ``groups`` (sorted levels), summed over strata."""

    groups: tuple[Any, ...]
    n: np.ndarray
    observed: np.ndarray     # rho-weighted, as R
    expected: np.ndarray
    var: np.ndarray
    chisq: float
    df: int
    p: float
    rho: float

    def to_dict(self) -> dict[str, Any]:
        """JSON of ``cartlens stats logrank`` (spec cli.md: chisq, df, p; more keys added)."""
        return {"chisq": self.chisq, "df": self.df, "p": self.p, "rho": self.rho,
                "groups": {str(g): {"n": int(self.n[i]), "observed": float(self.observed[i]),
                                    "expected": float(self.expected[i])} for i, g in enumerate(self.groups)}}

    def summary(self) -> pd.DataFrame:
        """R's print(survdiff) table."""
        oe = self.observed - self.expected
        return pd.DataFrame({"N": self.n, "Observed": self.observed, "Expected": self.expected,
                             "(O-E)^2/E": oe ** 2 / self.expected, "(O-E)^2/V": oe ** 2 / np.diag(self.var)},
                            index=pd.Index([str(g) for g in self.groups], name="group"))


def _km_left_weights(strat: np.ndarray, n_risk: np.ndarray, deaths: np.ndarray, rho: float) -> np.ndarray:
    """S(t_j-)^rho of the pooled KM within each stratum (blocks sorted by stratum, then time)."""
    if rho == 0:
        return np.ones(n_risk.size)
    factor = 1.0 - deaths / n_risk
    w = np.empty(n_risk.size)
    bounds = np.flatnonzero(np.diff(strat)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, strat.size]):      # loop over strata only
        w[lo:hi] = np.concatenate(([1.0], np.cumprod(factor[lo:hi])[:-1]))
    return w ** rho


def survdiff(time: ArrayLike, event: ArrayLike, group: ArrayLike, *, strata: ArrayLike | None = None,
             rho: float = 0.0, timefix: bool = True) -> LogrankResult:
    """Log-rank (rho = 0) or G-rho test between groups, as R ``survdiff(Surv(time, event) ~ group)``.

    Parameters
    ----------
    time : array-like of float, shape (n,)
        Follow-up time, >= 0.
    event : array-like of bool or {0, 1}, shape (n,)
        1 = event.
    group : array-like, shape (n,)
        Group label per subject (at least two distinct values).
    strata : array-like, optional
        Stratum label (R ``+ strata(s)``): O - E and V are summed over strata.
    rho : float
        Weight exponent; 0 = log-rank (default), 1 = Peto-Peto.
    timefix : bool
        Merge near-tied times as R's aeqSurv (default True).
    """
    if not np.isfinite(rho):
        raise ValueError(f"rho must be finite, got {rho!r}")
    sd = check_surv(time, event, strata=strata, timefix=timefix)
    g, levels = encode_groups(group, "group")
    if g.size != sd.n:
        raise ValueError(f"group: length {g.size} differs from time ({sd.n})")
    k = len(levels)
    if k < 2:
        raise ValueError("group: there is only 1 group")
    # (stratum, time) blocks in sorted order, without reordering the data
    trank = sd.time_rank
    if len(sd.strata_levels) > 1:
        block_key, block = np.unique(sd.strata * (int(trank.max()) + 1) + trank, return_inverse=True)
        bstrat = block_key // (int(trank.max()) + 1)
    else:
        block, bstrat = trank, np.zeros(int(trank.max()) + 1, dtype=np.int64)
    nb = bstrat.size
    cell = block * k + g
    at = np.bincount(cell, minlength=nb * k).reshape(nb, k).astype(float)
    dg = np.bincount(cell[sd.event], minlength=nb * k).reshape(nb, k).astype(float)
    n_gj = np.empty_like(at)            # number at risk: reverse cumulative sum within stratum
    bounds = np.r_[0, np.flatnonzero(np.diff(bstrat)) + 1, nb]
    for lo, hi in pairwise(bounds):       # loop over strata only
        n_gj[lo:hi] = np.cumsum(at[lo:hi][::-1], axis=0)[::-1]
    n_j, d_j = n_gj.sum(axis=1), dg.sum(axis=1)
    w = _km_left_weights(bstrat, n_j, d_j, rho)
    ev = d_j > 0
    n_gj, d_gj, n_j, d_j, w = n_gj[ev], dg[ev], n_j[ev], d_j[ev], w[ev]
    prop = n_gj / n_j[:, None]
    observed = w @ d_gj
    expected = (w * d_j) @ prop
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(n_j > 1, w ** 2 * d_j * (n_j - d_j) / (n_j - 1), 0.0)
    var = np.diag(c @ prop) - (prop * c[:, None]).T @ prop
    use = np.flatnonzero(expected > 0)
    df = use.size - 1
    chisq = 0.0
    if use.size >= 2:
        keep = use[1:]
        oe = (observed - expected)[keep]
        chisq = float(oe @ np.linalg.lstsq(var[np.ix_(keep, keep)], oe, rcond=None)[0])
    p = float(special.chdtrc(df, chisq)) if df > 0 else float("nan")
    n_per = np.bincount(g, minlength=k).astype(float)
    return LogrankResult(levels, n_per, observed, expected, var, chisq, df, p, float(rho))
