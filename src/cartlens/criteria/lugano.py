"""Lugano 2014: CT-based response, PET-based response (Deauville) and their combination (L-COMB).

Source: Cheson BD et al., J Clin Oncol 2014;32:3059-68 (Lugano classification), Table 3 (CT-based and
PET-CT-based response); Barrington SF et al., J Clin Oncol 2014;32:3048-58 (Deauville 5-point scale).
Rule IDs and ambiguity numbers refer to response_criteria.md §2 and §9. Vectorised over all patients:
each function returns ``[P, S]`` arrays for every scan slot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cartlens.criteria.common import (
    ABSENT,
    BIG,
    CMR,
    CR,
    DECREASED,
    INCREASED,
    M_INVOLVED,
    M_SUSPECTED,
    MEASURED,
    NE_,
    NEW,
    NMR,
    NONTARGET,
    NT_ABSENT,
    NT_PROGRESSION,
    P_NONE,
    PD,
    PMD_CAT,
    PMR,
    PR,
    R_BM,
    R_NL,
    R_NTL,
    R_PMD,
    R_SPLEEN,
    R_TL,
    SD,
    TARGET,
    Cohort,
    Grades,
    cm,
    earlier_any,
    flag_bits,
    reached,
    rule_bits,
)
from cartlens.criteria.measures import NODE_ABNORMAL, SPLEEN_NORMAL, Measures
from cartlens.criteria.options import ResponseOptions

SMALL_LESION = cm("2")        # L-PD-LES: lesions <= 2 cm need +0.5 cm, larger ones +1.0 cm
STEP_SMALL, STEP_LARGE = cm("0.5"), cm("1.0")
CT_LOOKUP = np.zeros(10, dtype=np.int8)               # category code -> CT_CATEGORIES code
CT_LOOKUP[[CR, PR, SD, PD]] = [1, 2, 3, 4]


@dataclass(frozen=True, slots=True)
class LuganoParts:
    """Each Lugano trigger separately ([P, S] bool), for LYRIC's relabelling and for reasons tables."""

    tl_les: np.ndarray         # L-PD-LES on a target
    ntl_les: np.ndarray        # L-PD-LES on a measured non-target (A4)
    tl_regrowth: np.ndarray    # A13 regrowth of a resolved target
    ntl_regrowth: np.ndarray   # A13 regrowth of a resolved non-target
    ntl_reader: np.ndarray     # L-PD-NTL reader-judged unequivocal progression
    nl_ct: np.ndarray          # L-PD-NEW (size / attribution)
    nl_proven: np.ndarray      # a counted new lesion is biopsy-proven (LYRIC Y-PD)
    spleen: np.ndarray         # L-PD-SPL
    bm: np.ndarray             # L-PD-BM
    pmd_uptake: np.ndarray     # L-PET-PMD: DS 4-5 with uptake increased vs BL
    pmd_recurrent: np.ndarray  # L-PET-PMD: A9 metabolic relapse at an old site
    nl_pet: np.ndarray         # L-PET-PMD: new FDG-avid focus
    bm_pet: np.ndarray         # L-PET-PMD: new/recurrent FDG-avid marrow focus
    ct_pd: np.ndarray
    pet_pmd: np.ndarray
    pet_evaluable: np.ndarray


def pd_single_lesion(c: Cohort, m: Measures, opts: ResponseOptions) -> np.ndarray:
    """L-PD-LES for every pre-existing lesion and slot ([N, S] bool).

    Source: Lugano 2014 Table 3, PD (CT): "an individual node/lesion must be abnormal with LDi > 1.5 cm
    and increase by >= 50 % from PPD nadir and an increase in LDi or SDi from nadir of 0.5 cm for
    lesions <= 2 cm, 1.0 cm for lesions > 2 cm". A2 (``opts.inclusive``), A3 (size class), A12
    (extranodal LDi threshold). A nadir PPD of 0 (resolved lesion) counts as met (regrowth).
    """
    pre = (c.role != NEW)[:, None]
    threshold = np.where(c.nodal, NODE_ABNORMAL, cm(opts.lugano_extranodal_pd_ldi_cm))[:, None]
    abnormal = (c.state == MEASURED) & (m.ldi > threshold)
    has_nadir = m.nadir_ppd < BIG
    ppd_up = reached(2 * m.ppd, 3 * np.where(has_nadir, m.nadir_ppd, 0), opts.inclusive)
    size = m.nadir_ldi if opts.lugano_size_class == "nadir" else m.ldi
    step = np.where(size <= SMALL_LESION, STEP_SMALL, STEP_LARGE)
    grew = (reached(m.ldi - np.where(has_nadir, m.nadir_ldi, 0), step, opts.inclusive)
            | reached(m.sdi - np.where(has_nadir, m.nadir_sdi, 0), step, opts.inclusive))
    return pre & m.slot1 & abnormal & has_nadir & ppd_up & grew


