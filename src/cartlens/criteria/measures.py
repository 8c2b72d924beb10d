"""Shared lesion- and patient-level quantities computed once for all four criteria.

Source: response_criteria.md §1 (state conventions, nadir, PET inputs), §2.3 (new-lesion and regrowth
rules, spleen and marrow), §9 (A5, A6, A7, A9, A11, A13, A31). Exact integer arithmetic throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cartlens.criteria.common import (
    ABSENT,
    BIG,
    DECREASED,
    DS_X,
    EQUIVOCAL,
    INCREASED,
    LYMPHOMA,
    M_INVOLVED,
    M_NOT,
    M_REACTIVE,
    M_SUSPECTED,
    MEASURED,
    NEW,
    NONTARGET,
    NOT_EVALUABLE,
    NOT_LYMPHOMA,
    TARGET,
    TOO_SMALL,
    UNCHANGED,
    Cohort,
    cm,
    earlier_any,
    later_any,
    nadir_before,
    sizes,
)
from cartlens.criteria.options import ResponseOptions

NODE_ABNORMAL = cm("1.5")          # Lugano: measurable / abnormal node LDi > 1.5 cm
EXTRANODAL_NEW = cm("1.0")         # Lugano: new extranodal site > 1.0 cm
SPLEEN_NORMAL = cm("13")           # Lugano: splenomegaly > 13 cm
TOO_SMALL_SIDE = cm("0.5")         # Lugano: too small to measure -> 0.5 x 0.5 cm


@dataclass(frozen=True, slots=True)
class Measures:
    """Everything the criteria share; ``[N, S]`` lesion arrays, ``[P, S]`` patient arrays."""

    followup: np.ndarray       # [P, S] slot >= 1 with a scan and a baseline
    slot1: np.ndarray          # [1, S] bool slot >= 1
    ldi: np.ndarray            # [N, S] Lugano convention, -1 unknown
    sdi: np.ndarray
    ppd: np.ndarray            # [N, S] units^2, -1 unknown
    valid: np.ndarray          # [N, S] measured / too_small / absent
    present: np.ndarray        # [N, S] measured / too_small
    unknown: np.ndarray        # [N, S] not_evaluable or no row (pre-existing lesions)
    nadir_ldi: np.ndarray      # [N, S] BIG where none
    nadir_sdi: np.ndarray
    nadir_ppd: np.ndarray
    spd: np.ndarray            # [P, S] sum of target PPD, unknown counted as 0
    spd_complete: np.ndarray   # [P, S] every target known
    spd_nadir: np.ndarray      # [P, S] BIG where none
    spd_bl: np.ndarray         # [P, 1]
    target_unknown: np.ndarray  # [P, S] some target not evaluable
    ds: np.ndarray             # [N, S] effective Deauville (A7), -1 unknown
    uptake: np.ndarray         # [N, S] effective uptake vs BL (A6), -1 unknown
    petct_l: np.ndarray        # [N, S] the lesion's scan is PET/CT
    new_present: np.ndarray    # [N, S] a new lesion is visible
    new_eligible: np.ndarray   # [N, S] ... and counts as lymphoma now (A11, A31)
    new_watch: np.ndarray      # [N, S] equivocal new finding held as "watch"
    regrowth: np.ndarray       # [N, S] A13 regrowth of a resolved pre-existing lesion
    spleen_pd: np.ndarray      # [P, S] L-PD-SPL
    spleen_known: np.ndarray   # [P, S]
    marrow_new_involved: np.ndarray   # [P, S] new/recurrent proven involvement
    marrow_new_avid: np.ndarray       # [P, S] new/recurrent FDG-avid focus (PET)


def effective_deauville(c: Cohort, opts: ResponseOptions) -> np.ndarray:
    """Reader DS; optionally (A7) derived from SUVmax vs the scan's reference regions when missing."""
    ds = c.ds.astype(np.int8)
    if not opts.deauville_from_suv:
        return ds
    liver, mbp = c.liver_suv[c.pat], c.mbp_suv[c.pat]
    suv, factor = c.suvmax, float(opts.ds5_liver_factor)
    derived = np.select([suv <= mbp, suv <= liver, suv > factor * liver], [2, 3, 5], default=4)
    usable = (ds < 0) & ~np.isnan(suv) & ~np.isnan(liver) & ~np.isnan(mbp)
    return np.where(usable, derived, ds).astype(np.int8)


def effective_uptake(c: Cohort, opts: ResponseOptions) -> np.ndarray:
    """Reader uptake vs baseline; optional PERCIST-style SUVmax fallback (A6; not Lugano)."""
    up = c.uptake.astype(np.int8)
    if opts.uptake_source != "suvmax_fallback":
        return up
    bl = c.suvmax[:, :1]
    diff = c.suvmax - bl
    big = (np.abs(diff) >= 0.3 * bl) & (np.abs(diff) >= 0.8)
    derived = np.where(big & (diff > 0), INCREASED, np.where(big & (diff < 0), DECREASED, UNCHANGED))
    usable = (up < 0) & ~np.isnan(c.suvmax) & ~np.isnan(bl)
    return np.where(usable, derived, up).astype(np.int8)


