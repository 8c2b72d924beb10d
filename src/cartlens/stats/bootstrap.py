"""Bootstrap internal validation of a Cox model, vectorised over replicates.

Bootstrap optimism correction (Harrell, Lee & Mark, Stat Med 1996;15:361-87; Steyerberg et al., J Clin Epidemiol
2001;54:774-81), as ``rms::validate(cph, method = "boot")`` for Harrell's C/Dxy and the calibration slope.

Why our own code: every replicate is the original data with multinomial frequency weights, all B Cox fits run
as one batched Newton iteration (Efron ties exactly as on the expanded resampled data) and the B concordances
are counted with one batched Fenwick tree (:func:`cartlens.stats.validation.concordance_batch`) — which is what
makes 1000 replicates take about a second.  lifelines refits one model per replicate.
(Split from :mod:`cartlens.stats.validation`, which re-exports these names.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from cartlens.stats.cox import coxph
from cartlens.stats.cutpoint import check_time_event
from cartlens.stats.validation import _c_from_counts, concordance_batch

__all__ = ["OptimismResult", "bootstrap_optimism", "bootstrap_procedure", "cox_batch_fit"]


# --------------------------------------------------------------------------- batched Cox fits
def _risk_sums(values: np.ndarray, rs_start: np.ndarray) -> np.ndarray:
    """Σ over each risk set {i: t_i >= u_j} (subjects sorted by time on axis 0): block sums, then a
    reverse cumulative sum over the J event times."""
    blocks = np.add.reduceat(values, rs_start, axis=0)
    return np.cumsum(blocks[::-1], axis=0)[::-1]


def _cox_terms(xs: np.ndarray, xxu: np.ndarray, iu: tuple[np.ndarray, np.ndarray], ws: np.ndarray, wd: np.ndarray,
               ev: np.ndarray, gstart: np.ndarray, rs_start: np.ndarray,
               tied: list[tuple[np.ndarray, np.ndarray]], beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log partial likelihood, score and information for B frequency-weighted data sets at once.

    Layout: subjects (sorted by time) on axis 0, replicates on axis 1 — ``ws``, ``wd`` (n, B); ``xs`` (n, p)
    shared or (n, B, p); second moments as upper triangles ``xxu`` (n, k) or (n, B, k).
    """
    nb, p = ws.shape[1], beta.shape[1]
    shared = xs.ndim == 2
    eta = xs @ beta.T if shared else np.einsum("nbp,bp->nb", xs, beta)
    e = ws * np.exp(eta)
    moments = np.concatenate([e[:, :, None], e[:, :, None] * (xs[:, None, :] if shared else xs),
                              e[:, :, None] * (xxu[:, None, :] if shared else xxu)], axis=2)   # (n, B, 1+p+k)
    risk_all = _risk_sums(moments, rs_start)                  # one pass for all moments
    dead_all = np.add.reduceat(moments[ev], gstart, axis=0)
    a0, a1, a2 = risk_all[..., 0], risk_all[..., 1:p + 1], risk_all[..., p + 1:]
    d0, d1, d2 = dead_all[..., 0], dead_all[..., 1:p + 1], dead_all[..., p + 1:]
    ll = np.sum(wd * eta, axis=0)
    # Efron: for the r-th of d tied deaths the denominator is a0 − c_r d0, c_r = r/d (Breslow: 0).  The
    # sums over r of the score and information terms only need the scalar sums below, so the loop
    # runs over the (flattened) cells that still have an r-th death and the moment algebra is done once.
    s1, s2 = np.zeros(a0.size), np.zeros(a0.size)             # Σ 1/den, Σ c/den  (flattened J·B)
    q0, q1, q2 = np.zeros(a0.size), np.zeros(a0.size), np.zeros(a0.size)   # Σ 1/den², Σ c/den², Σ c²/den²
    a0f, d0f = a0.ravel(), d0.ravel()
    log_den = np.zeros(a0.size)
    for idx, c in tied:                                       # (flat cells with d > r, c_r there)
        den = a0f[idx] - c * d0f[idx]
        inv = 1.0 / den
        log_den[idx] += np.log(den)
        inv2 = inv * inv
        s1[idx] += inv
        s2[idx] += c * inv
        q0[idx] += inv2
        q1[idx] += c * inv2
        q2[idx] += c * c * inv2
    ll -= log_den.reshape(a0.shape).sum(axis=0)
    s1, s2, q0, q1, q2 = (v.reshape(a0.shape) for v in (s1, s2, q0, q1, q2))
    score = wd.T @ xs if shared else np.einsum("nb,nbp->bp", wd, xs)
    grad = score - np.einsum("jbp,jb->bp", a1, s1) + np.einsum("jbp,jb->bp", d1, s2)
    i0, i1 = iu
    second = np.einsum("jbk,jb->bk", a2, s1) - np.einsum("jbk,jb->bk", d2, s2)
    info = np.empty((nb, p, p))
    info[:, i0, i1] = second
    info[:, i1, i0] = second
    cross = np.einsum("jbp,jbq,jb->bpq", a1, d1, q1)
    info -= np.einsum("jbp,jbq,jb->bpq", a1, a1, q0)
    info += cross + np.swapaxes(cross, 1, 2)
    info -= np.einsum("jbp,jbq,jb->bpq", d1, d1, q2)
    return ll, grad, info


