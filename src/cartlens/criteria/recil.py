"""RECIL 2017 (Response Evaluation Criteria in Lymphoma), vectorised.

Source: Younes A et al., Ann Oncol 2017;28:1436-47 (RECIL 2017), Table 3 (response categories);
response_criteria.md §4 and §9 (A18-A20). The numeric thresholds are the spec's recalled ones (flagged
there for checking against the paper): at most 3 targets, SLD of LDi, CR = targets gone and nodes < 1.0 cm
(or SLD -30 % with normal PET), PR SLD -30 %, MR SLD -10 % (not a response), PD SLD > +20 % from nadir
with a small-node rule, or an unequivocal new lesion. Non-target and spleen growth and PET increase alone
are not PD in RECIL (A19).
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
    MR,
    NE_,
    NEW,
    NT_ABSENT,
    PD,
    PR,
    R_BM,
    R_NL,
    R_TL,
    SD,
    TARGET,
    TOO_SMALL,
    Cohort,
    Grades,
    cm,
    flag_bits,
    nadir_before,
    reached,
    rule_bits,
)
from cartlens.criteria.measures import EXTRANODAL_NEW, NODE_ABNORMAL, Measures
from cartlens.criteria.options import ResponseOptions

RECIL_TARGETS = 3


def select_targets(c: Cohort) -> np.ndarray:
    """R-TGT ([N] bool): up to 3 of the Lugano targets, largest baseline LDi first, preferring sites
    (organs) not yet chosen; fixed at baseline. Ties break on lesion order (lesion_id as given)."""
    is_target = c.role == TARGET
    bl_ldi = np.where(c.state[:, 0] == MEASURED, c.ldi[:, 0], 0)
    idx = np.flatnonzero(is_target)
    if idx.size == 0:
        return np.zeros(len(c.role), dtype=bool)
    site_codes = pd.factorize(pd.Series(c.site[idx]).astype(str))[0]
    order = np.lexsort((idx, -bl_ldi[idx], c.pat[idx]))
    ordered = idx[order]
    pair = c.pat[ordered].astype(np.int64) * (site_codes.max() + 1) + site_codes[order]
    repeat_site = pd.Series(pair).duplicated().to_numpy()          # second lesion of a site in a patient
    order2 = np.lexsort((np.arange(len(ordered)), repeat_site, c.pat[ordered]))
    chosen = ordered[order2]
    pats = c.pat[chosen]
    start = np.searchsorted(pats, pats, side="left")
    rank = np.arange(len(chosen)) - start
    out = np.zeros(len(c.role), dtype=bool)
    out[chosen[rank < RECIL_TARGETS]] = True
    return out


def assess_recil(c: Cohort, m: Measures, opts: ResponseOptions) -> tuple[Grades, np.ndarray, np.ndarray]:
    """RECIL 2017 for every patient and slot. Also returns the SLD [P, S] (units) and its completeness."""
    chosen = select_targets(c)[:, None]
    too_small = cm(opts.recil_too_small_cm)
    ldi = np.where(c.state == TOO_SMALL, too_small, m.ldi)               # A20; absent -> 0 as in Lugano
    valid = m.valid
    sld = c.by_patient_sum(np.where(chosen & valid, ldi, 0))
    unknown = c.by_patient_any(chosen & ~valid & c.scan_exists[c.pat])
    complete = c.scan_exists & ~unknown
    nadir = nadir_before(sld, complete)
    bl = np.where(complete[:, :1], sld[:, :1], BIG)
    # R-PD-SLD with R-PD-SMALLN (A18): a node < 1.5 cm at nadir counts its growth only when it grew
    # >= 0.5 cm and ends > 1.5 cm; otherwise it contributes at most its nadir LDi.
    lesion_nadir = nadir_before(ldi, valid & (c.role != NEW)[:, None])
    small_node = chosen & c.nodal[:, None] & (lesion_nadir < NODE_ABNORMAL)
    qualifies = reached(ldi - lesion_nadir, cm("0.5"), opts.inclusive) & (ldi > NODE_ABNORMAL)
    capped = small_node & valid & ~qualifies & (ldi > lesion_nadir) if opts.recil_small_node_rule \
        else np.zeros_like(small_node)
    effective = c.by_patient_sum(np.where(chosen & valid, np.where(capped, lesion_nadir, ldi), 0))
    has_nadir = nadir < BIG
    rise_ok = effective - nadir >= cm(opts.recil_pd_min_abs_cm)
    sld_pd = has_nadir & (5 * effective > 6 * nadir) & rise_ok & (complete | opts.partial_sum_pd)
    new = m.new_eligible & ((c.nodal[:, None] & (m.ldi > NODE_ABNORMAL))
                            | (~c.nodal[:, None] & (m.ldi > EXTRANODAL_NEW)) | (m.ds >= 4) | c.biopsy)
    nl = c.by_patient_any(new)
    bm = m.marrow_new_involved if opts.recil_marrow_is_new_lesion else np.zeros_like(nl)
    is_pd = (sld_pd | nl | bm) & m.followup
    cat, rules = _response(c, m, opts, chosen, ldi, sld, bl, complete, is_pd)
    reasons = np.where(cat == PD, np.where(sld_pd, R_TL, 0) | np.where(nl, R_NL, 0) | np.where(bm, R_BM, 0),
                       0).astype(np.int64)
    rules |= rule_bits(R_PD_SLD=sld_pd & m.followup, R_PD_SMALLN=c.by_patient_any(capped) & m.followup,
                       R_PD_NEW=(nl | bm) & m.followup, R_TGT=m.followup)
    flags = flag_bits(NE__target_not_evaluable=unknown & (cat == NE_) & m.followup,
                      partial_sum_pd=sld_pd & ~complete & m.followup)
    return Grades(cat, reasons, np.where(m.followup, rules, 0), flags), sld, complete


def _response(c: Cohort, m: Measures, opts: ResponseOptions, chosen: np.ndarray, ldi: np.ndarray,
              sld: np.ndarray, bl: np.ndarray, complete: np.ndarray,
              is_pd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R-CR-CT / R-CR-PET / R-PR / R-MR / R-SD; NE when a target is missing and no PD is shown."""
    pre = (c.role != NEW)[:, None]
    here = c.scan_exists[c.pat]
    node_cr = cm(opts.recil_node_cr_cm)
    gone = np.where(c.nodal[:, None], m.valid & (ldi < node_cr), c.state == ABSENT)
    no_new = ~c.by_patient_any(m.new_eligible)
    marrow_ok = c.marrow != M_INVOLVED
    nt_status = np.where(c.nontarget < 0, np.maximum(c.nontarget[:, :1], NT_ABSENT), c.nontarget)
    cr_ct = ~c.by_patient_any(pre & ~gone & here) & (nt_status == NT_ABSENT) & no_new & marrow_ok
    thirty = (bl < BIG) & (bl > 0) & complete & reached(7 * bl, 10 * sld, opts.inclusive)
    ten = (bl < BIG) & (bl > 0) & complete & reached(9 * bl, 10 * sld, opts.inclusive)
    pet_normal = (c.petct & ~c.by_patient_any(pre & m.present & ((m.ds >= 4) | (m.ds < 0)) & here)
                  & (c.marrow != M_SUSPECTED))
    cr_pet = thirty & pet_normal & no_new & marrow_ok
    cat = np.select([is_pd, ~complete, cr_ct & complete, cr_pet, thirty, ten], [PD, NE_, CR, CR, PR, MR],
                    default=SD)
    cat = np.where(m.followup, cat, NE_).astype(np.int8)
    rules = rule_bits(R_CR_CT=(cat == CR) & cr_ct, R_CR_PET=(cat == CR) & cr_pet & ~cr_ct, R_PR=cat == PR,
                      R_MR=cat == MR, R_SD=cat == SD)
    return cat, rules


def assess_patient(scans: pd.DataFrame, lesions: pd.DataFrame, *, options: ResponseOptions | None = None,
                   infusion_day: int = 0):
    """RECIL 2017 for one patient -> :class:`cartlens.criteria.engine.PatientResponse`."""
    from cartlens.criteria.engine import assess_one
    return assess_one(scans, lesions, criterion="recil", options=options, infusion_day=infusion_day)


__all__ = ["assess_patient", "assess_recil", "select_targets"]
