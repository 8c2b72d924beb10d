"""Comparing the four criteria: response rates, agreement matrices, Cohen's kappa, PD reasons, focality
of progressive target lesions and best overall response.

Source: response_criteria.md §6 (protocol time points T-FU, post-PD, A28) and §7 (discordance outputs);
study_report.md section 2; Winkelmann M et al., Cancer Imaging 2023;23:44 (ORR, PD rates, PD reasons as %
of PD patients). Cohen's kappa: Cohen J, Educ Psychol Meas 1960;20:37-46 (unweighted). Input is the
DataFrame of :func:`cartlens.criteria.assess`. Pure functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from cartlens.criteria.common import TIMEPOINTS
from cartlens.criteria.engine import CRITERIA
from cartlens.criteria.options import ResponseOptions

RESPONSE = ("CR", "PR")                          # ORR = CR + PR; MR is not a response
BEST_ORDER = ("CR", "PR", "MR", "SD", "IR3", "IR2b", "IR2a", "IR1", "PD", "NE")
MATRIX_ORDER = ("CR", "PR", "MR", "SD", "IR1", "IR2a", "IR2b", "IR3", "PD", "NE")
REASON_CODES = ("TL", "NL", "NTL", "PMD", "SPLEEN", "BM")
KEYS = ["centre", "patient_id"]


def at_timepoint(results: pd.DataFrame, timepoint: str, *,
                 windows: dict[str, tuple[int, int, int]] | None = None) -> pd.DataFrame:
    """Rows of one protocol time point: for "FU1"/"FU2" the scan inside the window nearest the nominal
    day (T-FU; ties -> earlier day); any other label selects ``scan_id == timepoint``."""
    table = windows or TIMEPOINTS
    if timepoint not in table:
        return results[results["scan_id"] == timepoint]
    nominal, lo, hi = table[timepoint]
    inside = results[(results["day"] >= lo) & (results["day"] <= hi)]
    scans = inside[KEYS + ["scan_id", "day"]].drop_duplicates()
    scans = scans.assign(_dist=(scans["day"] - nominal).abs()).sort_values(KEYS + ["_dist", "day"])
    chosen = scans.drop_duplicates(KEYS)[KEYS + ["scan_id"]]
    return inside.merge(chosen, on=KEYS + ["scan_id"], how="inner")


def response_rates(results: pd.DataFrame, timepoint: str, *,
                   criteria: Sequence[str] = CRITERIA) -> pd.DataFrame:
    """ORR (CR + PR; MR is not a response), CR and PD rates per criterion at a time point.

    Returns
    -------
    pandas.DataFrame
        Index = criterion; columns n (patients assessed), n_orr, n_cr, n_pd, orr, cr, pd (fractions of n).
    """
    rows = at_timepoint(results, timepoint)
    out = []
    for criterion in criteria:
        cats = rows.loc[rows["criterion"] == criterion, "category"]
        n = len(cats)
        counts = {"n_orr": int(cats.isin(RESPONSE).sum()), "n_cr": int((cats == "CR").sum()),
                  "n_pd": int((cats == "PD").sum())}
        out.append({"criterion": criterion, "n": n, **counts,
                    **{k[2:]: (v / n if n else np.nan) for k, v in counts.items()}})
    return pd.DataFrame(out).set_index("criterion")


def _paired(results: pd.DataFrame, a: str, b: str, timepoint: str | None) -> pd.DataFrame:
    rows = results if timepoint is None else at_timepoint(results, timepoint)
    left = rows[rows["criterion"] == a][KEYS + ["scan_id", "category"]]
    right = rows[rows["criterion"] == b][KEYS + ["scan_id", "category"]]
    return left.merge(right, on=KEYS + ["scan_id"], suffixes=("_a", "_b"))


def agreement_matrix(results: pd.DataFrame, a: str, b: str, timepoint: str | None = None) -> pd.DataFrame:
    """Cross-table of categories (rows: criterion ``a``, columns: ``b``); CR/PR/SD/PD always shown,
    other categories (MR, IR*, NE) only when they occur."""
    pairs = _paired(results, a, b, timepoint)
    seen = set(pairs["category_a"]) | set(pairs["category_b"])
    order = [c for c in MATRIX_ORDER if c in ("CR", "PR", "SD", "PD") or c in seen]
    table = pd.crosstab(pd.Categorical(pairs["category_a"], categories=order),
                        pd.Categorical(pairs["category_b"], categories=order), dropna=False)
    table.index.name, table.columns.name = a, b
    return table


def cohens_kappa(results: pd.DataFrame, a: str, b: str, timepoint: str | None = None, *,
                 collapse: dict[str, str] | None = None) -> float:
    """Unweighted Cohen's kappa between two criteria across patients: (p_o - p_e) / (1 - p_e).

    ``collapse`` maps categories before comparing (e.g. ``{"MR": "SD"}``). Returns nan when undefined
    (no pairs, or p_e = 1). Equals ``sklearn.metrics.cohen_kappa_score`` (tested).
    """
    pairs = _paired(results, a, b, timepoint)
    if collapse:
        pairs = pairs.replace({"category_a": collapse, "category_b": collapse})
    n = len(pairs)
    if n == 0:
        return float("nan")
    table = pd.crosstab(pairs["category_a"], pairs["category_b"])
    labels = sorted(set(table.index) | set(table.columns))
    table = table.reindex(index=labels, columns=labels, fill_value=0).to_numpy(dtype=float)
    p_o = np.trace(table) / n
    p_e = float((table.sum(axis=1) / n) @ (table.sum(axis=0) / n))
    return float("nan") if p_e == 1.0 else float((p_o - p_e) / (1.0 - p_e))


def concordance(results: pd.DataFrame, a: str, b: str, timepoint: str | None = None) -> dict[str, float]:
    """ORR and PD concordance (fraction of patients where both agree on response / on PD) and kappa."""
    pairs = _paired(results, a, b, timepoint)
    n = len(pairs)
    orr = (pairs["category_a"].isin(RESPONSE) == pairs["category_b"].isin(RESPONSE)).mean() if n else np.nan
    pd_ = ((pairs["category_a"] == "PD") == (pairs["category_b"] == "PD")).mean() if n else np.nan
    return {"n": n, "orr_concordance": float(orr), "pd_concordance": float(pd_),
            "kappa": cohens_kappa(results, a, b, timepoint)}


def discordant_reasons(results: pd.DataFrame, a: str, b: str, timepoint: str | None = None) -> pd.DataFrame:
    """For every patient where exactly one criterion says PD: the reasons that fired in that one only."""
    rows = results if timepoint is None else at_timepoint(results, timepoint)
    cols = KEYS + ["scan_id", "category", "reasons"]
    both = rows[rows["criterion"] == a][cols].merge(rows[rows["criterion"] == b][cols],
                                                   on=KEYS + ["scan_id"], suffixes=("_a", "_b"))
    split = both[(both["category_a"] == "PD") != (both["category_b"] == "PD")]
    only = [tuple(sorted(set(ra) - set(rb))) if ca == "PD" else tuple(sorted(set(rb) - set(ra)))
            for ca, ra, rb in zip(split["category_a"], split["reasons_a"], split["reasons_b"])]
    return split.assign(pd_in=np.where(split["category_a"] == "PD", a, b), reasons_only=only)[
        KEYS + ["scan_id", "category_a", "category_b", "pd_in", "reasons_only"]]


def pd_reason_frequencies(results: pd.DataFrame, timepoint: str | None = None, *,
                          criteria: Sequence[str] = CRITERIA) -> pd.DataFrame:
    """PD reasons as % of PD patients per criterion (a patient may have several reasons).

    With ``timepoint=None`` each patient's *first* PD is used. Returns index = criterion, columns
    n_pd and, per reason code, ``<code>_n`` and ``<code>_pct``.
    """
    rows = results[results["category"] == "PD"]
    if timepoint is not None:
        rows = at_timepoint(results, timepoint)
        rows = rows[rows["category"] == "PD"]
    else:
        rows = rows.sort_values("day").drop_duplicates(KEYS + ["criterion"])
    out = []
    for criterion in criteria:
        sub = rows[rows["criterion"] == criterion]
        n_pd = len(sub)
        rec: dict[str, float] = {"criterion": criterion, "n_pd": n_pd}  # type: ignore[dict-item]
        for code in REASON_CODES:
            n = int(sub["reasons"].map(lambda r, c=code: c in r).sum())
            rec[f"{code}_n"] = n
            rec[f"{code}_pct"] = 100.0 * n / n_pd if n_pd else np.nan
        out.append(rec)
    return pd.DataFrame(out).set_index("criterion")


def focality(results: pd.DataFrame, lesion_table: pd.DataFrame, *, criterion: str = "lugano") -> pd.DataFrame:
    """Unifocal vs multifocal progression of target lesions at each patient's first PD.

    ``lesion_table`` is :func:`cartlens.criteria.engine.lesion_table`. A progressive target lesion meets
    L-PD-LES (or regrows, A13) at the first PD scan of ``criterion``. One -> "unifocal", two or more ->
    "multifocal", none (PD from other reasons only) -> None.
    """
    first = (results[(results["criterion"] == criterion) & (results["category"] == "PD")]
             .sort_values("day").drop_duplicates(KEYS)[KEYS + ["scan_id", "day"]])
    prog = lesion_table[(lesion_table["role"] == "target") & (lesion_table["l_pd_les"] | lesion_table["regrowth"])]
    counts = prog.groupby(KEYS + ["scan_id"]).size().rename("n_progressive_targets").reset_index()
    out = first.merge(counts, on=KEYS + ["scan_id"], how="left")
    out["n_progressive_targets"] = out["n_progressive_targets"].fillna(0).astype(int)
    n = out["n_progressive_targets"].to_numpy()
    out["focality"] = [("multifocal" if k >= 2 else "unifocal" if k == 1 else None) for k in n]
    return out


def best_overall_response(results: pd.DataFrame, *, criteria: Sequence[str] = CRITERIA,
                          lyric_stop: Literal["confirmed", "first_ir"] | None = None,
                          options: ResponseOptions | None = None) -> pd.DataFrame:
    """Best overall response per patient and criterion, with the A28 stop rules.

    Assessments after the first PD are ignored (they stay flagged ``post_PD`` in ``results``); LYRIC
    stops at the first *confirmed* PD (its PD category), or at the first IR with ``lyric_stop="first_ir"``
    (default: ``options.bor_lyric_stop``).
    Order: CR > PR > MR > SD > IR3 > IR2b > IR2a > IR1 > PD > NE. ``pd_day`` is the day the first PD is
    dated to (LYRIC: the first IR time point of a confirmed IR, A24), else None.
    """
    if lyric_stop is None:
        lyric_stop = (options or ResponseOptions()).bor_lyric_stop           # A28
    rank = {c: i for i, c in enumerate(BEST_ORDER)}
    rows = results[results["criterion"].isin(criteria)].sort_values(KEYS + ["criterion", "day"])
    day_of = results.drop_duplicates(KEYS + ["scan_id"]).set_index(KEYS + ["scan_id"])["day"]
    out = []
    for (centre, pid, criterion), grp in rows.groupby(KEYS + ["criterion"], sort=False):
        stop = grp["category"].eq("PD")
        if criterion == "lyric" and lyric_stop == "first_ir":
            stop |= grp["category"].str.startswith("IR")
        cut = int(np.argmax(stop.to_numpy())) if stop.any() else len(grp)
        kept = grp.iloc[: cut + 1]
        pd_day = None
        if stop.any():
            first = grp.iloc[cut]
            dated = first.get("pd_dated_scan_id") or first["scan_id"]
            pd_day = int(day_of.get((centre, pid, dated), first["day"]))
            # A24: a PD dated back to the first IR replaces the assessments from that day on.
            kept = kept[(kept["day"] < pd_day) | (kept.index == first.name)]
        best = min(kept["category"], key=lambda c: rank.get(c, len(rank)))
        out.append({"centre": centre, "patient_id": pid, "criterion": criterion, "best_response": best,
                    "pd_day": pd_day})
    frame = pd.DataFrame(out, columns=["centre", "patient_id", "criterion", "best_response", "pd_day"])
    return frame.astype({"pd_day": "Int64"})


__all__ = [
    "TIMEPOINTS",
    "agreement_matrix",
    "at_timepoint",
    "best_overall_response",
    "cohens_kappa",
    "concordance",
    "discordant_reasons",
    "focality",
    "pd_reason_frequencies",
    "response_rates",
]
