"""``FailureResult``: the frozen result of :func:`cartlens.failure.analyse`.

``to_dict()`` is the JSON of ``cartlens failure`` (cli.md, "Patterns of failure"): the keys
listed there never change; extra keys are added beside them. ``tables()`` gives the §2.6 tables
as DataFrames for the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from cartlens.failure.patterns import FailureOptions

MODEL_KEYS = ("bulky_5cm", "suv_ge10", "extranodal")


def jsonable(value: Any) -> Any:
    """Decimal → int/float, numpy scalars → Python, NaN → None, tuples → lists, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return value


def _or_row(fit: Any, term: str) -> dict[str, float | None]:
    empty: dict[str, float | None] = {"or": None, "or_lower": None, "or_upper": None, "p": None}
    if fit is None or term not in getattr(fit, "terms", ()):
        return empty
    row = fit.to_dict()["terms"][term]
    return {k: row.get(k) for k in empty}


@dataclass(frozen=True)
class FailureResult:
    """Patterns of failure for one response criterion.

    Attributes
    ----------
    criterion : str
    options : FailureOptions
    registry : DataFrame
        Index lesions with features and outcomes (failed, failure scan/day, mode, subtype,
        failed_sensitivity, censoring, overrides).
    course : DataFrame
        Every index lesion at every follow-up scan with the §2.2 flags.
    failure_lesions : DataFrame
        Every candidate failure lesion at every PD scan: automatic and final class, method,
        linked index lesions, overlap (voxels, fraction) or distance (mm), exclusions, overrides.
    patients : DataFrame
        One row per patient with a baseline scan: first PD scan, pattern (main and sensitivity),
        mixed response, timing.
    models : dict
        Output of :func:`cartlens.failure.lesion_model.fit_lesion_models`.
    pd_source : str
        Where the PD calls came from (response table or response engine).
    messages : tuple of str
        Data problems that did not stop the analysis (counts only, no identifiers).
    """

    criterion: str
    options: FailureOptions
    registry: pd.DataFrame
    course: pd.DataFrame
    failure_lesions: pd.DataFrame
    patients: pd.DataFrame
    models: dict[str, Any] = field(default_factory=dict)
    pd_source: str = ""
    messages: tuple[str, ...] = ()

    # ------------------------------------------------------------------ JSON ---
    def _summary_counts(self, col: str = "pattern") -> dict[str, int]:
        pts = self.patients
        with_pd = pts[pts["first_pd_scan_id"].notna()] if len(pts) else pts
        pat = list(with_pd[col]) if len(with_pd) else []
        return {"patients_with_pd": len(pat), "any_local": pat.count("strictly_local") + pat.count("mixed"),
                "strictly_local": pat.count("strictly_local"), "mixed": pat.count("mixed"),
                "strictly_de_novo": pat.count("strictly_de_novo"), "unclassified": pat.count(None)}

    def summary_dict(self) -> dict[str, Any]:
        """Counts in the paper's format (n; and % of patients with PD), main and sensitivity."""
        main = self._summary_counts()
        pts = self.patients
        with_pd = pts[pts["first_pd_scan_id"].notna()] if len(pts) else pts
        n = main["patients_with_pd"]
        mixed_resp = int((with_pd["mixed_response"] == True).sum()) if n else 0
        pct = {f"{k}_pct": (100.0 * v / n if n else None) for k, v in main.items() if k != "patients_with_pd"}
        return {**main, **pct, "mixed_response": mixed_resp, "mixed_response_pct": 100.0 * mixed_resp / n if n else None,
                "n_patients": len(pts), "n_index_lesions": len(self.registry),
                "n_index_lesions_failed": int(self.registry["failed"].sum()) if len(self.registry) else 0,
                "sensitivity_adjacent_as_local": self._summary_counts("pattern_sensitivity")}

    def _lesion_items(self) -> list[dict[str, Any]]:
        items = []
        for _, r in self.registry.iterrows():
            items.append({"patient_id": r["patient_id"], "lesion_id": r["lesion_id"], "index": True,
                          "class": "local" if r["failed"] else None, "failed": bool(r["failed"]),
                          "bulky_5cm": r["bulky_5cm"], "suv_ge10": r["suv_ge10"], "extranodal": r["extranodal"],
                          "centre": r["centre"], "site": r["site"], "failure_scan_id": r["failure_scan_id"],
                          "failure_day": r["failure_day"], "failure_mode": r["failure_mode"], "subtype": r["subtype"],
                          "failed_sensitivity": bool(r["failed_sensitivity"]), "override": r["override"]})
        fl = self.failure_lesions
        new = fl[~fl["index"].astype(bool)].drop_duplicates(["centre", "patient_id", "lesion_id"]) if len(fl) else fl
        for _, r in new.iterrows():
            items.append({"patient_id": r["patient_id"], "lesion_id": r["lesion_id"], "index": False,
                          "class": r["class"], "failed": r["class"] is not None, "bulky_5cm": None, "suv_ge10": None,
                          "extranodal": (r["site"] not in _NODAL_SITES) if r["site"] in _ALL_SITES else None,
                          "centre": r["centre"], "site": r["site"], "scan_id": r["scan_id"], "day": r["day"],
                          "auto_class": r["auto_class"], "method": r["method"], "organ_level": r["organ_level"],
                          "linked_index_ids": r["linked_index_ids"], "excluded": r["excluded"],
                          "override": r["override"]})
        return items

    def to_dict(self) -> dict[str, Any]:
        """JSON of ``cartlens failure`` (cli.md). Model = multivariable GEE (bias-reduced sandwich)."""
        pts = [{"patient_id": r["patient_id"], "centre": r["centre"], "pattern": r["pattern"],
                "first_pd_scan_id": r["first_pd_scan_id"], "first_pd_day": r["first_pd_day"],
                "mixed_response": r["mixed_response"], "timing": r["timing"],
                "pattern_sensitivity": r["pattern_sensitivity"], "n_failure_lesions": r["n_failure_lesions"]}
               for _, r in self.patients.iterrows()]
        mv = self.models.get("gee_multivariable")
        body = {"criterion": self.criterion, "margin_mm": self.options.margin_mm, "pd_source": self.pd_source,
                "messages": list(self.messages),
                "patients": pts, "lesions": self._lesion_items(), "summary": self.summary_dict(),
                "model": {k: _or_row(mv, k) for k in MODEL_KEYS},
                "model_univariable": {k: _or_row(self.models.get("gee_univariable", {}).get(k), k) for k in MODEL_KEYS},
                "model_glmm": {k: _or_row(self.models.get("glmm_multivariable"), k) for k in MODEL_KEYS},
                "model_info": {k: self.models.get(k) for k in ("n_lesions", "n_patients", "n_events",
                                                               "n_patients_with_events", "epv", "epv_warning",
                                                               "messages")}}
        return jsonable(body)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The §2.6 tables (pattern, lesion, model, listing) as DataFrames."""
        from cartlens.failure.tables import build_tables
        return build_tables(self)

    def report_section(self) -> dict[str, Any]:
        """Data for the report's "Patterns of failure" section (see ``tables.report_section``)."""
        from cartlens.failure.tables import report_section
        return report_section(self)

    def summary(self) -> pd.DataFrame:
        """The pattern table (§2.6 table 1)."""
        return self.tables()["pattern"]


_EXTRANODAL_SITES = frozenset({"bone_marrow", "cns", "liver", "gi_tract", "lung", "pleura", "bone", "kidney", "adrenal",
                               "skin", "soft_tissue", "breast", "testis", "other_extranodal"})
_NODAL_SITES = frozenset({"cervical", "supraclavicular", "axillary", "mediastinal", "hilar", "mesenteric",
                          "retroperitoneal", "iliac", "inguinal", "waldeyer", "other_nodal", "spleen"})
_ALL_SITES = _NODAL_SITES | _EXTRANODAL_SITES
