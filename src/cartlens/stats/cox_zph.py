"""Test of proportional hazards for a fitted Cox model, as R ``survival::cox.zph`` (survival >= 3.0).

R 3.x replaced the Grambsch-Therneau scaled-Schoenfeld regression by the score test it approximates: for each
covariate, add the time-varying term ``x * g(t)`` and test its coefficient by a score test at
``(beta_hat, 0)`` (Grambsch & Therneau 1994; Therneau, survival 3.5-3, R/cox.zph.R and src/zph1.c):

* ``g(t)`` from ``transform``: "km" (default) ``1 - S(t-)`` of the pooled Kaplan-Meier, "rank", "identity",
  "log"; centred at its mean over the event times;
* score for the new terms ``u_g = sum_j g_j [sum_{i in D_j} w_i (x_i - xbar_j)]`` with Efron-weighted means,
  information blocks ``sum_j V_j``, ``sum_j g_j V_j``, ``sum_j g_j^2 V_j``;
* per covariate ``chi2 = u' I^-1 u`` on 1 df over the (x, x g) block with u = (0, u_g[k]); GLOBAL on p df.

lifelines' ``proportional_hazard_test`` uses the older approximation and differs (lifelines issue #997).

References
----------
Grambsch PM, Therneau TM. Biometrika 1994;81:515-26. Spec: survival_stats.md §4.6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from cartlens.stats import _cox_engine as eng
from cartlens.stats.cox import CoxResult
from cartlens.stats.km import kaplan_meier

__all__ = ["ZphResult", "cox_zph"]


@dataclass(frozen=True)
class ZphResult:
    """Per-covariate and global score tests of proportional hazards."""

    names: tuple[str, ...]
    chisq: np.ndarray      # per covariate, then GLOBAL
    df: np.ndarray
    p: np.ndarray
    transform: str

    def summary(self) -> pd.DataFrame:
        """R's ``cox.zph(fit)$table``."""
        return pd.DataFrame({"chisq": self.chisq, "df": self.df, "p": self.p},
                            index=pd.Index([*self.names, "GLOBAL"], name="term"))

    def to_dict(self) -> dict[str, Any]:
        rows = zip([*self.names, "GLOBAL"], self.chisq, self.df, self.p)
        return {"transform": self.transform,
                "tests": {n: {"chisq": float(c), "df": int(d), "p": float(p)} for n, c, d, p in rows}}


def _g_of_time(time: np.ndarray, event: np.ndarray, transform: str) -> np.ndarray:
    if transform == "km":
        km = kaplan_meier(time, event, timefix=False)
        idx = np.searchsorted(km.times, time, side="left")       # findInterval(left.open = TRUE)
        return 1.0 - np.concatenate(([1.0], km.surv))[idx]
    if transform == "rank":
        return stats.rankdata(time)
    if transform == "identity":
        return time.astype(float)
    if transform == "log":
        return np.log(time)
    raise ValueError(f"transform must be 'km', 'rank', 'identity' or 'log', got {transform!r}")


def cox_zph(fit: CoxResult, transform: Literal["km", "rank", "identity", "log"] = "km") -> ZphResult:
    """Score tests of proportional hazards per covariate and globally, as R ``cox.zph(fit, transform)``.

    Parameters
    ----------
    fit : CoxResult
        A fitted model from :func:`cartlens.stats.cox.coxph`.
    transform : {"km", "rank", "identity", "log"}
        Time transform g(t); "km" is R's default.
    """
    d = fit._design
    time_sorted = fit._time[d.order]
    gt = _g_of_time(time_sorted, d.event, transform)
    gt = gt - gt[d.event].mean()
    g_group = gt[d.g_start]                   # g is constant within a tie set
    terms = eng.cox_terms(d, fit.coef, need_info=False)
    p = fit.coef.size
    # per-group score contributions sum_{D_j} w x - sum_e wt_e mean_e
    dr = d.death_rows
    ng = d.g_start.size
    contrib = (eng._by_group(d.death_group, d.weight[dr, None] * d.x[dr], ng)
               - eng._by_group(d.el_group, d.el_wt[:, None] * terms.mean, ng))
    u_g = g_group @ contrib
    i_xx = eng.weighted_information(d, terms)
    i_xg = eng.weighted_information(d, terms, g_group)
    i_gg = eng.weighted_information(d, terms, g_group ** 2)
    imat = np.block([[i_xx, i_xg], [i_xg.T, i_gg]])
    u = np.concatenate((np.zeros(p), u_g))
    chisq = np.empty(p + 1)
    for k in range(p):                          # loop over covariates, not subjects
        kk = np.r_[np.arange(p), p + k]
        chisq[k] = u[kk] @ np.linalg.solve(imat[np.ix_(kk, kk)], u[kk])
    chisq[p] = u @ np.linalg.solve(imat, u)
    df = np.r_[np.ones(p, dtype=int), p]
    return ZphResult(fit.names, chisq, df, stats.chi2.sf(chisq, df), transform)
