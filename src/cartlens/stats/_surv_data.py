"""Input checking and the shared preprocessing of right-censored survival data.

Every survival method of cartlens (Kaplan-Meier, log-rank, Cox, concordance) passes its input through
:func:`check_surv` so that bad input is refused in the same way everywhere, and near-tied times are merged
exactly as R's ``survival::aeqSurv`` does (``timefix = TRUE``, the default of ``survfit``, ``survdiff``,
``coxph`` and ``concordance``; spec survival_stats.md §0).

Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

#: R's default tolerance for merging near-tied times: ``sqrt(.Machine$double.eps)``.
AEQ_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


def _show(value: Any) -> str:
    """repr of one element without numpy's type wrapper (np.float64(nan) -> nan)."""
    return repr(value.item() if hasattr(value, "item") else value)


def as_float_vector(values: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return ``values`` as a finite 1-D float array, or raise ValueError naming ``name`` and the element."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    try:
        out = arr.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: values must be numeric ({exc})") from None
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        raise ValueError(f"{name}: element {bad[0]} is {_show(arr[bad[0]])}; missing or infinite values are not "
                         "allowed (drop incomplete rows first, as R's na.omit does)")
    return out


def as_event_vector(values: ArrayLike, name: str = "event") -> NDArray[np.bool_]:
    """Event indicator as bool. Accepts bool or 0/1; R's 1/2 coding is refused, never guessed."""
    arr = np.asarray(values)
    if arr.dtype == bool:
        return arr.copy()
    num = as_float_vector(arr, name)
    bad = np.flatnonzero((num != 0) & (num != 1))
    if bad.size:
        raise ValueError(f"{name}: element {bad[0]} is {_show(arr[bad[0]])}; the event indicator must be 0/1 or "
                         "boolean (recode R's 1/2 status as status == 2)")
    return num == 1


def unique_inverse(values: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Sorted distinct values and each element's index into them (as ``np.unique(..., return_inverse=True)``).

    Hash-based (``pandas.factorize``) for large inputs, so that only the distinct values are sorted (much
    faster with ties); plain ``np.unique`` below 5000 values, where pandas' call overhead dominates.
    """
    if values.size < 5000:
        uniq, inv = np.unique(values, return_inverse=True)
        return uniq.astype(float), inv.astype(np.int64).ravel()
    codes, uniq = pd.factorize(values, sort=False)
    uniq = np.asarray(uniq, dtype=float)
    order = np.argsort(uniq, kind="stable")
    remap = np.empty(order.size, dtype=np.int64)
    remap[order] = np.arange(order.size)
    return uniq[order], remap[codes]


def aeq_times(time: NDArray[np.float64], tolerance: float = AEQ_TOLERANCE) -> NDArray[np.float64]:
    """Merge near-tied times onto the lower value, as R ``survival::aeqSurv`` (survival 3.5-3).

    Sorted unique times whose gap is ``<= tolerance`` in absolute terms, or relative to the mean absolute
    unique time, are treated as one time (the smallest of the run). Source: R/aeqSurv.R.
    """
    return _aeq(time, *unique_inverse(time), tolerance)[0]


def _aeq(time: NDArray[np.float64], uniq: NDArray[np.float64], inv: NDArray[np.int64],
         tolerance: float = AEQ_TOLERANCE) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """aeqSurv on times given with their distinct values; returns (times, distinct times, inverse)."""
    if uniq.size < 2:
        return time, uniq, inv
    gap = np.diff(uniq)
    scale = np.mean(np.abs(uniq))
    with np.errstate(divide="ignore", invalid="ignore"):
        tied = (gap <= tolerance) | (gap / scale <= tolerance)
    if not tied.any():
        return time, uniq, inv
    keep = np.concatenate(([True], ~tied))
    new_index = np.cumsum(keep) - 1
    cuts = uniq[keep]
    inv = new_index[inv]
    return cuts[inv], cuts, inv


@dataclass(frozen=True)
class SurvData:
    """Checked right-censored data: times (after timefix), events, case weights, stratum codes."""

    time: NDArray[np.float64]
    event: NDArray[np.bool_]
    weights: NDArray[np.float64]
    strata: NDArray[np.int64]          # 0..n_strata-1, in sorted order of the original labels
    strata_levels: tuple[Any, ...]
    unique_times: NDArray[np.float64]  # sorted distinct times (after timefix)
    time_rank: NDArray[np.int64]       # index of each time in unique_times

    @property
    def n(self) -> int:
        return int(self.time.size)


def encode_groups(values: ArrayLike, name: str) -> tuple[NDArray[np.int64], tuple[Any, ...]]:
    """Integer codes 0..k-1 for a grouping variable, levels in sorted order (R's factor() order).

    Hash-based (``pandas.factorize``), then only the k levels are sorted: fast for text labels.
    """
    ser = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    if isinstance(ser.dtype, pd.CategoricalDtype):
        if ser.isna().any():
            raise ValueError(f"{name}: element {int(np.flatnonzero(ser.isna().to_numpy())[0])} is missing")
        return ser.cat.codes.to_numpy().astype(np.int64), tuple(ser.cat.categories)
    codes, uniques = pd.factorize(ser, use_na_sentinel=True)
    if (codes < 0).any():
        raise ValueError(f"{name}: element {int(np.flatnonzero(codes < 0)[0])} is missing")
    levels = np.asarray(uniques)
    try:
        order = np.argsort(levels, kind="stable")
    except TypeError:                      # mixed types: sort by string form
        order = np.argsort(levels.astype(str), kind="stable")
    remap = np.empty(order.size, dtype=np.int64)
    remap[order] = np.arange(order.size)
    return remap[codes], tuple(v.item() if hasattr(v, "item") else v for v in levels[order])


def check_surv(time: ArrayLike, event: ArrayLike, *, weights: ArrayLike | None = None,
               strata: ArrayLike | None = None, timefix: bool = True) -> SurvData:
    """Validate right-censored survival data and apply R's ``timefix``.

    Parameters
    ----------
    time : array-like of float, shape (n,)
        Follow-up time (any unit, e.g. days), >= 0, finite.
    event : array-like of bool or {0, 1}, shape (n,)
        1/True = event, 0/False = censored.
    weights : array-like of float, optional
        Positive case weights (R ``weights=``).
    strata : array-like, optional
        Stratum label per subject.
    timefix : bool
        Merge near-tied times as R's ``aeqSurv`` (default True, as R).
    """
    t = as_float_vector(time, "time")
    d = as_event_vector(event, "event")
    n = t.size
    if d.size != n:
        raise ValueError(f"event: length {d.size} differs from time ({n})")
    if n == 0:
        raise ValueError("time: no observations")
    neg = np.flatnonzero(t < 0)
    if neg.size:
        raise ValueError(f"time: element {neg[0]} is {_show(t[neg[0]])}; times must be >= 0")
    w = np.ones(n) if weights is None else as_float_vector(weights, "weights")
    if w.size != n:
        raise ValueError(f"weights: length {w.size} differs from time ({n})")
    nonpos = np.flatnonzero(w <= 0)
    if nonpos.size:
        raise ValueError(f"weights: element {nonpos[0]} is {_show(w[nonpos[0]])}; weights must be > 0")
    if strata is None:
        codes, levels = np.zeros(n, dtype=np.int64), (None,)
    else:
        codes, levels = encode_groups(strata, "strata")
        if codes.size != n:
            raise ValueError(f"strata: length {codes.size} differs from time ({n})")
    uniq, inv = unique_inverse(t)
    if timefix:
        t, uniq, inv = _aeq(t, uniq, inv)
    return SurvData(t, d, w, codes, levels, uniq, inv)
