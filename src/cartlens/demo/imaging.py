"""The imaging response sub-study of the demo cohort (baseline, FU1 day 30 +/- 7, FU2 day 90 +/- 14).

Mirrors the LMU study (Winkelmann M et al., Cancer Imaging 2023;23:44; seed 000, ``seed_results.md``): 41
patients in which Lugano 2014, Cheson 2007, RECIL 2017 and LYRIC 2016 disagree at FU2 in the published pattern
(ORR 68/68/63/68 %, PD 32/27/17/17 %; Lugano PD reasons TL 11/13, NL 7/13, NTL 3/13, PMD 2/13; the published
NTL share 27.3 % = 3/11 cannot be k/13, we plant 3/13).  Each patient follows one *archetype* whose lesion
trajectories were constructed against the rules of response_criteria.md (rule IDs below); the intended category
of every criterion is kept in the truth record, so the criteria engines can be checked against it.

=============  ===  ==========================================================================================
archetype       n   construction (FU2 unless stated)
=============  ===  ==========================================================================================
progression     7   all targets x1.55-1.75 per diameter from the FU1 nadir (L-PD-LES, SPD >= +50 %, RECIL SLD
                    > +20 %, day > 84 so LYRIC PD, not IR1), 1-2 new nodes > 1.5 cm (NL); 3 of 7 also
                    unequivocal non-target progression (NTL).  PD under all four criteria.
single_lesion   4   one small nodal target (4th or later by size) regrows >= 1.5 x nadir PPD and +0.5/1.0 cm,
                    the rest stable: Lugano PD (TL), Cheson PD (C-PD-NODE), RECIL not PD (SLD <= +20 % whatever
                    3 targets are chosen), LYRIC IR2b (SPD < +50 %).
pmd_only        2   sizes stable (SPD -30..-45 % vs baseline), one lesion Deauville 5 with increased uptake:
                    Lugano PD (PMD), Cheson SD, RECIL SD/MR, LYRIC IR3.
pseudo          2   FU1 (<= day 37): targets grow >= 1.5 x PPD without clinical deterioration (Lugano PD,
                    LYRIC IR1); FU2: partial metabolic response (PR under all four).  Lugano PFS event at FU1.
complete       18   CMR at FU2 with SLD -55..-85 %: CR under all four.
cr_residual     2   CMR with residual masses (SLD -15..-22 %): CR under Lugano/Cheson/LYRIC, MR under RECIL.
partial         6   SPD -70..-88 %, one Deauville 4 lesion with reduced uptake: PR under all four.
=============  ===  ==========================================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cartlens.demo.followup import (
    PATTERN_PROBS,
    LesionSet,
    failure_rows,
    lesion_rows,
    new_lesions,
    nles,
    scan_row,
    split_registry,
)

__all__ = ["ARCHETYPES", "INTENDED_FU2", "build_substudy", "select_substudy", "shortfall"]

ARCHETYPES: dict[str, int] = {"progression": 7, "single_lesion": 4, "pmd_only": 2, "pseudo": 2,
                              "complete": 18, "cr_residual": 2, "partial": 6}
EARLY = ("progression", "single_lesion", "pmd_only", "pseudo")        # need a planted early progression
INTENDED_FU2: dict[str, dict[str, str]] = {
    "progression": {"lugano": "PD", "cheson2007": "PD", "recil": "PD", "lyric": "PD"},
    "single_lesion": {"lugano": "PD", "cheson2007": "PD", "recil": "SD|MR", "lyric": "IR2b"},
    "pmd_only": {"lugano": "PD", "cheson2007": "SD", "recil": "SD|MR", "lyric": "IR3"},
    "pseudo": {"lugano": "PR", "cheson2007": "PR", "recil": "PR", "lyric": "PR"},
    "complete": {"lugano": "CR", "cheson2007": "CR", "recil": "CR", "lyric": "CR"},
    "cr_residual": {"lugano": "CR", "cheson2007": "CR", "recil": "MR", "lyric": "CR"},
    "partial": {"lugano": "PR", "cheson2007": "PR", "recil": "PR", "lyric": "PR"},
}


def _single_lesion_pick(les: LesionSet) -> str | None:
    """The regrowing lesion of a ``single_lesion`` patient, or None when the patient does not fit: >= 4 targets,
    the two largest LDi >= 3.0 cm, and a nodal target of LDi 1.6-2.8 cm that is not among those two."""
    t = np.flatnonzero(les["role"] == "target")
    t = t[np.argsort(-les["ldi_cm"][t], kind="stable")]
    if len(t) < 4 or les["ldi_cm"][t[1]] < 3.0:
        return None
    small = [j for j in t[2:] if bool(les["nodal"][j]) and 1.5 < les["ldi_cm"][j] <= 2.8]
    return None if not small else str(les["lesion_id"][small[-1]])


def select_substudy(rng: np.random.Generator, base: pd.DataFrame, outc: pd.DataFrame,
                    registry: pd.DataFrame, prefer_centre: str = "C4") -> dict[int, str]:
    """Choose the sub-study patients (row index -> archetype), preferring ``prefer_centre`` (LMU-like).

    Early archetypes come from development patients with a planted progression by day 110, late ones from
    patients progression-free beyond day 130; all are alive beyond day 130 and have >= 2 target lesions.
    A small development cohort may not fill every archetype; the shortfall is reported by :func:`shortfall`.
    """
    dev = base["cohort"].to_numpy() == "development"
    ntarget = (registry["role"] == "target").groupby(registry["pidx"]).sum().reindex(range(len(base)), fill_value=0)
    ok = dev & (outc["os_days"].to_numpy() > 130) & (ntarget.to_numpy() >= 2)
    early = ok & outc["progressed"].to_numpy() & (outc["pfs_days"].to_numpy() <= 110)
    late = ok & ~(outc["progressed"].to_numpy() & (outc["pfs_days"].to_numpy() <= 130))
    pref = base["centre"].to_numpy() == prefer_centre
    order = np.concatenate([rng.permutation(np.flatnonzero(pref)), rng.permutation(np.flatnonzero(~pref))])
    by_patient = split_registry(registry, len(base))
    chosen: dict[int, str] = {}
    need = dict(ARCHETYPES)
    for i in order:                                   # single_lesion first: the scarcest fit
        if need["single_lesion"] and early[i] and _single_lesion_pick(by_patient[i]) is not None:
            chosen[int(i)] = "single_lesion"
            need["single_lesion"] -= 1
    for i in order:
        if i in chosen:
            continue
        pool = EARLY if early[i] else (tuple(k for k in ARCHETYPES if k not in EARLY) if late[i] else ())
        organ = bool(np.isin(by_patient[i]["site"], ["liver", "spleen"]).any())
        for arche in pool:
            if need[arche] > 0 and arche != "single_lesion" and not (arche == "cr_residual" and organ):
                chosen[int(i)] = arche
                need[arche] -= 1
                break
    return chosen


def shortfall(chosen: dict[int, str]) -> dict[str, int]:
    """Archetype slots left empty (non-empty only for small development cohorts)."""
    counts = {a: 0 for a in ARCHETYPES}
    for a in chosen.values():
        counts[a] += 1
    return {a: n - counts[a] for a, n in ARCHETYPES.items() if n > counts[a]}


def _scaled(les: LesionSet, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return les["ldi_cm"] * f, les["sdi_cm"] * f


def _fu_rows(les, scan_id, ldi, sdi, suv, ds, uptake) -> pd.DataFrame:
    ldi, sdi = np.round(ldi, 1), np.round(np.minimum(sdi, ldi), 1)
    state = np.where(ldi < 0.5, "too_small", "measured")
    m = state == "measured"
    vol = np.where(np.isin(ds, ["4", "5"]), les["volume_ml"] * (ldi / les["ldi_cm"]) ** 3, 0.0)
    return lesion_rows(les, scan_id, np.where(m, ldi, np.nan), np.where(m, np.maximum(sdi, 0.1), np.nan), state,
                 np.round(suv, 1), ds, uptake, np.round(vol, 2))


def _pet(rng, les, liver, *, avid_top: int, lo: float, hi: float, also: np.ndarray | None = None
         ) -> tuple[np.ndarray, np.ndarray]:
    """SUVmax and Deauville: the ``avid_top`` highest-SUV lesions (and ``also``) keep Deauville 4-5 at
    baseline SUVmax x U(lo, hi); the others fall to Deauville 2-3."""
    suv_bl = les["suvmax"]
    suv = rng.uniform(0.9, 0.95 * liver, nles(les))
    ds = np.where(suv <= 1.36, "2", "3").astype(object)
    avid = np.zeros(nles(les), dtype=bool)
    avid[np.argsort(-suv_bl)[:avid_top]] = True
    if also is not None:
        avid |= also
    suv[avid] = np.maximum(suv_bl[avid] * rng.uniform(lo, hi, int(avid.sum())), 1.2 * liver)
    ds[avid] = np.where(suv[avid] > 2.5 * liver, "5", "4")
    return suv, ds


def _grow_from(nadir_ldi: np.ndarray, g: np.ndarray) -> np.ndarray:
    """LDi after growth that satisfies L-PD-LES against ``nadir_ldi`` (> 1.5 cm, +0.5 / +1.0 cm)."""
    step = np.where(nadir_ldi <= 2.0, 0.6, 1.1)
    return np.ceil(np.maximum.reduce([nadir_ldi * g, nadir_ldi + step, np.full(len(g), 1.7)]) * 10) / 10


def _trajectory(rng, arche, les, liver, pick, ntl):
    """(FU1 rows, FU2 rows, FU2 new lesions or None, lesion ids that progressed) for one archetype."""
    n = nles(les)
    u = lambda a, b: rng.uniform(a, b, n)
    suv_bl = les["suvmax"]
    f1 = {"progression": u(.62, .72), "single_lesion": u(.78, .82), "pmd_only": u(.75, .85), "pseudo": u(1, 1),
          "complete": u(.4, .6), "cr_residual": u(.85, .9), "partial": u(.5, .7)}[arche]
    l1, s1 = _scaled(les, f1)
    if arche == "pseudo":
        l1 = _grow_from(les["ldi_cm"], u(1.3, 1.4))
        s1 = l1 * les["sdi_cm"] / les["ldi_cm"]
        suv1 = suv_bl * u(0.95, 1.05)
        ds1 = np.where(suv1 > 2.5 * liver, "5", "4")
        fu1 = _fu_rows(les, "FU1", l1, s1, suv1, ds1, "unchanged")
    else:
        # Lesions that regrow at FU2 keep Deauville 4 at FU1, so their FU2 uptake is not a "return of DS 4-5
        # after DS 1-3" (Lugano PMD, response_criteria.md A9): the planted PD reason stays TL/NL/NTL.
        regrow = None
        if arche == "progression":
            regrow = (les["role"] == "target") | (ntl & (les["role"] == "nontarget"))
        elif arche == "single_lesion":
            regrow = les["lesion_id"] == pick
        suv1, ds1 = _pet(rng, les, liver, avid_top=2, lo=0.3, hi=0.6, also=regrow)
        fu1 = _fu_rows(les, "FU1", l1, s1, suv1, ds1, "decreased")
    nl1 = np.nan_to_num(fu1["ldi_cm"], nan=0.0)
    ratio = les["sdi_cm"] / les["ldi_cm"]
    nadir = np.minimum(les["ldi_cm"], nl1)
    new, failed = None, np.zeros(n, dtype=bool)
    if arche == "pseudo":
        failed = np.ones(n, dtype=bool)            # every lesion grows at FU1 (IR1-type flare)
    if arche == "progression":
        target = (les["role"] == "target")
        grow = target | (ntl & (les["role"] == "nontarget"))
        failed = grow
        l2 = np.where(grow, _grow_from(nadir, u(1.55, 1.75)), nadir * u(0.98, 1.0))
        suv2 = np.where(grow, suv_bl * u(0.92, 1.05), suv1)
        ds2 = np.where(grow, np.where(suv2 > 2.5 * liver, "5", "4"), ds1)
        fu2 = _fu_rows(les, "FU2", l2, l2 * ratio, suv2, ds2, np.where(grow, "unchanged", "decreased"))
        new = new_lesions(rng, les, int(rng.integers(1, 3)), "FU2")
    elif arche == "single_lesion":
        is_pick = (les["lesion_id"] == pick)
        failed = is_pick
        l2 = np.where(is_pick, _grow_from(nadir, u(1.45, 1.5)), nadir * u(1.0, 1.03))
        suv2 = np.where(is_pick, suv_bl * u(0.92, 1.05), suv1)
        ds2 = np.where(is_pick, np.where(suv2 > 2.5 * liver, "5", "4"), ds1)
        up = np.where(is_pick, "unchanged", "decreased")
        fu2 = _fu_rows(les, "FU2", l2, l2 * ratio, suv2, ds2, up)
    elif arche == "pmd_only":
        l2 = nadir * u(0.97, 1.0)
        top = int(np.argmax(suv_bl))
        suv2, ds2 = _pet(rng, les, liver, avid_top=1, lo=0.5, hi=0.7)
        up = np.full(n, "decreased", dtype=object)
        suv2[top], ds2[top], up[top] = max(suv_bl[top] * rng.uniform(1.3, 1.6), 2.6 * liver), "5", "increased"
        failed[top] = True
        fu2 = _fu_rows(les, "FU2", l2, l2 * ratio, suv2, ds2, up)
    else:
        f2 = {"pseudo": u(.45, .55), "complete": u(.15, .45), "cr_residual": u(.78, .85),
              "partial": u(.35, .55)}[arche]
        l2 = les["ldi_cm"] * np.minimum(f2, np.maximum(nadir, 1e-9) / les["ldi_cm"])
        if arche in ("complete", "cr_residual"):
            suv2 = rng.uniform(0.9, 0.95 * liver, n)
            ds2 = np.where(suv2 <= 1.36, "2", "3")
        else:
            suv2, ds2 = _pet(rng, les, liver, avid_top=1, lo=0.25, hi=0.4)
        fu2 = _fu_rows(les, "FU2", l2, l2 * ratio, suv2, ds2, "decreased")
        if arche == "complete":       # Cheson 2007 CR: hepatic and splenic nodules have disappeared
            organ = np.isin(les["site"], ["liver", "spleen"])
            fu2["state"] = np.where(organ, "absent", fu2["state"])
            for col in ("ldi_cm", "sdi_cm", "suvmax", "volume_ml"):
                fu2[col] = np.where(organ, np.nan, fu2[col])
            for col in ("deauville", "uptake_vs_baseline"):
                fu2[col] = np.where(organ, None, fu2[col])
    return fu1, fu2, new, [str(x) for x in les["lesion_id"][failed]]


def build_substudy(rng: np.random.Generator, base: pd.DataFrame, outc: pd.DataFrame, registry: pd.DataFrame,
                   bl_scans: pd.DataFrame, chosen: dict[int, str]) -> tuple[list[dict], list[LesionSet],
                                                                            list[dict], list[dict]]:
    """FU1/FU2 (and any later PD) scans of the sub-study; overrides ``outc`` PFS of the early archetypes in place.

    Returns scan rows, lesion blocks, per-patient truth records and failure records.
    """
    scans: list[dict] = []
    blocks: list[LesionSet] = []
    truth: list[dict] = []
    failures: list[dict] = []
    by_patient = split_registry(registry, len(base))
    bl_records = bl_scans.to_dict("records")
    prog_ids = [i for i, a in sorted(chosen.items()) if a == "progression"]
    ntl_ids = set(rng.choice(prog_ids, size=min(3, len(prog_ids)), replace=False).tolist())
    for i, arche in sorted(chosen.items()):
        les, bl = by_patient[i], bl_records[i]
        liver = float(bl["liver_suvmean"])
        d1 = int(outc["fu1_day"].iat[i])
        d2 = int(rng.integers(85, 105)) if arche == "progression" else 90 + int(rng.integers(-14, 15))
        pick = _single_lesion_pick(les) if arche == "single_lesion" else None
        ntl = i in ntl_ids
        fu1, fu2, new, failed = _trajectory(rng, arche, les, liver, pick, ntl)
        cr = arche in ("complete", "cr_residual")
        scans.append(scan_row(bl, "FU1", d1, nontarget="present"))
        scans.append(scan_row(bl, "FU2", d2,
                           nontarget="unequivocal_progression" if ntl else ("absent" if cr else "present"),
                           marrow="not_involved" if cr or arche in ("pseudo", "partial") else None,
                           spleen=round(min(float(bl["spleen_cm"]), 12.5), 1) if cr else None))
        blocks += [fu1, fu2] + ([new] if new is not None else [])
        if arche in EARLY:
            at_fu2 = arche != "pseudo"
            outc.loc[outc.index[i], ["pfs_days", "pfs_event", "progressed"]] = [d2 if at_fu2 else d1, 1, True]
            failures.append({"patient_id": bl["patient_id"], "centre": bl["centre"],
                             "pattern": "mixed" if arche == "progression" else "strictly_local",
                             "scan_id": "FU2" if at_fu2 else "FU1", "failed_lesions": failed})
        elif bool(outc["progressed"].iat[i]):           # a late progression after the sub-study scans
            n1 = np.nan_to_num(fu1["ldi_cm"], nan=0.0)
            n2 = np.nan_to_num(fu2["ldi_cm"], nan=0.0)
            nadir = np.minimum.reduce([les["ldi_cm"], n1, n2])
            ratio = les["sdi_cm"] / les["ldi_cm"]
            pattern = str(rng.choice(list(PATTERN_PROBS), p=list(PATTERN_PROBS.values())))
            rows, fail = failure_rows(rng, les, nadir, nadir * ratio, pattern=pattern, scan_id="PD", liver=liver)
            blocks.extend(rows)
            scans.append(scan_row(bl, "PD", int(outc["pfs_days"].iat[i]), nontarget="present"))
            failures.append({"patient_id": bl["patient_id"], "centre": bl["centre"], "pattern": pattern,
                             "scan_id": "PD", "failed_lesions": les["lesion_id"][fail].tolist()})
        truth.append({"patient_id": bl["patient_id"], "centre": bl["centre"], "archetype": arche,
                      "fu1_day": d1, "fu2_day": d2, "ntl_progression": ntl, "regrowing_lesion": pick,
                      "intended_fu2": INTENDED_FU2[arche],
                      "intended_fu1": {"lugano": "PD", "lyric": "IR1"} if arche == "pseudo" else None})
    return scans, blocks, truth, failures
