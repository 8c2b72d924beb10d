"""Toxicity and post-infusion biomarkers of the demo cohort (pure, vectorised).

Toxicity (ASTCT 2019 grades; Lee DW et al., Biol Blood Marrow Transplant 2019;25:625) rises with the planted
CAR-IMPI ingredients (MTV spline, age, stage).  For each outcome a logistic model ``p = expit(a + b z)`` on the
standardised risk score z is solved on the realised cohort so that the rates above and below the median risk
equal the published ones (seed 001, "Toxicity by median CAR-IMPI": high-grade CRS 13.2 % vs 1.8 %, ICANS >= 3
21.1 % vs 12.3 %, ICU 22 % vs 7.9 %).

Biomarkers (data_model.md, biomarkers): day-28 ctDNA detectable in about 40 %, far more often in patients who
progress within a year (75 % vs 15 %, our choice, "strongly linked to later progression" in demo_cohort.md);
CAR-T expansion (peak and AUC day 0-28) higher with axi-cel and in patients without early progression; CD3+
count at apheresis; bendamustine wash-out for the 18 % with prior bendamustine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import fsolve

__all__ = ["TOX_TARGETS", "draw_biomarkers", "draw_toxicity", "solve_logistic"]

TOX_TARGETS = {"crs_ge3": (0.132, 0.018), "icans_ge3": (0.211, 0.123), "icu": (0.22, 0.079)}
"""(rate above, rate below) the median risk score, seed 001."""
_LOW_CRS = (0.25, 0.50, 0.25)       # grades 0/1/2 when not high grade (our choice)
_LOW_ICANS = (0.60, 0.22, 0.18)
_HIGH = (0.75, 0.25)                # grades 3/4 when high grade; grade 5 (death) is not generated


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def solve_logistic(z: np.ndarray, above: np.ndarray, rate_hi: float, rate_lo: float) -> tuple[float, float]:
    """Intercept and slope with mean expit(a + b z) = ``rate_hi`` where ``above`` and ``rate_lo`` elsewhere."""
    def eq(x: np.ndarray) -> list[float]:
        p = _expit(x[0] + x[1] * z)
        return [float(p[above].mean() - rate_hi), float(p[~above].mean() - rate_lo)]

    a, b = fsolve(eq, x0=[np.log(rate_lo / (1 - rate_lo)), 1.0], xtol=1e-12)
    return float(a), float(b)


def draw_toxicity(rng: np.random.Generator, base: pd.DataFrame, risk: np.ndarray,
                  ht_high: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """Toxicity rows (one per patient) and the fitted logistic parameters.

    ``risk`` is the planted CAR-IMPI-like score; ``ht_high`` marks CAR-HEMATOTOX >= 2 (drives ICAHT).
    """
    n = len(base)
    z = (risk - risk.mean()) / risk.std()
    above = risk > np.median(risk)
    params: dict[str, dict[str, float]] = {}
    flags: dict[str, np.ndarray] = {}
    for name, (hi, lo) in TOX_TARGETS.items():
        a, b = solve_logistic(z, above, hi, lo)
        params[name] = {"intercept": a, "slope_per_sd": b, "rate_above_median": hi, "rate_below_median": lo}
        flags[name] = rng.random(n) < _expit(a + b * z)
    crs = np.where(flags["crs_ge3"], 3 + rng.choice(2, n, p=_HIGH), rng.choice(3, n, p=_LOW_CRS))
    icans = np.where(flags["icans_ge3"], 3 + rng.choice(2, n, p=_HIGH), rng.choice(3, n, p=_LOW_ICANS))
    toci = rng.random(n) < np.select([crs >= 2, crs == 1], [0.9, 0.3], 0.02)
    steroids = rng.random(n) < np.select([icans >= 2, crs >= 3], [0.85, 0.6], 0.08)
    icaht_p = np.where(ht_high[:, None], [0.30, 0.25, 0.20, 0.15, 0.10], [0.60, 0.25, 0.10, 0.04, 0.01])
    icaht = (rng.random(n)[:, None] > np.cumsum(icaht_p, axis=1)).sum(axis=1)
    tox = pd.DataFrame({"patient_id": base["patient_id"], "centre": base["centre"], "crs_grade": crs,
                        "icans_grade": icans, "icu": flags["icu"], "tocilizumab": toci,
                        "corticosteroids": steroids, "icaht_grade": np.minimum(icaht, 4)})
    return tox, params


def draw_biomarkers(rng: np.random.Generator, base: pd.DataFrame, outc: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Long biomarker rows (``patient_id, centre, day, marker, value, unit``) and their parameters."""
    n = len(base)
    pfs, os_days = outc["pfs_days"].to_numpy(), outc["os_days"].to_numpy()
    early = outc["progressed"].to_numpy() & (pfs <= 365)
    rows: list[pd.DataFrame] = []

    def add(mask: np.ndarray, day, marker: str, value, unit: str) -> None:
        day = np.broadcast_to(np.asarray(day), (n,))
        value = np.broadcast_to(np.asarray(value, dtype=float), (n,))
        rows.append(pd.DataFrame({"patient_id": base["patient_id"][mask], "centre": base["centre"][mask],
                                  "day": day[mask].astype(int), "marker": marker, "value": value[mask],
                                  "unit": unit}))

    at28 = (pfs > 28) & (os_days > 28)
    detect = rng.random(n) < np.where(early, 0.75, 0.15)
    add(at28, 28, "ctdna_detectable", detect.astype(float), "")
    level = np.where(detect, np.round(np.exp(np.log(50.0) + 1.2 * rng.standard_normal(n)), 1), 0.0)
    add(at28, 28, "ctdna_level", level, "hGE/mL")
    alive14 = os_days > 14
    axi = base["product"].to_numpy() == "axi-cel"
    peak = np.exp(np.log(25.0) + 0.5 * axi - 0.6 * early + 0.9 * rng.standard_normal(n))
    add(alive14, rng.integers(7, 15, n), "cart_peak", np.round(peak, 1), "cells/uL")
    add(at28, 28, "cart_auc28", np.round(peak * rng.uniform(7.0, 11.0, n), 1), "cells/uL*day")
    aph_day = -rng.integers(28, 51, n)
    add(np.ones(n, dtype=bool), aph_day, "cd3_apheresis",
        np.round(np.exp(np.log(700.0) + 0.5 * rng.standard_normal(n))), "cells/uL")
    benda = rng.random(n) < 0.18
    add(benda, aph_day, "bendamustine_washout_days", np.round(np.exp(np.log(250) + 0.6 * rng.standard_normal(n))),
        "days")
    params = {"ctdna_detectable_prob": {"progression_within_365d": 0.75, "otherwise": 0.15},
              "cart_peak_log": {"median_cells_per_ul": 25.0, "axi_cel": 0.5, "progression_within_365d": -0.6,
                                "sd": 0.9},
              "cd3_apheresis_median_cells_per_ul": 700.0, "prior_bendamustine": 0.18}
    return pd.concat(rows, ignore_index=True), params
