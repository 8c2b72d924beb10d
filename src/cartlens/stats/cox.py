"""Cox proportional-hazards regression, numerically identical to R ``survival::coxph`` (3.5-3).

Matches ``coxph(Surv(time, event) ~ x1 + ... + strata(s), ties = "efron"|"breslow", weights = w,
robust = TRUE, cluster = c)`` at R's defaults: start at beta = 0 (or ``init``), Newton-Raphson with R's step
halving, convergence when ``|1 - loglik_old / loglik_new| <= eps`` (1e-9), at most 20 iterations; near-tied
times merged (``timefix``); covariates whose values all lie in {-1, 0, 1} are not centred (R's
``nocenter``), so ``linear_predictors`` and ``basehaz(centered=True)`` use the same reference as R.
Robust variance: dfbeta residuals built from Efron-weighted score residuals, summed within clusters, no
small-sample factor (R ``residuals.coxph`` / ``coxscore2``).

References
----------
Cox DR. J R Stat Soc B 1972;34:187-220. Efron B. J Am Stat Assoc 1977;72:557-65.
Lin DY, Wei LJ. J Am Stat Assoc 1989;84:1074-8 (robust variance). Therneau TM, Grambsch PM. Modeling Survival
Data, Springer 2000. R survival 3.5-3: R/coxph.R, R/coxph.fit.R, src/coxfit6.c, src/coxscore2.c.
Spec: survival_stats.md §4.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special

from cartlens.stats import _cox_engine as eng
from cartlens.stats import _rchol as rchol
from cartlens.stats._surv_data import as_float_vector, check_surv, encode_groups
from cartlens.stats.concordance import harrell_c

__all__ = ["CoxConvergenceWarning", "CoxResult", "coxph"]


class CoxConvergenceWarning(UserWarning):
    """R's "Ran out of iterations" / "coefficient may be infinite" warnings."""


def _chi2_test(stat: float, df: int) -> dict[str, float]:
    return {"chisq": float(stat), "df": int(df), "p": float(special.chdtrc(df, stat))}


