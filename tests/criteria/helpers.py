"""Builders for small response-criteria scenarios (the standard baseline of the fixtures' README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from cartlens.criteria import ResponseOptions, assess

FIXTURES = Path(__file__).parent / "fixtures"
STANDARD_BL = [("T1", "retroperitoneal", True, 4.0, 3.0, 18), ("T2", "axillary", True, 3.0, 2.0, 14),
               ("T3", "iliac", True, 2.5, 2.0, 12)]


def load_case(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def frames(case: dict[str, Any], patient: str = "P1", centre: str = "C") -> tuple[pd.DataFrame, pd.DataFrame]:
    scans = pd.DataFrame(case["scans"]).assign(patient_id=patient, centre=centre)
    lesions = pd.DataFrame(case["lesions"]).assign(patient_id=patient, centre=centre)
    return scans, lesions


def scan(scan_id: str, day: int, modality: str = "petct", spleen: float | None = 11.0,
         marrow: str | None = "not_involved", nontarget: str | None = "absent",
         deterioration: bool | None = False) -> dict[str, Any]:
    return {"scan_id": scan_id, "day": day, "modality": modality, "spleen_cm": spleen, "marrow": marrow,
            "nontarget": nontarget, "clinical_deterioration": deterioration}


def lesion(scan_id: str, lesion_id: str, ldi: float | None = None, sdi: float | None = None, *,
           site: str = "retroperitoneal", nodal: bool = True, role: str | None = None,
           state: str | None = None, ds: str | None = None, uptake: str | None = None,
           attribution: str | None = None, biopsy: bool | None = None, suvmax: float | None = None
           ) -> dict[str, Any]:
    return {"scan_id": scan_id, "lesion_id": lesion_id, "site": site, "nodal": nodal, "role": role,
            "state": state or ("measured" if ldi is not None else "absent"), "ldi_cm": ldi, "sdi_cm": sdi,
            "deauville": ds, "uptake_vs_baseline": uptake, "attribution": attribution,
            "biopsy_proven": biopsy, "suvmax": suvmax}


def baseline(scan_id: str = "BL") -> list[dict[str, Any]]:
    """The fixtures' standard baseline: SPD 23.0 cm^2, SLD 9.5 cm, DS 5."""
    return [lesion(scan_id, lid, ldi, sdi, site=site, nodal=nod, role="target", ds="5", suvmax=suv)
            for lid, site, nod, ldi, sdi, suv in STANDARD_BL]


def run(scans: list[dict], lesions: list[dict], options: ResponseOptions | None = None,
        **kwargs: Any) -> pd.DataFrame:
    s = pd.DataFrame(scans).assign(patient_id="P1", centre="C")
    les = pd.DataFrame(lesions).assign(patient_id="P1", centre="C")
    return assess(s, les, options=options, **kwargs)


def verdict(frame: pd.DataFrame, scan_id: str, criterion: str) -> tuple[str, list[str]]:
    row = frame[(frame.scan_id == scan_id) & (frame.criterion == criterion)].iloc[0]
    return row.category, sorted(row.reasons)
