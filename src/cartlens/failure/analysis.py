"""``analyse``: the whole patterns-of-failure analysis for one response criterion.

Pipeline (patterns_of_failure.md §2): index-lesion registry (§2.1) → course of every index
lesion (§2.2) → PD scans from the response engine → at every PD scan before censoring, every
failure lesion classified (§2.3) → index lesions' local failure (own progression, or overlapped
by a LOCAL failure mass, §2.3 step 5) → patient pattern at the first PD scan (§2.4) → lesion
model (§2.5) → tables (§2.6). Rows are handled as plain dicts grouped by patient (no per-row
pandas indexing), so a cohort of a few thousand lesions takes seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from cartlens.failure import patterns as pt
from cartlens.failure._data import normalise
from cartlens.failure._response import PdScans, pd_scans
from cartlens.failure.local import censor_days, lesion_course, subtype
from cartlens.failure.masks import normalise_masks
from cartlens.failure.overrides import Override, apply_to_record, failed_override, parse_overrides
from cartlens.failure.registry import baseline_scans, build_registry
from cartlens.failure.result import FailureResult

RECORD_COLUMNS = [
    "centre", "patient_id", "scan_id", "day", "lesion_id", "site", "index", "auto_class", "class", "method",
    "organ_level", "linked_index_ids", "adjacent_index_ids", "overlap_voxels", "overlap_fraction", "distance_mm",
    "needs_review", "excluded", "auto_excluded", "override", "registration", "registration_residual_mm"]


def _by(records: Iterable[dict], *keys: str) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = {}
    for r in records:
        out.setdefault(tuple(r[k] for k in keys), []).append(r)
    return out


class _Cohort:
    """The normalised inputs grouped per patient, once."""

    def __init__(self, norm: dict, registry: pd.DataFrame, course: pd.DataFrame, pd_set: PdScans,
                 pcensor: dict) -> None:
        self.base = baseline_scans(norm["scans"]).to_dict("records")
        scans = sorted(norm["scans"].to_dict("records"), key=lambda r: float(r["day"]))
        self.scans = _by(scans, "centre", "patient_id")
        self.lesions = _by(norm["lesions"].to_dict("records"), "centre", "patient_id", "scan_id")
        self.index = _by(registry.to_dict("records"), "centre", "patient_id")
        self.course = _by(course.to_dict("records"), "centre", "patient_id", "scan_id")
        self.course_lesion = _by(course.to_dict("records"), "centre", "patient_id", "lesion_id")
        self.pd_set, self.pcensor = pd_set, pcensor

    def pd_scans(self, key: tuple[str, str]) -> list[dict]:
        """Follow-up scans in PD up to the patient's censoring day, in time order."""
        stop = self.pcensor.get(key)
        return [s for s in self.scans[key] if s["day"] > 0 and (*key, s["scan_id"]) in self.pd_set
                and (stop is None or s["day"] <= stop)]


def _failure_records(ctx: pt.PatientContext, scan: dict, cohort: _Cohort, lesion_censor: dict,
                     opts: pt.FailureOptions) -> list[dict]:
    """Every candidate failure lesion at one PD scan, classified automatically."""
    key, sid, day = (ctx.centre, ctx.patient_id), scan["scan_id"], scan["day"]
    site_of = {r["lesion_id"]: r["site"] for r in ctx.index}
    out = []
    for c in cohort.course.get((*key, sid), []):
        rt = lesion_censor.get((*key, c["lesion_id"]))
        if c["progressing"] and (rt is None or day <= rt):
            out.append(pt.classify_index(ctx, sid, day, c["lesion_id"], site_of[c["lesion_id"]], opts))
    new = [r for r in cohort.lesions.get((*key, sid), [])
           if r["lesion_id"] not in site_of and r["state"] in ("measured", "too_small")]
    for row in new:
        out.append(pt.classify_new(ctx, sid, day, row["lesion_id"], row["site"], row, opts))
    if pt.marrow_event(cohort.scans[key], sid) and not any(r["site"] == "bone_marrow" for r in new):
        out.append(pt.classify_new(ctx, sid, day, "marrow", "bone_marrow", None, opts))
    reasons = cohort.pd_set.get((*key, sid), frozenset())
    if "SPLEEN" in reasons and not any(r["site"] == "spleen" for r in out):
        out.append(pt.classify_new(ctx, sid, day, "spleen", "spleen", None, opts))
    if "NTL" in reasons and not any(r["index"] for r in out):
        out.append(pt.nontarget_progression(ctx, sid, day))
    return out


