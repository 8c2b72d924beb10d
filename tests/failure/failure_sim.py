"""A seeded synthetic cohort with planted lesion-level risk and planted failure patterns (test helper).

Every index lesion fails with probability expit(a + log(2.34) bulky + log(2.08) suv10 + log(1.49)
extranodal) — the ORs of Figura 2021 — with no patient effect, so the planted ORs are the
marginal ORs the GEE estimates. A failing lesion regrows at day 90 (DS 5, 3.0 x 2.5 cm after
DS 2 at day 30). Patients get a new lesion at a nodal station none of their index lesions uses
(so it is DE_NOVO by the station rule) with probability 0.5 if they have a local failure and
0.25 otherwise. The truth per patient is returned beside the tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PLANTED_OR = {"bulky_5cm": 2.34, "suv_ge10": 2.08, "extranodal": 1.49}
NODAL = ["cervical", "supraclavicular", "axillary", "mediastinal", "hilar", "mesenteric", "retroperitoneal",
         "iliac", "inguinal"]
EXTRANODAL = ["lung", "bone", "soft_tissue", "kidney", "adrenal", "skin"]


def cohort(n_patients: int = 400, seed: int = 4, intercept: float = -2.2) -> tuple[dict, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    scans, lesions, truth = [], [], []
    for i in range(n_patients):
        pid = f"S{i:03d}"
        scans += [{"patient_id": pid, "centre": "C1", "scan_id": s, "day": d, "modality": "petct",
                   "marrow": "not_involved"} for s, d in (("BL", -5), ("FU1", 30), ("FU2", 90))]
        n_les = 1 + rng.poisson(5)
        used: set[str] = set()
        any_local = False
        clear_left = False
        for j in range(n_les):
            bulky, suv, extra = rng.random() < 0.25, rng.random() < 0.35, rng.random() < 0.3
            site = rng.choice(EXTRANODAL) if extra else rng.choice(NODAL[:6])
            used.add(str(site))
            ldi = round(float(rng.uniform(5.0, 9.0) if bulky else rng.uniform(1.6, 4.9)), 1)
            sdi = round(ldi * 0.7, 1)
            eta = intercept + np.log(2.34) * bulky + np.log(2.08) * suv + np.log(1.49) * extra
            fails = rng.random() < 1 / (1 + np.exp(-eta))
            any_local |= fails
            clear_left |= not fails
            base = {"patient_id": pid, "centre": "C1", "lesion_id": f"L{j}", "site": str(site), "nodal": not extra}
            lesions.append({**base, "scan_id": "BL", "role": "target" if j < 6 else "nontarget", "state": "measured",
                            "ldi_cm": ldi, "sdi_cm": sdi, "suvmax": round(float(rng.uniform(10, 30) if suv else
                                                                                  rng.uniform(3, 9.9)), 1),
                            "deauville": "5"})
            lesions.append({**base, "scan_id": "FU1", "state": "too_small", "deauville": "2"})
            lesions.append({**base, "scan_id": "FU2", **({"state": "measured", "ldi_cm": 3.0, "sdi_cm": 2.5,
                                                          "deauville": "5"} if fails else
                                                         {"state": "too_small", "deauville": "2"})})
        new = rng.random() < (0.5 if any_local else 0.25)
        if new:
            site = next(s for s in NODAL[::-1] if s not in used)
            lesions.append({"patient_id": pid, "centre": "C1", "lesion_id": "NEW", "site": site, "nodal": True,
                            "scan_id": "FU2", "state": "measured", "ldi_cm": 2.2, "sdi_cm": 1.8, "deauville": "5"})
        pattern = ("mixed" if new else "strictly_local") if any_local else ("strictly_de_novo" if new else None)
        truth.append({"patient_id": pid, "pattern": pattern, "mixed_response": clear_left if pattern else None})
    tables = {"scans": pd.DataFrame(scans), "lesions": pd.DataFrame(lesions)}
    return tables, pd.DataFrame(truth)
