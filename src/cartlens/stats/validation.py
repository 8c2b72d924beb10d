"""Discrimination, calibration and bootstrap internal validation of a survival model.

* Uno's C (``concordance(timewt = "n/G2")`` in R survival 3.5-3; Uno et al., Stat Med 2011;30:1105-17):
  comparable pairs weighted by ``1/Ĝ(t_i−)²`` with Ĝ the Kaplan–Meier estimate of the censoring
  distribution, optional truncation τ (R ``ymax``).
* Cumulative/dynamic time-dependent AUC with inverse-probability-of-censoring weights (Uno et al.,
  JASA 2007;102:527-37; Blanche et al., Stat Med 2013;32:5381-97): cases ``t_i <= t, δ_i = 1`` weighted
  ``1/Ĝ(t_i−)``, controls ``t_j > t``.
* Calibration at a horizon (Steyerberg, Clinical Prediction Models, 2nd ed., ch. 15; Royston & Altman,
  BMC Med Res Methodol 2013;13:33): slope of the index in a validation Cox model, calibration in the
  large (observed 1 − KM(t0) vs mean predicted risk), observed vs predicted by risk group.
* Bootstrap optimism correction (Harrell, Lee & Mark, Stat Med 1996;15:361-87; Steyerberg et al.,
  J Clin Epidemiol 2001;54:774-81), as ``rms::validate(cph, method = "boot")`` for Harrell's C/Dxy and
  the calibration slope.

Why our own code: the bootstrap here is *vectorised over replicates* — every replicate is the
original data with multinomial frequency weights, all B Cox fits run as one batched Newton iteration
(Efron ties exactly as on the expanded resampled data) and the B concordances are counted with one
batched Fenwick tree — which is what makes 1000 replicates take about a second.  lifelines refits
one model per replicate; scikit-survival's ``concordance_index_ipcw`` uses another Ĝ convention.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from cartlens.stats.cox import coxph
from cartlens.stats.cutpoint import check_time_event
from cartlens.stats.km import kaplan_meier

__all__ = [
    "CalibrationResult",
    "ConcordanceResult",
    "OptimismResult",
    "TimeAUCResult",
    "bootstrap_optimism",
    "bootstrap_procedure",
    "calibration_at_horizon",
    "time_dependent_auc",
    "uno_c",
]


# --------------------------------------------------------------------------- batched concordance
def _dense_ranks(risk: np.ndarray) -> np.ndarray:
    order = np.argsort(risk, axis=1, kind="stable")
    srt = np.take_along_axis(risk, order, axis=1)
    new = np.ones(risk.shape, dtype=np.int64)
    new[:, 1:] = srt[:, 1:] != srt[:, :-1]
    ranks = np.empty_like(new)
    np.put_along_axis(ranks, order, np.cumsum(new, axis=1), axis=1)
    return ranks


def concordance_batch(time: np.ndarray, event: np.ndarray, risk: np.ndarray, weight: np.ndarray | None = None,
                      event_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted (concordant, discordant, tied-in-risk) pair totals for B risk scores at once.

    Harrell's pairs (survival_stats.md §7.1): i with an event is compared with every j with
    ``t_j > t_i`` or ``t_j = t_i`` censored; pairs of tied event times are excluded.  A pair weighs
    ``w_i w_j · event_weight_i``.  ``risk`` and ``weight`` have shape (B, n); one Fenwick tree per row,
    processed in one pass over the distinct times (largest first).
    """
    b, n = risk.shape
    w = np.ones((b, n)) if weight is None else weight
    ew = np.ones(n) if event_weight is None else event_weight
    ranks = _dense_ranks(risk)
    size = 1 << max(1, int(np.ceil(np.log2(n + 1))))
    tree = np.zeros((b, size + 2))
    rows = np.arange(b)[:, None]
    total = np.zeros(b)
    conc, disc, tied = np.zeros(b), np.zeros(b), np.zeros(b)
    order = np.lexsort((event, -time))                  # time descending, censored before events
    t_s, d_s = time[order], event[order].astype(bool)
    bounds = np.flatnonzero(np.r_[True, t_s[1:] != t_s[:-1], True])
    steps = int(np.log2(size)) + 1
    up, down = _fenwick_paths(size, steps)                # index paths, so each update/query is one gather

    def query(idx: np.ndarray) -> np.ndarray:
        return tree[rows[:, :, None], down[idx]].sum(axis=2)

    flat_rows = np.arange(b)[:, None]

    def insert(idx: np.ndarray, val: np.ndarray) -> None:
        for col in range(idx.shape[1]):                   # one subject at a time: unique path per row
            tree[flat_rows, up[idx[:, col]]] += val[:, col:col + 1]
    pending = np.empty(0, dtype=np.int64)                 # events of the previous (later) time
    for lo, hi in itertools.pairwise(bounds):
        members = order[lo:hi]
        dead = members[d_s[lo:hi]]
        add = np.concatenate([pending, members[~d_s[lo:hi]]])   # inserted before this time's queries
        if add.size:
            insert(ranks[:, add], w[:, add])
            total += w[:, add].sum(axis=1)
        if dead.size:
            r = ranks[:, dead]
            both = query(np.concatenate([r - 1, r], axis=1))
            less, leq = both[:, :dead.size], both[:, dead.size:]
            wi = w[:, dead] * ew[dead]
            conc += np.sum(wi * less, axis=1)
            tied += np.sum(wi * (leq - less), axis=1)
            disc += np.sum(wi * (total[:, None] - leq), axis=1)
        pending = dead
    return conc, disc, tied


