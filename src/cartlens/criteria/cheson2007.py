"""Cheson 2007 (revised International Working Group response criteria), vectorised.

Source: Cheson BD et al., J Clin Oncol 2007;25:579-86, Table 2 (response definitions) and text on PD and
relapse; PET positivity after Juweid ME et al., J Clin Oncol 2007;25:571-8 (IHP). Rule IDs and ambiguity
numbers: response_criteria.md §3 and §9 (A1, A10, A14-A17). "Cheson" means the 2007 IWG criteria (A1);
``cheson_variant="lugano_ct"`` reports the CT arm of Lugano instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cartlens.criteria.common import (
    ABSENT,
    BIG,
    CR,
    M_INVOLVED,
    M_SUSPECTED,
    MEASURED,
    NE_,
    NEW,
    NONTARGET,
    NT_PROGRESSION,
    PD,
    PR,
    R_BM,
    R_NL,
    R_NTL,
    R_TL,
    SD,
    TARGET,
    Cohort,
    Grades,
    cm,
    flag_bits,
    nadir_before,
    reached,
    rule_bits,
)
from cartlens.criteria.lugano import LuganoParts, _nontarget_absent, _reasons
from cartlens.criteria.measures import NODE_ABNORMAL, SPLEEN_NORMAL, Measures
from cartlens.criteria.options import ResponseOptions

SMALL_SDI = cm("1.0")         # C-PD-SMALL / C-PD-LD: short axis 1.0 cm
SMALL_PPD_SIDE = cm("1.5")    # C-PD-SMALL: must reach 1.5 x 1.5 cm (or LDi > 1.5 cm)
IHP_LARGE = cm("2")           # A14 IHP: residual masses >= 2 cm


def pet_positive(c: Cohort, m: Measures, opts: ResponseOptions) -> np.ndarray:
    """C-PET ([N, S]): DS >= 4 by default; IHP (A14): >= 2 cm needs DS >= 3, smaller DS >= 2."""
    if opts.cheson_pet_positive == "ihp":
        return m.present & np.where(m.ldi >= IHP_LARGE, m.ds >= 3, m.ds >= 2)
    return m.present & (m.ds >= 4)


def lesion_progression(c: Cohort, m: Measures, opts: ResponseOptions) -> dict[str, np.ndarray]:
    """Per-lesion PD rules ([N, S] bool): C-PD-NODE (+ C-PD-SMALL gate) and C-PD-LD.

    C-PD-NODE: PPD >= 1.5 x its nadir (2007 text, A17); a lesion whose nadir SDi was < 1.0 cm must also
    reach >= 1.5 x 1.5 cm or LDi > 1.5 cm (C-PD-SMALL; this gate also governs regrowth from 0).
    C-PD-LD: LDi >= 1.5 x nadir for a node whose (current) SDi is > 1.0 cm.
    """
    pre = (c.role != NEW)[:, None] & m.slot1 & (c.state == MEASURED)
    has_nadir = m.nadir_ppd < BIG
    nadir_ppd = np.where(has_nadir, m.nadir_ppd, 0)
    grew = reached(2 * m.ppd, 3 * nadir_ppd, opts.inclusive)
    small = m.nadir_sdi < SMALL_SDI
    big_enough = ((m.ldi >= SMALL_PPD_SIDE) & (m.sdi >= SMALL_PPD_SIDE)) | (m.ldi > NODE_ABNORMAL)
    node = pre & has_nadir & grew & (~small | big_enough)
    ld = (pre & c.nodal[:, None] & (m.sdi > SMALL_SDI) & has_nadir
          & reached(2 * m.ldi, 3 * np.where(has_nadir, m.nadir_ldi, 0), opts.inclusive))
    return {"node": node, "small_gate": node & small, "ld": ld}


def assess_cheson(c: Cohort, m: Measures, parts: LuganoParts, lugano_ct: np.ndarray,
                  opts: ResponseOptions) -> Grades:
    """Cheson 2007 category, reasons, rules and flags for every patient and slot."""
    if opts.cheson_variant == "lugano_ct":                      # A1 alternative
        reasons = np.where(lugano_ct == PD, _reasons(parts, opts, pet=False), 0)
        return Grades(lugano_ct, reasons, rule_bits(L_CT_PD=lugano_ct == PD), np.zeros_like(reasons))
    target = (c.role == TARGET)[:, None]
    nontarget = (c.role == NONTARGET)[:, None]
    les = lesion_progression(c, m, opts)
    node = les["node"] if opts.cheson_single_node else np.zeros_like(les["node"])
    tl_node = c.by_patient_any(node & target)
    tl_ld = c.by_patient_any(les["ld"] & target)
    ntl_les = c.by_patient_any((les["node"] | les["ld"]) & nontarget)
    ntl_reader = m.followup & (c.nontarget == NT_PROGRESSION)
    # C-PD-SPD: SPD >= 1.5 x nadir; A29: a partial sum (missing = 0) that already exceeds proves PD.
    spd_pd = (m.spd_nadir > 0) & (m.spd_nadir < BIG) & reached(2 * m.spd, 3 * m.spd_nadir, opts.inclusive)
    spd_pd &= m.spd_complete | opts.partial_sum_pd
    # C-PD-ORG: hepatic/splenic nodules, group SPD > 1.5 x nadir (strict, 2007 text).
    organ = target & c.liver_spleen[:, None]
    org_spd = c.by_patient_sum(np.where(organ & m.valid, m.ppd, 0))
    org_known = ~c.by_patient_any(organ & m.unknown)
    org_nadir = nadir_before(org_spd, org_known)
    org_pd = (org_nadir > 0) & (org_nadir < BIG) & (2 * org_spd > 3 * org_nadir)
    new = _new_lesions(c, m, opts)
    nl = c.by_patient_any(new)
    bm = m.marrow_new_involved
    tl = tl_node | tl_ld | spd_pd | org_pd
    ntl = ntl_les | ntl_reader
    is_pd = (tl | ntl | nl | bm) & m.followup
    reasons = (np.where(tl, R_TL, 0) | np.where(ntl, R_NTL, 0) | np.where(nl, R_NL, 0)
               | np.where(bm, R_BM, 0)).astype(np.int64)
    cat, branch_rules, flags = _response(c, m, opts, organ, org_spd, is_pd)
    rules = branch_rules | rule_bits(
        C_PD_NEW=nl, C_PD_SPD=spd_pd, C_PD_NODE=tl_node, C_PD_SMALL=c.by_patient_any(les["small_gate"]),
        C_PD_LD=tl_ld, C_PD_ORG=org_pd, C_PD_NTL=ntl, C_PD_BM=bm)
    reasons = np.where(cat == PD, reasons, 0)
    return Grades(cat, reasons, np.where(m.followup, rules, 0), flags)



def _new_lesions(c: Cohort, m: Measures, opts: ResponseOptions) -> np.ndarray:
    """C-PD-NEW ([N, S]): new lesion > 1.5 cm in any axis; on PET/CT it must be PET-positive (A10)."""
    positive = pet_positive(c, m, opts)
    pet_ok = ~m.petct_l | (m.ds < 0) | positive
    new = m.new_eligible & (m.ldi > NODE_ABNORMAL) & pet_ok
    if opts.cheson_small_new_if_biopsy:
        new |= m.new_eligible & c.biopsy
    return new


def _response(c: Cohort, m: Measures, opts: ResponseOptions, organ: np.ndarray, org_spd: np.ndarray,
              is_pd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """C-CR / C-PR / C-SD in the FDG-avid (PET) or CT branch (A16), NE when a target is missing."""
    pre = (c.role != NEW)[:, None]
    nodal = c.nodal[:, None]
    pet_branch = c.petct & c.by_patient_any(pre & ((c.state == ABSENT) | (m.present & (m.ds >= 0))))
    any_positive = c.by_patient_any(pre & pet_positive(c, m, opts))
    new_present = c.by_patient_any(m.new_eligible)
    bl_spleen = c.spleen[:, :1]
    spleen_normal = np.where(bl_spleen > SPLEEN_NORMAL, m.spleen_known & (c.spleen <= SPLEEN_NORMAL), True)
    organ_gone = ~c.by_patient_any(pre & c.liver_spleen[:, None] & (c.state != ABSENT)
                                   & c.scan_exists[c.pat])
    marrow_clear = c.marrow != M_INVOLVED
    common_cr = ~new_present & spleen_normal & organ_gone & marrow_clear
    cr_pet = pet_branch & ~any_positive & common_cr & (c.marrow != M_SUSPECTED)
    # CT branch: nodes > 1.5 cm at BL back to <= 1.5 cm; 1.1-1.5 cm nodes with SDi > 1.0 cm to SDi <= 1.0.
    bl_ldi, bl_sdi = m.ldi[:, :1], m.sdi[:, :1]
    node_ok = m.valid & (m.ldi <= NODE_ABNORMAL) & np.where(
        (bl_ldi >= cm("1.1")) & (bl_ldi <= NODE_ABNORMAL) & (bl_sdi > SMALL_SDI), m.sdi <= SMALL_SDI, True)
    normal = np.where(nodal, node_ok, c.state == ABSENT)
    residual = c.by_patient_any(pre & ~normal & c.scan_exists[c.pat])
    cr_ct = ~pet_branch & ~residual & _nontarget_absent(c) & common_cr
    halved = (m.spd_bl < BIG) & (m.spd_bl > 0) & reached(m.spd_bl, 2 * m.spd, opts.inclusive)
    org_bl = org_spd[:, :1]
    organ_halved = (org_bl == 0) | reached(org_bl, 2 * org_spd, opts.inclusive)
    spleen_block = m.spleen_pd if opts.cheson_spleen_blocks_pr else np.zeros_like(m.spleen_pd)
    pr = halved & organ_halved & ~spleen_block
    no_pet_ne = ~c.petct & (opts.cheson_no_pet == "ne")
    cat = np.select([is_pd, m.target_unknown | no_pet_ne, cr_pet | cr_ct, pr], [PD, NE_, CR, PR], default=SD)
    cat = np.where(m.followup, cat, NE_).astype(np.int8)
    rules = rule_bits(C_CR=cat == CR, C_PR=cat == PR, C_SD=cat == SD, C_PET=pet_branch & m.followup)
    flags = flag_bits(NE__target_not_evaluable=m.target_unknown & (cat == NE_),
                      NE__no_pet=no_pet_ne & (cat == NE_) & m.followup)
    return cat, rules, flags


def assess_patient(scans: pd.DataFrame, lesions: pd.DataFrame, *, options: ResponseOptions | None = None,
                   infusion_day: int = 0):
    """Cheson 2007 for one patient -> :class:`cartlens.criteria.engine.PatientResponse`."""
    from cartlens.criteria.engine import assess_one
    return assess_one(scans, lesions, criterion="cheson2007", options=options, infusion_day=infusion_day)


__all__ = ["assess_cheson", "assess_patient", "lesion_progression", "pet_positive"]