def compute_measures(c: Cohort, opts: ResponseOptions) -> Measures:
    """Sizes, nadirs, sums, PET inputs, new lesions, regrowth, spleen and marrow for every slot."""
    S = c.n_slots
    slot1 = (np.arange(S) >= 1)[None, :]
    followup = c.scan_exists & slot1 & c.has_baseline[:, None]
    ldi, sdi = sizes(c, too_small_ldi=TOO_SMALL_SIDE, too_small_sdi=TOO_SMALL_SIDE)
    valid = (c.state == MEASURED) | (c.state == TOO_SMALL) | (c.state == ABSENT)
    present = (c.state == MEASURED) | (c.state == TOO_SMALL)
    pre = (c.role != NEW)[:, None]
    ppd = np.where(valid, ldi * sdi, -1)
    unknown = pre & ~valid
    target = (c.role == TARGET)[:, None]
    spd = c.by_patient_sum(np.where(target & valid, ppd, 0))
    target_unknown = c.by_patient_any(target & unknown & c.scan_exists[c.pat])
    spd_complete = c.scan_exists & ~target_unknown
    ds = effective_deauville(c, opts)
    petct_l = c.petct[c.pat]
    new_present = (~pre) & present & slot1
    new_eligible, new_watch = _new_findings(c, ds, new_present, opts)
    nadir_ppd = nadir_before(ppd, valid & pre)
    regrowth = (pre & present & slot1 & (nadir_ppd == 0)
                & ((c.nodal[:, None] & (ldi > NODE_ABNORMAL)) | (~c.nodal[:, None] & (ldi > EXTRANODAL_NEW))
                   | (petct_l & (ds >= 4) & (c.attribution == LYMPHOMA))))
    spleen_pd, spleen_known = _spleen(c, opts)
    new_inv, new_avid = _marrow(c)
    return Measures(
        followup=followup, slot1=slot1, ldi=ldi, sdi=sdi, ppd=ppd, valid=valid, present=present,
        unknown=unknown, nadir_ldi=nadir_before(ldi, valid & pre), nadir_sdi=nadir_before(sdi, valid & pre),
        nadir_ppd=nadir_ppd, spd=spd, spd_complete=spd_complete,
        spd_nadir=nadir_before(spd, spd_complete), spd_bl=np.where(spd_complete[:, :1], spd[:, :1], BIG),
        target_unknown=target_unknown, ds=ds, uptake=effective_uptake(c, opts), petct_l=petct_l,
        new_present=new_present, new_eligible=new_eligible, new_watch=new_watch, regrowth=regrowth,
        spleen_pd=spleen_pd, spleen_known=spleen_known, marrow_new_involved=new_inv,
        marrow_new_avid=new_avid,
    )


def _new_findings(c: Cohort, ds: np.ndarray, new_present: np.ndarray,
                  opts: ResponseOptions) -> tuple[np.ndarray, np.ndarray]:
    """A31: attribution "not_lymphoma" or DS X never counts; A11: "equivocal" is held as watch.

    With ``equivocal_dating == "first_appearance"`` an equivocal finding that a later scan confirms
    (attribution lymphoma or biopsy) counts from its first appearance.
    """
    excluded = (c.attribution == NOT_LYMPHOMA) | (ds == DS_X)
    confirmed_now = (c.attribution == LYMPHOMA) | c.biopsy
    eligible = new_present & ~excluded & confirmed_now
    if opts.equivocal_dating == "first_appearance":
        confirmed_later = later_any(new_present & ~excluded & confirmed_now)
        eligible |= new_present & ~excluded & (c.attribution == EQUIVOCAL) & confirmed_later
    watch = new_present & ~excluded & ~eligible & (c.attribution == EQUIVOCAL)
    return eligible, watch


def _spleen(c: Cohort, opts: ResponseOptions) -> tuple[np.ndarray, np.ndarray]:
    """L-PD-SPL (Lugano 2014, Cheson JCO 2014 Table 3 footnotes; response_criteria.md §2.3, A5).

    Enlarged reference (> 13 cm): growth by more than 50 % of its excess over 13 cm (strict; 15 cm must
    exceed 16 cm). Normal reference: new splenomegaly needs > 13 cm and (default) a >= 2 cm rise.
    """
    sp = c.spleen
    known = sp >= 0
    if opts.spleen_reference == "nadir":
        ref = nadir_before(sp, known)
    else:
        ref = np.broadcast_to(np.where(known[:, :1], sp[:, :1], BIG), sp.shape)
    has_ref = ref < BIG
    enlarged = has_ref & (ref > SPLEEN_NORMAL)
    grew_excess = enlarged & (2 * (sp - ref) > (ref - SPLEEN_NORMAL))
    two_cm = (sp - ref >= cm("2")) if opts.inclusive else (sp - ref > cm("2"))
    new_spm = has_ref & ~enlarged & (sp > SPLEEN_NORMAL)
    if opts.new_splenomegaly == "length_and_increase":
        new_spm &= two_cm
    slot1 = (np.arange(c.n_slots) >= 1)[None, :]
    return known & slot1 & (grew_excess | new_spm), known


def _marrow(c: Cohort) -> tuple[np.ndarray, np.ndarray]:
    """L-PD-BM / L-PET-PMD marrow: new or recurrent involvement (clear at BL or an earlier follow-up).

    A missing baseline marrow status is read as not involved. Diffuse reactive uptake never counts.
    """
    m = c.marrow
    slot0 = np.zeros_like(m, dtype=bool)
    slot0[:, 0] = True
    clear = (m == M_NOT) | (m == M_REACTIVE) | (slot0 & (m < 0))
    was_clear = earlier_any(clear)
    slot1 = ~slot0
    new_involved = slot1 & (m == M_INVOLVED) & was_clear
    new_avid = slot1 & c.petct & ((m == M_SUSPECTED) | (m == M_INVOLVED)) & was_clear
    return new_involved, new_avid


__all__ = [
    "EXTRANODAL_NEW",
    "NODE_ABNORMAL",
    "NONTARGET",
    "NOT_EVALUABLE",
    "SPLEEN_NORMAL",
    "TOO_SMALL_SIDE",
    "Measures",
    "compute_measures",
]