def _fenwick_paths(size: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Fenwick-tree index paths for every start index: ``up`` (update; padded with the spill column
    size + 1, written but never read) and ``down`` (prefix query; padded with column 0, always 0)."""
    start = np.arange(size + 2)
    up = np.empty((size + 2, steps), dtype=np.int64)
    down = np.empty((size + 2, steps), dtype=np.int64)
    i, j = start.copy(), start.copy()
    for k in range(steps):
        up[:, k], down[:, k] = i, j
        i = np.minimum(i + (i & -i), size + 1)
        i[start == 0] = size + 1
        j = j - (j & -j)
    return up, down


def _c_from_counts(conc: np.ndarray, disc: np.ndarray, tied: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return (conc + tied / 2) / (conc + disc + tied)


# --------------------------------------------------------------------------- censoring KM
def _censoring_km(time: np.ndarray, event: np.ndarray, *, deaths_first: bool = False
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Distinct times and Ĝ, the Kaplan-Meier estimate of the censoring distribution.

    ``deaths_first=False``: R ``survfit(Surv(time, 1 - status))`` (deaths at t stay at risk for a
    censoring at t).  ``deaths_first=True``: deaths at t leave first, as R survival's ``concordance``
    (C ``fastkm1``) does for its "n/G2" weights.
    """
    ut, inv = np.unique(time, return_inverse=True)
    cens = np.bincount(inv, weights=1.0 - event, minlength=ut.size)
    n_at = np.bincount(inv, minlength=ut.size)[::-1].cumsum()[::-1].astype(float)
    if deaths_first:
        n_at = n_at - np.bincount(inv, weights=event, minlength=ut.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ut, np.cumprod(np.where(cens > 0, 1 - cens / n_at, 1.0))


def _g_left(ut: np.ndarray, g: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Ĝ(s−): product over censoring times strictly before s."""
    k = np.searchsorted(ut, s, side="left")
    return np.r_[1.0, g][k]


def _g_at(ut: np.ndarray, g: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Ĝ(s): product over censoring times <= s."""
    k = np.searchsorted(ut, s, side="right")
    return np.r_[1.0, g][k]


# --------------------------------------------------------------------------- Uno's C
@dataclass(frozen=True)
class ConcordanceResult:
    """A concordance index with its weighted pair counts."""

    c: float
    concordant: float
    discordant: float
    tied_risk: float
    method: str
    tau: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"c": self.c, "concordant": self.concordant, "discordant": self.discordant,
                "tied_risk": self.tied_risk, "method": self.method, "tau": self.tau}

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def uno_c(time: ArrayLike, event: ArrayLike, risk: ArrayLike, *, tau: float | None = None) -> ConcordanceResult:
    """Uno's C: Harrell's pairs weighted by ``1/Ĝ(t_i−)²`` (R ``concordance(fit, timewt = "n/G2", ymax = tau)``).

    Ĝ follows R survival's convention (deaths at t leave before censorings at t), which reproduces
    R to machine precision; scikit-survival's ``concordance_index_ipcw`` uses Ĝ(t_i) with deaths at
    risk and differs in the 4th decimal (lung: 0.59623 vs R 0.59605; survival_stats.md §7.2).

    Parameters
    ----------
    time, event : array-like
        Follow-up time (>= 0) and 0/1 event indicator.
    risk : array-like of float
        Risk score (higher = worse), e.g. a Cox linear predictor.
    tau : float, optional
        Truncation time: event times after tau get weight 0 (R ``ymax``).
    """
    t, d = check_time_event(time, event)
    r = np.asarray(risk, dtype=float).reshape(1, -1)
    if r.shape[1] != t.size or not np.all(np.isfinite(r)):
        raise ValueError(f"risk: expected {t.size} finite values")
    ut, g = _censoring_km(t, d, deaths_first=True)
    gi = _g_left(ut, g, t)
    with np.errstate(divide="ignore"):
        ew = np.where(d > 0, 1 / gi**2, 0.0)
    if tau is not None:
        ew[t > tau] = 0.0
    if not np.all(np.isfinite(ew)):
        raise ValueError("Uno's C: censoring survival reaches 0 before an event time; choose tau")
    conc, disc, tied = (float(v[0]) for v in concordance_batch(t, d, r, event_weight=ew))
    return ConcordanceResult(c=float(_c_from_counts(np.array(conc), np.array(disc), np.array(tied))),
                             concordant=conc, discordant=disc, tied_risk=tied, method="uno", tau=tau)


# --------------------------------------------------------------------------- time-dependent AUC
@dataclass(frozen=True)
class TimeAUCResult:
    """Cumulative/dynamic AUC(t) with IPCW, at each requested time."""

    times: np.ndarray
    auc: np.ndarray
    n_cases: np.ndarray
    n_controls: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {"times": self.times.tolist(), "auc": [None if math.isnan(a) else float(a) for a in self.auc],
                "n_cases": self.n_cases.tolist(), "n_controls": self.n_controls.tolist()}

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.times, "auc": self.auc, "cases": self.n_cases,
                             "controls": self.n_controls})


