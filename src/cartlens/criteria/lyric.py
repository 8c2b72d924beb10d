"""LYRIC 2016 (LYmphoma Response to Immunomodulatory therapy Criteria), vectorised over patients.

Source: Cheson BD et al., Blood 2016;128:2489-96 (LYRIC), Table 1 (IR1, IR2a/b, IR3); response_criteria.md
§5, §6 (T-12W) and §9 (A21-A26). LYRIC is Lugano 2014 except that some Lugano PD becomes indeterminate
response (IR): IR1 = SPD >= +50 % (from nadir, A22) within 12 weeks of infusion (day <= 84, A21) without
clinical deterioration; IR2a = new lesions with SPD < +50 %; IR2b = lesion(s) meeting L-PD-LES with
SPD < +50 % (A23); IR3 = uptake increase only. Still PD: SPD >= +50 % after week 12, IR1 with
deterioration, biopsy-proven new lesion, spleen and marrow progression (A25), a confirmed IR (Y-CONF:
a further >= 10 % SPD rise from the IR time point with new lesions added to the SPD, or more new lesions;
IR3 confirmed by PD-size change; A24 - PD dated to the first IR). The IR state is sequential, so this module
loops over scan slots (a handful) and stays vectorised over patients.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cartlens.criteria.common import (
    BIG,
    IR1,
    IR2A,
    IR2B,
    IR3,
    NE_,
    NEW,
    NONTARGET,
    PD,
    R_BM,
    R_NL,
    R_NTL,
    R_PMD,
    R_SPLEEN,
    R_TL,
    TARGET,
    Cohort,
    Grades,
    flag_bits,
    reached,
    rule_bits,
)
from cartlens.criteria.lugano import LuganoParts
from cartlens.criteria.measures import Measures
from cartlens.criteria.options import ResponseOptions


def _spd_rise(m: Measures, opts: ResponseOptions) -> np.ndarray:
    """SPD >= 1.5 x nadir ([P, S]); a partial sum already over the line proves it (A29)."""
    has = (m.spd_nadir < BIG) & (m.spd > 0)
    rise = has & reached(2 * m.spd, 3 * np.where(has, m.spd_nadir, 0), opts.inclusive)
    return rise & (m.spd_complete | opts.partial_sum_pd)


def _triggers(c: Cohort, m: Measures, parts: LuganoParts, opts: ResponseOptions) -> dict[str, np.ndarray]:
    """Lugano triggers regrouped for LYRIC (reason bits per group)."""
    if opts.lyric_ir2b == "raw_ppd":              # A23 alternative: PPD >= +50 % from nadir, no size rule
        pre = (c.role != NEW)[:, None] & m.slot1 & m.present & (m.nadir_ppd < BIG)
        raw = pre & reached(2 * m.ppd, 3 * np.where(m.nadir_ppd < BIG, m.nadir_ppd, 0), opts.inclusive) \
            & (m.ppd > 0)
        tl = c.by_patient_any(raw & (c.role == TARGET)[:, None]) | parts.tl_regrowth
        ntl = c.by_patient_any(raw & (c.role == NONTARGET)[:, None]) | parts.ntl_reader | parts.ntl_regrowth
    else:
        tl = parts.tl_les | parts.tl_regrowth
        ntl = parts.ntl_les | parts.ntl_reader | parts.ntl_regrowth
    return {"tl": tl, "ntl": ntl, "nl": parts.nl_ct | parts.nl_pet, "spleen": parts.spleen,
            "bm": parts.bm | parts.bm_pet, "pmd": parts.pmd_uptake | parts.pmd_recurrent}


def assess_lyric(c: Cohort, m: Measures, lugano: Grades, parts: LuganoParts,
                 opts: ResponseOptions) -> tuple[Grades, np.ndarray]:
    """LYRIC for every patient and slot. Returns the grades and the slot each PD is dated to ([P, S])."""
    P, S = c.scan_exists.shape
    t = _triggers(c, m, parts, opts)
    rise = _spd_rise(m, opts)
    early = c.day <= opts.lyric_window_days                                  # T-12W, A21 (inclusive)
    det = c.deterioration
    det_pd = (det == 1) | ((det < 0) & (opts.lyric_missing_deterioration == "pd"))
    lug_pd = lugano.category == PD
    new_ppd = c.by_patient_sum(np.where(m.new_eligible & (m.ppd > 0), m.ppd, 0))
    spd_plus = m.spd + (new_ppd if opts.lyric_new_lesions_in_spd else 0)     # A22
    n_new = c.by_patient_sum(m.new_eligible.astype(np.int64))
    size_reasons = (np.where(t["tl"] | (rise & lug_pd), R_TL, 0) | np.where(t["ntl"], R_NTL, 0)
                    | np.where(t["nl"], R_NL, 0) | np.where(t["spleen"], R_SPLEEN, 0)
                    | np.where(t["bm"], R_BM, 0)).astype(np.int64)
    spleen_pd = t["spleen"] if opts.lyric_spleen == "pd" else np.zeros_like(t["spleen"])
    y_pd = lug_pd & ((rise & ~early) | (rise & early & det_pd) | parts.nl_proven | spleen_pd | t["bm"])
    ir1 = lug_pd & rise & early & ~det_pd
    ir2a = lug_pd & t["nl"] & ~rise
    ir2b = lug_pd & (t["tl"] | t["ntl"] | (t["spleen"] & ~spleen_pd)) & ~rise
    size_any = t["tl"] | t["ntl"] | t["nl"] | t["spleen"] | t["bm"] | (rise & lug_pd)
    ir3 = lug_pd & t["pmd"] & ~size_any
    # IR reasons name the trigger of each subtype that fired (fixtures README): IR1 -> TL, IR2a -> NL,
    # IR2b -> TL/NTL (SPLEEN under the A25 alternative), IR3 -> PMD.
    ir_reasons = (np.where(ir1, R_TL, 0) | np.where(ir2a, R_NL, 0)
                  | np.where(ir2b & t["tl"], R_TL, 0) | np.where(ir2b & t["ntl"], R_NTL, 0)
                  | np.where(ir2b & t["spleen"] & ~spleen_pd, R_SPLEEN, 0) | np.where(ir3, R_PMD, 0)
                  ).astype(np.int64)

    cat = np.array(lugano.category, copy=True)
    reasons = np.zeros((P, S), dtype=np.int64)
    dated = np.tile(np.arange(S), (P, 1))
    confirmed = np.zeros((P, S), dtype=bool)
    confirmed_later = np.zeros((P, S), dtype=bool)
    resolved = np.zeros((P, S), dtype=bool)
    pend_kind = np.zeros(P, dtype=np.int8)          # 0 none, 1 IR1/IR2, 3 IR3
    pend_slot = np.zeros(P, dtype=np.int64)
    pend_ref = np.zeros(P, dtype=np.int64)
    pend_new = np.zeros(P, dtype=np.int64)
    for s in range(1, S):
        live = m.followup[:, s]
        grew = reached(100 * spd_plus[:, s], (100 + opts.lyric_confirm_pct) * pend_ref, opts.inclusive)
        conf = live & lug_pd[:, s] & (((pend_kind == 1) & (grew | (n_new[:, s] > pend_new)))
                                      | ((pend_kind == 3) & size_any[:, s]))
        is_pd = live & (y_pd[:, s] | conf)
        ir_now = live & ~is_pd & (ir1[:, s] | ir2a[:, s] | ir2b[:, s] | ir3[:, s])
        cat[:, s] = np.select([~live, is_pd, ir1[:, s], ir2a[:, s], ir2b[:, s], ir3[:, s]],
                              [NE_, PD, IR1, IR2A, IR2B, IR3], default=lugano.category[:, s])
        reasons[:, s] = np.where(is_pd, size_reasons[:, s], np.where(ir_now, ir_reasons[:, s], 0))
        confirmed[:, s] = conf
        if opts.lyric_pd_dating == "first_ir":
            dated[:, s] = np.where(conf, pend_slot, s)
            confirmed_later[np.flatnonzero(conf), pend_slot[conf]] = True
        resolved[:, s] = live & (pend_kind > 0) & ~is_pd & ~ir_now
        start = ir_now & (pend_kind == 0)
        pend_slot = np.where(start, s, pend_slot)
        pend_ref = np.where(start, spd_plus[:, s], pend_ref)
        pend_new = np.where(start, n_new[:, s], pend_new)
        kind_now = np.where(ir3[:, s] & ~(ir1[:, s] | ir2a[:, s] | ir2b[:, s]), 3, 1).astype(np.int8)
        pend_kind = np.where(start, kind_now, np.where(is_pd | (live & ~ir_now), 0, pend_kind)).astype(np.int8)
    det_missing = (ir1 & (det < 0)) & (cat == IR1)
    rules = lugano.rules | rule_bits(
        Y_IR1=cat == IR1, Y_IR2a=ir2a & (cat >= IR1) & (cat <= IR3), Y_IR2b=ir2b & (cat >= IR1) & (cat <= IR3),
        Y_IR3=cat == IR3, Y_PD=y_pd & (cat == PD), Y_CONF=confirmed, T_12W=m.followup & early)
    flags = lugano.flags | flag_bits(
        clinical_deterioration_missing=det_missing, pd_dated_to_first_ir=confirmed & (dated != np.arange(S)),
        ir_confirmed_later=confirmed_later, ir_pending=(cat >= IR1) & (cat <= IR3), ir_resolved=resolved)
    return Grades(cat.astype(np.int8), reasons, np.where(m.followup, rules, 0), flags), dated


def assess_patient(scans: pd.DataFrame, lesions: pd.DataFrame, *, options: ResponseOptions | None = None,
                   infusion_day: int = 0):
    """LYRIC for one patient -> :class:`cartlens.criteria.engine.PatientResponse`."""
    from cartlens.criteria.engine import assess_one
    return assess_one(scans, lesions, criterion="lyric", options=options, infusion_day=infusion_day)


__all__ = ["assess_lyric", "assess_patient"]
