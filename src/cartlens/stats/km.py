"""Kaplan-Meier estimation as R ``survival::survfit(Surv(time, event) ~ 1)`` (survival 3.5-3).

* Greenwood variance; ``std_err`` is R's stored ``std.err`` (s.e. of the cumulative hazard,
  ``sqrt(sum d / (n (n - d)))``); ``summary()`` / ``at()`` print ``S * std_err`` as R's summary does.
* Pointwise confidence intervals ``log`` (R default), ``log-log``, ``plain``, ``logit``, ``arcsin`` with R's
  ``survfit_confint`` formulas and edge rules (log: NA where S = 0; log-log: NA where S is 0 or 1; upper limits
  truncated at 1).
* Quantiles and the median by R's ``quantile.survfit`` / ``findq`` rule: the first time with S(t) <= 1 - p, or
  the midpoint of a flat stretch where S equals 1 - p exactly (tolerance sqrt(eps)); confidence limits by the
  same rule applied to the lower and upper pointwise curves (Brookmeyer & Crowley 1982).
* ``at(times)``: R's ``summary(fit, times = ..., extend = TRUE)``: S at the last time <= t, the number at risk
  ``#{time >= t}``, events and censorings in (previous requested time, t].
* Median follow-up by the reverse Kaplan-Meier method (Schemper & Smith 1996) and landmark selection
  (Anderson, Cain & Gelber 1983; Dafni 2011).

With case weights the counts are weighted sums. When a weight is not an integer R (``survfitKM``, ``has.rwt``)
replaces Greenwood by the infinitesimal-jackknife variance of S (each observation its own cluster,
``survfitkm.c``); so do we, in closed form: with ``h_i = d_i / n_i`` and ``g_i = 1 / (n_i (1 - h_i))``,
observation k's influence is ``S(t) w_k A_k(t)``, ``A_k(t) = sum_{t_i <= min(t, T_k)} h_i g_i - delta_k
[T_k <= t] g(T_k)``. ``std_err`` stays on the log scale (R stores the S-scale value there and flags
``logse = FALSE``; the intervals and the printed s.e. are the same).

References
----------
Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-81. Greenwood M. Rep Public Health Med Subj 1926;33.
Brookmeyer R, Crowley J. Biometrics 1982;38:29-41. Schemper M, Smith TL. Control Clin Trials 1996;17:343-6.
R survival 3.5-3: R/survfitKM.R, R/survfit_confint, R/quantile.survfit.R, R/summary.survfit.R.
Spec: survival_stats.md §2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from cartlens.stats._surv_data import AEQ_TOLERANCE, as_float_vector, check_surv, encode_groups

__all__ = ["KMResult", "LandmarkResult", "kaplan_meier", "km_by_group", "landmark", "reverse_km_median_followup"]

ConfType = Literal["log", "log-log", "plain", "logit", "arcsin"]
_CONF_TYPES = ("log", "log-log", "plain", "logit", "arcsin")


def _none(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def confint(surv: NDArray[np.float64], std_err: NDArray[np.float64], conf_type: str,
            conf_level: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pointwise limits from S and the log-scale s.e., as R ``survival:::survfit_confint`` (nan = R's NA)."""
    z = special.ndtri(1 - (1 - conf_level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            half = std_err * surv * z
            return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            return np.exp(np.log(xx) - z * std_err), np.minimum(np.exp(np.log(xx) + z * std_err), 1.0)
        if conf_type == "log-log":
            xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
            se2 = z * std_err / np.log(xx)
            theta = np.log(-np.log(xx))
            return np.exp(-np.exp(theta - se2)), np.exp(-np.exp(theta + se2))
        if conf_type == "logit":
            xx = np.where(surv == 0, np.nan, surv)
            se2 = z * std_err * (1 + xx / (1 - xx))
            logit = np.log(surv / (1 - surv))
            return 1 - 1 / (1 + np.exp(logit - se2)), 1 - 1 / (1 + np.exp(logit + se2))
        if conf_type == "arcsin":
            xx = np.where(surv == 0, np.nan, surv)
            se2 = 0.5 * z * std_err * np.sqrt(xx / (1 - xx))
            root = np.arcsin(np.sqrt(xx))
            return np.sin(np.maximum(0.0, root - se2)) ** 2, np.sin(np.minimum(np.pi / 2, root + se2)) ** 2
    raise ValueError(f"conf_type must be one of {_CONF_TYPES}, got {conf_type!r}")


def _findq(x: NDArray[np.float64], y: NDArray[np.float64], p: float, tol: float = AEQ_TOLERANCE) -> float:
    """R ``survival:::findq``: the p-quantile of a step curve ``y = 1 - S`` at times ``x`` (nan = NA)."""
    if not np.any(np.isfinite(y)) or np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    # duplicated() keeps the first of each value (NA counts as one value)
    key = np.where(np.isnan(y), np.inf, y)
    _, first = np.unique(key, return_index=True)
    keep = np.sort(first)
    x, y = x[keep], y[keep]
    idx = np.arange(y.size)
    ok = ~np.isnan(y)

    def approx_index(knots: NDArray[np.float64]) -> float:
        kx, ky = knots[ok], idx[ok]
        if kx.size == 0 or p < kx[0] or p > kx[-1]:
            return float("nan")
        return float(ky[np.searchsorted(kx, p, side="left")])

    i1, i2 = approx_index(y + tol), approx_index(y - tol)
    if p == 0:
        return float(x[0])
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        return float((x[int(i1)] + xmax) / 2) if not np.isnan(i1) else float("nan")
    if np.isnan(i1) or np.isnan(i2):
        return float("nan")
    return float((x[int(i1)] + x[int(i2)]) / 2)


def _minmin(y: NDArray[np.float64], x: NDArray[np.float64], tol: float = AEQ_TOLERANCE) -> float:
    """R ``survival:::survmean``'s median rule (the one ``print(survfit)`` shows); nan = NA."""
    keep = ~np.isnan(y) & (y < 0.5 + tol)
    if not keep.any():
        return float("nan")
    xs, ys = x[keep], y[keep]
    lower = np.flatnonzero(ys < ys[0])
    if abs(ys[0] - 0.5) < tol and lower.size:
        return float((xs[0] + xs[lower[0]]) / 2)
    return float(xs[0])


@dataclass(frozen=True, eq=False)
class KMResult:
    """A Kaplan-Meier curve at every distinct time (events and censorings), as R's survfit object."""

    times: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    std_err: np.ndarray        # s.e. of -log S (Greenwood, or IJ / S for fractional weights); inf once S = 0
    lower: np.ndarray          # nan where R prints NA
    upper: np.ndarray
    n: int
    events: float
    conf_type: str
    conf_level: float

    def __post_init__(self) -> None:
        for name in ("times", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper"):
            getattr(self, name).flags.writeable = False

    def quantile(self, p: float) -> tuple[float | None, float | None, float | None]:
        """(quantile, lower, upper) of the survival time at probability ``p`` (R ``quantile(fit, p)``).

        None where R prints NA (not reached). The p-quantile is the first time with S(t) <= 1 - p.
        """
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p!r}")
        x = np.concatenate(([0.0], self.times))
        q = [_findq(x, np.concatenate(([0.0], 1.0 - curve)), p) for curve in (self.surv, self.lower, self.upper)]
        return _none(q[0]), _none(q[1]), _none(q[2])

    def median(self) -> tuple[float | None, float | None, float | None]:
        """(median, lower, upper) as R's ``print(survfit)`` / ``summary(fit)$table`` with its conf.type.

        R's printed median (``survmean``'s ``minmin``) is the first time with S < 0.5 + sqrt(eps); when S
        equals 0.5 there and drops further later, the midpoint to the next drop. It differs from
        ``quantile(fit, 0.5)`` only when the curve ends on an exact 0.5 plateau (print: the plateau start;
        quantile: the midpoint to the last time). Limits: the same rule on the lower and upper curves.
        """
        med, lo, hi = (_none(_minmin(curve, self.times)) for curve in (self.surv, self.lower, self.upper))
        return med, lo, hi

    def at(self, times: Sequence[float]) -> list[dict[str, Any]]:
        """R ``summary(fit, times = times, extend = TRUE)``; times are sorted; nan -> None.

        Each row: time, surv, std_err (= S * std.err, as R's summary prints), lower, upper, n_risk
        (``#{time >= t}``), n_event and n_censor in (previous requested time, t].
        """
        req = np.sort(as_float_vector(np.asarray(times, dtype=float), "times")) if len(times) else np.zeros(0)
        first = self.times.size and self.times[0] <= 0
        t0 = self.times if first else np.concatenate(([0.0], self.times))
        pad = (lambda a, v: a) if first else (lambda a, v: np.concatenate(([v], a)))
        surv, se = pad(self.surv, 1.0), pad(self.std_err, 0.0)
        lower, upper = pad(self.lower, 1.0), pad(self.upper, 1.0)
        n_risk = pad(self.n_risk, self.n_risk[0])
        ev, ce = pad(self.n_event, 0.0), pad(self.n_censor, 0.0)
        i1 = np.searchsorted(t0, req, side="right")          # findInterval
        i2 = np.searchsorted(t0, req, side="left")           # findInterval(left.open) ; 0-based index2 - 1
        row = np.maximum(i1, 1) - 1
        nr = np.concatenate((n_risk, [0.0]))[i2]
        cum_ev, cum_ce = np.concatenate(([0.0], np.cumsum(ev))), np.concatenate(([0.0], np.cumsum(ce)))
        d_ev, d_ce = np.diff(np.concatenate(([0.0], cum_ev[i1]))), np.diff(np.concatenate(([0.0], cum_ce[i1])))
        with np.errstate(invalid="ignore"):
            printed_se = surv[row] * se[row]
        return [{"time": float(req[k]), "surv": _none(surv[row[k]]), "std_err": _none(printed_se[k]),
                 "lower": _none(lower[row[k]]), "upper": _none(upper[row[k]]), "n_risk": _num(nr[k]),
                 "n_event": _num(d_ev[k]), "n_censor": _num(d_ce[k])} for k in range(req.size)]

    def restricted_mean(self, tau: float | None = None) -> float:
        """Area under the curve up to ``tau`` (default: the largest time, as R's print rmean)."""
        end = float(self.times[-1]) if tau is None else float(tau)
        grid = np.concatenate(([0.0], self.times[self.times < end], [end]))
        s = np.concatenate(([1.0], self.surv[self.times < end]))
        return float(np.sum(np.diff(grid) * s))

    def to_dict(self, at: Sequence[float] = ()) -> dict[str, Any]:
        """JSON of ``cartlens stats km`` for one group (spec cli.md). Keys never change."""
        med, lo, hi = self.median()
        rows = [{k: r[k] for k in ("time", "surv", "lower", "upper", "n_risk", "n_event", "n_censor",
                                    "std_err")} for r in self.at(at)]
        return {"n": self.n, "events": _num(self.events), "median": med, "median_lower": lo,
                "median_upper": hi, "at": rows, "conf_type": self.conf_type, "conf_level": self.conf_level}

    def summary(self) -> pd.DataFrame:
        """R's ``summary(survfit)`` table at the event times."""
        pct = f"{self.conf_level:.0%}"
        keep = self.n_event > 0
        with np.errstate(invalid="ignore"):
            se = self.surv * self.std_err
        return pd.DataFrame({"time": self.times[keep], "n.risk": self.n_risk[keep], "n.event": self.n_event[keep],
                             "survival": self.surv[keep], "std.err": se[keep], f"lower {pct} CI": self.lower[keep],
                             f"upper {pct} CI": self.upper[keep]})


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else float(v)


def kaplan_meier(time: ArrayLike, event: ArrayLike, *, conf_type: ConfType = "log", conf_level: float = 0.95,
                 weights: ArrayLike | None = None, timefix: bool = True) -> KMResult:
    """Kaplan-Meier estimate with Greenwood variance, as R ``survfit(Surv(time, event) ~ 1)``.

    Parameters
    ----------
    time : array-like of float, shape (n,)
        Follow-up time (e.g. days from infusion), >= 0.
    event : array-like of bool or {0, 1}, shape (n,)
        1 = event. R's 1/2 status coding is refused, never guessed.
    conf_type : {"log", "log-log", "plain", "logit", "arcsin"}
        Pointwise interval; "log" is R's default (lifelines, scikit-survival and SAS use "log-log").
    conf_level : float
        Coverage of the pointwise intervals, in (0, 1).
    weights : array-like of float, optional
        Positive case weights (counts become weighted sums; see module notes on the variance).
    timefix : bool
        Merge near-tied times as R's aeqSurv (default True).
    """
    if conf_type not in _CONF_TYPES:
        raise ValueError(f"conf_type must be one of {_CONF_TYPES}, got {conf_type!r}")
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    sd = check_surv(time, event, weights=weights, timefix=timefix)
    return _km_from_ranks(sd.unique_times, sd.time_rank, sd.event, sd.weights, conf_type, conf_level)


def _ij_log_se(rank: NDArray[np.int64], event: NDArray[np.bool_], weights: NDArray[np.float64],
               n_risk: NDArray[np.float64], ev_w: NDArray[np.float64], surv: NDArray[np.float64]) -> NDArray[np.float64]:
    """R's infinitesimal-jackknife s.e. of S (survfitkm.c, type 1), divided by S (0 where it is 0)."""
    m = n_risk.size
    with np.errstate(divide="ignore", invalid="ignore"):
        haz = ev_w / n_risk
        g = np.where((ev_w > 0) & (haz < 1), 1.0 / (n_risk * (1.0 - haz)), 0.0)
    big_h = np.cumsum(haz * g)
    fixed_value = big_h[rank] - event * g[rank]            # A_k once T_k has passed
    w2 = weights ** 2
    after = w2.sum() - np.cumsum(np.bincount(rank, weights=w2, minlength=m))
    fixed = np.cumsum(np.bincount(rank, weights=w2 * fixed_value ** 2, minlength=m))
    var = big_h ** 2 * after + fixed
    se_s = surv * np.sqrt(np.maximum(var, 0.0))
    dead = np.cumsum(haz >= 1) > 0                          # all remaining died: R's influence is 0
    se_s = np.where(dead, 0.0, se_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se_s == 0, 0.0, se_s / surv)


def _km_from_ranks(times: NDArray[np.float64], rank: NDArray[np.int64], event: NDArray[np.bool_],
                   weights: NDArray[np.float64], conf_type: str, conf_level: float) -> KMResult:
    """KM from checked data given as indices into sorted distinct ``times`` (which may include unused times)."""
    m = times.size
    ev_w = np.bincount(rank, weights=weights * event, minlength=m).astype(float)
    ce_w = np.bincount(rank, weights=weights * ~event, minlength=m).astype(float)
    at_time = np.bincount(rank, weights=weights, minlength=m).astype(float)
    used = at_time > 0
    if not used.all():
        times, ev_w, ce_w, at_time = times[used], ev_w[used], ce_w[used], at_time[used]
    n_risk = np.cumsum(at_time[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - ev_w / n_risk)
        inc = np.where(ev_w > 0, ev_w / (n_risk * (n_risk - ev_w)), 0.0)
    std_err: NDArray[np.float64] = np.sqrt(np.cumsum(inc))
    if np.any(weights != np.floor(weights)):               # R: IJ variance for fractional weights
        ranks = np.cumsum(used) - 1 if not used.all() else np.arange(m)
        std_err = _ij_log_se(ranks[rank], event, weights, n_risk, ev_w, surv.astype(float))
    lower, upper = confint(surv.astype(float), std_err, conf_type, conf_level)
    return KMResult(times, n_risk, ev_w, ce_w, surv, std_err, lower, upper, int(rank.size), float(ev_w.sum()),
                    conf_type, conf_level)


def km_by_group(time: ArrayLike, event: ArrayLike, group: ArrayLike | None = None, *, conf_type: ConfType = "log",
                conf_level: float = 0.95, timefix: bool = True) -> dict[Any, KMResult]:
    """One Kaplan-Meier curve per level of ``group`` (sorted levels, R's factor order; key "all" without group).

    As R ``survfit(Surv(time, event) ~ group)``: each curve is estimated on its own rows; ``timefix`` is applied
    to all times together first, as R does on the whole model frame.
    """
    if conf_type not in _CONF_TYPES:
        raise ValueError(f"conf_type must be one of {_CONF_TYPES}, got {conf_type!r}")
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    sd = check_surv(time, event, timefix=timefix)
    if group is None:
        return {"all": _km_from_ranks(sd.unique_times, sd.time_rank, sd.event, sd.weights, conf_type, conf_level)}
    codes, levels = encode_groups(group, "group")
    if codes.size != sd.n:
        raise ValueError(f"group: length {codes.size} differs from time ({sd.n})")
    out = {}
    for k, level in enumerate(levels):          # loop over groups, not subjects
        rows = codes == k
        out[level] = _km_from_ranks(sd.unique_times, sd.time_rank[rows], sd.event[rows], sd.weights[rows],
                                    conf_type, conf_level)
    return out


def reverse_km_median_followup(time: ArrayLike, event: ArrayLike, *, conf_type: ConfType = "log",
                               conf_level: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """Median follow-up (median, lower, upper) by reverse Kaplan-Meier (Schemper & Smith 1996).

    The censoring indicator is swapped (censored = "event", event = "censored") and R's KM median rule
    applied: ``survfit(Surv(time, status == 0) ~ 1)``. The CI is survfit's (prodlim's reverse=TRUE gives a
    different interval; spec §2.5).
    """
    ev = check_surv(time, event, timefix=False).event
    return kaplan_meier(time, ~ev, conf_type=conf_type, conf_level=conf_level).median()


@dataclass(frozen=True)
class LandmarkResult:
    """Subjects kept at a landmark, with time reset to time - landmark."""

    landmark: float
    kept: np.ndarray          # indices (into the input) of subjects kept
    time: np.ndarray          # time - landmark, for kept subjects
    event: np.ndarray
    responder: np.ndarray | None   # status at the landmark (response_time <= landmark), kept subjects
    n_excluded: int
    events_after: int

    def to_dict(self) -> dict[str, Any]:
        return {"landmark": self.landmark, "n": int(self.kept.size), "n_excluded": self.n_excluded,
                "events_after": self.events_after}


def landmark(time: ArrayLike, event: ArrayLike, landmark_time: float, *,
             response_time: ArrayLike | None = None) -> LandmarkResult:
    """Landmark selection (Anderson, Cain & Gelber 1983; Dafni 2011; spec §2.6).

    Keeps subjects still under follow-up and event-free after the landmark (``time > landmark_time``; a
    subject whose event or censoring falls exactly on the landmark is excluded), resets time to
    ``time - landmark_time`` and, when ``response_time`` is given (nan = never), classifies each kept subject
    as responder if ``response_time <= landmark_time``. Run KM / log-rank / Cox on the result.
    """
    sd = check_surv(time, event, timefix=False)
    lm = float(landmark_time)
    if not np.isfinite(lm) or lm < 0:
        raise ValueError(f"landmark_time must be a finite time >= 0, got {landmark_time!r}")
    kept = np.flatnonzero(sd.time > lm)
    responder = None
    if response_time is not None:
        rt = np.asarray(response_time, dtype=float)
        if rt.shape != sd.time.shape:
            raise ValueError(f"response_time: length {rt.size} differs from time ({sd.n})")
        responder = (rt[kept] <= lm) & ~np.isnan(rt[kept])
    return LandmarkResult(lm, kept, sd.time[kept] - lm, sd.event[kept], responder, sd.n - kept.size,
                          int(sd.event[kept].sum()))