def time_dependent_auc(time: ArrayLike, event: ArrayLike, risk: ArrayLike, times: ArrayLike) -> TimeAUCResult:
    """Cumulative/dynamic AUC at each of ``times``: P(r_i > r_j | t_i <= t < t_j), IPCW-weighted cases.

    Case weights ``1/Ĝ(t_i−)`` (Ĝ = KM of censoring); control weights ``1/Ĝ(t)`` are constant and
    cancel.  Ties in risk count ½.  AUC is NaN when a time has no cases or no controls.
    """
    t, d = check_time_event(time, event)
    r = np.asarray(risk, dtype=float)
    if r.shape != t.shape or not np.all(np.isfinite(r)):
        raise ValueError(f"risk: expected {t.size} finite values")
    ut, g = _censoring_km(t, d)
    tt = np.atleast_1d(np.asarray(times, dtype=float))
    auc, ncase, nctrl = np.full(tt.size, np.nan), np.zeros(tt.size, int), np.zeros(tt.size, int)
    for k, s in enumerate(tt):
        cases = (t <= s) & (d > 0)
        ctrl = np.sort(r[t > s])
        ncase[k], nctrl[k] = cases.sum(), ctrl.size
        if ncase[k] == 0 or nctrl[k] == 0:
            continue
        w = 1 / _g_left(ut, g, t[cases])
        rc = r[cases]
        below = np.searchsorted(ctrl, rc, side="left")
        equal = np.searchsorted(ctrl, rc, side="right") - below
        auc[k] = np.sum(w * (below + 0.5 * equal)) / (w.sum() * ctrl.size)
    return TimeAUCResult(times=tt, auc=auc, n_cases=ncase, n_controls=nctrl)


