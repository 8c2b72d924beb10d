"""Study data: load the canonical tables named by the plan and derive one analysis row per patient.

Derived columns (all documented in docs/study_report.md):

* baseline labs: the latest value per analyte from day -14 to day -1 (before lymphodepletion), as report
  section 1 (``cartlens.report.cohort.baseline_labs``); ``ldh_gt_uln`` = LDH > the row's ULN;
* ``car_hematotox``: CAR-HEMATOTOX points (Rejeski K et al., Blood 2021;138:2499; scores.md section 7);
* ``ecog_ge2``, ``stage_34``, ``n_extranodal`` (count of ``extranodal_sites``);
* lesion features of the baseline scan (last scan at day <= 0): ``max_ldi_cm``, ``any_lesion_ge5``,
  ``bulky_10cm``;
* landmark features at ``day`` +/- ``window`` (scan nearest ``day``): ``deauville_dNN`` = highest lesion
  Deauville score (X counts as missing), ``suvmax_dNN`` = highest lesion SUVmax (0 when no lesion is
  recorded); ``ctdna_d28`` = biomarker ``ctdna_detectable`` on the day nearest 28 (days 21-35).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from cartlens.report.cohort import baseline_labs, hematotox_scores
from cartlens.study.config import StudyPlan

KEYS = ["centre", "patient_id"]


class StudyDataError(ValueError):
    """The plan's data source cannot be read, or lacks what every section needs."""


def load_tables(plan: StudyPlan) -> dict[str, pd.DataFrame]:
    """Canonical tables from the plan's data source (a data directory or a database URL)."""
    src = plan.data
    if src.builtin is not None:
        raise StudyDataError("data.builtin = 'demo': pass the demo tables to run_study (cartlens demo does)")
    if src.db is not None:
        from cartlens.store import Store

        tables = Store(src.db).load_tables(src.centres)
    else:
        from cartlens.io import read_data_dir

        path = plan.resolve(src.source or "")
        if not path.is_dir():
            raise StudyDataError(f"data.source: {path} is not a directory")
        batch = read_data_dir(path)
        if batch.errors:
            lines = [str(e) for e in batch.errors[:20]]
            raise StudyDataError("data.source: the data do not validate:\n" + "\n".join(lines))
        tables = dict(batch.tables)
        if src.centres:
            tables = {k: v[v["centre"].isin(src.centres)] if "centre" in v else v for k, v in tables.items()}
    if "patients" not in tables or tables["patients"].empty:
        raise StudyDataError("data: no patients")
    return tables


def data_hash(tables: dict[str, pd.DataFrame]) -> str:
    """SHA-256 over the tables' CSV text, table names sorted (the data fingerprint in run.json)."""
    h = hashlib.sha256()
    for name in sorted(tables):
        h.update(name.encode())
        h.update(tables[name].to_csv(index=False, float_format="%.10g").encode())
    return h.hexdigest()


def _empty_index() -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([[], []], names=KEYS)


def _nearest_scan(scans: pd.DataFrame, day: int, window: int) -> pd.DataFrame:
    s = scans[(scans["day"] >= day - window) & (scans["day"] <= day + window)]
    s = s.assign(_d=(s["day"] - day).abs()).sort_values(KEYS + ["_d", "day"])
    return s.drop_duplicates(KEYS)[KEYS + ["scan_id", "day"]]


