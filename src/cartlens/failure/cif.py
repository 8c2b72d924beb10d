"""Cumulative incidence of local failure with death as a competing risk (Aalen–Johansen).

Spec patterns_of_failure.md §2.5 (time-to-event option): death without local failure is a
competing event, so 1 - KM of local failure would overstate it. The Aalen–Johansen estimate
for one cause k at the distinct event times t_j is

    CIF_k(t) = sum_{t_j <= t} S(t_{j-1}) d_kj / n_j,

with S the all-cause Kaplan–Meier estimate, d_kj the events of cause k at t_j and n_j the number
at risk. Written here because no Python dependency of cartlens offers it (lifelines'
``AalenJohansenFitter`` jitters tied times); it equals R
``survfit(Surv(time, factor(status, 0:2)) ~ 1)$pstate`` (checked in
``tests/failure/test_cif.py`` against ``tests/reference/cif_reference.json``). Lesions of one
patient are not independent; the estimate is still unbiased, but no variance is given here.

References
----------
Aalen OO, Johansen S. Scand J Stat 1978;5:141-50. Putter H, Fiocco M, Geskus RB. Tutorial in
biostatistics: competing risks and multi-state models. Stat Med 2007;26:2389-430.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["cumulative_incidence"]


def cumulative_incidence(time: ArrayLike, status: ArrayLike, *, cause: int = 1,
                         times: Sequence[float] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aalen–Johansen cumulative incidence of one cause.

    Parameters
    ----------
    time : array-like of float, shape (n,)
        Days from infusion to the first event or censoring, >= 0.
    status : array-like of int, shape (n,)
        0 = censored, 1 = local failure, 2 = death without local failure (any positive integer
        is a cause).
    cause : int
        The cause whose incidence is returned (default 1).
    times : sequence of float
        Times at which to report the step function (right-continuous, as R's ``summary(fit, times=)``).

    Returns
    -------
    (event_times, cif, cif_at_times)
        Distinct times with any event, the incidence just after each, and the values at ``times``.
    """
    t = np.asarray(time, dtype=float)
    s = np.asarray(status)
    if t.shape != s.shape or t.ndim != 1:
        raise ValueError("time and status must be 1-D arrays of the same length")
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise ValueError("time must be finite and >= 0")
    if not np.issubdtype(s.dtype, np.integer) or np.any(s < 0):
        raise ValueError("status must be integers >= 0 (0 = censored)")
    uniq = np.unique(t[s > 0])
    at_risk = np.array([(t >= u).sum() for u in uniq], dtype=float)
    d_all = np.array([((t == u) & (s > 0)).sum() for u in uniq], dtype=float)
    d_k = np.array([((t == u) & (s == cause)).sum() for u in uniq], dtype=float)
    surv_before = np.cumprod(np.r_[1.0, 1.0 - d_all / at_risk])[:-1]
    cif = np.cumsum(surv_before * d_k / at_risk)
    idx = np.searchsorted(uniq, np.asarray(times, dtype=float), side="right") - 1
    at = np.where(idx >= 0, cif[np.clip(idx, 0, None)] if len(cif) else 0.0, 0.0)
    return uniq, cif, at