# --------------------------------------------------------------------------- calibration
@dataclass(frozen=True)
class CalibrationResult:
    """Calibration of a Cox prognostic index at horizon ``t0`` on (validation) data."""

    t0: float
    slope: float
    slope_se: float
    observed_surv: float            # KM at t0
    predicted_surv: float           # mean of S0(t0)^exp(PI)
    groups: pd.DataFrame            # per risk group: n, observed KM(t0), mean predicted S(t0)

    def to_dict(self) -> dict[str, Any]:
        return {"t0": self.t0, "slope": self.slope, "slope_se": self.slope_se,
                "observed_surv": self.observed_surv, "predicted_surv": self.predicted_surv,
                "observed_risk": 1 - self.observed_surv, "predicted_risk": 1 - self.predicted_surv,
                "groups": self.groups.to_dict(orient="records")}

    def summary(self) -> pd.DataFrame:
        return self.groups


def _km_at(time: np.ndarray, event: np.ndarray, t0: float) -> float:
    row = kaplan_meier(time, event).at([t0])[0]
    return float(row["surv"])


def calibration_at_horizon(time: ArrayLike, event: ArrayLike, index: ArrayLike, *, t0: float,
                           baseline_survival: float, groups: ArrayLike | None = None) -> CalibrationResult:
    """Calibration slope, calibration in the large and grouped observed/predicted survival at ``t0``.

    Parameters
    ----------
    time, event : array-like
        Validation follow-up (same time unit as ``t0``) and 0/1 events.
    index : array-like of float
        Prognostic index on the development scale (same centring as ``baseline_survival``).
    t0 : float
        Horizon (e.g. 1826.25 days = 5 years).
    baseline_survival : float
        Development baseline survival ``S0(t0) = exp(−H0(t0))`` at index 0 (R ``basehaz(centered = FALSE)``).
    groups : array-like, optional
        Risk group of each subject (e.g. ``RiskGroups.labels_of(index)``).
    """
    t, d = check_time_event(time, event)
    pi = np.asarray(index, dtype=float)
    if pi.shape != t.shape or not np.all(np.isfinite(pi)):
        raise ValueError(f"index: expected {t.size} finite values")
    if not 0 < baseline_survival <= 1:
        raise ValueError(f"baseline_survival must be in (0, 1], got {baseline_survival!r}")
    pred = baseline_survival ** np.exp(pi)
    fit = coxph(t, d, pi.reshape(-1, 1), names=["index"])
    rows = []
    if groups is not None:
        g = np.asarray(groups)
        for level in pd.unique(g):
            sel = g == level
            rows.append({"group": level, "n": int(sel.sum()), "observed_surv": _km_at(t[sel], d[sel], t0),
                         "predicted_surv": float(pred[sel].mean())})
    return CalibrationResult(t0=float(t0), slope=float(fit.coef[0]), slope_se=float(fit.se[0]),
                             observed_surv=_km_at(t, d, t0), predicted_surv=float(pred.mean()),
                             groups=pd.DataFrame(rows, columns=["group", "n", "observed_surv", "predicted_surv"]))


# The bootstrap lives in cartlens.stats.bootstrap (module size); re-exported here for existing callers.
from cartlens.stats.bootstrap import (  # noqa: F401
    OptimismResult,
    bootstrap_optimism,
    bootstrap_procedure,
    cox_batch_fit,
)
