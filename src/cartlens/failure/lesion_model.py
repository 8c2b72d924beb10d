"""Lesion-level risk model of local failure (patterns_of_failure.md §2.5).

Unit: index lesion; cluster: patient; outcome: local failure by the end of follow-up (binary),
the odds-ratio framing of Figura et al. 2021 (ORs for diameter >= 5 cm, SUVmax >= 10,
extranodal site). Models fitted here:

* primary: logistic GEE, exchangeable, Mancl–DeRouen bias-reduced sandwich
  (:func:`cartlens.stats.gee.logistic_gee`), univariable and multivariable;
* adjusted: + bridging RT (lesion in an RT field) and product (axi-cel vs tisa-cel), when present;
* random-intercept GLMM (conditional ORs; :func:`cartlens.failure.glmm.logistic_glmm`);
* continuous predictors in place of the cut-points: log2 SUVmax (OR per doubling) and LDi as a
  restricted cubic spline with 3 knots at the 10th/50th/90th percentiles (Harrell), reported as
  ORs against LDi = 2 cm;
* excluding lesions treated with bridging RT; ADJACENT counted as LOCAL;
* time to local failure per lesion: Cox with cluster-robust variance
  (:func:`cartlens.stats.cox.coxph`, ``cluster`` = patient; death censors), and the cumulative
  incidence of local failure with death as a competing risk (Aalen–Johansen, ``cif.py``) at 90,
  180 and 365 days, overall and by any high-risk feature;
* patient level: PFS and OS by any high-risk lesion (any of the three factors) vs none, by the
  number of high-risk lesions, and by any lesion >= 5 cm (Figura 2021: HR 2.41 PFS, 3.36 OS).

Events per variable (events / 3 multivariable terms) and the number of patients contributing
events are reported; EPV < 10 adds a warning (Peduzzi et al., J Clin Epidemiol 1996;49:1373).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from cartlens.failure.glmm import logistic_glmm
from cartlens.stats.gee import logistic_gee

FACTORS = ("bulky_5cm", "suv_ge10", "extranodal")
EPV_MIN = 10
SPLINE_GRID_CM = (2.0, 3.0, 5.0, 7.0, 10.0)
_FIT_ERRORS = (ValueError, np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError)


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.map(lambda v: np.nan if v is None else float(v)), errors="coerce")


def model_frame(lesions: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """Numeric lesion-level frame: outcome, factors, continuous features, adjustment variables."""
    df = pd.DataFrame({"patient": lesions["centre"].astype(str) + "|" + lesions["patient_id"].astype(str)})
    df["failed"] = lesions["failed"].astype(float)
    df["failed_sensitivity"] = lesions["failed_sensitivity"].astype(float)
    for f in FACTORS:
        df[f] = _num(lesions[f])
    df["ldi_cm"] = _num(lesions["ldi_cm"])
    suv = _num(lesions["suvmax"])
    df["log2_suvmax"] = np.log2(suv.where(suv > 0))
    df["bridging_rt"] = _num(lesions["bridging_rt"])
    product = {}
    if "product" in patients.columns:
        product = {f"{c}|{p}": v for c, p, v in zip(patients["centre"], patients["patient_id"], patients["product"])}
    prod = df["patient"].map(product)
    df["tisa_cel"] = np.where(prod == "tisa-cel", 1.0, np.where(prod == "axi-cel", 0.0, np.nan))
    fail_day = _num(lesions["failure_day"])
    end = _num(lesions["last_evaluable_day"])
    df["time"] = fail_day.where(df["failed"] == 1, end)
    death = {}
    if {"os_days", "os_event"} <= set(patients.columns):
        for c, p, d, e in zip(patients["centre"], patients["patient_id"], patients["os_days"], patients["os_event"]):
            if pd.notna(e) and float(e) == 1 and pd.notna(d):
                death[f"{c}|{p}"] = float(d)
    died = df["patient"].map(death)
    # competing-risk coding: 1 local failure, 2 death without local failure, 0 censored (last evaluable scan)
    df["cr_status"] = np.where(df["failed"] == 1, 1, np.where(died.notna(), 2, 0))
    df["cr_time"] = np.where(df["cr_status"] == 2, died, df["time"])
    return df


def rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Restricted cubic spline non-linear term for 3 knots (Harrell 2015 §2.4.5, norm 2 as rms)."""
    k1, k2, k3 = knots
    pos = lambda u: np.clip(u, 0, None) ** 3
    return (pos(x - k1) - pos(x - k2) * (k3 - k1) / (k3 - k2) + pos(x - k3) * (k2 - k1) / (k3 - k2)) / (k3 - k1) ** 2


def _try(name: str, messages: list[str], fn, *args, **kw) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kw)
    except _FIT_ERRORS as exc:
        messages.append(f"{name}: not fitted ({exc})")
        return None


