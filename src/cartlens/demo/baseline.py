"""Baseline patient characteristics and pre-lymphodepletion labs of the demo cohort (pure, vectorised).

Marginals reproduce the published Table 1 of CAR-IMPI (Winkelmann M, Raj S, et al., Blood Cancer J
2025;15:144; spec ``seed_results.md`` 001, Table 1) per cohort: proportions directly, continuous variables as a
*two-piece normal* on a log (or identity) scale whose median and quartiles equal the published median (Q1, Q3).
For a latent standard normal z the value is ``med + z * (med - q1) / 0.6745`` below the median and
``med + z * (q3 - med) / 0.6745`` above it (on the transformed scale), so the population quartiles are exactly
the published ones.  Tumour burden and labs are tied together by a Gaussian copula (``LAB_CORRELATION``):
MTV, LDH, CRP and ferritin rise together, haemoglobin and albumin fall with inflammation (spec
``demo_cohort.md``, Shape).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cartlens.demo.centres import CENTRES, COHORT_TARGETS, Centre

__all__ = ["COPULA_VARIABLES", "LAB_CORRELATION", "allocate_centres", "draw_baseline", "two_piece_quantile"]

Z_Q3 = 0.6744897501960817
"""Standard normal 75th percentile."""

COPULA_VARIABLES = ("mtv", "ldh", "crp", "ferritin", "hb", "plt", "anc", "stage", "albumin")
# Correlations of the latent normal scores (our choice; realistic signs: burden and inflammation together,
# anaemia and hypoalbuminaemia with inflammation, platelets with haemoglobin and ANC).
LAB_CORRELATION = np.array([
    # mtv   ldh   crp   fer    hb    plt   anc  stage   alb
    [1.00, 0.55, 0.45, 0.35, -0.25, -0.10, 0.00, 0.40, -0.25],   # mtv
    [0.55, 1.00, 0.40, 0.40, -0.20, -0.10, 0.00, 0.25, -0.20],   # ldh
    [0.45, 0.40, 1.00, 0.55, -0.35, -0.20, -0.05, 0.15, -0.45],  # crp
    [0.35, 0.40, 0.55, 1.00, -0.35, -0.30, -0.15, 0.10, -0.30],  # ferritin
    [-0.25, -0.20, -0.35, -0.35, 1.00, 0.40, 0.30, -0.10, 0.35],  # hb
    [-0.10, -0.10, -0.20, -0.30, 0.40, 1.00, 0.45, -0.05, 0.10],  # plt
    [0.00, 0.00, -0.05, -0.15, 0.30, 0.45, 1.00, 0.00, 0.00],    # anc
    [0.40, 0.25, 0.15, 0.10, -0.10, -0.05, 0.00, 1.00, -0.10],   # stage
    [-0.25, -0.20, -0.45, -0.30, 0.35, 0.10, 0.00, -0.10, 1.00],  # albumin
])

# (scale, lower clip, upper clip) of each continuous variable, canonical units (data_model.md labs).
_SCALE = {
    "mtv_ml": ("log", 0.0, 2500.0), "ldh": ("log", 90.0, 5000.0), "crp": ("log", 0.02, 35.0),
    "ferritin": ("log", 5.0, 40000.0), "hb": ("identity", 5.5, 16.5), "plt": ("log", 8.0, 650.0),
    "anc": ("log", 0.1, 25.0), "albumin": ("identity", 1.8, 5.0), "age": ("identity", 19.0, 89.0),
}
_ALBUMIN = (3.1, 3.5, 3.9)          # g/dL; not in Table 1, typical of r/r LBCL before CAR-T (our choice)
_STAGE_PROBS = {"development": (0.05, 0.18, 0.20, 0.57), "validation": (0.07, 0.23, 0.20, 0.50)}
_ECOG_PROBS = (0.40, 0.46, 0.11, 0.03)                    # P(ECOG >= 2) = 0.14 (Table 1)
_BRIDGING_KIND = (("systemic", 0.55), ("radiation", 0.25), ("combined", 0.20))   # among bridged (our choice)


def two_piece_quantile(z: np.ndarray, quartiles: tuple[float, float, float], scale: str) -> np.ndarray:
    """Map standard-normal scores to a two-piece normal with the given (Q1, median, Q3).

    Parameters
    ----------
    z : ndarray
        Standard normal scores.
    quartiles : tuple of float
        Target first quartile, median and third quartile (natural units).
    scale : {"log", "identity"}
        Scale on which the distribution is two-piece normal.

    Returns
    -------
    ndarray
        Values whose population quartiles equal ``quartiles``.
    """
    q1, med, q3 = (np.log(max(q, 1e-9)) if scale == "log" else q for q in quartiles)
    lower, upper = (med - q1) / Z_Q3, (q3 - med) / Z_Q3
    t = np.where(z < 0, med + z * lower, med + z * upper)
    return np.exp(t) if scale == "log" else t


def allocate_centres(n_dev: int, n_val: int) -> list[tuple[Centre, int]]:
    """Split the cohort sizes over the centres in proportion to the default sizes (largest remainder)."""
    out: list[tuple[Centre, int]] = []
    for cohort, n in (("development", n_dev), ("validation", n_val)):
        centres = [c for c in CENTRES if c.cohort == cohort]
        weights = np.array([c.n for c in centres], dtype=float)
        raw = n * weights / weights.sum()
        counts = np.floor(raw).astype(int)
        for i in np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]:
            counts[i] += 1
        out.extend(zip(centres, counts.tolist()))
    return out


def _choice(rng: np.random.Generator, labels: list, probs: tuple[float, ...] | list[float], n: int) -> np.ndarray:
    """Stratified draw: category counts are ``n * p`` rounded by largest remainder, in random order, so the
    cohort's proportions equal the published ones up to rounding (less noise than i.i.d. sampling)."""
    p = np.asarray(probs, dtype=float)
    raw = n * p / p.sum()
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    return rng.permutation(np.repeat(np.asarray(labels, dtype=object), counts))


