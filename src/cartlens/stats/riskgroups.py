"""Risk groups fitted on a development cohort and applied unchanged to validation cohorts.

Survival_stats.md §6: cutpoints are type-7 quantiles (R's ``quantile()`` default) of the development
prognostic index at 1/2 (median split) or 1/3, 2/3 (terciles); groups are ``PI <= q`` (low) and
``PI > q`` (high), terciles ``(−∞, q1/3], (q1/3, q2/3], (q2/3, ∞)``.  The same numeric cutpoints are
applied to any later cohort (never re-estimated there), so validation group sizes are reported as
they fall (TRIPOD items 10c and 11; Royston & Altman, BMC Med Res Methodol 2013;13:33).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["RiskGroups", "fit_risk_groups", "quantile_type7"]


def quantile_type7(x: ArrayLike, probs: ArrayLike) -> np.ndarray:
    """R's ``quantile(x, probs)`` default (type 7), with R's own arithmetic.

    ``index = 1 + (n − 1)p``, ``q = (1 − h) x_(lo) + h x_(hi)`` with ``h = index − floor(index)``
    (Hyndman & Fan 1996, type 7; R ``stats:::quantile.default``).  NaN is rejected.
    """
    v = np.sort(np.asarray(x, dtype=float).ravel())
    p = np.atleast_1d(np.asarray(probs, dtype=float))
    if v.size == 0:
        raise ValueError("quantile of an empty vector")
    if np.isnan(v).any():
        raise ValueError("quantile: values contain NaN")
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"probs must lie in [0, 1], got {p.tolist()}")
    index = 1 + max(v.size - 1, 0) * p
    lo = np.floor(index).astype(int)
    hi = np.ceil(index).astype(int)
    qs = v[lo - 1]
    xhi = v[hi - 1]
    move = (index > lo) & (xhi != qs)
    h = index - lo
    return np.where(move, (1 - h) * qs + h * xhi, qs)


_SCHEMES: dict[str, tuple[float, ...]] = {"median": (0.5,), "tercile": (1 / 3, 2 / 3), "quartile": (0.25, 0.5, 0.75)}


@dataclass(frozen=True)
class RiskGroups:
    """Cutpoints learned once on a development prognostic index; :meth:`apply` many times.

    ``cutpoints`` are on the index scale (keep the same centring as in development).
    Group k (0-based) holds ``cutpoints[k-1] < PI <= cutpoints[k]``.
    """

    scheme: str
    probs: tuple[float, ...]
    cutpoints: tuple[float, ...]
    labels: tuple[str, ...]
    development_sizes: tuple[int, ...]

    def apply(self, index: ArrayLike) -> np.ndarray:
        """Group number (0 = lowest risk) of each value of a prognostic index; NaN is rejected."""
        pi = np.asarray(index, dtype=float)
        bad = np.flatnonzero(~np.isfinite(pi))
        if bad.size:
            raise ValueError(f"index[{bad[0]}]: must be finite, got {pi.ravel()[bad[0]]!r}")
        return np.searchsorted(np.asarray(self.cutpoints), pi, side="left")   # PI <= q -> lower group

    def labels_of(self, index: ArrayLike) -> np.ndarray:
        """Group labels ("low", "high" or "low", "intermediate", "high") of each index value."""
        return np.asarray(self.labels, dtype=object)[self.apply(index)]

    def sizes(self, index: ArrayLike) -> tuple[int, ...]:
        """Number of subjects per group when applied to ``index``."""
        return tuple(int(c) for c in np.bincount(self.apply(index), minlength=len(self.labels)))

    def to_dict(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "probs": list(self.probs), "cutpoints": list(self.cutpoints),
                "labels": list(self.labels), "development_sizes": list(self.development_sizes)}

    def summary(self) -> pd.DataFrame:
        lower = (-np.inf, *self.cutpoints)
        upper = (*self.cutpoints, np.inf)
        return pd.DataFrame({"group": self.labels, "index_above": lower, "index_at_most": upper,
                             "n_development": self.development_sizes})


def fit_risk_groups(index: ArrayLike, *, scheme: Literal["median", "tercile", "quartile"] = "tercile",
                    probs: ArrayLike | None = None) -> RiskGroups:
    """Learn risk-group cutpoints from a development prognostic index (type-7 quantiles).

    Parameters
    ----------
    index : array-like of float, shape (n,)
        Development-cohort prognostic index (e.g. Cox linear predictor, uncentred or centred).
    scheme : {"median", "tercile", "quartile"}
        Which quantiles; ignored when ``probs`` is given.
    probs : array-like of float, optional
        Custom increasing quantile levels in (0, 1).
    """
    if probs is None:
        if scheme not in _SCHEMES:
            raise ValueError(f"scheme must be one of {sorted(_SCHEMES)}, got {scheme!r}")
        pr = _SCHEMES[scheme]
    else:
        pr = tuple(float(p) for p in np.atleast_1d(probs))
        scheme = "custom"
        if not pr or any(not 0 < p < 1 for p in pr) or any(np.diff(pr) <= 0):
            raise ValueError(f"probs must be increasing values in (0, 1), got {list(pr)}")
    pi = np.asarray(index, dtype=float)
    bad = np.flatnonzero(~np.isfinite(pi))
    if bad.size:
        raise ValueError(f"index[{bad[0]}]: must be finite, got {pi[bad[0]]!r}")
    cuts = tuple(float(c) for c in quantile_type7(pi, pr))
    k = len(cuts) + 1
    labels = ("low", "high") if k == 2 else ("low", "intermediate", "high") if k == 3 else tuple(
        f"Q{i + 1}" for i in range(k))
    sizes = np.bincount(np.searchsorted(np.asarray(cuts), pi, side="left"), minlength=k)
    return RiskGroups(scheme=scheme, probs=pr, cutpoints=cuts, labels=labels,
                      development_sizes=tuple(int(s) for s in sizes))