@dataclass(frozen=True, eq=False)
class CoxResult:
    """A fitted Cox model. Arrays are in the order of ``names``; rows in the caller's order."""

    names: tuple[str, ...]
    coef: np.ndarray
    var: np.ndarray              # model-based, or robust when robust=True (R's fit$var)
    naive_var: np.ndarray        # model-based inverse information
    robust: bool
    loglik: tuple[float, float]  # (at init / null model, at the fit)
    score_stat: float            # score (log-rank) test at init, model-based
    robust_score_stat: float | None
    means: np.ndarray
    linear_predictors: np.ndarray
    n: int
    n_events: int
    iterations: int
    ties: str
    infinite: tuple[str, ...]    # covariates R would warn about ("coefficient may be infinite")
    converged: bool
    init: np.ndarray             # starting values (zeros unless given); Wald and LR tests are against them
    _design: eng.CoxDesign = field(repr=False)
    _strata_levels: tuple[Any, ...] = field(repr=False)
    _strata_codes: np.ndarray = field(repr=False)
    _time: np.ndarray = field(repr=False)
    _cluster: np.ndarray | None = field(repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ inference
    @property
    def se(self) -> np.ndarray:
        """Standard errors as R's summary prints them (robust s.e. when robust=True)."""
        return np.sqrt(np.diag(self.var))

    @property
    def naive_se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.naive_var))

    @property
    def robust_se(self) -> np.ndarray | None:
        return self.se if self.robust else None

    @property
    def z(self) -> np.ndarray:
        return self.coef / self.se

    @property
    def p(self) -> np.ndarray:
        return 2.0 * special.ndtr(-np.abs(self.z))

    def hr_ci(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Hazard-ratio confidence limits ``exp(beta -/+ z se)`` (R summary(coxph), conf.int=level)."""
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        q = special.ndtri(1 - (1 - level) / 2)
        with np.errstate(over="ignore"):          # infinite coefficients give inf limits (JSON null)
            return np.exp(self.coef - q * self.se), np.exp(self.coef + q * self.se)

    @property
    def lr_test(self) -> dict[str, float]:
        """Likelihood-ratio test ``2 (l(beta) - l(init))`` on p df (model-based, also when robust)."""
        return _chi2_test(2.0 * (self.loglik[1] - self.loglik[0]), len(self.names))

    @property
    def wald_test(self) -> dict[str, float]:
        """Wald test ``(beta - init)' V^-1 (beta - init)`` with R's V (robust when robust=True)."""
        diff = self.coef - self.init          # R: coxph.wtest(var, coef - init)
        stat = float(diff @ np.linalg.solve(self.var, diff))
        return _chi2_test(stat, len(self.names))

    @property
    def score_test(self) -> dict[str, float]:
        """Score (log-rank) test at init; robust score test when robust=True (as R's summary)."""
        stat = self.robust_score_stat if self.robust and self.robust_score_stat is not None else self.score_stat
        return _chi2_test(stat, len(self.names))

    @property
    def concordance(self) -> tuple[float, float]:
        """Harrell's C of the linear predictor and R's infinitesimal-jackknife s.e. (as fit$concordance)."""
        if "concordance" not in self._cache:
            d = self._design
            inv = np.empty_like(d.order)
            inv[d.order] = np.arange(d.order.size)
            self._cache["concordance"] = harrell_c(
                self._time, d.event[inv], self.linear_predictors, strata=self._strata_codes,
                weights=d.weight[inv], cluster=self._cluster, timefix=False)
        return self._cache["concordance"]

    # ------------------------------------------------------------------ prediction
    def basehaz(self, centered: bool = True) -> pd.DataFrame:
        """Cumulative baseline hazard at every distinct time per stratum (R ``basehaz``).

        ``centered=True`` is for a subject at ``means`` (R's default, with R's centring rule);
        ``centered=False`` for covariates all 0. Efron fits use Efron increments (R ctype 2).
        """
        d = self._design
        haz = eng.efron_hazard(d, self.coef)
        if not centered:
            haz = haz * np.exp(-float(self.means @ self.coef))
        t_sorted = self._time[d.order]
        s_sorted = self._strata_codes[d.order]
        frames = []
        for k, level in enumerate(self._strata_levels):
            rows = s_sorted == k
            times = np.unique(t_sorted[rows])
            inc = np.zeros(times.size)
            in_k = s_sorted[d.g_start] == k
            inc[np.searchsorted(times, t_sorted[d.g_start[in_k]])] = haz[in_k]
            frame = pd.DataFrame({"time": times, "hazard": np.cumsum(inc)})
            if len(self._strata_levels) > 1:
                frame["strata"] = level
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def survfit(self, new_x: ArrayLike, *, stratum: Any = None) -> pd.DataFrame:
        """Predicted survival step functions ``S(t|x) = exp(-H0(t) exp((x - means)'beta))`` (R survfit(fit, newdata)).

        Returns one column per row of ``new_x`` (a DataFrame or 2-D array in ``names`` order), indexed by the
        distinct times of the model (of ``stratum`` for a stratified model, where it is required): step values,
        right-continuous, never interpolated. Efron fits use Efron hazard increments (R's default ctype).
        """
        xn = _design_matrix(new_x, self.names)[0]
        base = self.basehaz(centered=True)
        if len(self._strata_levels) > 1:
            if stratum not in self._strata_levels:
                raise ValueError(f"stratum: {stratum!r} is not one of the model's strata {list(self._strata_levels)}")
            base = base[base["strata"] == stratum]
        elif stratum is not None:
            raise ValueError("stratum: the model has no strata")
        lp = eng.row_dot(xn, self.coef) - float(np.sum(self.coef * self.means))
        surv = np.exp(-np.outer(base["hazard"].to_numpy(), np.exp(lp)))
        return pd.DataFrame(surv, index=pd.Index(base["time"].to_numpy(), name="time"))

    # ------------------------------------------------------------------ presentation
    def summary(self) -> pd.DataFrame:
        """R's ``summary(coxph)`` coefficient table."""
        lo, hi = self.hr_ci()
        table = {"coef": self.coef, "exp(coef)": np.exp(self.coef), "se(coef)": self.naive_se}
        if self.robust:
            table["robust se"] = self.se
        table.update({"z": self.z, "Pr(>|z|)": self.p, "lower .95": lo, "upper .95": hi})
        return pd.DataFrame(table, index=pd.Index(self.names, name="covariate"))

    def to_dict(self) -> dict[str, Any]:
        """JSON of ``cartlens stats cox`` (spec cli.md); keys never change."""
        lo, hi = self.hr_ci()
        with np.errstate(over="ignore"):
            hr = np.exp(self.coef)
        coefs = {name: {"coef": float(self.coef[i]), "se": float(self.se[i]), "hr": float(hr[i]),
                        "hr_lower": float(lo[i]), "hr_upper": float(hi[i]), "z": float(self.z[i]),
                        "p": float(self.p[i])} for i, name in enumerate(self.names)}
        c, c_se = self.concordance
        return {"n": self.n, "events": self.n_events, "coef": coefs, "loglik": [self.loglik[0], self.loglik[1]],
                "lr_test": self.lr_test, "wald_test": self.wald_test, "score_test": self.score_test,
                "concordance": {"c": c, "se": c_se}, "ties": self.ties, "iterations": self.iterations,
                "robust": self.robust, "converged": self.converged, "infinite_coef": list(self.infinite)}


def _design_matrix(x: ArrayLike, names: tuple[str, ...] | list[str] | None) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(x, pd.DataFrame):
        frame: pd.DataFrame = x
        if names is not None and set(names) <= set(map(str, frame.columns)):
            frame = frame[list(names)]
        cols = tuple(map(str, frame.columns)) if names is None else tuple(names)
        if len(cols) != frame.shape[1]:
            raise ValueError(f"names: {len(cols)} names for {frame.shape[1]} columns of X")
        if frame.shape[1] == 0:
            return np.zeros((len(frame), 0)), cols
        arr = np.column_stack([as_float_vector(frame.iloc[:, j].to_numpy(), f"X[{cols[j]}]")
                               for j in range(frame.shape[1])])
        return arr, cols
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"X: expected a 2-D array, got shape {arr.shape}")
    cols = tuple(f"x{j + 1}" for j in range(arr.shape[1])) if names is None else tuple(names)
    if len(cols) != arr.shape[1]:
        raise ValueError(f"names: {len(cols)} names for {arr.shape[1]} columns of X")
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        i, j = bad[0]
        raise ValueError(f"X[{cols[j]}]: element {i} is {float(arr[i, j])!r}; missing or infinite values are not "
                         "allowed")
    return arr, cols


def coxph(time: ArrayLike, event: ArrayLike, X: ArrayLike, *, names: list[str] | None = None,
          strata: ArrayLike | None = None, ties: Literal["efron", "breslow"] = "efron",
          weights: ArrayLike | None = None, robust: bool | None = None, cluster: ArrayLike | None = None,
          init: ArrayLike | None = None, max_iter: int = 20, eps: float = 1e-9, timefix: bool = True) -> CoxResult:
    """Fit a Cox proportional-hazards model as R ``survival::coxph`` does.

    Parameters
    ----------
    time : array-like of float, shape (n,)
        Follow-up time (e.g. days), >= 0.
    event : array-like of bool or {0, 1}, shape (n,)
        1 = event, 0 = censored (R's 1/2 coding is refused).
    X : DataFrame or 2-D array, shape (n, p)
        Covariates (numeric; code factors as 0/1 dummies, as R's treatment contrasts).
    names : list of str, optional
        Covariate names (default: DataFrame columns, else x1..xp).
    strata : array-like, optional
        Stratum per subject (R ``strata()``): separate baseline hazards, common beta.
    ties : {"efron", "breslow"}
        Tie handling; "efron" is R's default.
    weights : array-like of float, optional
        Positive case weights.
    robust : bool, optional
        Lin-Wei robust (sandwich) variance. ``None`` (default) follows R: robust when ``cluster`` is given or
        any weight is not an integer.
    cluster : array-like, optional
        Cluster id per subject; dfbeta residuals are summed within clusters.
    init : array-like, optional
        Starting values (R ``init``); the first log-likelihood and the score tests are evaluated there and the
        Wald test is against them.
    max_iter, eps : int, float
        R ``coxph.control(iter.max = 20, eps = 1e-9)``.
    timefix : bool
        Merge near-tied times as R's aeqSurv (default True).

    Returns
    -------
    CoxResult

    Raises
    ------
    ValueError
        Bad input, no events, or collinear covariates (R would return NA for the aliased column; we refuse
        and name it). Non-convergence and R's "coefficient may be infinite" condition are reported by a
        :class:`CoxConvergenceWarning` and the ``converged`` / ``infinite`` fields.
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r} (R's 'exact' is not implemented)")
    x, cols = _design_matrix(X, names)
    sd = check_surv(time, event, weights=weights, strata=strata, timefix=timefix)
    if x.shape[0] != sd.n:
        raise ValueError(f"X: {x.shape[0]} rows but time has {sd.n}")
    if x.shape[1] == 0:
        raise ValueError("X: no covariates (fit the null model with kaplan_meier / basehaz instead)")
    if not sd.event.any():
        raise ValueError("event: no events, the Cox model cannot be fitted")
    design = eng.build_design(sd.time, sd.event, x, sd.weights, sd.strata, efron=ties == "efron")
    beta0 = np.zeros(x.shape[1]) if init is None else as_float_vector(init, "init")
    if beta0.size != x.shape[1]:
        raise ValueError(f"init: {beta0.size} values for {x.shape[1]} covariates")
    fit = _newton(design, beta0, cols, max_iter=max_iter, eps=eps)
    coef, naive_var, loglik, sctest, iters, converged, final = fit
    # R: lp = X %*% coef - sum(coef * means), each row summed in covariate order (identical rows, identical lp)
    lp = eng.row_dot(x, coef) - float(np.sum(coef * design.means))
    infinite = _infinite_flags(final.score, naive_var, coef, eps, converged, lp, cols, max_iter)
    cl = None
    if cluster is not None:
        cl_codes, _ = encode_groups(cluster, "cluster")
        if cl_codes.size != sd.n:
            raise ValueError(f"cluster: length {cl_codes.size} differs from time ({sd.n})")
        cl, robust = cl_codes, True
    if robust is None:
        robust = cl is not None or bool(np.any(sd.weights != np.floor(sd.weights)))
    var, rscore = naive_var, None
    if robust:
        var, rscore = _robust(design, coef, beta0, naive_var, cl)
    return CoxResult(cols, coef, var, naive_var, robust, loglik, sctest, rscore, design.means, lp, sd.n,
                     int(sd.event.sum()), iters, ties, infinite, converged, beta0, design, sd.strata_levels,
                     sd.strata, sd.time, cl)


def _newton(design: eng.CoxDesign, beta0: np.ndarray, cols: tuple[str, ...], *, max_iter: int,
            eps: float) -> tuple[np.ndarray, np.ndarray, tuple[float, float], float, int, bool, eng.CoxTerms]:
    """R coxfit6's Newton-Raphson loop with step halving (src/coxfit6.c), on R's scaled covariates.

    Steps and the inverse use R's ``cholesky2``/``chsolve2``/``chinv2`` (a redundant column gets a zero step).
    A singular information at convergence is an error (R: NA coefficient). When the iterations run out, R
    inverts the *unfactored* information (its variance is then ``1 / diag(I)``); that is reproduced.
    """
    scale = design.scale
    outer = np.outer(scale, scale)

    def step_of(terms: eng.CoxTerms) -> np.ndarray:
        return rchol.solve(terms.info * outer, terms.score * scale, eng.TOLER_CHOL) * scale

    cur = eng.cox_terms(design, beta0)
    step = step_of(cur)
    sctest = float(cur.score @ step)
    loglik0 = cur.loglik
    if max_iter == 0:
        return beta0, _inverse(cur.info, scale, cols), (loglik0, loglik0), sctest, 0, True, cur
    beta, best, best_terms = beta0, loglik0, cur
    new = beta0 + step
    halving = 0
    for it in range(1, max_iter + 1):
        terms = eng.cox_terms(design, new)
        finite = np.isfinite(terms.loglik) and np.all(np.isfinite(terms.score)) and np.all(np.isfinite(terms.info))
        with np.errstate(divide="ignore", invalid="ignore"):     # loglik 0: C gives inf/nan, not converged
            change = abs(1.0 - np.float64(best) / np.float64(terms.loglik))
        if finite and change <= eps:
            return new, _inverse(terms.info, scale, cols), (loglik0, terms.loglik), sctest, it, True, terms
        if not finite or terms.loglik < best:        # R updates on the last iteration too (coxfit6.c)
            halving += 1
            new = (new + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            best, best_terms = terms.loglik, terms
            beta = new
            new = new + step_of(terms)
    final = eng.cox_terms(design, beta) if max_iter > 1 else best_terms
    warnings.warn(f"Cox fit ran out of iterations ({max_iter}) and did not converge", CoxConvergenceWarning,
                  stacklevel=3)
    diag = np.diag(final.info)
    var = np.diag(np.where(diag > 0, 1.0 / np.where(diag > 0, diag, 1.0), 0.0))   # R: chinv2 on raw imat
    # R reports iter = iter.max + 1 when it ran out (the C loop counter after the loop)
    return beta, var, (loglik0, final.loglik), sctest, max_iter + 1, False, final


def _inverse(info: np.ndarray, scale: np.ndarray, cols: tuple[str, ...]) -> np.ndarray:
    """R's variance: chinv2 of the scaled information, rescaled; redundant columns are an error here."""
    outer = np.outer(scale, scale)
    var = rchol.inverse(info * outer, eng.TOLER_CHOL) * outer
    singular = np.diag(var) == 0
    if singular.any():
        bad = [cols[i] for i in np.flatnonzero(singular)]
        raise ValueError(f"X: covariate(s) {bad} are collinear with the others (or constant within strata); "
                         "the information matrix is singular (R would report NA coefficients)")
    return var


def _infinite_flags(score: np.ndarray, var: np.ndarray, coef: np.ndarray, eps: float, converged: bool,
                    lp: np.ndarray, cols: tuple[str, ...], max_iter: int) -> tuple[str, ...]:
    """R coxph.fit's "coefficient may be infinite" rule (toler.inf = 3.16e-5)."""
    if max_iter <= 1:
        return ()
    infs = np.abs(score @ var)
    if not converged:
        flag = np.max(lp) > 500 or not np.all(np.isfinite(infs))
        return tuple(cols) if flag else ()
    bad = ~np.isfinite(score) | ((infs > eps) & (infs > eng.TOLER_INF * np.abs(coef)))
    names = tuple(c for c, b in zip(cols, bad) if b)
    if names:
        warnings.warn(f"Loglik converged before covariate(s) {list(names)}; coefficient may be infinite "
                      "(separation)", CoxConvergenceWarning, stacklevel=4)
    return names


def _robust(design: eng.CoxDesign, coef: np.ndarray, beta0: np.ndarray, naive_var: np.ndarray,
            cluster: np.ndarray | None) -> tuple[np.ndarray, float]:
    """Robust variance ``D'D`` (D = weighted dfbeta, summed by cluster) and the robust score test (R coxph)."""
    w = design.weight[:, None]
    dfbeta = (eng.score_residuals(design, coef) * w) @ naive_var
    # R coxph: robust => a cluster (one per row if none given), so the robust score test is at init (or 0)
    score0 = eng.score_residuals(design, beta0) * w
    if cluster is not None:
        cl = cluster[design.order]
        k = int(cl.max()) + 1
        dfbeta = np.stack([np.bincount(cl, weights=dfbeta[:, j], minlength=k) for j in range(coef.size)], axis=1)
        score0 = np.stack([np.bincount(cl, weights=score0[:, j], minlength=k) for j in range(coef.size)], axis=1)
    var = dfbeta.T @ dfbeta
    u = score0.sum(axis=0)
    rscore = float(u @ np.linalg.solve(score0.T @ score0, u))
    return var, rscore
