"""Splines for a continuous marker in a Cox model: restricted cubic (rms) and one-knot linear.

* Knots: ``Hmisc::rcspline.eval`` (Hmisc 4.8-0, as called by ``rms::rcs`` with ``fractied = 0.05``):
  type-7 quantiles at Harrell's default levels for 3–7 knots, the 5th smallest/largest value as outer
  knots when fewer than 100 values, interior unique values when ``unique − 2 <= k``, the
  heavy-tie rules (``fractied``) and the alternate ``2k``-quantile algorithm, reproduced line by line.
* Basis: ``rcspline.eval(norm = 2, inclx = TRUE)``: x and k − 2 truncated-power terms scaled by
  ``(t_k − t_1)^2``; linear beyond the outer knots (Harrell, Regression Modeling Strategies, 2nd ed.,
  §2.4.5; Stone & Koo 1985).
* One-knot linear spline in both parametrisations (survival_stats.md §5.3): ``"truncated"``
  (rms ``lsp``: x, (x − κ)₊; slope below κ and *change* of slope) and ``"segmented"``
  (min(x, κ), (x − κ)₊; slope below and slope above).
* The log-HR curve against a reference value with pointwise Wald CIs (§5.2).

No Python library places knots as rms does (patsy/scikit-learn use other rules or bases), which is why
this module exists; the Cox fit itself is ``cartlens.stats.cox.coxph`` (R ``coxph``/``rms::cph``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as sps

from cartlens.stats.cox import CoxResult, coxph
from cartlens.stats.riskgroups import quantile_type7

__all__ = ["SplineCoxResult", "linear_spline_cox", "lsp_basis", "rcs_basis", "rcs_knots", "spline_cox"]


def _r_seq(start: float, stop: float, length: int) -> np.ndarray:
    """R ``seq(start, stop, length = n)``: c(from, from + (1:(n-2)) * by, to)."""
    if length == 1:
        return np.array([start])
    by = (stop - start) / (length - 1)
    return np.r_[start, start + np.arange(1, length - 1) * by, stop]


def rcs_knots(x: ArrayLike, n_knots: int = 5, *, fractied: float = 0.05) -> np.ndarray:
    """Knot locations of ``rms::rcs(x, n_knots)`` (``Hmisc::rcspline.eval``, knots.only).

    Parameters
    ----------
    x : array-like of float
        Marker values (NaN removed first, as R's model frame).
    n_knots : int
        Requested number of knots (>= 3); rms' default for ``rcs(x)`` is 5, the CLI's 4.
    fractied : float
        Hmisc's tie fraction rule (rms default 0.05): an extreme value holding >= this fraction of the
        data becomes a knot next to it.

    Returns
    -------
    numpy.ndarray
        Sorted unique knots (may be fewer than requested, with a warning, as in R).
    """
    xx = np.asarray(x, dtype=float)
    xx = xx[~np.isnan(xx)]
    n = xx.size
    if n < 6:
        raise ValueError("knots not specified, and < 6 non-missing observations")
    if n_knots < 3:
        raise ValueError(f"n_knots must be >= 3, got {n_knots}")
    xu = np.unique(xx)
    if xu.size - 2 <= n_knots:
        warnings.warn(f"{n_knots} knots requested with {xu.size} unique values of x; knots set to "
                      f"{xu.size - 2} interior values", stacklevel=2)
        return _final_knots(xu[1:-1])
    outer = 0.025 if n_knots > 6 else 0.05 if n_knots > 3 else 0.1
    nke = n_knots
    first: list[float] = []
    last: list[float] = []
    override_first = override_last = False
    if 0 < fractied < 1:
        f = np.unique(xx, return_counts=True)[1] / n
        if f[1:-1].max() < fractied:
            if f[0] >= fractied:
                first = [float(xx[xx > xx.min()].min())]
                xx = xx[xx > first[0]]
                nke -= 1
                override_first = True
            if f[-1] >= fractied:
                last = [float(xx[xx < xx.max()].max())]
                xx = xx[xx < last[0]]
                nke -= 1
                override_last = True
    if nke == 1:
        knots = np.array([float(np.median(xx))])
    elif xu.size <= nke:
        knots = xu.copy()
    else:
        knots = _quantile_knots(xx, nke, outer, first, last)
        if xx.size < 100:                       # small samples: 5th smallest / largest as outer knots
            xs = np.sort(xx)
            if not override_first:
                knots[0] = xs[4]
            if not override_last:
                knots[nke - 1] = xs[xs.size - 5]
    return _final_knots(np.r_[first, knots, last])


def _quantile_knots(xx: np.ndarray, nke: int, outer: float, first: list[float], last: list[float]) -> np.ndarray:
    p = _r_seq(0.5, 1 - outer, nke) if nke == 2 else _r_seq(outer, 1 - outer, nke)
    knots = quantile_type7(xx, p)
    if np.unique(knots).size < min(nke, 3):
        knots = quantile_type7(xx, _r_seq(outer, 1 - outer, 2 * nke))
        if first and np.unique(knots).size < 3:
            mid = (first[0] + last[0]) / 2 if last else float(np.median(xx))
            knots = np.sort(np.r_[first[0], mid, last[0] if last else quantile_type7(xx, [1 - outer])[0]])
        nu = np.unique(knots).size
        if nu < 3:
            raise ValueError("fewer than 3 unique knots: the marker is too heavily tied for a spline")
        warnings.warn(f"could not obtain {nke} interior knots with default algorithm; used alternate "
                      f"algorithm to obtain {nu} knots", stacklevel=3)
    return np.asarray(knots, dtype=float).copy()


def _final_knots(knots: np.ndarray) -> np.ndarray:
    k = np.unique(knots)
    if k.size < 3:
        raise ValueError("fewer than 3 unique knots: the marker is too heavily tied for a spline")
    return k


def rcs_basis(x: ArrayLike, knots: ArrayLike, *, include_x: bool = True) -> np.ndarray:
    """Restricted cubic spline basis, ``Hmisc::rcspline.eval(x, knots, inclx = TRUE, norm = 2)``.

    Columns: x (when ``include_x``) then k − 2 nonlinear terms
    ``[(x−t_j)₊³ + ((t_{k−1}−t_j)(x−t_k)₊³ − (t_k−t_j)(x−t_{k−1})₊³)/(t_k−t_{k−1})] / (t_k−t_1)²``.
    """
    xv = np.asarray(x, dtype=float)
    t = np.sort(np.asarray(knots, dtype=float))
    if t.size < 3:
        raise ValueError(f"need >= 3 knots, got {t.size}")
    kd = (t[-1] - t[0]) ** (2 / 3)
    tk, tk1 = t[-1], t[-2]
    cols = [np.maximum((xv - t[j]) / kd, 0) ** 3
            + ((tk1 - t[j]) * np.maximum((xv - tk) / kd, 0) ** 3
               - (tk - t[j]) * np.maximum((xv - tk1) / kd, 0) ** 3) / (tk - tk1)
            for j in range(t.size - 2)]
    return np.column_stack(([xv] if include_x else []) + cols)


def lsp_basis(x: ArrayLike, knot: float, *,
              parametrisation: Literal["truncated", "segmented"] = "truncated") -> np.ndarray:
    """One-knot linear spline basis (survival_stats.md §5.3).

    ``"truncated"`` (rms ``lsp(x, κ)``): columns x, (x − κ)₊ — coefficients are the slope below κ and
    the change of slope above κ.  ``"segmented"``: min(x, κ), (x − κ)₊ — coefficients are the slope
    below and the slope above κ (γ1 = β1, γ2 = β1 + β2).
    """
    xv = np.asarray(x, dtype=float)
    above = np.maximum(xv - knot, 0.0)
    if parametrisation == "truncated":
        return np.column_stack([xv, above])
    if parametrisation == "segmented":
        return np.column_stack([np.minimum(xv, knot), above])
    raise ValueError(f"parametrisation must be 'truncated' or 'segmented', got {parametrisation!r}")


@dataclass(frozen=True)
class SplineCoxResult:
    """A Cox model with a spline of one marker (plus optional adjustment covariates)."""

    kind: str                         # "rcs" or "lsp-truncated" / "lsp-segmented"
    knots: tuple[float, ...]
    spline_names: tuple[str, ...]     # basis columns, R-style names (x, x', x'')
    fit: CoxResult                    # full model (spline columns first)
    linear_loglik: float              # fitted log-likelihood with x entered linearly (same covariates)

    @property
    def n_spline(self) -> int:
        return len(self.spline_names)

    def basis(self, x: ArrayLike) -> np.ndarray:
        if self.kind == "rcs":
            return rcs_basis(x, self.knots)
        return lsp_basis(x, self.knots[0], parametrisation=self.kind.split("-", 1)[1])  # type: ignore[arg-type]

    def log_hr(self, grid: ArrayLike, reference: float, *, level: float = 0.95) -> pd.DataFrame:
        """log HR of each grid value vs ``reference``: ``(b(x) − b(x_ref))ᵀβ̂`` with pointwise Wald CI."""
        g = np.atleast_1d(np.asarray(grid, dtype=float))
        diff = self.basis(g) - self.basis([reference])
        k = self.n_spline
        beta, var = self.fit.coef[:k], self.fit.var[:k, :k]
        est = diff @ beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", diff, var, diff))
        z = sps.norm.ppf(0.5 + level / 2)
        return pd.DataFrame({"x": g, "log_hr": est, "se": se, "lower": est - z * se, "upper": est + z * se,
                             "hr": np.exp(est)})

    def wald_test(self, which: Literal["overall", "nonlinear"] = "nonlinear") -> dict[str, float]:
        """rms ``anova``-style Wald test of all spline terms or of the nonlinear ones."""
        k = self.n_spline
        if which == "overall":
            contrast = np.eye(k)
        elif self.kind == "lsp-segmented":
            contrast = np.array([[-1.0, 1.0]])            # equal slopes below and above the knot
        else:
            contrast = np.eye(k)[1:]                      # nonlinear terms (rcs) / change of slope (lsp)
        b = contrast @ self.fit.coef[:k]
        v = contrast @ self.fit.var[:k, :k] @ contrast.T
        stat = float(b @ np.linalg.solve(v, b))
        df = int(contrast.shape[0])
        return {"chisq": stat, "df": df, "p": float(sps.chi2.sf(stat, df))}

    def lr_nonlinear(self) -> dict[str, float]:
        """Likelihood-ratio test of the spline against x entered linearly."""
        stat = 2 * (self.fit.loglik[1] - self.linear_loglik)
        df = self.n_spline - 1
        return {"chisq": float(stat), "df": df, "p": float(sps.chi2.sf(stat, df))}

    def to_dict(self, grid: ArrayLike | None = None) -> dict[str, Any]:
        """JSON of ``cartlens stats spline`` (cli.md): knots, loglik, log HR vs the first grid point."""
        g = np.asarray(self.knots if grid is None else grid, dtype=float)
        curve = self.log_hr(g, float(g[0]))
        return {"knots": list(self.knots), "loglik": [self.fit.loglik[0], self.fit.loglik[1]],
                "grid": g.tolist(), "log_hr_vs_first_grid_point": curve["log_hr"].tolist(),
                "log_hr_lower": curve["lower"].tolist(), "log_hr_upper": curve["upper"].tolist(),
                "coef": dict(zip(self.fit.names, self.fit.coef.tolist())),
                "se": dict(zip(self.fit.names, self.fit.se.tolist())),
                "nonlinear_wald": self.wald_test("nonlinear"), "overall_wald": self.wald_test("overall"),
                "nonlinear_lr": self.lr_nonlinear(), "n": self.fit.n, "events": self.fit.n_events}

    def summary(self) -> pd.DataFrame:
        return self.fit.summary()


def _adjust(covariates: ArrayLike | pd.DataFrame | None, n: int,
            names: list[str] | None) -> tuple[np.ndarray, list[str]]:
    if covariates is None:
        return np.empty((n, 0)), []
    if isinstance(covariates, pd.DataFrame):
        return covariates.to_numpy(dtype=float), list(map(str, covariates.columns))
    z = np.asarray(covariates, dtype=float).reshape(n, -1)
    return z, list(names) if names else [f"z{i + 1}" for i in range(z.shape[1])]


def _fit_with_basis(kind: str, knots: np.ndarray, basis: np.ndarray, spline_names: list[str], time: ArrayLike,
                    event: ArrayLike, x: np.ndarray, covariates: Any, covariate_names: list[str] | None,
                    **cox_kw: Any) -> SplineCoxResult:
    z, znames = _adjust(covariates, x.size, covariate_names)
    full = coxph(time, event, np.column_stack([basis, z]), names=spline_names + znames, **cox_kw)
    linear = coxph(time, event, np.column_stack([x, z]), names=[spline_names[0]] + znames, **cox_kw)
    return SplineCoxResult(kind=kind, knots=tuple(float(k) for k in knots), spline_names=tuple(spline_names),
                           fit=full, linear_loglik=float(linear.loglik[1]))


def spline_cox(time: ArrayLike, event: ArrayLike, x: ArrayLike, *, knots: int | ArrayLike = 4,
               covariates: ArrayLike | pd.DataFrame | None = None, covariate_names: list[str] | None = None,
               name: str = "x", **cox_kw: Any) -> SplineCoxResult:
    """Cox model with a restricted cubic spline of ``x``: R ``cph(Surv(time, event) ~ rcs(x, knots) + z)``.

    Parameters
    ----------
    time, event : array-like
        Follow-up time (>= 0) and 0/1 event indicator.
    x : array-like of float
        The marker (e.g. MTV, ml).
    knots : int or sequence of float
        Number of knots placed as rms does (3–7 usual), or explicit knot locations.
    covariates : DataFrame or array, optional
        Adjustment covariates (numeric, factors as 0/1 dummies).
    **cox_kw
        Passed to :func:`cartlens.stats.cox.coxph` (``ties``, ``strata``, ``weights`` …).
    """
    xv = np.asarray(x, dtype=float)
    kn = rcs_knots(xv, int(knots)) if np.ndim(knots) == 0 else np.sort(np.asarray(knots, dtype=float))
    names = [name] + [name + "'" * j for j in range(1, kn.size - 1)]
    return _fit_with_basis("rcs", kn, rcs_basis(xv, kn), names, time, event, xv, covariates, covariate_names,
                           **cox_kw)


def linear_spline_cox(time: ArrayLike, event: ArrayLike, x: ArrayLike, knot: float, *,
                      parametrisation: Literal["truncated", "segmented"] = "truncated",
                      covariates: ArrayLike | pd.DataFrame | None = None,
                      covariate_names: list[str] | None = None, name: str = "x",
                      **cox_kw: Any) -> SplineCoxResult:
    """Cox model with a one-knot linear spline of ``x`` (IMPI-style; R ``cph(... ~ lsp(x, knot) + z)``).

    The coefficients refer to ``parametrisation`` (see :func:`lsp_basis`); fitted values, log-likelihood
    and tests are the same for both.
    """
    if not math.isfinite(knot):
        raise ValueError(f"knot must be finite, got {knot!r}")
    xv = np.asarray(x, dtype=float)
    names = [name, name + "'"] if parametrisation == "truncated" else [f"{name}_below", f"{name}_above"]
    return _fit_with_basis(f"lsp-{parametrisation}", np.array([knot]), lsp_basis(xv, knot,
                           parametrisation=parametrisation), names, time, event, xv, covariates,
                           covariate_names, **cox_kw)