def _classify_all(cohort: _Cohort, lcensor: dict, masks: dict, opts: pt.FailureOptions,
                  ovr: tuple[Override, ...]) -> pd.DataFrame:
    out: list[dict] = []
    for b in cohort.base:
        key = (b["centre"], b["patient_id"])
        pds = cohort.pd_scans(key)
        if not pds:
            continue
        idx = tuple(cohort.index.get(key, []))
        ctx = pt.PatientContext(key[0], key[1], idx, pt.involved_organs(idx, b), masks, b["scan_id"])
        for s in pds:
            out.extend(apply_to_record(r, ovr) for r in _failure_records(ctx, s, cohort, lcensor, opts))
    return pd.DataFrame(out, columns=RECORD_COLUMNS)


def _mode(course: list[dict], scan_id: str) -> str:
    at = [r for r in course if r["scan_id"] == scan_id]
    if not at or not at[0]["progressing"]:
        return "overlap"
    return "+".join(m for m in ("metabolic", "anatomic", "regrowth") if at[0][m]) or "overlap"


def _links(r: dict, lesion_id: str, sensitivity: bool) -> bool:
    if r["class"] == pt.LOCAL and lesion_id in r["linked_index_ids"]:
        return True
    return sensitivity and r["class"] == pt.ADJACENT and lesion_id in r["adjacent_index_ids"]


def _index_outcomes(registry: pd.DataFrame, cohort: _Cohort, records: pd.DataFrame, lcensor: dict,
                    overrides: tuple[Override, ...]) -> pd.DataFrame:
    """Local failure of each index lesion (main and ADJACENT-as-LOCAL sensitivity), subtype, censoring."""
    live = _by((r for r in records.to_dict("records") if r["excluded"] is None), "centre", "patient_id")
    out = []
    for idx in registry.to_dict("records"):
        key = (idx["centre"], idx["patient_id"], idx["lesion_id"])
        mine = cohort.course_lesion.get(key, [])
        stops = [d for d in (cohort.pcensor.get(key[:2]), lcensor.get(key)) if d is not None]
        stop = min(stops) if stops else None
        usable = [r for r in live.get(key[:2], []) if stop is None or r["day"] <= stop]
        hits = sorted((r for r in usable if _links(r, key[2], False)), key=lambda r: r["day"])
        first = hits[0] if hits else None
        ev_days = [r["day"] for r in mine if r["evaluable"] and (stop is None or r["day"] <= stop)]
        rec: dict[str, Any] = {
            "centre": key[0], "patient_id": key[1], "lesion_id": key[2], "failed": first is not None,
            "auto_failed": first is not None, "failure_scan_id": None if first is None else first["scan_id"],
            "failure_day": None if first is None else first["day"],
            "failure_mode": None if first is None else _mode(mine, first["scan_id"]),
            "subtype": None if first is None else subtype(mine, first["day"]),
            "failed_sensitivity": any(_links(r, key[2], True) for r in usable), "censor_day": stop,
            "last_evaluable_day": max(ev_days) if ev_days else None, "override": None}
        o = failed_override(overrides, *key)
        if o is not None:
            rec["failed"] = bool(o.value)
            rec["override"] = f"failed={o.value}" + (f" by {o.reader}" if o.reader else "") + (
                f" ({o.note})" if o.note else "")
        out.append(rec)
    return pd.DataFrame(out, columns=["centre", "patient_id", "lesion_id", "failed", "auto_failed", "failure_scan_id",
                                      "failure_day", "failure_mode", "subtype", "failed_sensitivity", "censor_day",
                                      "last_evaluable_day", "override"])