def _flag(rng: np.random.Generator, p: float, n: int) -> np.ndarray:
    """Stratified Bernoulli(p): exactly round(n p) True values in random order."""
    return _choice(rng, [True, False], [p, 1.0 - p], n).astype(bool)


def _normal_scores(rng: np.random.Generator, z: np.ndarray) -> np.ndarray:
    """Replace each column by van der Waerden scores Phi^-1((rank - 0.5) / n): the ranks (hence the copula's
    rank correlations) are kept and the empirical quantiles of every marginal match the targets closely."""
    from scipy.stats import norm
    n = z.shape[0]
    ranks = np.argsort(np.argsort(z, axis=0, kind="stable"), axis=0, kind="stable")
    return norm.ppf((ranks + 0.5) / n)


def _cohort_block(rng: np.random.Generator, cohort: str, n: int) -> pd.DataFrame:
    """Characteristics and canonical-unit labs of ``n`` patients of one cohort."""
    t = COHORT_TARGETS[cohort]
    z = rng.multivariate_normal(np.zeros(len(COPULA_VARIABLES)), LAB_CORRELATION, size=n, method="cholesky")
    z = _normal_scores(rng, z)
    zs = dict(zip(COPULA_VARIABLES, z.T))
    df = pd.DataFrame({f"z_{k}": v for k, v in zs.items()})
    df["cohort"] = cohort
    targets = {"mtv_ml": "mtv", "ldh": "ldh", "crp": "crp", "ferritin": "ferritin", "hb": "hb", "plt": "plt",
               "anc": "anc"}
    for col, key in targets.items():
        scale, lo, hi = _SCALE[col]
        df[col] = np.clip(two_piece_quantile(zs[key], t[col], scale), lo, hi)
    df["albumin"] = np.clip(two_piece_quantile(zs["albumin"], _ALBUMIN, "identity"), *_SCALE["albumin"][1:])
    df["mtv_ml"] = np.where(df["mtv_ml"] < 0.05, 0.0, df["mtv_ml"])        # below segmentation resolution
    age = two_piece_quantile(_normal_scores(rng, rng.standard_normal((n, 1)))[:, 0], t["age"], "identity")
    df["age"] = np.clip(np.round(age), *_SCALE["age"][1:])
    cum = np.cumsum(_STAGE_PROBS[cohort])[:-1]
    from scipy.stats import norm
    df["stage"] = 1 + np.searchsorted(norm.ppf(cum), zs["stage"])
    df["sex"] = np.where(_flag(rng, t["female"], n), "F", "M")
    df["ecog"] = _choice(rng, [0, 1, 2, 3], _ECOG_PROBS, n).astype(int)
    prod = t["product"]
    df["product"] = _choice(rng, list(prod), list(prod.values()), n)
    lines = t["prior_lines"]
    df["prior_lines"] = _choice(rng, list(lines), list(lines.values()), n).astype(int)
    df["prior_auto_hct"] = _flag(rng, t["prior_auto_hct"], n)
    df["primary_refractory"] = _flag(rng, t["primary_refractory"], n)
    bridged = _flag(rng, t["bridging"], n)
    kinds = _choice(rng, [k for k, _ in _BRIDGING_KIND], [p for _, p in _BRIDGING_KIND], n)
    df["bridging"] = np.where(bridged, kinds, "none")
    transformed = _flag(rng, t["transformed"], n)
    other = _choice(rng, ["DLBCL", "HGBL", "PMBCL", "THRLBCL"], [0.84, 0.11, 0.03, 0.02], n)
    df["histology"] = np.where(transformed, "tFL", other)
    return df


