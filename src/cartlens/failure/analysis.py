"""``analyse``: the whole patterns-of-failure analysis for one response criterion.

Pipeline (patterns_of_failure.md §2): index-lesion registry (§2.1) → course of every index
lesion (§2.2) → PD scans from the response engine → at every PD scan before censoring, every
failure lesion classified (§2.3) → index lesions' local failure (own progression, or overlapped
by a LOCAL failure mass, §2.3 step 5) → patient pattern at the first PD scan (§2.4) → lesion
model (§2.5) → tables (§2.6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from cartlens.failure import patterns as pt
from cartlens.failure._data import normalise
from cartlens.failure._response import pd_scans
from cartlens.failure.local import censor_days, lesion_course, subtype
from cartlens.failure.masks import normalise_masks
from cartlens.failure.overrides import apply_to_record, failed_override, parse_overrides
from cartlens.failure.registry import baseline_scans, build_registry
from cartlens.failure.result import FailureResult


def _failure_records(ctx: pt.PatientContext, scan: pd.Series, course_at: pd.DataFrame, rows: pd.DataFrame,
                     scans_sorted: pd.DataFrame, lesion_censor: dict, opts: pt.FailureOptions) -> list[dict]:
    """Every candidate failure lesion at one PD scan, classified automatically."""
    sid, day = scan["scan_id"], scan["day"]
    index_ids = set(ctx.index["lesion_id"])
    site_of = dict(zip(ctx.index["lesion_id"], ctx.index["site"]))
    out = []
    for lid in course_at.loc[course_at["progressing"], "lesion_id"]:
        rt = lesion_censor.get((ctx.centre, ctx.patient_id, lid))
        if rt is None or day <= rt:
            out.append(pt.classify_index(ctx, sid, day, lid, site_of[lid], opts))
    new = rows[~rows["lesion_id"].isin(index_ids) & rows["state"].isin(("measured", "too_small"))]
    for _, row in new.iterrows():
        out.append(pt.classify_new(ctx, sid, day, row["lesion_id"], row["site"], row, opts))
    if pt.marrow_event(scans_sorted, sid) and not (new["site"] == "bone_marrow").any():
        out.append(pt.classify_new(ctx, sid, day, "marrow", "bone_marrow", None, opts))
    return out


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(_d=[float(d) for d in frame["day"]]).sort_values("_d", kind="stable").drop(columns="_d")


def _index_outcomes(registry: pd.DataFrame, course: pd.DataFrame, records: pd.DataFrame, pcensor: dict,
                    lcensor: dict, overrides: tuple) -> pd.DataFrame:
    """Local failure of each index lesion (main and ADJACENT-as-LOCAL sensitivity) with subtype and censoring."""
    live = records[records["excluded"].isna()] if len(records) else records
    out = []
    for _, idx in registry.iterrows():
        key = (idx["centre"], idx["patient_id"], idx["lesion_id"])
        mine = course[(course["centre"] == key[0]) & (course["patient_id"] == key[1]) & (course["lesion_id"] == key[2])]
        stops = [d for d in (pcensor.get(key[:2]), lcensor.get(key)) if d is not None]
        stop = min(stops) if stops else None
        hits, sens = [], []
        for _, r in (live[(live["centre"] == key[0]) & (live["patient_id"] == key[1])].iterrows()
                     if len(live) else []):
            if stop is not None and r["day"] > stop:
                continue
            if r["class"] == pt.LOCAL and key[2] in r["linked_index_ids"]:
                hits.append(r)
            if (r["class"] == pt.LOCAL and key[2] in r["linked_index_ids"]) or (
                    r["class"] == pt.ADJACENT and key[2] in r["adjacent_index_ids"]):
                sens.append(r)
        first = min(hits, key=lambda r: r["day"]) if hits else None
        evaluable = mine[mine["evaluable"].to_numpy(bool) & np.array([stop is None or d <= stop for d in mine["day"]], bool)]
        rec = {**{c: idx[c] for c in ("centre", "patient_id", "lesion_id")},
               "failed": first is not None, "auto_failed": first is not None,
               "failure_scan_id": None if first is None else first["scan_id"],
               "failure_day": None if first is None else first["day"],
               "failure_mode": None if first is None else _mode(mine, first),
               "subtype": None if first is None else subtype(mine, first["day"]),
               "failed_sensitivity": bool(sens), "censor_day": stop,
               "last_evaluable_day": evaluable["day"].max() if len(evaluable) else None, "override": None}
        o = failed_override(overrides, *key)
        if o is not None:
            rec["failed"] = bool(o.value)
            rec["override"] = f"failed={o.value}" + (f" by {o.reader}" if o.reader else "") + (
                f" ({o.note})" if o.note else "")
        out.append(rec)
    return pd.DataFrame(out)


def _mode(course: pd.DataFrame, rec: pd.Series) -> str:
    at = course[course["scan_id"] == rec["scan_id"]]
    if at.empty or not bool(at["progressing"].iloc[0]):
        return "overlap"
    row = at.iloc[0]
    return "+".join(m for m in ("metabolic", "anatomic", "regrowth") if row[m]) or "overlap"


def _patient_rows(norm: dict, registry: pd.DataFrame, course: pd.DataFrame, records: pd.DataFrame,
                  pd_set: set, pcensor: dict) -> list[dict]:
    base = baseline_scans(norm["scans"])
    out = []
    for _, b in base.iterrows():
        key = (b["centre"], b["patient_id"])
        sc = _sorted(norm["scans"][(norm["scans"]["centre"] == key[0]) & (norm["scans"]["patient_id"] == key[1])])
        stop = pcensor.get(key)
        pds = [s for _, s in sc.iterrows() if s["day"] > 0 and (*key, s["scan_id"]) in pd_set
               and (stop is None or s["day"] <= stop)]
        first = pds[0] if pds else None
        row: dict[str, Any] = {"centre": key[0], "patient_id": key[1], "pattern": None, "pattern_sensitivity": None,
                               "first_pd_scan_id": None, "first_pd_day": None, "mixed_response": None,
                               "timing": None, "n_failure_lesions": 0, "n_local": 0, "n_adjacent": 0, "n_de_novo": 0}
        if first is not None:
            at = records[(records["centre"] == key[0]) & (records["patient_id"] == key[1])
                         & (records["scan_id"] == first["scan_id"]) & records["excluded"].isna()] if len(records) else records
            classes = list(at["class"]) if len(at) else []
            failed_ids = {lid for ids in (at["linked_index_ids"] if len(at) else []) for lid in ids}
            cat = course[(course["centre"] == key[0]) & (course["patient_id"] == key[1])
                         & (course["scan_id"] == first["scan_id"])]
            row.update(first_pd_scan_id=first["scan_id"], first_pd_day=first["day"],
                       pattern=pt.patient_pattern(classes), pattern_sensitivity=pt.patient_pattern(classes, pt.LOCAL),
                       mixed_response=pt.mixed_response(cat, failed_ids), timing=pt.timing(first["day"]),
                       n_failure_lesions=len(classes), n_local=classes.count(pt.LOCAL),
                       n_adjacent=classes.count(pt.ADJACENT), n_de_novo=classes.count(pt.DE_NOVO))
        out.append(row)
    return out


def analyse(tables: Mapping[str, pd.DataFrame], *, criterion: str = "lugano", margin_mm: float = 10.0,
            masks: Mapping | None = None, overrides: pd.DataFrame | Iterable[Mapping] | None = None,
            min_overlap_fraction: float = 0.0, fit_models: bool = True) -> FailureResult:
    """Patterns of failure after CAR-T (Figura et al. 2021; patterns_of_failure.md §2).

    Parameters
    ----------
    tables : mapping of str -> DataFrame
        Canonical tables (data_model.md): ``scans`` and ``lesions`` required; ``patients``
        (bridging, product, PFS/OS, death for censoring), ``later_therapy`` and a precomputed
        ``response`` table optional (see ``_data`` and ``_response``).
    criterion : {"lugano", "cheson2007", "recil", "lyric"}
        Response criterion that decides PD (spec §2.4: re-run under each).
    margin_mm : float
        ADJACENT margin m, mm (default 10).
    masks : mapping, optional
        ``(centre, patient_id, scan_id, lesion_id)`` or ``(patient_id, scan_id, lesion_id)`` →
        :class:`~cartlens.failure.masks.LesionMask`, failure-scan masks already in the baseline frame.
    overrides : DataFrame or records, optional
        Reader overrides (``overrides.py``); automatic and final values are both kept.
    min_overlap_fraction : float
        0 = one voxel of overlap suffices (default); 0.10 = the 10 % tolerance variant.
    fit_models : bool
        Fit the lesion-level models (GEE, GLMM, sensitivity, Cox). False skips them.

    Returns
    -------
    FailureResult
    """
    from cartlens.failure.lesion_model import fit_lesion_models

    opts = pt.FailureOptions(margin_mm=float(margin_mm), min_overlap_fraction=min_overlap_fraction)
    norm = normalise(tables)
    ovr = parse_overrides(overrides)
    mask_map = normalise_masks(masks)
    registry = build_registry(norm["scans"], norm["lesions"], norm["patients"])
    course = lesion_course(registry, norm["scans"], norm["lesions"])
    pd_set, source = pd_scans(dict(tables), norm, course, registry, criterion)
    pcensor, lcensor = censor_days(norm["scans"], norm["later_therapy"], norm["patients"])
    records = _classify_all(norm, registry, course, pd_set, pcensor, lcensor, mask_map, opts, ovr)
    index_out = _index_outcomes(registry, course, records, pcensor, lcensor, ovr)
    patients = pd.DataFrame(_patient_rows(norm, registry, course, records, pd_set, pcensor))
    lesion_frame = registry.merge(index_out, on=["centre", "patient_id", "lesion_id"], how="left")
    models = fit_lesion_models(lesion_frame, norm["patients"]) if fit_models else {}
    return FailureResult(criterion=criterion, options=opts, registry=lesion_frame, course=course,
                         failure_lesions=records, patients=patients, models=models, pd_source=source)


def _classify_all(norm: dict, registry: pd.DataFrame, course: pd.DataFrame, pd_set: set, pcensor: dict,
                  lcensor: dict, masks: dict, opts: pt.FailureOptions, ovr: tuple) -> pd.DataFrame:
    base = baseline_scans(norm["scans"])
    out: list[dict] = []
    for _, b in base.iterrows():
        key = (b["centre"], b["patient_id"])
        idx = registry[(registry["centre"] == key[0]) & (registry["patient_id"] == key[1])]
        ctx = pt.PatientContext(key[0], key[1], idx, pt.involved_organs(idx, b), masks, b["scan_id"])
        sc = _sorted(norm["scans"][(norm["scans"]["centre"] == key[0]) & (norm["scans"]["patient_id"] == key[1])])
        les = norm["lesions"][(norm["lesions"]["centre"] == key[0]) & (norm["lesions"]["patient_id"] == key[1])]
        cpat = course[(course["centre"] == key[0]) & (course["patient_id"] == key[1])]
        stop = pcensor.get(key)
        for _, s in sc.iterrows():
            if s["day"] <= 0 or (*key, s["scan_id"]) not in pd_set or (stop is not None and s["day"] > stop):
                continue
            recs = _failure_records(ctx, s, cpat[cpat["scan_id"] == s["scan_id"]],
                                    les[les["scan_id"] == s["scan_id"]], sc, lcensor, opts)
            out.extend(apply_to_record(r, ovr) for r in recs)
    cols = ["centre", "patient_id", "scan_id", "day", "lesion_id", "site", "index", "auto_class", "class",
            "method", "organ_level", "linked_index_ids", "adjacent_index_ids", "overlap_voxels", "overlap_fraction",
            "distance_mm", "needs_review", "excluded", "auto_excluded", "override", "registration",
            "registration_residual_mm"]
    return pd.DataFrame(out, columns=cols)


__all__ = ["analyse"]