def lugano_parts(c: Cohort, m: Measures, opts: ResponseOptions) -> LuganoParts:
    """Every Lugano PD/PMD trigger (§2.3, §2.4)."""
    les = pd_single_lesion(c, m, opts)
    target = (c.role == TARGET)[:, None]
    nontarget = (c.role == NONTARGET)[:, None]
    nl_ct_l = m.new_eligible & ((c.nodal[:, None] & (m.ldi > NODE_ABNORMAL)) | ~c.nodal[:, None] | c.biopsy)
    nl_pet_l = m.new_eligible & m.petct_l & (m.ds >= 4)
    ntl_les = c.by_patient_any(les & nontarget) if opts.lugano_pd_les_on_nontargets else \
        np.zeros(c.scan_exists.shape, bool)
    parts_ct = dict(
        tl_les=c.by_patient_any(les & target), ntl_les=ntl_les,
        tl_regrowth=c.by_patient_any(m.regrowth & target),
        ntl_regrowth=c.by_patient_any(m.regrowth & nontarget),
        ntl_reader=m.followup & (c.nontarget == NT_PROGRESSION),
        nl_ct=c.by_patient_any(nl_ct_l),
        nl_proven=c.by_patient_any((nl_ct_l | nl_pet_l) & c.biopsy),
        spleen=m.spleen_pd & m.followup, bm=m.marrow_new_involved & m.followup,
    )
    pet = _pet_triggers(c, m, opts, nl_pet_l)
    ct_pd = np.logical_or.reduce([parts_ct[k] for k in ("tl_les", "ntl_les", "tl_regrowth", "ntl_regrowth",
                                                         "ntl_reader", "nl_ct", "spleen", "bm")])
    pet_pmd = pet["pmd_uptake"] | pet["pmd_recurrent"] | pet["nl_pet"] | pet["bm_pet"]
    return LuganoParts(**parts_ct, **pet, ct_pd=ct_pd & m.followup, pet_pmd=pet_pmd & m.followup)


def _pet_triggers(c: Cohort, m: Measures, opts: ResponseOptions, nl_pet_l: np.ndarray) -> dict:
    """L-PET-PMD triggers and PET evaluability (Lugano 2014 Table 3, PET-CT-based response; A7, A9)."""
    pre = (c.role != NEW)[:, None]
    positive = pre & m.present & (m.ds >= 4)
    known = pre & ((c.state == ABSENT) | (m.present & (m.ds >= 0)))
    evaluable = c.by_patient_any(known) & c.petct & m.followup
    pmd_uptake = c.by_patient_any(positive & (m.uptake == INCREASED)) & evaluable
    pmd_recurrent = np.zeros_like(evaluable)
    if opts.pmd_after_cmr == "recurrent":
        # A9: after a CMR (an earlier PET follow-up with every site DS 1-3, no new avid focus and no avid
        # marrow), DS 4-5 at an old site is a "recurrent FDG-avid focus". CMR never involves the A9
        # trigger itself, so the earlier CMRs can be found first.
        any_positive = c.by_patient_any(positive)
        new_avid = c.by_patient_any(m.new_eligible & (m.ds >= 4))
        marrow_avid = (c.marrow == M_SUSPECTED) | (c.marrow == M_INVOLVED)
        cmr = evaluable & ~any_positive & ~new_avid & ~marrow_avid
        pmd_recurrent = any_positive & earlier_any(cmr) & evaluable
    return dict(pmd_uptake=pmd_uptake, pmd_recurrent=pmd_recurrent,
                nl_pet=c.by_patient_any(nl_pet_l) & evaluable,
                bm_pet=m.marrow_new_avid & evaluable, pet_evaluable=evaluable)


def pet_category(c: Cohort, m: Measures, parts: LuganoParts) -> np.ndarray:
    """L-PET-CMR / PMR / NMR / PMD ([P, S] PET_CATEGORIES codes; P_NONE where PET is not evaluable).

    Worst site decides (A7): any PMD trigger -> PMD; else any DS 4-5 site without decreased uptake ->
    NMR; else any DS 4-5 site -> PMR; else CMR (no new avid lesion, no avid marrow).
    """
    pre = (c.role != NEW)[:, None]
    positive = pre & m.present & (m.ds >= 4)
    any_pos = c.by_patient_any(positive)
    not_reduced = c.by_patient_any(positive & (m.uptake != DECREASED))
    new_avid = c.by_patient_any(m.new_eligible & (m.ds >= 4))
    marrow_avid = (c.marrow == M_SUSPECTED) | (c.marrow == M_INVOLVED)
    cat = np.select([parts.pet_pmd, not_reduced, any_pos | new_avid | marrow_avid],
                    [PMD_CAT, NMR, PMR], default=CMR)
    return np.where(parts.pet_evaluable, cat, P_NONE).astype(np.int8)


