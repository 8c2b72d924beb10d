"""Build the columnar :class:`~cartlens.criteria.common.Cohort` from the canonical scans/lesions tables.

Source: data_model.md (scans, lesions), response_criteria.md §1 and §6 (baseline = the last scan at
day <= 0 relative to infusion, A27; targets fixed at baseline, A32). Pure: takes DataFrames, returns arrays.
Every problem is collected and raised together as :class:`ResponseInputError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cartlens.criteria.common import (
    ATTRIBUTIONS,
    LIVER_SPLEEN_SITES,
    MARROWS,
    MISSING,
    NEW,
    NONTARGETS,
    ROLES,
    STATES,
    UPTAKES,
    Cohort,
    ResponseInputError,
    bools,
    codes,
    deauville_codes,
    to_units,
)

SCAN_REQUIRED = ("patient_id", "centre", "scan_id", "day", "modality")
LESION_REQUIRED = ("patient_id", "centre", "scan_id", "lesion_id", "site", "nodal", "state")


def _require(frame: pd.DataFrame, table: str, required: tuple[str, ...], problems: list[str], *,
             values: bool = True) -> None:
    """Required columns present; with ``values`` also non-empty (large tables check values by their codes)."""
    for column in required:
        if column not in frame.columns:
            problems.append(f"{table}:1:{column}: required column is missing")
        elif values and frame[column].isna().any():
            pos = int(np.flatnonzero(frame[column].isna().to_numpy())[0])
            problems.append(f"{table}:{pos + 2}:{column}: required value is missing")


def _missing(codes_: np.ndarray, table: str, column: str, problems: list[str]) -> None:
    for pos in np.flatnonzero(codes_ < 0)[:20]:
        problems.append(f"{table}:{pos + 2}:{column}: required value is missing")


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series([None] * len(frame), index=frame.index,
                                                               dtype=object)


def _factor(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes and distinct values (as str); categoricals reuse their codes."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), pd.Index(values.cat.categories.astype(str))
    codes_, uniq = pd.factorize(values)
    return codes_, pd.Index(pd.Index(uniq).astype(str))


def _joint_codes(scans: pd.DataFrame, lesions: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray,
                                                                                     np.ndarray]:
    """Codes of one key column in both tables on a common set of values, and those values."""
    cs, us = _factor(scans[column])
    cl, ul = _factor(lesions[column])
    union = us.append(ul).unique()
    map_s, map_l = union.get_indexer(us), union.get_indexer(ul)
    return (np.where(cs < 0, -1, map_s[cs]), np.where(cl < 0, -1, map_l[cl]),
            np.asarray(union, dtype=object))


def _join_keys(scans: pd.DataFrame, lesions: pd.DataFrame) -> dict[str, np.ndarray]:
    """Integer keys of (centre, patient_id) and (centre, patient_id, scan_id) for both tables."""
    cs, cl, cu = _joint_codes(scans, lesions, "centre")
    ps, pl, pu = _joint_codes(scans, lesions, "patient_id")
    ss, sl, _ = _joint_codes(scans, lesions, "scan_id")
    problems: list[str] = []
    for column, codes_ in (("centre", cl), ("patient_id", pl), ("scan_id", sl)):
        _missing(codes_, "lesions", column, problems)
    if problems:
        raise ResponseInputError(problems)
    n_p, n_s = max(len(pu), 1), int(max(ss.max(initial=0), sl.max(initial=0))) + 1
    pat_s, pat_l = cs.astype(np.int64) * n_p + ps, cl.astype(np.int64) * n_p + pl
    return {"pat_s": pat_s, "pat_l": pat_l, "scan_s": pat_s * n_s + ss, "scan_l": pat_l * n_s + sl,
            "centre_names": cu, "patient_names": pu, "n_p": np.int64(n_p)}


def _slots(pidx: np.ndarray, rel: np.ndarray, scan_ids: np.ndarray, P: int,
           baseline_max_day: int) -> tuple[np.ndarray, np.ndarray]:
    """Slot of every scan (0 = baseline = last scan at day <= ``baseline_max_day``, A27; -1 = earlier
    history, not assessed) and whether each patient has a baseline. Without one, slot 0 stays empty."""
    order = np.lexsort((scan_ids, rel, pidx))
    p_sorted, rel_sorted = pidx[order], rel[order]
    start = np.searchsorted(p_sorted, np.arange(P))
    position = np.arange(len(order)) - start[p_sorted]
    n_pre = np.bincount(p_sorted, weights=(rel_sorted <= baseline_max_day), minlength=P).astype(np.int64)
    has_bl = n_pre > 0
    slot_sorted = np.where(has_bl[p_sorted], position - (n_pre[p_sorted] - 1), position + 1)
    slot = np.full(len(rel), -1, dtype=np.int64)
    slot[order] = slot_sorted
    return slot, has_bl


def _lesion_columns(lesions: pd.DataFrame, problems: list[str]) -> dict[str, Any]:
    """Every lesion column coded (ints, units, bools); problems are appended, never raised here."""
    state = codes(lesions["state"], STATES, table="lesions", column="state", problems=problems)
    _missing(state, "lesions", "state", problems)
    site_codes, site_uniq = pd.factorize(lesions["site"])
    _missing(site_codes, "lesions", "site", problems)
    ldi = to_units(_col(lesions, "ldi_cm"), table="lesions", column="ldi_cm", problems=problems)
    sdi = to_units(_col(lesions, "sdi_cm"), table="lesions", column="sdi_cm", problems=problems)
    role = codes(_col(lesions, "role"), ROLES, table="lesions", column="role", problems=problems)
    nodal = bools(lesions["nodal"], table="lesions", column="nodal", problems=problems)
    ds = deauville_codes(_col(lesions, "deauville"), problems=problems)
    uptake = codes(_col(lesions, "uptake_vs_baseline"), UPTAKES, table="lesions",
                   column="uptake_vs_baseline", problems=problems)
    attribution = codes(_col(lesions, "attribution"), ATTRIBUTIONS, table="lesions", column="attribution",
                        problems=problems)
    biopsy = bools(_col(lesions, "biopsy_proven"), table="lesions", column="biopsy_proven",
                   problems=problems)
    suv = pd.to_numeric(_col(lesions, "suvmax"), errors="coerce").to_numpy(dtype=float)
    measured = state == 0
    for mask, column, message in (
        (measured & ((ldi < 0) | (sdi < 0)), "ldi_cm", "state 'measured' needs both ldi_cm and sdi_cm"),
        (measured & (sdi > ldi) & (ldi >= 0), "sdi_cm", "must not exceed ldi_cm"),
        (nodal < 0, "nodal", "required value is missing"),
    ):
        for pos in np.flatnonzero(mask)[:20]:
            problems.append(f"lesions:{pos + 2}:{column}: {message}")
    return {"state": state, "site_codes": site_codes, "site_uniq": site_uniq, "ldi": ldi, "sdi": sdi,
            "role": role, "nodal": nodal, "ds": ds, "uptake": uptake, "attribution": attribution,
            "biopsy": biopsy, "suv": suv}


def build_cohort(scans: pd.DataFrame, lesions: pd.DataFrame, *, infusion_day: int = 0,
                 baseline_max_day: int = 0) -> Cohort:
    """Canonical tables -> columnar cohort.

    Parameters
    ----------
    scans, lesions : pandas.DataFrame
        Tables of data_model.md. ``day`` is days relative to infusion.
    infusion_day : int
        Day of infusion on the ``day`` scale (0 for canonical data; A21/A27 anchors).
    baseline_max_day : int
        The baseline is the last scan with ``day - infusion_day <= baseline_max_day`` (A27).
    """
    problems: list[str] = []
    _require(scans, "scans", SCAN_REQUIRED, problems)
    _require(lesions, "lesions", LESION_REQUIRED, problems, values=False)
    if problems:
        raise ResponseInputError(problems)

    # ---- scans: patient index, order by day, baseline slot -------------------------------------
    keys = _join_keys(scans, lesions)
    pidx, puniq = pd.factorize(keys["pat_s"])
    day = pd.to_numeric(scans["day"], errors="coerce")
    if day.isna().any():
        pos = int(np.flatnonzero(day.isna().to_numpy())[0])
        problems.append(f"scans:{pos + 2}:day: {scans['day'].iloc[pos]!r} is not a number of days")
    modality = codes(scans["modality"], ("petct", "ct"), table="scans", column="modality", problems=problems)
    skeys = pd.Index(keys["scan_s"])
    dup = skeys.duplicated()
    for pos in np.flatnonzero(dup)[:20]:
        problems.append(f"scans:{pos + 2}:scan_id: duplicate scan {scans['scan_id'].iloc[pos]!r} for "
                        f"this patient")
    if problems:
        raise ResponseInputError(problems)
    rel = day.to_numpy(dtype=np.int64) - int(infusion_day)
    P = len(puniq)
    slot, has_bl = _slots(pidx, rel, scans["scan_id"].astype(str).to_numpy(), P, baseline_max_day)
    S = int(slot.max()) + 1 if (slot >= 0).any() else 1
    rows = np.flatnonzero(slot >= 0)
    pr, sr = pidx[rows], slot[rows]

    def grid(values: np.ndarray, fill: Any, dtype: Any) -> np.ndarray:
        out = np.full((P, S), fill, dtype=dtype)
        out[pr, sr] = values[rows]
        return out

    exists = np.zeros((P, S), dtype=bool)
    exists[pr, sr] = True
    spleen = to_units(_col(scans, "spleen_cm"), table="scans", column="spleen_cm", problems=problems)
    marrow = codes(_col(scans, "marrow"), MARROWS, table="scans", column="marrow", problems=problems)
    nontarget = codes(_col(scans, "nontarget"), NONTARGETS, table="scans", column="nontarget",
                      problems=problems)
    deterioration = bools(_col(scans, "clinical_deterioration"), table="scans",
                          column="clinical_deterioration", problems=problems)
    liver = pd.to_numeric(_col(scans, "liver_suvmean"), errors="coerce").to_numpy(dtype=float)
    mbp = pd.to_numeric(_col(scans, "mbp_suvmax"), errors="coerce").to_numpy(dtype=float)
    scan_id = grid(scans["scan_id"].astype(str).to_numpy(dtype=object), None, object)

    # ---- lesions: scan slot, lesion index, matrices ----------------------------------------------
    where = skeys.get_indexer(keys["scan_l"])
    for pos in np.flatnonzero(where < 0)[:20]:
        problems.append(f"lesions:{pos + 2}:scan_id: no scan {lesions['scan_id'].iloc[pos]!r} for patient "
                        f"{lesions['patient_id'].iloc[pos]!r} in scans")
    col = _lesion_columns(lesions, problems)
    if problems:
        raise ResponseInputError(problems)

    lslot = slot[where]
    lpat = pidx[where]
    inside = lslot >= 0                                   # rows of pre-baseline scans are history only
    lid_codes, lid_uniq = pd.factorize(lesions["lesion_id"])
    if (lid_codes < 0).any():
        _missing(lid_codes, "lesions", "lesion_id", problems)
        raise ResponseInputError(problems)
    lid_uniq = np.asarray(lid_uniq.astype(str), dtype=object)
    key = lpat.astype(np.int64) * max(len(lid_uniq), 1) + lid_codes
    lidx, ukey = pd.factorize(key[inside], sort=True)
    rows_l = np.flatnonzero(inside)
    N = len(ukey)
    flat = lidx * S + lslot[rows_l]
    counts = np.bincount(flat, minlength=N * S)
    if len(counts) and counts.max() > 1:
        pos = rows_l[np.flatnonzero(counts[flat] > 1)[0]]
        raise ResponseInputError([(f"lesions:{pos + 2}:lesion_id: lesion {lesions['lesion_id'].iloc[pos]!r} "
                                   f"appears twice on scan {lesions['scan_id'].iloc[pos]!r}")])

    def lgrid(values: np.ndarray, fill: Any, dtype: Any) -> np.ndarray:
        out = np.full(N * S, fill, dtype=dtype)
        out[flat] = values[rows_l]
        return out.reshape(N, S)

    st = lgrid(col["state"], MISSING, np.int8)
    rl = lgrid(col["role"], -1, np.int8)
    lesion_role = np.where(st[:, 0] != MISSING, rl[:, 0], NEW).astype(np.int8)
    bad_role = (st[:, 0] != MISSING) & (rl[:, 0] < 0)
    if bad_role.any():
        i = int(np.flatnonzero(bad_role)[0])
        raise ResponseInputError([(f"lesions:{rows_l[np.flatnonzero(lidx == i)[0]] + 2}:role: a baseline "
                                   "lesion needs role target or nontarget")])
    first = np.argmax(st != MISSING, axis=1)              # first slot where the lesion has a row
    nod = lgrid(col["nodal"], -1, np.int8)[np.arange(N), first] == 1
    site_names = np.asarray(pd.Index(col["site_uniq"]).astype(str), dtype=object)
    site = site_names[lgrid(col["site_codes"], 0, np.int64)[np.arange(N), first]]
    attr = lgrid(col["attribution"], 0, np.int8)
    attr[attr < 0] = 0                                     # data_model.md: default "lymphoma"
    return Cohort(
        patient_id=keys["patient_names"][np.asarray(puniq) % keys["n_p"]],
        centre=keys["centre_names"][np.asarray(puniq) // keys["n_p"]],
        has_baseline=has_bl,
        scan_exists=exists, scan_id=scan_id, day=grid(rel, 0, np.int64),
        petct=grid(modality == 0, False, bool), spleen=grid(spleen, -1, np.int64),
        marrow=grid(marrow, -1, np.int8), nontarget=grid(nontarget, -1, np.int8),
        deterioration=grid(deterioration, -1, np.int8), liver_suv=grid(liver, np.nan, float),
        mbp_suv=grid(mbp, np.nan, float),
        pat=(ukey // max(len(lid_uniq), 1)).astype(np.int64), lesion_id=lid_uniq[ukey % max(len(lid_uniq), 1)],
        role=lesion_role, nodal=nod, liver_spleen=np.isin(site, LIVER_SPLEEN_SITES), site=site,
        state=st, ldi=lgrid(col["ldi"], -1, np.int64), sdi=lgrid(col["sdi"], -1, np.int64), ds=lgrid(col["ds"], -1, np.int8),
        uptake=lgrid(col["uptake"], -1, np.int8), attribution=attr, biopsy=lgrid(col["biopsy"], 0, np.int8) == 1,
        suvmax=lgrid(col["suv"], np.nan, float),
    )
