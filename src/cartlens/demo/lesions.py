"""Pre-treatment lesion registry and baseline scans of the demo cohort (pure, vectorised).

Every patient has a baseline PET/CT (``scan_id`` ``BL``, day -28..-3, after bridging) listing *every* lesion
(patterns_of_failure.md section 2.1: Figura et al. 2021 enumerated 469 lesions in 63 patients, about 7.4 per
patient).  Lesion metabolic volumes share the patient's MTV (Dirichlet split), so ``sum(volume_ml) == mtv_ml``
up to rounding; CT diameters follow from the volume (equivalent-sphere diameter, elongated); SUVmax rises with
size.  Up to 6 of the largest measurable lesions (node LDi > 1.5 cm, extranodal LDi > 1.0 cm) are targets
(Lugano ``L-TGT``, response_criteria.md section 2.1); the rest are non-targets.
Centroids (mm, patient coordinates: x left-right, y antero-posterior, z cranio-caudal) sit near an anatomical
anchor of the site, so the overlap fallback of patterns_of_failure.md section 2.3 has something to work with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "EXTRANODAL_WEIGHTS",
    "NODAL_WEIGHTS",
    "SITE_ANCHOR_MM",
    "baseline_scans",
    "deauville_from_suv",
    "draw_registry",
    "target_roles",
]

NODAL_WEIGHTS = {"cervical": .14, "supraclavicular": .07, "axillary": .12, "mediastinal": .13, "hilar": .05,
                 "mesenteric": .10, "retroperitoneal": .15, "iliac": .10, "inguinal": .10, "waldeyer": .02,
                 "other_nodal": .02}
# Spleen and marrow are described at scan level (spleen_cm, marrow), not as registry lesions; no CNS lesions.
EXTRANODAL_WEIGHTS = {"liver": .14, "gi_tract": .14, "lung": .14, "pleura": .06, "bone": .20, "kidney": .06,
                      "adrenal": .05, "skin": .04, "soft_tissue": .10, "breast": .02, "other_extranodal": .05}
# (x, y, z) anchor in mm; a paired site gets a random side (x sign).
SITE_ANCHOR_MM = {
    "waldeyer": (0, -40, 1520), "cervical": (55, 0, 1450), "supraclavicular": (70, 10, 1380),
    "axillary": (150, 20, 1250), "mediastinal": (0, -20, 1200), "hilar": (60, 10, 1150),
    "mesenteric": (10, -40, 950), "retroperitoneal": (20, 40, 950), "iliac": (80, 20, 820),
    "inguinal": (100, -40, 720), "other_nodal": (0, 0, 1000), "liver": (-100, 0, 1050),
    "gi_tract": (30, -50, 900), "lung": (100, 10, 1200), "pleura": (130, 40, 1150), "bone": (0, 80, 1000),
    "kidney": (70, 60, 980), "adrenal": (60, 50, 1030), "skin": (160, 0, 1000), "soft_tissue": (140, 0, 900),
    "breast": (90, -100, 1200), "other_extranodal": (0, 0, 1000),
}
NODAL_LDI_MEASURABLE_CM, EXTRANODAL_LDI_MEASURABLE_CM = 1.5, 1.0      # Lugano L-TGT
MAX_TARGETS = 6


def deauville_from_suv(suvmax: np.ndarray, liver_suvmean: np.ndarray, mbp: np.ndarray) -> np.ndarray:
    """Deauville score from lesion SUVmax and the reference regions (our operationalisation, spec A7).

    1: SUVmax < 0.8 x mediastinal blood pool; 2: <= MBP; 3: <= liver; 4: <= 2.5 x liver; 5: above.
    """
    s, liver, mbp = (np.asarray(a, dtype=float) for a in (suvmax, liver_suvmean, mbp))
    return np.select([s < 0.8 * mbp, s <= mbp, s <= liver, s <= 2.5 * liver], ["1", "2", "3", "4"], "5")


def _sites(rng: np.random.Generator, nodal: np.ndarray) -> np.ndarray:
    nod = rng.choice(list(NODAL_WEIGHTS), size=len(nodal), p=list(NODAL_WEIGHTS.values()))
    ext = rng.choice(list(EXTRANODAL_WEIGHTS), size=len(nodal), p=list(EXTRANODAL_WEIGHTS.values()))
    return np.where(nodal, nod, ext)


def site_centroids(rng: np.random.Generator, sites: np.ndarray, sd_mm: float = 15.0) -> np.ndarray:
    """Centroids (n, 3) in mm near each site's anchor (paired sites on a random side)."""
    anchors = np.array([SITE_ANCHOR_MM[s] for s in sites], dtype=float).reshape(-1, 3)
    side = np.where(rng.random(len(sites)) < 0.5, -1.0, 1.0)
    anchors[:, 0] *= side
    return np.round(anchors + rng.normal(0.0, sd_mm, size=anchors.shape), 1)


