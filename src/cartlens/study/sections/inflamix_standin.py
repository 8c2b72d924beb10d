"""A synthetic stand-in for InflaMix: a two-component Gaussian mixture fitted to *this cohort's* day-0 labs.

cartlens ships no InflaMix parameters (inflamix.md section 9; Raj SS et al., Nat Med 2025;31:1183).  When the
plan asks for ``strata.inflamix = "stand-in"`` (the demo does), the 14 InflaMix labs are put on the published
scale (value / ULN, log10 for CRP and ferritin; inflamix.md section 2), standardised with this cohort's mean
and SD, and a two-component full-covariance Gaussian mixture is fitted by EM (scikit-learn
``GaussianMixture``) on patients with all 14 labs.  The component with the higher mean CRP is called
"inflammatory".  The fitted arrays are wrapped in :class:`cartlens.scores.InflaMixModel` so patients are
assigned by the same exact-marginalisation code as the official model (patients with missing labs included).
Every output says "stand-in mixture, not InflaMix".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cartlens.scores.cohort import INFLAMIX_WINDOW
from cartlens.scores.inflamix import FEATURES, INPUT_NAME, LOG_FEATURES, InflaMixModel, model_from_arrays

PROVENANCE = "synthetic stand-in mixture fitted to this cohort (NOT the InflaMix model)"


def scaled_ratios(labs: pd.DataFrame) -> pd.DataFrame:
    """Wide table (index centre, patient_id; columns FEATURES) of value/ULN, log10 for CRP and ferritin."""
    w = labs[labs["day"].between(*INFLAMIX_WINDOW) & labs["uln"].notna() & (labs["uln"] > 0)]
    w = w.sort_values("day").groupby(["centre", "patient_id", "analyte"]).tail(1)
    w = w.assign(ratio=w["value"] / w["uln"])
    wide = w.pivot(index=["centre", "patient_id"], columns="analyte", values="ratio")
    out = pd.DataFrame(index=wide.index)
    for f in FEATURES:
        col = wide.get(INPUT_NAME[f])
        if col is None:
            out[f] = np.nan
            continue
        out[f] = np.log10(col.where(col > 0)) if f in LOG_FEATURES else col
    return out


def fit_standin(labs: pd.DataFrame, *, seed: int, min_complete: int = 30) -> tuple[InflaMixModel, int]:
    """Fit the stand-in mixture; returns the model and the number of complete patients it was fitted on."""
    from sklearn.mixture import GaussianMixture

    t = scaled_ratios(labs)
    mean, sd = t.mean(), t.std(ddof=1)
    if sd.isna().any() or (sd <= 0).any():
        raise ValueError("day-0 InflaMix labs: some of the 14 labs are missing or constant in this cohort")
    z = ((t - mean) / sd).dropna()
    if len(z) < min_complete:
        raise ValueError(f"only {len(z)} patients have all 14 day-0 labs (need {min_complete})")
    gm = GaussianMixture(n_components=2, covariance_type="full", random_state=seed, n_init=3, reg_covar=1e-4)
    gm.fit(z.to_numpy())
    crp = FEATURES.index("crp")
    infl = int(np.argmax(gm.means_[:, crp]))
    cov = (gm.covariances_ + np.transpose(gm.covariances_, (0, 2, 1))) / 2
    model = model_from_arrays(gm.weights_ / gm.weights_.sum(), gm.means_, cov, mean.to_numpy(), sd.to_numpy(),
                              inflammatory=infl, provenance=PROVENANCE)
    return model, len(z)