def ct_category(c: Cohort, m: Measures, parts: LuganoParts, opts: ResponseOptions) -> np.ndarray:
    """L-CT-CR / PR / SD / PD, NE when a target is not evaluable and no PD is shown (A29)."""
    target = (c.role == TARGET)[:, None]
    nontarget = (c.role == NONTARGET)[:, None]
    nodal = c.nodal[:, None]
    # L-CT-CR: target and non-target nodes LDi <= 1.5 cm; extranodal disease absent.
    normal = np.where(nodal, m.valid & (m.ldi <= NODE_ABNORMAL), c.state == ABSENT)
    residual = c.by_patient_any((target | nontarget) & ~normal & c.scan_exists[c.pat])
    nt_status_ok = _nontarget_absent(c)
    spleen_ok = ~m.spleen_known | (c.spleen <= SPLEEN_NORMAL)
    marrow_ok = (c.marrow != M_INVOLVED) & (c.marrow != M_SUSPECTED)
    no_new = ~parts.nl_ct & ~c.by_patient_any(m.new_eligible & (m.ds >= 4))
    cr = ~residual & nt_status_ok & spleen_ok & marrow_ok & no_new
    # L-CT-PR: SPD fell >= 50 % from BL; an enlarged spleen regressed by > 50 % of its excess.
    halved = reached(m.spd_bl, 2 * m.spd, opts.inclusive) & (m.spd_bl < BIG) & (m.spd_bl > 0)
    bl_sp = c.spleen[:, :1]
    spleen_pr = (bl_sp <= SPLEEN_NORMAL) | (m.spleen_known & (2 * (bl_sp - c.spleen) > bl_sp - SPLEEN_NORMAL))
    pr = halved & spleen_pr & (c.nontarget != NT_PROGRESSION)
    cat = np.select([parts.ct_pd, m.target_unknown, cr, pr], [PD, NE_, CR, PR], default=SD)
    return np.where(m.followup, cat, NE_).astype(np.int8)


def _nontarget_absent(c: Cohort) -> np.ndarray:
    """Reader status of non-measured disease is absent (missing = baseline status, else absent)."""
    status = np.where(c.nontarget < 0, np.maximum(c.nontarget[:, :1], NT_ABSENT), c.nontarget)
    return status == NT_ABSENT


def combine(c: Cohort, m: Measures, parts: LuganoParts, ct: np.ndarray, pet: np.ndarray,
            opts: ResponseOptions) -> Grades:
    """L-COMB (A8): PD if CT PD or PET PMD (reasons united); otherwise an evaluable PET decides."""
    pet_as = np.select([pet == CMR, pet == PMR, pet == NMR, pet == PMD_CAT], [CR, PR, SD, PD], default=NE_)
    has_pet = pet != P_NONE
    ct_reasons = _reasons(parts, opts, pet=False)
    pet_reasons = _reasons(parts, opts, pet=True)
    if opts.lugano_combination == "pet_always_wins":
        cat = np.where(has_pet, pet_as, ct)
        reasons = np.where(has_pet, pet_reasons, ct_reasons)
    else:
        is_pd = (ct == PD) | (pet == PMD_CAT)
        if opts.lugano_combination == "best":
            better = np.minimum(np.where(has_pet, pet_as, 99), np.where(ct == NE_, 99, ct))
            nonpd = np.where(has_pet & (ct != NE_), better, np.where(has_pet, pet_as, ct))
        else:
            nonpd = np.where(has_pet, pet_as, ct)
        nonpd = np.where(m.target_unknown, NE_, nonpd)
        cat = np.where(is_pd, PD, nonpd)
        reasons = np.where(is_pd, ct_reasons | pet_reasons, 0)
    prior_cmr = earlier_any(pet == CMR) & ~c.petct & m.followup
    if opts.ct_after_cmr == "carry_cmr":
        cat = np.where(prior_cmr & (cat != PD) & (cat != NE_), CR, cat)
    cat = np.where(m.followup, cat, NE_).astype(np.int8)
    reasons = np.where(cat == PD, reasons, 0)
    discordant = has_pet & (ct != NE_) & (((pet == CMR) & (ct != CR)) | ((pet == NMR) & (ct == PR))
                                         | ((pet == PMD_CAT) != (ct == PD)))
    flags = flag_bits(prior_CMR_metabolic_status_unknown=prior_cmr, ct_pet_discordant=discordant,
                      NE__target_not_evaluable=m.target_unknown & (cat == NE_),
                      pet_not_evaluable=c.petct & ~parts.pet_evaluable & m.followup)
    rules = _rules(parts, ct, pet) | rule_bits(L_COMB=has_pet & m.followup)
    ct_codes = CT_LOOKUP[ct]
    return Grades(category=cat, reasons=reasons, rules=rules, flags=flags, ct=ct_codes, pet=pet)


