"""Compact builders of canonical scans/lesions tables for the failure scenarios (test helper)."""

from __future__ import annotations

import pandas as pd

LESION_COLS = ("patient_id", "centre", "scan_id", "lesion_id", "site", "nodal", "role", "state", "ldi_cm",
               "sdi_cm", "suvmax", "deauville", "uptake_vs_baseline", "attribution")
NODAL = {"cervical", "supraclavicular", "axillary", "mediastinal", "hilar", "mesenteric", "retroperitoneal",
         "iliac", "inguinal", "waldeyer", "other_nodal"}


def scan(pid: str, sid: str, day: int, **kw) -> dict:
    return {"patient_id": pid, "centre": "C1", "scan_id": sid, "day": day, "modality": "petct",
            "marrow": kw.pop("marrow", "not_involved"), **kw}


def les(pid: str, sid: str, lid: str, site: str, state: str = "measured", ldi=None, sdi=None, ds=None,
        suv=None, uptake=None, attribution=None, **kw) -> dict:
    return {"patient_id": pid, "centre": "C1", "scan_id": sid, "lesion_id": lid, "site": site,
            "nodal": site in NODAL, "role": "target" if sid == "BL" else None, "state": state,
            "ldi_cm": ldi, "sdi_cm": sdi, "suvmax": suv, "deauville": ds, "uptake_vs_baseline": uptake,
            "attribution": attribution, **kw}


def tables(scans: list[dict], lesions: list[dict], patients: list[dict] | None = None) -> dict[str, pd.DataFrame]:
    out = {"scans": pd.DataFrame(scans), "lesions": pd.DataFrame(lesions)}
    if patients is not None:
        out["patients"] = pd.DataFrame(patients)
    return out