def _other_labs(rng: np.random.Generator, df: pd.DataFrame) -> None:
    """Labs outside Table 1 (canonical units), loosely tied to the copula scores; in place."""
    n = len(df)
    df["alc"] = np.clip(np.exp(np.log(0.45) + 0.7 * rng.standard_normal(n)), 0.02, 8.0)
    df["wbc"] = np.round(df["anc"] + df["alc"] + np.exp(np.log(0.45) + 0.4 * rng.standard_normal(n)), 2)
    df["creatinine"] = np.clip(np.exp(np.log(0.85) + 0.25 * rng.standard_normal(n)), 0.35, 4.0)
    df["bilirubin"] = np.clip(np.exp(np.log(0.5) + 0.45 * rng.standard_normal(n) + 0.1 * df["z_mtv"]), 0.1, 8.0)
    df["ast"] = np.clip(np.exp(np.log(24) + 0.4 * rng.standard_normal(n) + 0.15 * df["z_ldh"]), 6, 600)
    df["alt"] = np.clip(np.exp(np.log(20) + 0.5 * rng.standard_normal(n)), 4, 600)
    df["alp"] = np.clip(np.exp(np.log(85) + 0.35 * rng.standard_normal(n) + 0.12 * df["z_mtv"]), 25, 1500)


def _plant_missing(rng: np.random.Generator, df: pd.DataFrame) -> None:
    """Missing values as in Table 1: CRP and ferritin each missing in 2 % of the development cohort (5 of 256,
    disjoint patients), bridging unknown in 2 development patients, primary refractoriness unknown in 1
    validation patient (seed 001 Table 1 denominators); in place."""
    dev = np.flatnonzero(df["cohort"].to_numpy() == "development")
    val = np.flatnonzero(df["cohort"].to_numpy() == "validation")
    df["crp_true"], df["ferritin_true"] = df["crp"].copy(), df["ferritin"].copy()   # drive the outcomes
    k = round(0.02 * len(dev))
    picked = rng.choice(dev, size=min(2 * k + 2, len(dev)), replace=False)
    df.loc[df.index[picked[:k]], "crp"] = np.nan
    df.loc[df.index[picked[k:2 * k]], "ferritin"] = np.nan
    df["bridging"] = df["bridging"].astype(object)
    df.loc[df.index[picked[2 * k:2 * k + 2]], "bridging"] = None
    df["primary_refractory"] = df["primary_refractory"].astype(object)
    if len(val):
        df.loc[df.index[rng.choice(val, size=1)], "primary_refractory"] = None


def draw_baseline(rng: np.random.Generator, n_dev: int, n_val: int) -> pd.DataFrame:
    """One row per patient: identifiers, characteristics, canonical-unit labs and latent copula scores.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (the generator is deterministic for its seed).
    n_dev, n_val : int
        Development and validation cohort sizes.

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id, centre, cohort, ldh_uln, mtv_method`` plus the characteristics of data_model.md
        (``patients``) and the labs ``ldh, crp, ferritin, hb, plt, anc, albumin, alc, wbc, creatinine,
        bilirubin, ast, alt, alp`` in canonical units (U/L, mg/dL, ng/mL, g/dL, 10^9/L, g/dL, mg/dL).
    """
    blocks = []
    for cohort, n in (("development", n_dev), ("validation", n_val)):
        blocks.append(_cohort_block(rng, cohort, n))
    df = pd.concat(blocks, ignore_index=True)
    centre, uln, method = [], [], []
    for c, k in allocate_centres(n_dev, n_val):
        centre += [c.code] * k
        uln += [c.ldh_uln] * k
        method += [c.mtv_method] * k
    # Centres are assigned after drawing, in order within each cohort: draws are exchangeable, so this is a
    # random allocation; a random permutation keeps centre unrelated to draw order.
    order = np.concatenate([rng.permutation(np.flatnonzero(df["cohort"] == co)) for co in
                            ("development", "validation")])
    df = df.iloc[order].reset_index(drop=True)
    df["centre"], df["ldh_uln"], df["mtv_method"] = centre, uln, method
    df["patient_id"] = [f"{c}-{i + 1:03d}" for c, i in zip(df["centre"], df.groupby("centre").cumcount())]
    _other_labs(rng, df)
    _plant_missing(rng, df)
    df["mtv_ml"] = np.round(df["mtv_ml"], 1)
    return df
