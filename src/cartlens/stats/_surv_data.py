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


def aeq_times(time: NDArray[np.float64], tolerance: float = AEQ_TOLERANCE) -> NDArray[np.float64]:
    """Merge near-tied times onto the lower value, as R ``survival::aeqSurv`` (survival 3.5-3).

    Sorted unique times whose gap is ``<= tolerance`` in absolute terms, or relative to the mean absolute
    unique time, are treated as one time (the smallest of the run). Source: R/aeqSurv.R.
    """
    uniq = np.unique(time)
    if uniq.size < 2:
        return time
    gap = np.diff(uniq)
    scale = np.mean(np.abs(uniq))
    with np.errstate(divide="ignore", invalid="ignore"):
        tied = (gap <= tolerance) | (gap / scale <= tolerance)
    if not tied.any():
        return time
    cuts = uniq[np.concatenate(([True], ~tied))]
    return cuts[np.searchsorted(cuts, time, side="right") - 1]


@dataclass(frozen=True)
class SurvData:
    """Checked right-censored data: times (after timefix), events, case weights, stratum codes."""

    time: NDArray[np.float64]
    event: NDArray[np.bool_]
    weights: NDArray[np.float64]
    strata: NDArray[np.int64]          # 0..n_strata-1, in sorted order of the original labels
    strata_levels: tuple[Any, ...]

    @property
    def n(self) -> int:
        return int(self.time.size)


def encode_groups(values: ArrayLike, name: str) -> tuple[NDArray[np.int64], tuple[Any, ...]]:
    """Integer codes 0..k-1 for a grouping variable, levels in sorted order (R's factor() order)."""
    ser = pd.Series(np.asarray(values, dtype=object) if not isinstance(values, pd.Series) else values)
    if ser.isna().any():
        raise ValueError(f"{name}: element {int(np.flatnonzero(ser.isna().to_numpy())[0])} is missing")
    if isinstance(ser.dtype, pd.CategoricalDtype):
        codes = ser.cat.codes.to_numpy().astype(np.int64)
        return codes, tuple(ser.cat.categories)
    levels, codes = _sorted_levels(ser.to_numpy())
    return codes, levels


def _sorted_levels(arr: NDArray[Any]) -> tuple[tuple[Any, ...], NDArray[np.int64]]:
    try:
        levels, codes = np.unique(arr, return_inverse=True)
    except TypeError:   # mixed types: sort by string form
        levels, codes = np.unique(arr.astype(str), return_inverse=True)
    return tuple(v.item() if hasattr(v, "item") else v for v in levels), codes.astype(np.int64)


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
    if timefix:
        t = aeq_times(t)
    return SurvData(t, d, w, codes, levels)


def reverse_cumsum_within(values: NDArray[np.float64], stratum_end: NDArray[np.int64]) -> NDArray[np.float64]:
    """For rows sorted by stratum, sum of ``values[i:stratum_end[i]]`` for every row i (vectorised).

    ``values`` may be 1-D or 2-D (rows = subjects). ``stratum_end[i]`` is one past the last row of i's stratum.
    """
    rc = np.cumsum(values[::-1], axis=0)[::-1]
    pad = np.zeros((1,) + values.shape[1:])
    rc = np.concatenate((rc, pad), axis=0)
    return rc[: values.shape[0]] - rc[stratum_end]
