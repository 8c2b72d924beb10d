"""Index-lesion registry: every lesion on the last pre-infusion scan (spec §2.1).

Source: Figura NB et al., Int J Radiat Oncol Biol Phys 2021;111(5):1145-54 (469 pre-treatment
lesions in 63 patients, i.e. every lesion, not only response targets); patterns_of_failure.md
§2.1. Baseline = the last scan at day <= 0 (data_model.md; response_criteria.md A27).

Feature rules
-------------
* ``extranodal``: not nodal; spleen and Waldeyer's ring count as **nodal** (Lugano staging,
  Cheson 2014 Table 1 footnote; spec §2.1), whatever the ``nodal`` column says for them.
* ``bulky_5cm``: LDi >= 5.0 cm (Figura 2021 "diameter >= 5 cm"), exact decimal comparison. A
  ``too_small`` lesion is not bulky; a lesion without a measurement is unknown (None).
* ``suv_ge10``: SUVmax >= 10.0 (Figura 2021), exact; None when SUVmax is missing.
* Excluded from the registry: baseline rows that are ``absent``, DS X, or attributed
  ``not_lymphoma`` (spec §2.3: DS X and inflammation are not disease).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pandas as pd

NODAL_BY_LUGANO = frozenset({"spleen", "waldeyer"})
BULKY_CM = Decimal("5.0")
SUV_HIGH = Decimal("10.0")

REGISTRY_COLUMNS = (
    "centre", "patient_id", "lesion_id", "baseline_scan_id", "baseline_day", "site", "nodal", "extranodal",
    "state", "ldi_cm", "sdi_cm", "bulky_5cm", "suvmax", "suv_ge10", "deauville", "volume_ml",
    "bridging_rt", "bridging_systemic", "bridging_type", "centroid_mm",
)


def baseline_scans(scans: pd.DataFrame) -> pd.DataFrame:
    """The last scan at day <= 0 per patient: columns centre, patient_id, scan_id, day (+ marrow, spleen)."""
    pre = scans[[d is not None and d <= 0 for d in scans["day"]]]
    if pre.empty:
        return pre.iloc[0:0]
    order = pre.assign(_d=[float(d) for d in pre["day"]]).sort_values("_d", kind="stable")
    return order.groupby(["centre", "patient_id"], sort=False).tail(1).drop(columns="_d")


def is_extranodal(site: str, nodal: bool | None) -> bool | None:
    """Extranodal under Lugano staging: spleen and Waldeyer's ring are nodal."""
    if site in NODAL_BY_LUGANO:
        return False
    return None if nodal is None else not nodal


def excluded_reason(row: Mapping) -> str | None:
    """Why a lesion row is not lymphoma for this analysis (spec §2.3; response_criteria A11/A31)."""
    if row["deauville"] == "X":
        return "deauville_x"
    if row["attribution"] == "not_lymphoma":
        return "not_lymphoma"
    if row["attribution"] == "equivocal":
        return "equivocal"
    return None


def _bridging(patients: pd.DataFrame) -> dict[tuple[str, str], str | None]:
    """Patient bridging type (data_model.md: none / systemic / radiation / combined), None if not given."""
    if "bridging" not in patients.columns:
        return {}
    return {(c, p): (b if isinstance(b, str) and b else None)
            for c, p, b in zip(patients["centre"], patients["patient_id"], patients["bridging"])}


def centroid(row: Mapping) -> tuple[float, float, float] | None:
    """The lesion centre (mm, baseline frame) from the optional centroid columns; None if any is missing."""
    x, y, z = (row.get(f"centroid_{a}_mm") for a in "xyz")
    if x is None or y is None or z is None:
        return None
    return float(x), float(y), float(z)


def build_registry(scans: pd.DataFrame, lesions: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """One row per index lesion (normalised tables from ``_data.normalise``).

    Returns
    -------
    DataFrame with ``REGISTRY_COLUMNS``: sizes in cm (Decimal), SUV unitless, volume mL.
    ``bridging_rt`` comes from the optional lesion column (None when not given);
    ``bridging_systemic`` from the patient's ``bridging`` (systemic or combined), whose value is
    kept as ``bridging_type``.
    """
    base = baseline_scans(scans)
    keys = {(c, p): (s, d) for c, p, s, d in zip(base["centre"], base["patient_id"], base["scan_id"], base["day"])}
    bridging = _bridging(patients)
    rows = []
    for les in lesions.to_dict("records"):
        key = (les["centre"], les["patient_id"])
        if key not in keys or keys[key][0] != les["scan_id"]:
            continue
        if les["state"] == "absent" or excluded_reason(les) in ("deauville_x", "not_lymphoma"):
            continue
        ldi, suv = les["ldi_cm"], les["suvmax"]
        bulky = (ldi >= BULKY_CM) if ldi is not None else (False if les["state"] == "too_small" else None)
        rows.append({
            "centre": key[0], "patient_id": key[1], "lesion_id": les["lesion_id"],
            "baseline_scan_id": keys[key][0], "baseline_day": keys[key][1], "site": les["site"],
            "nodal": les["nodal"], "extranodal": is_extranodal(les["site"], les["nodal"]), "state": les["state"],
            "ldi_cm": ldi, "sdi_cm": les["sdi_cm"], "bulky_5cm": bulky, "suvmax": suv,
            "suv_ge10": None if suv is None else suv >= SUV_HIGH, "deauville": les["deauville"],
            "volume_ml": les["volume_ml"], "bridging_rt": les["bridging_rt"],
            "bridging_systemic": None if bridging.get(key) is None else bridging[key] in ("systemic", "combined"),
            "bridging_type": bridging.get(key), "centroid_mm": centroid(les),
        })
    return pd.DataFrame(rows, columns=list(REGISTRY_COLUMNS))
