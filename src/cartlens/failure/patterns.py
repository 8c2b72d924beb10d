"""Classify every failure lesion at a PD scan as LOCAL / ADJACENT / DE_NOVO (spec §2.3), and the
patient-level pattern at the first PD scan (spec §2.4).

Sources: Figura NB et al., Int J Radiat Oncol Biol Phys 2021;111(5):1145-54 — local failure =
progression of a pre-treatment lesion; de novo = a new lesion not overlapping any pre-treatment
lesion; patterns_of_failure.md §2.3-§2.4.

Decision order for one failure lesion F (first match wins; the method is recorded):

1. ``same_lesion_id``: F is an index lesion progressing at this scan (the reader's link) → LOCAL.
   With masks, every other index mask that F overlaps is linked too (§2.3 step 5).
2. ``organ_level`` for spleen and marrow (diffuse organs; §2.3 step 4): LOCAL with ``organ_level``
   when that organ was involved before treatment, else DE_NOVO — also when masks exist (their
   overlap is still recorded).
3. ``mask``: F and the patient's index masks exist → LOCAL if |F ∩ I_k| >= 1 voxel (or >= the
   ``min_overlap_fraction`` of F), ADJACENT if within ``margin_mm`` of some I_k, else DE_NOVO.
   In the liver a LOCAL call also carries ``organ_level``.
4. ``organ_level`` for the liver without masks (as 2).
5. ``centroid``: no masks, but centroids of F and of index lesions at the same site (nodal
   station or organ) → LOCAL when the distance is <= index LDi/2 + margin (the literal fallback
   link of §2.3 step 3), else DE_NOVO. Option ``centroid_split``: LOCAL only within LDi/2,
   ADJACENT up to LDi/2 + margin (mirrors the mask rule).
6. ``station_only``: same station, no geometry at all → ADJACENT (cannot be told from overlap;
   flagged ``needs_review``); a different station → DE_NOVO (``station``).

Main analysis: ADJACENT counts as DE_NOVO (the "non-overlapping" wording); sensitivity: LOCAL.
Reader overrides replace the automatic call; both are kept (``auto_class`` and ``class``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from cartlens.failure.masks import LesionMask, MaskKey, find_mask, overlap_and_distance
from cartlens.failure.registry import centroid, excluded_reason

LOCAL, ADJACENT, DE_NOVO = "local", "adjacent", "de_novo"
ORGAN_SITES = frozenset({"spleen", "liver", "bone_marrow"})
DIFFUSE_ORGANS = frozenset({"spleen", "bone_marrow"})       # organ rule even when masks exist
MARROW_POSITIVE = ("suspected", "involved")
SPLENOMEGALY_CM = Decimal(13)


@dataclass(frozen=True)
class FailureOptions:
    """Switches of the classification (defaults from patterns_of_failure.md §2.3).

    margin_mm : ADJACENT margin m, mm (default 10).
    min_overlap_fraction : 0 = any voxel of overlap makes LOCAL; e.g. 0.10 = at least 10 % of
        F's volume (the tolerance variant of §2.3 step 2).
    adjacent_as : how ADJACENT counts in the main analysis ("de_novo", the strict wording) —
        the sensitivity analysis always uses the other.
    centroid_split : no-mask fallback. False (default, the literal §2.3 step 3): same station and
        centroid distance <= index LDi/2 + margin links the lesion → LOCAL. True: LOCAL only
        within LDi/2 (centre inside the index lesion), ADJACENT between LDi/2 and LDi/2 + margin,
        mirroring the mask rule.
    """

    margin_mm: float = 10.0
    min_overlap_fraction: float = 0.0
    adjacent_as: str = DE_NOVO
    centroid_split: bool = False

    def __post_init__(self) -> None:
        if not (self.margin_mm >= 0 and math.isfinite(self.margin_mm)):
            raise ValueError(f"margin_mm must be a finite number >= 0, got {self.margin_mm!r}")
        if not 0.0 <= self.min_overlap_fraction <= 1.0:
            raise ValueError(f"min_overlap_fraction must be in [0, 1], got {self.min_overlap_fraction!r}")
        if self.adjacent_as not in (DE_NOVO, LOCAL):
            raise ValueError(f"adjacent_as must be 'de_novo' or 'local', got {self.adjacent_as!r}")


@dataclass(frozen=True)
class PatientContext:
    """What classification needs to know about one patient (all from the baseline scan)."""

    centre: str
    patient_id: str
    index: tuple[dict, ...]            # registry rows of this patient
    involved_organs: frozenset[str]
    masks: dict[MaskKey, LesionMask]
    baseline_scan_id: str


def involved_organs(index: tuple[dict, ...], baseline_scan: Mapping) -> frozenset[str]:
    """Organs involved before treatment: any index lesion there; marrow also from the baseline scan's
    marrow status (suspected/involved); spleen also from splenomegaly > 13 cm (Lugano)."""
    organs = {r["site"] for r in index if r["site"] in ORGAN_SITES}
    if baseline_scan.get("marrow") in MARROW_POSITIVE:
        organs.add("bone_marrow")
    spleen = baseline_scan.get("spleen_cm")
    try:
        if spleen is not None and Decimal(str(spleen)) > SPLENOMEGALY_CM:
            organs.add("spleen")
    except ArithmeticError:
        pass
    return frozenset(organs)


def _record(ctx: PatientContext, scan_id: str, day: Decimal, lesion_id: str, site: str, is_index: bool,
            **kw: object) -> dict:
    rec = {"centre": ctx.centre, "patient_id": ctx.patient_id, "scan_id": scan_id, "day": day,
           "lesion_id": lesion_id, "site": site, "index": is_index, "auto_class": None, "method": None,
           "organ_level": False, "linked_index_ids": (), "adjacent_index_ids": (), "overlap_voxels": None,
           "overlap_fraction": None, "distance_mm": None, "needs_review": False, "excluded": None,
           "registration": None, "registration_residual_mm": None}
    rec.update(kw)
    return rec


def _by_masks(ctx: PatientContext, fmask: LesionMask, scan_id: str, opts: FailureOptions) -> dict:
    """Mask rule of §2.3 step 2 against every index mask of the patient."""
    linked, near, best_overlap, best_dist = [], [], 0, None
    for lid in (r["lesion_id"] for r in ctx.index):
        imask = find_mask(ctx.masks, ctx.centre, ctx.patient_id, ctx.baseline_scan_id, lid)
        if imask is None:
            continue
        ov, dist = overlap_and_distance(fmask, imask, what=f"scan {scan_id} vs index {lid}")
        frac = ov / fmask.voxels if fmask.voxels else 0.0
        if ov >= 1 and frac >= opts.min_overlap_fraction:
            linked.append(lid)
            best_overlap = max(best_overlap, ov)
        elif dist is not None and dist <= opts.margin_mm:
            near.append(lid)
        if dist is not None:
            best_dist = dist if best_dist is None else min(best_dist, dist)
    cls = LOCAL if linked else ADJACENT if near else DE_NOVO
    return {"auto_class": cls, "linked_index_ids": tuple(linked), "adjacent_index_ids": tuple(near),
            "overlap_voxels": best_overlap, "distance_mm": best_dist,
            "overlap_fraction": best_overlap / fmask.voxels if fmask.voxels else None,
            "registration": fmask.registration, "registration_residual_mm": fmask.residual_mm}


def _has_index_masks(ctx: PatientContext) -> bool:
    return any(find_mask(ctx.masks, ctx.centre, ctx.patient_id, ctx.baseline_scan_id, lid) is not None
               for lid in (r["lesion_id"] for r in ctx.index))


def _by_centroid(ctx: PatientContext, site: str, centre_mm: tuple[float, float, float] | None,
                 opts: FailureOptions) -> dict:
    """Fallback of §2.3 step 3 for lesions without masks."""
    same = [r for r in ctx.index if r["site"] == site]
    if not same:
        return {"auto_class": DE_NOVO, "method": "station"}
    usable = [(r["lesion_id"], r["centroid_mm"], r["ldi_cm"]) for r in same
              if r["centroid_mm"] is not None and r["ldi_cm"] is not None]
    if centre_mm is None or not usable:
        return {"auto_class": ADJACENT, "method": "station_only", "needs_review": True,
                "adjacent_index_ids": tuple(r["lesion_id"] for r in same)}
    linked, near, best = [], [], None
    for lid, c, ldi in usable:
        d = math.dist(centre_mm, c)
        best = d if best is None else min(best, d)
        radius = float(ldi) * 10 / 2                      # cm -> mm
        if d <= radius or (d <= radius + opts.margin_mm and not opts.centroid_split):
            linked.append(lid)
        elif d <= radius + opts.margin_mm:
            near.append(lid)
    cls = LOCAL if linked else ADJACENT if near else DE_NOVO
    return {"auto_class": cls, "method": "centroid", "linked_index_ids": tuple(linked),
            "adjacent_index_ids": tuple(near), "distance_mm": best}


def _centroid_of(row: Mapping | None, mask: LesionMask | None) -> tuple[float, float, float] | None:
    if mask is not None:
        return mask.centroid_mm()
    return None if row is None else centroid(row)


def classify_new(ctx: PatientContext, scan_id: str, day: Decimal, lesion_id: str, site: str,
                 row: Mapping | None, opts: FailureOptions) -> dict:
    """Classify one failure lesion that is not an index lesion (rules 2-5 of the module docstring)."""
    fmask = find_mask(ctx.masks, ctx.centre, ctx.patient_id, scan_id, lesion_id)
    excluded = excluded_reason(row) if row is not None else None
    masked = fmask is not None and _has_index_masks(ctx)
    by_mask = {"method": "mask", **_by_masks(ctx, fmask, scan_id, opts)} if masked and fmask is not None else None
    if site in DIFFUSE_ORGANS or (site in ORGAN_SITES and by_mask is None):
        involved = site in ctx.involved_organs
        linked = tuple(r["lesion_id"] for r in ctx.index if r["site"] == site) if involved else ()
        res = {**(by_mask or {}), "auto_class": LOCAL if involved else DE_NOVO, "method": "organ_level",
               "organ_level": True, "linked_index_ids": linked, "adjacent_index_ids": ()}
    elif by_mask is not None:
        res = {**by_mask, "organ_level": site in ORGAN_SITES and by_mask["auto_class"] == LOCAL}
    else:
        res = _by_centroid(ctx, site, _centroid_of(row, fmask), opts)
    return _record(ctx, scan_id, day, lesion_id, site, False, excluded=excluded, **res)


def classify_index(ctx: PatientContext, scan_id: str, day: Decimal, lesion_id: str, site: str,
                   opts: FailureOptions) -> dict:
    """An index lesion progressing at this scan: LOCAL by the reader's link (same lesion ID)."""
    extra: dict = {}
    fmask = find_mask(ctx.masks, ctx.centre, ctx.patient_id, scan_id, lesion_id)
    if fmask is not None and _has_index_masks(ctx):
        res = _by_masks(ctx, fmask, scan_id, opts)
        extra = {k: res[k] for k in ("overlap_voxels", "overlap_fraction", "distance_mm", "registration",
                                     "registration_residual_mm")}
        extra["adjacent_index_ids"] = tuple(x for x in res["adjacent_index_ids"] if x != lesion_id)
        linked = (lesion_id, *(x for x in res["linked_index_ids"] if x != lesion_id))
    else:
        linked = (lesion_id,)
    return _record(ctx, scan_id, day, lesion_id, site, True, auto_class=LOCAL, method="same_lesion_id",
                   organ_level=site in ORGAN_SITES, linked_index_ids=linked, **extra)