def draw_registry(rng: np.random.Generator, base: pd.DataFrame, scan_ref: pd.DataFrame) -> pd.DataFrame:
    """Baseline lesion rows (one per lesion) for every patient.

    Parameters
    ----------
    base : DataFrame
        Patients with ``patient_id, centre, mtv_ml, stage, bridging``.
    scan_ref : DataFrame
        Baseline scan reference values per patient (``liver_suvmean, mbp_suvmax``), aligned with ``base``.

    Returns
    -------
    DataFrame
        Lesion rows with the canonical lesion columns plus ``pidx`` (row of ``base``).
    """
    mtv = base["mtv_ml"].to_numpy(dtype=float)
    stage = base["stage"].to_numpy()
    lam = np.exp(0.85 + 0.26 * np.log1p(mtv)) * np.where(stage <= 2, 0.45, 1.0)
    count = np.where(mtv > 0, 1 + rng.poisson(lam), 1)
    count = np.minimum(count, 25)
    pidx = np.repeat(np.arange(len(base)), count)
    n = len(pidx)
    p_nodal = np.where(stage[pidx] <= 2, 0.9, 0.68)
    nodal = rng.random(n) < p_nodal
    nodal[np.r_[0, np.cumsum(count)[:-1]]] = True            # each patient's first lesion is nodal
    sites = _sites(rng, nodal)
    # Dirichlet(0.8) shares of MTV: gamma draws normalised within patient.
    g = rng.gamma(0.8, size=n)
    share = g / np.bincount(pidx, weights=g)[pidx]
    vol = np.round(mtv[pidx] * share, 2)
    deq = np.cbrt(6.0 * np.maximum(vol, 0.05) / np.pi)        # cm, equivalent-sphere diameter
    ldi = np.round(np.maximum(deq * rng.uniform(1.1, 1.5, n), 0.8), 1)
    sdi = np.round(np.clip(ldi * rng.uniform(0.55, 0.9, n), 0.5, None), 1)
    sdi = np.minimum(sdi, ldi)
    suv = np.exp(np.log(5.5) + 0.22 * np.log1p(vol) + 0.35 * rng.standard_normal(n))
    suv = np.round(np.where(vol > 0, np.clip(suv, 4.2, 45.0), rng.uniform(2.0, 3.5, n)), 1)
    liver = scan_ref["liver_suvmean"].to_numpy()[pidx]
    mbp = scan_ref["mbp_suvmax"].to_numpy()[pidx]
    xyz = site_centroids(rng, sites)
    rt_patient = base["bridging"].isin(["radiation", "combined"]).to_numpy()
    reg = pd.DataFrame({
        "pidx": pidx, "patient_id": base["patient_id"].to_numpy()[pidx], "centre": base["centre"].to_numpy()[pidx],
        "scan_id": "BL", "site": sites, "nodal": nodal, "state": "measured", "ldi_cm": ldi, "sdi_cm": sdi,
        "volume_ml": vol, "suvmax": suv, "deauville": deauville_from_suv(suv, liver, mbp),
        "attribution": "lymphoma", "centroid_x_mm": xyz[:, 0], "centroid_y_mm": xyz[:, 1],
        "centroid_z_mm": xyz[:, 2],
    })
    reg["lesion_id"] = [f"L{k + 1:02d}" for k in reg.groupby("pidx").cumcount()]
    reg["role"] = target_roles(reg)
    # Bridging RT (our choice): the largest lesion of a patient bridged with radiation was in the field.
    largest = reg.groupby("pidx")["ldi_cm"].transform("max") == reg["ldi_cm"]
    first_largest = largest & ~reg.duplicated(["pidx", "ldi_cm"])
    reg["bridging_rt"] = rt_patient[pidx] & first_largest.to_numpy()
    return reg


def target_roles(reg: pd.DataFrame) -> np.ndarray:
    """``target`` for up to 6 largest measurable lesions per patient (by LDi), ``nontarget`` otherwise."""
    measurable = np.where(reg["nodal"], reg["ldi_cm"] > NODAL_LDI_MEASURABLE_CM,
                          reg["ldi_cm"] > EXTRANODAL_LDI_MEASURABLE_CM)
    rank = (reg.assign(_m=measurable, _l=np.where(measurable, reg["ldi_cm"], -1.0))
            .groupby("pidx")["_l"].rank(ascending=False, method="first"))
    return np.where(measurable & (rank <= MAX_TARGETS), "target", "nontarget")


def baseline_scans(rng: np.random.Generator, base: pd.DataFrame) -> pd.DataFrame:
    """Baseline scan rows (``BL``): day -28..-3, PET/CT, spleen length, marrow, reference regions.

    Splenomegaly (> 13 cm) in about 15 % and marrow involvement in about 10 % (our choices; typical of r/r LBCL).
    """
    n = len(base)
    spleen = np.where(rng.random(n) < 0.15, rng.uniform(13.5, 19.0, n), rng.normal(10.8, 1.2, n))
    return pd.DataFrame({
        "patient_id": base["patient_id"].to_numpy(), "centre": base["centre"].to_numpy(), "scan_id": "BL",
        "day": -rng.integers(3, 29, n), "modality": "petct",
        "spleen_cm": np.round(np.clip(spleen, 7.0, 22.0), 1),
        "marrow": np.where(rng.random(n) < 0.10, "involved", "not_involved"),
        "clinical_deterioration": False,
        "liver_suvmean": np.round(rng.normal(2.1, 0.25, n).clip(1.4, 3.0), 2),
        "mbp_suvmax": np.round(rng.normal(1.7, 0.2, n).clip(1.1, 2.4), 2),
    })