def _patient_rows(cohort: _Cohort, records: pd.DataFrame) -> pd.DataFrame:
    rec_by = _by((r for r in records.to_dict("records") if r["excluded"] is None), "centre", "patient_id", "scan_id")
    out = []
    for b in cohort.base:
        key = (b["centre"], b["patient_id"])
        pds = cohort.pd_scans(key)
        row: dict[str, Any] = {"centre": key[0], "patient_id": key[1], "pattern": None, "pattern_sensitivity": None,
                               "first_pd_scan_id": None, "first_pd_day": None, "mixed_response": None,
                               "timing": None, "n_failure_lesions": 0, "n_local": 0, "n_adjacent": 0, "n_de_novo": 0}
        if pds:
            first = pds[0]
            at = rec_by.get((*key, first["scan_id"]), [])
            classes = [r["class"] for r in at]
            failed_ids = {lid for r in at if r["class"] == pt.LOCAL for lid in r["linked_index_ids"]}
            row.update(first_pd_scan_id=first["scan_id"], first_pd_day=first["day"],
                       pattern=pt.patient_pattern(classes), pattern_sensitivity=pt.patient_pattern(classes, pt.LOCAL),
                       mixed_response=pt.mixed_response(cohort.course.get((*key, first["scan_id"]), []), failed_ids),
                       timing=pt.timing(first["day"]), n_failure_lesions=len(classes),
                       n_local=classes.count(pt.LOCAL), n_adjacent=classes.count(pt.ADJACENT),
                       n_de_novo=classes.count(pt.DE_NOVO))
        out.append(row)
    return pd.DataFrame(out)


def analyse(tables: Mapping[str, pd.DataFrame], *, criterion: str = "lugano", margin_mm: float = 10.0,
            masks: Mapping | None = None, overrides: pd.DataFrame | Iterable[Mapping] | None = None,
            min_overlap_fraction: float = 0.0, centroid_split: bool = False,
            fit_models: bool = True) -> FailureResult:
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
    centroid_split : bool
        No-mask fallback: False = literal link (distance <= LDi/2 + margin → LOCAL); True = LOCAL
        within LDi/2, ADJACENT up to LDi/2 + margin (see ``patterns`` module docstring).
    fit_models : bool
        Fit the lesion-level models (GEE, GLMM, sensitivity, Cox). False skips them.

    Returns
    -------
    FailureResult
    """
    from cartlens.failure.lesion_model import fit_lesion_models

    opts = pt.FailureOptions(margin_mm=float(margin_mm), min_overlap_fraction=min_overlap_fraction,
                             centroid_split=centroid_split)
    norm = normalise(tables)
    ovr = parse_overrides(overrides)
    mask_map = normalise_masks(masks)
    registry = build_registry(norm["scans"], norm["lesions"], norm["patients"])
    course = lesion_course(registry, norm["scans"], norm["lesions"])
    pd_set, source = pd_scans(dict(tables), criterion)
    pcensor, lcensor = censor_days(norm["scans"], norm["later_therapy"], norm["patients"])
    cohort = _Cohort(norm, registry, course, pd_set, pcensor)
    records = _classify_all(cohort, lcensor, mask_map, opts, ovr)
    index_out = _index_outcomes(registry, cohort, records, lcensor, ovr)
    patients = _patient_rows(cohort, records)
    lesion_frame = registry.merge(index_out, on=["centre", "patient_id", "lesion_id"], how="left")
    models = fit_lesion_models(lesion_frame, norm["patients"]) if fit_models else {}
    return FailureResult(criterion=criterion, options=opts, registry=lesion_frame, course=course,
                         failure_lesions=records, patients=patients, models=models, pd_source=source,
                         messages=_messages(norm, cohort, records))


def _messages(norm: dict, cohort: _Cohort, records: pd.DataFrame) -> tuple[str, ...]:
    """Problems that do not stop the analysis, as counts (never identifiers)."""
    out = []
    with_base = {(b["centre"], b["patient_id"]) for b in cohort.base}
    no_base = {k for k in cohort.scans if k not in with_base}
    if no_base:
        out.append(f"{len(no_base)} patient(s) without a scan at day <= 0 (no index lesions) were left out")
    no_index = [k for k in with_base if k not in cohort.index]
    if no_index:
        out.append(f"{len(no_index)} patient(s) without any index lesion on the baseline scan")
    if len(records) and records["needs_review"].astype(bool).any():
        out.append(f"{int(records['needs_review'].astype(bool).sum())} failure lesion(s) need reader review "
                   "(same station without geometry, or non-target progression)")
    return tuple(out)


def analyse_by_criterion(tables: Mapping[str, pd.DataFrame], *,
                         criteria: Iterable[str] = ("lugano", "cheson2007", "recil", "lyric"),
                         **kwargs: Any) -> dict[str, FailureResult]:
    """:func:`analyse` under each response criterion (spec §2.4: the PD date differs between
    criteria, response_criteria.md §7). Keyword arguments are passed to :func:`analyse`."""
    return {c: analyse(tables, criterion=c, **kwargs) for c in criteria}


__all__ = ["analyse", "analyse_by_criterion"]