def _varying(df: pd.DataFrame, cols: list[str], outcome: str, messages: list[str], name: str) -> list[str]:
    """Predictors that vary; a binary predictor with an empty cell of its 2x2 table against the
    outcome separates it (the OR is infinite, Albert & Anderson 1984) and is left out, with a message."""
    keep = []
    for c in cols:
        sub = df[[c, outcome]].dropna()
        if sub[c].nunique() < 2:
            messages.append(f"{name}: {c} has no variation; left out")
        elif sub[c].nunique() == 2 and pd.crosstab(sub[c], sub[outcome]).reindex(
                columns=[0.0, 1.0], fill_value=0).eq(0).to_numpy().any():
            messages.append(f"{name}: {c} separates the outcome (a 2x2 cell is empty); left out")
        else:
            keep.append(c)
    return keep


def _gee(df: pd.DataFrame, cols: list[str], outcome: str, name: str, messages: list[str]):
    cols = _varying(df, cols, outcome, messages, name)
    if not cols or df[outcome].nunique() < 2:
        messages.append(f"{name}: not fitted (no predictor or outcome variation)")
        return None
    fit = _try(name, messages, logistic_gee, df, outcome, cols, "patient")
    if fit is not None and any(abs(fit.coef[c]) > 10 for c in cols):
        messages.append(f"{name}: |log OR| > 10 (quasi-separation); ORs not reported")
        return None
    return fit


def _spline(df: pd.DataFrame, messages: list[str]) -> dict | None:
    sub = df.dropna(subset=["ldi_cm", "log2_suvmax", "extranodal"]).copy()
    if len(sub) < 20 or sub["ldi_cm"].nunique() < 5:
        messages.append("spline model: too few distinct LDi values")
        return None
    knots = np.quantile(sub["ldi_cm"], [0.1, 0.5, 0.9])
    sub["ldi_rcs1"] = rcs_basis(sub["ldi_cm"].to_numpy(), knots)
    fit = _gee(sub, ["ldi_cm", "ldi_rcs1", "log2_suvmax", "extranodal"], "failed", "spline model", messages)
    if fit is None or "ldi_rcs1" not in fit.terms:
        return None
    names = ["ldi_cm", "ldi_rcs1"]
    cov = np.array([[fit.cov[a][b] for b in names] for a in names])
    b = np.array([fit.coef[n] for n in names])
    ref = np.array([SPLINE_GRID_CM[0], rcs_basis(np.array([SPLINE_GRID_CM[0]]), knots)[0]])
    rows = []
    for g in SPLINE_GRID_CM:
        d = np.array([g, rcs_basis(np.array([g]), knots)[0]]) - ref
        est, se = float(d @ b), float(np.sqrt(d @ cov @ d))
        rows.append({"ldi_cm": g, "or_vs_2cm": float(np.exp(est)), "or_lower": float(np.exp(est - 1.959964 * se)),
                     "or_upper": float(np.exp(est + 1.959964 * se))})
    return {"knots_cm": knots.tolist(), "grid": rows, "fit": fit}


def _cox(time, event, X: pd.DataFrame, messages: list[str], name: str, cluster=None):
    from cartlens.stats.cox import coxph
    ok = X.notna().all(axis=1) & pd.notna(time) & pd.notna(event)
    if ok.sum() < 3 or pd.Series(event)[ok].sum() < 1:
        messages.append(f"{name}: not fitted (no events)")
        return None
    if any(X.loc[ok, c].nunique() < 2 for c in X.columns):
        messages.append(f"{name}: not fitted (covariate without variation)")
        return None
    kw = {} if cluster is None else {"cluster": np.asarray(cluster)[ok.to_numpy()]}
    return _try(name, messages, coxph, np.asarray(time, float)[ok.to_numpy()],
                np.asarray(event, float)[ok.to_numpy()].astype(int), X.loc[ok].astype(float), **kw)


CIF_DAYS = (90.0, 180.0, 365.0)


def _cif(df: pd.DataFrame, messages: list[str]) -> dict | None:
    """Cumulative incidence of local failure (death competing) at 90/180/365 days, overall and by any
    high-risk feature of the lesion."""
    from cartlens.failure.cif import cumulative_incidence
    ok = df["cr_time"].notna()
    if not ok.any():
        messages.append("cumulative incidence: no lesion with follow-up time")
        return None
    high = df[list(FACTORS)].fillna(0).sum(axis=1) > 0
    out = {}
    for label, sel in (("all", ok), ("high_risk", ok & high), ("no_high_risk", ok & ~high)):
        if sel.sum() == 0:
            continue
        _, _, at = cumulative_incidence(df.loc[sel, "cr_time"].to_numpy(float),
                                        df.loc[sel, "cr_status"].to_numpy().astype(int), times=CIF_DAYS)
        out[label] = {"n": int(sel.sum()), "events": int((df.loc[sel, "cr_status"] == 1).sum()),
                      "at": {str(int(t)): float(v) for t, v in zip(CIF_DAYS, at)}}
    return out