def cox_batch_fit(time: np.ndarray, event: np.ndarray, x: np.ndarray, w: np.ndarray, beta0: np.ndarray, *,
                  ties: str = "efron", max_iter: int = 30, eps: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Fit B Cox models that share times/events and differ in frequency weights ``w`` (B, n).

    ``x`` is (n, p) or (B, n, p).  Newton-Raphson with step halving, converged when
    ``|1 − ℓ_old/ℓ_new| <= eps`` (R's rule).  With integer weights the Efron likelihood is that of the
    data with each row repeated ``w`` times.  Returns (beta (B, p), converged flags (B,)).
    """
    order = np.argsort(time, kind="stable")
    t, dd = time[order], (event[order] > 0).astype(float)
    xs = x[order] if x.ndim == 2 else np.ascontiguousarray(np.swapaxes(x[:, order], 0, 1))   # (n, [B,] p)
    xs = xs - xs.mean(axis=0, keepdims=True)                 # centring leaves beta unchanged
    ws = np.ascontiguousarray(w[:, order].T)                 # (n, B)
    ev = np.flatnonzero(dd)
    gstart = np.flatnonzero(np.r_[True, t[ev][1:] != t[ev][:-1]])
    rs_start = np.searchsorted(t, t[ev][gstart], side="left")
    flat_d = np.add.reduceat(ws[ev], gstart, axis=0).ravel()  # deaths per (event time, replicate)
    tied = []
    for r in range(int(flat_d.max()) if flat_d.size else 0):
        idx = np.flatnonzero(flat_d > r)
        tied.append((idx, r / flat_d[idx] if ties == "efron" else np.zeros(idx.size)))
    iu = np.triu_indices(xs.shape[-1])
    args = (xs, xs[..., iu[0]] * xs[..., iu[1]], iu, ws, ws * dd[:, None], ev, gstart, rs_start, tied)
    beta = np.array(beta0, dtype=float)
    ll, grad, info = _cox_terms(*args, beta)
    conv = np.zeros(beta.shape[0], dtype=bool)
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            try:
                step = np.linalg.solve(info, grad[..., None])[..., 0]
            except np.linalg.LinAlgError:
                step = np.stack([np.linalg.lstsq(i, g, rcond=None)[0] for i, g in zip(info, grad)])
            new = beta + step
            ll_new, g_new, i_new = _cox_terms(*args, new)
            for _half in range(20):                          # R's step halving when ℓ decreases
                bad = ~(ll_new >= ll - 1e-10 * np.abs(ll))
                if not bad.any():
                    break
                new[bad] = (beta[bad] + new[bad]) / 2
                ll_new, g_new, i_new = _cox_terms(*args, new)
            conv = np.abs(1 - ll / ll_new) <= eps
            beta, ll, grad, info = new, ll_new, g_new, i_new
            if conv.all():
                break
    return beta, conv & np.all(np.isfinite(beta), axis=1)


# --------------------------------------------------------------------------- bootstrap optimism
@dataclass(frozen=True)
class OptimismResult:
    """Bootstrap optimism-corrected performance (rms ``validate`` layout)."""

    index: tuple[str, ...]                  # "C", "Dxy", "Slope"
    apparent: np.ndarray
    boot_mean: np.ndarray                   # mean performance of the bootstrap models on their samples
    test_mean: np.ndarray                   # ... and on the original data
    optimism: np.ndarray
    corrected: np.ndarray
    n_boot: int
    n_ok: int
    seed: int | None
    per_replicate: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"n_boot": self.n_boot, "n_ok": self.n_ok, "seed": self.seed,
                "indexes": {k: {"apparent": float(a), "boot": float(b), "test": float(c), "optimism": float(o),
                                "corrected": float(r)}
                            for k, a, b, c, o, r in zip(self.index, self.apparent, self.boot_mean,
                                                        self.test_mean, self.optimism, self.corrected)}}

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame({"index.orig": self.apparent, "training": self.boot_mean, "test": self.test_mean,
                             "optimism": self.optimism, "index.corrected": self.corrected,
                             "n": self.n_ok}, index=list(self.index))


def bootstrap_optimism(time: ArrayLike, event: ArrayLike, X: ArrayLike, *, n_boot: int = 200,
                       seed: int | None = 0, ties: Literal["efron", "breslow"] = "efron",
                       chunk: int = 1000) -> OptimismResult:
    """Harrell/Steyerberg bootstrap optimism correction of a Cox model's C (and Dxy, calibration slope).

    For b = 1..B the model is refitted on a bootstrap sample (seeded numpy PCG64 multinomial weights),
    its C is measured on the sample (``A_b^boot``) and on the original data (``A_b^orig``); optimism =
    mean(A^boot − A^orig), corrected = apparent − optimism.  The calibration slope of the bootstrap
    index on the original data averages to the shrinkage factor.  Refitting uses the design matrix as
    given (as ``rms::validate``); data-driven steps (cutpoint search, knot placement) are not repeated.
    Replicates whose fit does not converge (e.g. separation) are dropped and counted in ``n_ok``.

    Parameters
    ----------
    time, event : array-like, shape (n,)
        Follow-up time (>= 0) and 0/1 event.
    X : array-like, shape (n, p)
        Covariate design matrix (spline bases, dummies …).
    n_boot : int
        Number of bootstrap replicates B.
    seed : int or None
        numpy seed; results are reproducible for a given seed and ``chunk``.
    ties : {"efron", "breslow"}
        Tie handling; Efron acts on the resampled data exactly as a refit on duplicated rows.
    """
    t, d = check_time_event(time, event)
    x = np.asarray(X, dtype=float)
    x = x.reshape(t.size, -1)
    if not np.all(np.isfinite(x)):
        raise ValueError("X: must be finite")
    full = coxph(t, d, x, ties=ties)
    # identical covariate rows must get bit-identical scores (ties in risk count 1/2), which a blocked
    # BLAS product does not guarantee: score the distinct rows once and map back.
    ux, inv = np.unique(x, axis=0, return_inverse=True)
    inv = inv.ravel()
    lp = (ux @ full.coef)[inv]
    apparent_c = float(_c_from_counts(*concordance_batch(t, d, lp[None, :]))[0])
    rng = np.random.default_rng(seed)
    c_boot, c_orig, slope = [], [], []
    ok_all = []
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        w = rng.multinomial(t.size, np.full(t.size, 1.0 / t.size), size=size).astype(float)
        beta, ok = cox_batch_fit(t, d, x, w, np.broadcast_to(full.coef, (size, x.shape[1])), ties=ties)
        risk = (beta @ ux.T)[:, inv]
        both = _c_from_counts(*concordance_batch(t, d, np.vstack([risk, risk]),
                                                 weight=np.vstack([w, np.ones_like(w)])))
        c_boot.append(both[:size])                         # on the bootstrap sample (frequency weights)
        c_orig.append(both[size:])                         # on the original data
        sl, ok2 = cox_batch_fit(t, d, risk[:, :, None], np.ones_like(w), np.ones((size, 1)), ties=ties)
        slope.append(sl[:, 0])
        ok_all.append(ok & ok2)
    keep = np.concatenate(ok_all)
    cb, co, sl = (np.concatenate(v)[keep] for v in (c_boot, c_orig, slope))
    apparent = np.array([apparent_c, 2 * apparent_c - 1, 1.0])
    boot = np.array([cb.mean(), 2 * cb.mean() - 1, 1.0])
    test = np.array([co.mean(), 2 * co.mean() - 1, sl.mean()])
    opt = boot - test
    return OptimismResult(index=("C", "Dxy", "Slope"), apparent=apparent, boot_mean=boot, test_mean=test,
                          optimism=opt, corrected=apparent - opt, n_boot=n_boot, n_ok=int(keep.sum()), seed=seed,
                          per_replicate={"c_boot": cb, "c_orig": co, "slope": sl})


def bootstrap_procedure(time: ArrayLike, event: ArrayLike, procedure: Callable[[np.ndarray], Callable[[np.ndarray],
                        np.ndarray]], *, n_boot: int = 200, seed: int | None = 0) -> OptimismResult:
    """Optimism of Harrell's C for a *whole* modelling procedure, repeated on every bootstrap sample.

    Use this when the procedure has data-driven steps (maxstat cutpoint search, knot placement, variable
    selection) that must be repeated per replicate (spec §7.4).  ``procedure(rows)`` receives the row
    indices of a sample (the original data: ``arange(n)``), fits everything on those rows and returns a
    function mapping row indices to risk scores (higher = worse).  Samples are drawn with the same seeded
    multinomial weights as :func:`bootstrap_optimism`, so for a fixed Cox design both give the same
    optimism.  One Python-level refit per replicate: slower than the batched path.
    """
    t, d = check_time_event(time, event)
    rows_all = np.arange(t.size)
    apparent = float(_c_from_counts(*concordance_batch(t, d, procedure(rows_all)(rows_all)[None, :]))[0])
    rng = np.random.default_rng(seed)
    w = rng.multinomial(t.size, np.full(t.size, 1.0 / t.size), size=n_boot).astype(float)
    c_boot, c_orig = np.full(n_boot, np.nan), np.full(n_boot, np.nan)
    for b in range(n_boot):
        rows = np.repeat(rows_all, w[b].astype(int))
        try:
            risk = np.asarray(procedure(rows)(rows_all), dtype=float)
        except (ValueError, np.linalg.LinAlgError):
            continue                                         # failed replicate: dropped, counted in n_ok
        both = _c_from_counts(*concordance_batch(t, d, np.vstack([risk, risk]),
                                                 weight=np.vstack([w[b], np.ones(t.size)])))
        c_boot[b], c_orig[b] = both
    keep = np.isfinite(c_boot) & np.isfinite(c_orig)
    cb, co = c_boot[keep], c_orig[keep]
    apparent_v = np.array([apparent, 2 * apparent - 1])
    boot = np.array([cb.mean(), 2 * cb.mean() - 1])
    test = np.array([co.mean(), 2 * co.mean() - 1])
    opt = boot - test
    return OptimismResult(index=("C", "Dxy"), apparent=apparent_v, boot_mean=boot, test_mean=test, optimism=opt,
                          corrected=apparent_v - opt, n_boot=n_boot, n_ok=int(keep.sum()), seed=seed,
                          per_replicate={"c_boot": cb, "c_orig": co})
