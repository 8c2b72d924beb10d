"""Assemble the canonical tables (data_model.md) from the demo cohort's internal frames, in *reported* units.

Values are generated in canonical units and converted to each centre's reporting unit (``Centre.units``) with
the textbook factors (scores.md section 10; the same factors as ``cartlens.units``): CRP 1 mg/dL = 10 mg/L,
Hb 1 g/dL = 10 g/L, albumin 1 g/dL = 10 g/L, creatinine 1 mg/dL = 88.4 umol/L, bilirubin 1 mg/dL = 17.1 umol/L,
D-dimer 1 mg/L = 1000 ng/mL.  Every value is rounded to a reporting precision typical of the unit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cartlens.demo.centres import CENTRES

__all__ = [
    "CANONICAL_UNIT",
    "COLUMNS",
    "PRE_LD_LABS",
    "PRE_LD_ULN",
    "TO_REPORTED",
    "labs_table",
    "patients_table",
]

CANONICAL_UNIT = {"ldh": "U/L", "crp": "mg/dL", "ferritin": "ng/mL", "hb": "g/dL", "plt": "10^9/L",
                  "anc": "10^9/L", "wbc": "10^9/L", "alc": "10^9/L", "albumin": "g/dL", "alp": "U/L",
                  "ast": "U/L", "alt": "U/L", "bilirubin": "mg/dL", "creatinine": "mg/dL", "il6": "pg/mL",
                  "il10": "pg/mL", "tnfa": "pg/mL", "ddimer": "mg/L"}
TO_REPORTED = {("crp", "mg/L"): 10.0, ("hb", "g/L"): 10.0, ("albumin", "g/L"): 10.0,
               ("creatinine", "umol/L"): 88.4, ("bilirubin", "umol/L"): 17.1, ("ddimer", "ng/mL"): 1000.0}
"""Multiply a canonical value by this factor to get the value in the reported unit."""
_DECIMALS = {"U/L": 0, "mg/dL": 2, "mg/L": 1, "ng/mL": 0, "g/dL": 1, "g/L": 0, "10^9/L": 2, "umol/L": 1,
             "pg/mL": 1}
PRE_LD_LABS = ("ldh", "crp", "ferritin", "hb", "plt", "anc", "wbc", "alc", "albumin", "creatinine",
               "bilirubin", "ast", "alt", "alp")
PRE_LD_ULN = {"crp": 0.5, "ferritin": 400.0, "hb": 16.2, "plt": 400.0, "anc": 7.5, "wbc": 11.0, "alc": 4.0,
              "albumin": 5.0, "creatinine": 1.2, "bilirubin": 1.2, "ast": 37.0, "alt": 41.0, "alp": 130.0}

COLUMNS = {
    "patients": ["patient_id", "centre", "cohort", "sex", "age", "histology", "stage", "ecog", "extranodal_sites",
                 "prior_lines", "prior_auto_hct", "primary_refractory", "bridging", "product", "mtv_ml",
                 "mtv_method", "pfs_days", "pfs_event", "os_days", "os_event"],
    "labs": ["patient_id", "centre", "day", "analyte", "value", "unit", "uln"],
    "biomarkers": ["patient_id", "centre", "day", "marker", "value", "unit"],
    "toxicity": ["patient_id", "centre", "crs_grade", "icans_grade", "icu", "tocilizumab", "corticosteroids",
                 "icaht_grade"],
    "scans": ["patient_id", "centre", "scan_id", "day", "modality", "spleen_cm", "marrow", "nontarget",
              "clinical_deterioration", "liver_suvmean", "mbp_suvmax", "image"],
    "lesions": ["patient_id", "centre", "scan_id", "lesion_id", "site", "nodal", "role", "state", "ldi_cm",
                "sdi_cm", "volume_ml", "suvmax", "deauville", "uptake_vs_baseline", "attribution",
                "biopsy_proven", "centroid_x_mm", "centroid_y_mm", "centroid_z_mm", "bridging_rt"],
}
"""Canonical columns of data_model.md (plus the lesion centroid/bridging_rt additions of model.schema)."""


def to_reported(long: pd.DataFrame) -> pd.DataFrame:
    """Convert canonical ``value``/``uln`` to the centre's reporting unit and round; adds ``unit``."""
    units = {c.code: c.units for c in CENTRES}
    unit = [units[c].get(a, CANONICAL_UNIT[a]) for c, a in zip(long["centre"], long["analyte"])]
    factor = np.array([TO_REPORTED.get((a, u), 1.0) for a, u in zip(long["analyte"], unit)])
    out = long.copy()
    out["unit"] = unit
    dec = np.array([_DECIMALS.get(u, 2) for u in unit])
    for col in ("value", "uln"):
        v = out[col].to_numpy(dtype=float) * factor
        out[col] = [round(float(x), int(d)) for x, d in zip(v, dec)]
    # A value rounded to 0 would not be plausible for ratios/logs (InflaMix): keep the smallest reportable step.
    step = 10.0 ** (-dec)
    out["value"] = np.maximum(out["value"].to_numpy(dtype=float), step)
    return out


def labs_table(base: pd.DataFrame, day0: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Pre-lymphodepletion labs (one day between -5 and -3 per patient) plus the day-0 labs, reported units."""
    n = len(base)
    day = -rng.integers(3, 6, n)
    blocks = []
    for a in PRE_LD_LABS:
        uln = base["ldh_uln"].to_numpy() if a == "ldh" else np.full(n, PRE_LD_ULN[a])
        blocks.append(pd.DataFrame({"patient_id": base["patient_id"], "centre": base["centre"], "day": day,
                                    "analyte": a, "value": base[a].to_numpy(dtype=float), "uln": uln}))
    pre = pd.concat(blocks, ignore_index=True)
    pre = pre[pre["value"].notna()]
    labs = to_reported(pd.concat([pre, day0], ignore_index=True))
    return labs[COLUMNS["labs"]].sort_values(["centre", "patient_id", "day", "analyte"]).reset_index(drop=True)


def patients_table(base: pd.DataFrame, outc: pd.DataFrame, registry: pd.DataFrame,
                   bl_scans: pd.DataFrame) -> pd.DataFrame:
    """The patients table; ``extranodal_sites`` lists the registry's extranodal sites plus involved marrow."""
    ext = registry[~registry["nodal"].astype(bool)].groupby("pidx")["site"].agg(lambda s: sorted(set(s)))
    sites = []
    for i in range(len(base)):
        s = list(ext.get(i, []))
        if bl_scans["marrow"].iat[i] == "involved":
            s = sorted(set(s) | {"bone_marrow"})
        sites.append(";".join(s) if s else None)
    p = base.copy()
    p["extranodal_sites"] = sites
    for col in ("pfs_days", "pfs_event", "os_days", "os_event"):
        p[col] = outc[col].to_numpy()
    p["age"] = p["age"].astype(float)
    return p[COLUMNS["patients"]].reset_index(drop=True)