def _reasons(parts: LuganoParts, opts: ResponseOptions, *, pet: bool) -> np.ndarray:
    """§7 reason codes; regrowth under its original role (A13) unless ``regrowth_reason == "NL"``."""
    if pet:
        return (np.where(parts.pmd_uptake | parts.pmd_recurrent, R_PMD, 0) | np.where(parts.nl_pet, R_NL, 0)
                | np.where(parts.bm_pet, R_BM, 0))
    regrowth_as_nl = opts.regrowth_reason == "NL"
    tl = parts.tl_les | (parts.tl_regrowth & ~regrowth_as_nl)
    ntl = parts.ntl_les | parts.ntl_reader | (parts.ntl_regrowth & ~regrowth_as_nl)
    nl = parts.nl_ct | (regrowth_as_nl & (parts.tl_regrowth | parts.ntl_regrowth))
    return (np.where(tl, R_TL, 0) | np.where(ntl, R_NTL, 0) | np.where(nl, R_NL, 0)
            | np.where(parts.spleen, R_SPLEEN, 0) | np.where(parts.bm, R_BM, 0)).astype(np.int64)


def _rules(parts: LuganoParts, ct: np.ndarray, pet: np.ndarray) -> np.ndarray:
    return rule_bits(
        L_PD_LES=parts.tl_les | parts.ntl_les, L_PD_NEW=parts.nl_ct | parts.tl_regrowth | parts.ntl_regrowth,
        L_PD_NTL=parts.ntl_reader, L_PD_SPL=parts.spleen, L_PD_BM=parts.bm,
        L_CT_CR=ct == CR, L_CT_PR=ct == PR, L_CT_SD=ct == SD, L_CT_PD=ct == PD,
        L_PET_CMR=pet == CMR, L_PET_PMR=pet == PMR, L_PET_NMR=pet == NMR, L_PET_PMD=pet == PMD_CAT,
    )


def assess_lugano(c: Cohort, m: Measures, opts: ResponseOptions) -> tuple[Grades, LuganoParts]:
    """Lugano 2014 for every patient and slot; also returns the trigger breakdown used by LYRIC."""
    parts = lugano_parts(c, m, opts)
    ct = ct_category(c, m, parts, opts)
    pet = pet_category(c, m, parts)
    grades = combine(c, m, parts, ct, pet, opts)
    regrowth_flag = (parts.tl_regrowth | parts.ntl_regrowth) & (grades.category == PD)
    pre_present = (c.role != NEW)[:, None] & m.present
    pet_scan = c.petct & m.followup
    flags = grades.flags | flag_bits(
        REGROWTH=regrowth_flag, equivocal_watch=c.by_patient_any(m.new_watch),
        uptake_missing=c.by_patient_any(pre_present & (m.ds >= 4) & (m.uptake < 0)) & pet_scan,
        deauville_missing=c.by_patient_any(pre_present & (m.ds < 0)) & pet_scan,
        spleen_missing=~m.spleen_known & (c.spleen[:, :1] > SPLEEN_NORMAL) & m.followup)
    return Grades(grades.category, grades.reasons, grades.rules, flags, grades.ct, grades.pet), parts


def assess_patient(scans: pd.DataFrame, lesions: pd.DataFrame, *, options: ResponseOptions | None = None,
                   infusion_day: int = 0):
    """Lugano 2014 for one patient -> :class:`cartlens.criteria.engine.PatientResponse`."""
    from cartlens.criteria.engine import assess_one
    return assess_one(scans, lesions, criterion="lugano", options=options, infusion_day=infusion_day)


__all__ = [
    "LuganoParts",
    "assess_lugano",
    "assess_patient",
    "combine",
    "ct_category",
    "lugano_parts",
    "pd_single_lesion",
    "pet_category",
]