def nontarget_progression(ctx: PatientContext, scan_id: str, day: Decimal) -> dict:
    """PD by unequivocal progression of pre-existing non-measured disease (reason NTL) with no index
    lesion flagged: pre-existing disease progressed, so LOCAL, but which index lesion is unknown
    (no lesion is marked failed; ``needs_review``)."""
    return _record(ctx, scan_id, day, "nontarget", "nontarget", False, auto_class=LOCAL,
                   method="nontarget_progression", needs_review=True)


def marrow_event(scans_sorted: list[dict], scan_id: str) -> bool:
    """New or recurrent marrow involvement at ``scan_id`` (Lugano L-PD-BM / L-PET-PMD marrow)."""
    prev = None
    for s in scans_sorted:
        if s["scan_id"] == scan_id:
            return s["marrow"] in MARROW_POSITIVE and prev not in MARROW_POSITIVE
        if s["marrow"] is not None:
            prev = s["marrow"]
    return False


def main_class(cls: str | None, adjacent_as: str = DE_NOVO) -> str | None:
    """Class used in the main analysis: ADJACENT folds into ``adjacent_as``."""
    return adjacent_as if cls == ADJACENT else cls


def patient_pattern(classes: Iterable[str | None], adjacent_as: str = DE_NOVO) -> str | None:
    """STRICTLY_LOCAL / STRICTLY_DE_NOVO / MIXED from the failure lesions' classes (spec §2.4)."""
    kinds = {main_class(c, adjacent_as) for c in classes if c is not None}
    if not kinds:
        return None
    if kinds == {LOCAL}:
        return "strictly_local"
    if kinds == {DE_NOVO}:
        return "strictly_de_novo"
    return "mixed"


def timing(day: Decimal | None) -> str | None:
    """Early (<= day 30), intermediate (31-90), late (> 90) — spec §2.4."""
    if day is None:
        return None
    return "early" if day <= 30 else "intermediate" if day <= 90 else "late"


def mixed_response(course_at_scan: list[dict], failed_ids: set[str]) -> bool | None:
    """At least one index lesion not failing at this scan is DS <= 3 (or gone) or >= 50 % smaller
    than before treatment (spec §2.4). False when every index lesion failed; None when the others
    could not be evaluated. ``course_at_scan``: the course rows of the patient's index lesions."""
    others = [r for r in course_at_scan if r["lesion_id"] not in failed_ids]
    if not others:
        return False                               # every index lesion failed: nothing responded
    others = [r for r in others if r["evaluable"] and r["excluded"] is None]
    if not others:
        return None
    return any(r["clear"] or r["shrunk50"] for r in others)