def _patient_level(df: pd.DataFrame, patients: pd.DataFrame, messages: list[str]) -> dict:
    """PFS/OS by any high-risk lesion, by their number, and by any lesion >= 5 cm (Cox)."""
    hr = df.assign(high=(df[list(FACTORS)].fillna(0).sum(axis=1) > 0).astype(float))
    per = hr.groupby("patient").agg(any_high_risk=("high", "max"), n_high_risk=("high", "sum"),
                                    any_bulky=("bulky_5cm", "max"))
    keyed = patients.assign(patient=patients["centre"].astype(str) + "|" + patients["patient_id"].astype(str))
    data = keyed.merge(per, left_on="patient", right_index=True, how="inner")
    out: dict[str, Any] = {"n_patients": len(data), "any_high_risk_n": int(data["any_high_risk"].sum())}
    for end in ("pfs", "os"):
        t, e = f"{end}_days", f"{end}_event"
        if t not in data.columns or e not in data.columns:
            messages.append(f"patient-level {end.upper()}: {t}/{e} not in patients")
            continue
        time, event = pd.to_numeric(data[t], errors="coerce"), pd.to_numeric(data[e], errors="coerce")
        for label, cols in (("any_high_risk", ["any_high_risk"]), ("n_high_risk", ["n_high_risk"]),
                            ("any_bulky_5cm", ["any_bulky"])):
            out[f"{end}_{label}"] = _cox(time, event, data[cols], messages, f"{end.upper()} by {label}")
        for label, col in (("any_high_risk", "any_high_risk"), ("any_bulky_5cm", "any_bulky")):
            out[f"{end}_km_{label}"] = _km_groups(time, event, data[col], messages, f"{end.upper()} KM by {label}")
    return out


def _km_groups(time: pd.Series, event: pd.Series, group: pd.Series, messages: list[str], name: str) -> dict | None:
    """Kaplan-Meier per group (R survfit defaults): n, events, median (days) with its 95 % CI."""
    from cartlens.stats.km import kaplan_meier
    out = {}
    for level, label in ((1.0, "yes"), (0.0, "no")):
        ok = (group == level) & time.notna() & event.notna()
        if ok.sum() == 0:
            continue
        fit = _try(name, messages, kaplan_meier, time[ok].to_numpy(float), event[ok].to_numpy(float).astype(int))
        if fit is not None:
            med, lo, hi = fit.median()
            out[label] = {"n": int(ok.sum()), "events": int(event[ok].sum()), "median_days": med,
                          "median_lower": lo, "median_upper": hi}
    return out or None


def fit_lesion_models(lesions: pd.DataFrame, patients_in: pd.DataFrame) -> dict:
    """Every model of §2.5 on the index-lesion frame (registry joined with outcomes)."""
    messages: list[str] = []
    df = model_frame(lesions, patients_in)
    n_events = int(df["failed"].sum())
    pts_events = int(df.loc[df["failed"] == 1, "patient"].nunique())
    epv = n_events / len(FACTORS)
    if epv < EPV_MIN:
        messages.append(f"events per variable {epv:.1f} < {EPV_MIN}: the multivariable model may be unstable")
    out: dict[str, Any] = {
        "n_lesions": len(df), "n_patients": int(df["patient"].nunique()), "n_events": n_events,
        "n_patients_with_events": pts_events, "epv": epv, "epv_warning": epv < EPV_MIN,
        "gee_univariable": {f: _gee(df, [f], "failed", f"univariable {f}", messages) for f in FACTORS},
        "gee_multivariable": _gee(df, list(FACTORS), "failed", "multivariable GEE", messages),
    }
    sub = df.dropna(subset=list(FACTORS))
    use = _varying(sub, list(FACTORS), "failed", [], "")
    out["glmm_multivariable"] = (_try("GLMM", messages, logistic_glmm, sub, "failed", use, "patient")
                                 if use and sub["failed"].nunique() == 2 else None)
    out["gee_adjusted"] = (_gee(df, [*FACTORS, "bridging_rt", "tisa_cel"], "failed", "adjusted GEE", messages)
                           if df["bridging_rt"].notna().any() or df["tisa_cel"].notna().any() else None)
    out["gee_continuous"] = _gee(df, ["log2_suvmax", "ldi_cm", "extranodal"], "failed", "continuous GEE", messages)
    out["gee_spline"] = _spline(df, messages)
    no_rt = df[df["bridging_rt"] != 1]
    out["gee_excluding_bridging_rt"] = (_gee(no_rt, list(FACTORS), "failed", "GEE without bridging-RT lesions",
                                             messages) if (df["bridging_rt"] == 1).any() else None)
    out["gee_adjacent_as_local"] = _gee(df, list(FACTORS), "failed_sensitivity", "GEE adjacent=local", messages)
    out["cox_lesion"] = _cox(df["time"], df["failed"], df[list(FACTORS)], messages, "lesion Cox",
                             cluster=df["patient"].to_numpy())
    out["cif_local_failure"] = _cif(df, messages)
    out["patient_survival"] = _patient_level(df, patients_in, messages)
    out["messages"] = messages
    return out