def _lesion_features(tables: dict[str, pd.DataFrame], day: int, window: int) -> pd.DataFrame:
    scans, lesions = tables.get("scans"), tables.get("lesions")
    out = pd.DataFrame(index=_empty_index())
    if scans is None or lesions is None or scans.empty or lesions.empty:
        return out
    base = scans[scans["day"] <= 0].sort_values("day").drop_duplicates(KEYS, keep="last")[KEYS + ["scan_id"]]
    bl = lesions.merge(base, on=KEYS + ["scan_id"])
    ldi = bl.groupby(KEYS)["ldi_cm"].max().rename("max_ldi_cm")
    feats = ldi.to_frame()
    feats["any_lesion_ge5"] = (feats["max_ldi_cm"] >= 5.0).astype(float)
    feats["bulky_10cm"] = (feats["max_ldi_cm"] > 10.0).astype(float)
    lm = _nearest_scan(scans, day, window)
    at = lesions.merge(lm[KEYS + ["scan_id"]], on=KEYS + ["scan_id"])
    ds = pd.to_numeric(at["deauville"].astype(str).str.strip(), errors="coerce")
    dv = at.assign(_ds=ds).groupby(KEYS)["_ds"].max()
    suv = at.groupby(KEYS)["suvmax"].max()
    lm = lm.set_index(KEYS)
    lm[f"deauville_d{day}"] = dv.reindex(lm.index)
    lm[f"suvmax_d{day}"] = suv.reindex(lm.index).fillna(0.0)
    lm = lm.rename(columns={"day": f"scan_day_d{day}"}).drop(columns="scan_id")
    return feats.join(lm, how="outer")


def _ctdna(tables: dict[str, pd.DataFrame]) -> pd.Series:
    bio = tables.get("biomarkers")
    if bio is None or bio.empty:
        return pd.Series(dtype=float, name="ctdna_d28", index=_empty_index())
    c = bio[(bio["marker"] == "ctdna_detectable") & bio["day"].between(21, 35)]
    c = c.assign(_d=(c["day"] - 28).abs()).sort_values(KEYS + ["_d"]).drop_duplicates(KEYS)
    return c.set_index(KEYS)["value"].astype(float).rename("ctdna_d28")


def analysis_frame(tables: dict[str, pd.DataFrame], plan: StudyPlan) -> pd.DataFrame:
    """One row per patient (index centre, patient_id) with the columns of the module docstring."""
    p = tables["patients"].copy()
    col = plan.cohorts.column
    if col not in p.columns:
        raise StudyDataError(f"cohorts.column: the patients table has no column {col!r}")
    p["cohort_label"] = p[col].astype(object).where(p[col].notna(), None)
    p = p.set_index(KEYS)
    labs = tables.get("labs")
    if labs is not None and len(labs):
        wide = baseline_labs(labs)
        p = p.join(wide, how="left")
        p["car_hematotox"] = hematotox_scores(wide).reindex(p.index).astype("Float64")
        if {"ldh", "ldh_uln"} <= set(p.columns):
            p["ldh_gt_uln"] = (p["ldh"] > p["ldh_uln"]).astype(float).where(p["ldh"].notna() & p["ldh_uln"].notna())
    if "ecog" in p:
        p["ecog_ge2"] = (p["ecog"].astype(float) >= 2).astype(float).where(p["ecog"].notna())
    if "stage" in p:
        p["stage_34"] = (p["stage"].astype(float) >= 3).astype(float).where(p["stage"].notna())
    if "extranodal_sites" in p:
        sites = p["extranodal_sites"].fillna("").astype(str)
        p["n_extranodal"] = sites.map(lambda s: len([x for x in s.split(";") if x.strip()])).astype(float)
    p = p.join(_lesion_features(tables, plan.landmarks.day, plan.landmarks.window), how="left")
    p = p.join(_ctdna(tables), how="left")
    return p


def in_cohort(frame: pd.DataFrame, plan: StudyPlan, which: str) -> pd.DataFrame:
    """Rows of the development or validation cohort (by the plan's labels)."""
    label = getattr(plan.cohorts, which)
    return frame[frame["cohort_label"] == label]


def data_source_text(plan: StudyPlan) -> str:
    src = plan.data
    if src.builtin:
        return f"built-in {src.builtin} cohort"
    return f"database {src.db.split('@')[-1]}" if src.db else f"data directory {Path(src.source or '').name}"


__all__ = [
    "KEYS",
    "StudyDataError",
    "analysis_frame",
    "data_hash",
    "data_source_text",
    "in_cohort",
    "load_tables",
]
