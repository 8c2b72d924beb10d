"""Day-0 inflammation labs for InflaMix-style clustering (demo cohort; pure).

The 14 labs of InflaMix (Raj SS et al., Nat Med 2025;31:1183; spec ``inflamix.md`` section 2) are generated at
day 0 for the patients of the centres that measure cytokines (C1, C6), from a **synthetic** two-component
mixture on the scale log(value / ULN).  The mixture is ours: rounded component centres that resemble the
published description of the two clusters (inflamix.md, "Component means converted back to multiples of the
ULN": CRP, IL-6, ferritin, LDH, IL-10 and D-dimer far higher in the inflammatory cluster, albumin and Hb lower)
with our own spreads and a shared within-cluster correlation.  No InflaMix parameter (means, covariances,
weights, scaling constants) is used or shipped (inflamix.md section 9, project decision).

All 14 labs are analytes of the labs table (data_model.md: albumin, alp, ast, ferritin, hb, ldh, plt,
bilirubin, il10, il6, tnfa, crp, ddimer, wbc), so none needs the biomarkers table.  Cluster membership is more
likely with high latent inflammation (the copula scores of CRP, ferritin and LDH), so the cluster carries
prognostic information through the planted outcome model.  About 4 % of cytokine values are missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["INFLAMIX_LABS", "MIXTURE", "draw_day0_labs"]

INFLAMIX_LABS = ("albumin", "alp", "ast", "ferritin", "hb", "ldh", "plt", "bilirubin", "il10", "il6", "tnfa",
                 "crp", "ddimer", "wbc")
# (multiple of ULN in the non-inflammatory cluster, in the inflammatory cluster, log-SD non-infl., log-SD infl.)
MIXTURE: dict[str, tuple[float, float, float, float]] = {
    "albumin": (0.72, 0.58, 0.10, 0.14), "alp": (0.65, 1.4, 0.30, 0.55), "ast": (0.55, 0.9, 0.35, 0.6),
    "ferritin": (0.8, 2.5, 0.6, 0.8), "hb": (0.62, 0.53, 0.12, 0.14), "ldh": (0.9, 2.4, 0.25, 0.6),
    "plt": (0.35, 0.30, 0.45, 0.5), "bilirubin": (0.45, 0.6, 0.4, 0.6), "il10": (0.6, 4.0, 0.25, 0.9),
    "il6": (2.0, 18.0, 0.5, 1.0), "tnfa": (0.6, 1.2, 0.4, 0.6), "crp": (2.5, 20.0, 0.8, 0.7),
    "ddimer": (2.0, 6.0, 0.6, 0.8), "wbc": (0.17, 0.17, 0.45, 0.5),
}
WITHIN_CLUSTER_CORRELATION = 0.3
INFLAMED_LOGIT = (-1.25, 1.3)       # intercept, slope per SD of latent inflammation -> about 26 % inflamed
# Upper limits of normal in canonical units (data_model.md); LDH uses the centre's ULN.
ULN = {"albumin": 5.0, "alp": 130.0, "ast": 37.0, "ferritin": 400.0, "hb": 16.2, "plt": 400.0,
       "bilirubin": 1.2, "il10": 18.0, "il6": 5.0, "tnfa": 22.0, "crp": 0.5, "ddimer": 0.5, "wbc": 11.0}


def draw_day0_labs(rng: np.random.Generator, base: pd.DataFrame, eligible: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """Day-0 labs (canonical units, long) for ``eligible`` patients and the truth record.

    Returns
    -------
    (DataFrame, dict)
        Rows ``patient_id, centre, day, analyte, value, uln`` in canonical units, and a dict with the mixture
        parameters and each patient's planted cluster (``inflamed``: bool).
    """
    idx = np.flatnonzero(eligible)
    m = len(idx)
    latent = (base["z_crp"].to_numpy() + base["z_ferritin"].to_numpy() + base["z_ldh"].to_numpy())[idx]
    latent = (latent - latent.mean()) / max(latent.std(), 1e-9)
    inflamed = rng.random(m) < 1.0 / (1.0 + np.exp(-(INFLAMED_LOGIT[0] + INFLAMED_LOGIT[1] * latent)))
    k = len(INFLAMIX_LABS)
    corr = np.full((k, k), WITHIN_CLUSTER_CORRELATION) + (1 - WITHIN_CLUSTER_CORRELATION) * np.eye(k)
    z = rng.multivariate_normal(np.zeros(k), corr, size=m)
    par = np.array([MIXTURE[a] for a in INFLAMIX_LABS])                # (k, 4)
    mu = np.where(inflamed[:, None], np.log(par[:, 1]), np.log(par[:, 0]))
    sd = np.where(inflamed[:, None], par[:, 3], par[:, 2])
    ratio = np.exp(mu + sd * z)
    uln = np.array([[ULN.get(a, 0.0) for a in INFLAMIX_LABS]] * m)
    uln[:, INFLAMIX_LABS.index("ldh")] = base["ldh_uln"].to_numpy()[idx]
    value = ratio * uln
    value[:, INFLAMIX_LABS.index("crp")] = np.minimum(value[:, INFLAMIX_LABS.index("crp")], 35.0)
    value[:, INFLAMIX_LABS.index("albumin")] = np.clip(value[:, INFLAMIX_LABS.index("albumin")], 1.5, 5.5)
    value[:, INFLAMIX_LABS.index("hb")] = np.clip(value[:, INFLAMIX_LABS.index("hb")], 5.5, 16.5)
    long = pd.DataFrame({
        "patient_id": np.repeat(base["patient_id"].to_numpy()[idx], k),
        "centre": np.repeat(base["centre"].to_numpy()[idx], k), "day": 0,
        "analyte": np.tile(INFLAMIX_LABS, m), "value": value.ravel(), "uln": uln.ravel(),
    })
    cytokine = long["analyte"].isin(["il6", "il10", "tnfa"]).to_numpy()
    long = long[~(cytokine & (rng.random(len(long)) < 0.04))].reset_index(drop=True)
    truth = {"centres": sorted(set(base["centre"].to_numpy()[idx])), "n": int(m),
             "inflamed_fraction": float(inflamed.mean()),
             "mixture_multiples_of_uln_and_log_sd": {a: list(v) for a, v in MIXTURE.items()},
             "within_cluster_correlation": WITHIN_CLUSTER_CORRELATION,
             "inflamed_logit_on_latent_inflammation": list(INFLAMED_LOGIT),
             "inflamed": dict(zip(base["patient_id"].to_numpy()[idx].tolist(), inflamed.tolist()))}
    return long, truth
