"""The response engine: all four criteria side by side, one row per (patient, follow-up scan, criterion).

Source: response_criteria.md §8 (evaluation order), §6 (post-PD flags, A28) and cli.md (the JSON keys of
``cartlens response``). Pure: DataFrames in, a DataFrame (or frozen result objects) out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cartlens.criteria.cheson2007 import assess_cheson
from cartlens.criteria.cohort import build_cohort
from cartlens.criteria.common import (
    BASELINE_MAX_AGE_DAYS,
    BIG,
    CATEGORIES,
    CT_CATEGORIES,
    FLAG,
    FLAG_NAMES,
    PD,
    PET_CATEGORIES,
    REASON_ORDER,
    REASONS,
    RULE,
    RULE_IDS,
    TIMEPOINTS,
    UNITS_PER_CM,
    Cohort,
    Grades,
    earlier_any,
    nadir_before,
    pct_change,
)
from cartlens.criteria.lugano import assess_lugano
from cartlens.criteria.lyric import assess_lyric
from cartlens.criteria.measures import compute_measures
from cartlens.criteria.options import ResponseOptions
from cartlens.criteria.recil import assess_recil

CRITERIA = ("lugano", "cheson2007", "recil", "lyric")
COLUMNS = ("patient_id", "centre", "scan_id", "day", "criterion", "category", "reasons", "rules", "spd",
           "spd_change_baseline_pct", "spd_change_nadir_pct", "sld", "sld_change_baseline_pct",
           "sld_change_nadir_pct", "flags", "ct_category", "pet_category", "pd_dated_scan_id",
           "protocol_timepoint")
AREA = float(UNITS_PER_CM) ** 2            # units^2 per cm^2


def _check_criteria(criteria: Iterable[str] | str) -> tuple[str, ...]:
    chosen = (criteria,) if isinstance(criteria, str) else tuple(criteria)
    unknown = [c for c in chosen if c not in CRITERIA]
    if unknown or not chosen:
        raise ValueError(f"criteria must be a non-empty subset of {list(CRITERIA)}, got {list(chosen)}")
    return chosen


def grade_all(cohort: Cohort, criteria: Sequence[str], opts: ResponseOptions) -> dict[str, Any]:
    """Run the requested criteria on a cohort; returns grades per criterion plus the shared numbers."""
    m = compute_measures(cohort, opts)
    lug, parts = assess_lugano(cohort, m, opts)
    out: dict[str, Any] = {"measures": m, "grades": {}, "dated": {}}
    if "lugano" in criteria:
        out["grades"]["lugano"] = lug
    if "cheson2007" in criteria:
        ct = np.select([lug.ct == k for k in range(5)], [0, 1, 2, 4, 9], default=0).astype(np.int8)
        out["grades"]["cheson2007"] = assess_cheson(cohort, m, parts, ct, opts)
    recil, sld, sld_complete = assess_recil(cohort, m, opts)
    if "recil" in criteria:
        out["grades"]["recil"] = recil
    if "lyric" in criteria:
        out["grades"]["lyric"], out["dated"]["lyric"] = assess_lyric(cohort, m, lug, parts, opts)
    out["sld"], out["sld_complete"] = sld, sld_complete
    return out


def _decode(masks: np.ndarray, names: Sequence[str], order: Sequence[str] | None = None) -> np.ndarray:
    """Bit sets -> tuples of names (shared objects; few distinct values even for 10^6 rows)."""
    inverse, uniq = pd.factorize(masks)
    decoded = []
    for value in uniq:
        items = [name for i, name in enumerate(names) if int(value) >> i & 1]
        if order is not None:
            items = sorted(items, key=lambda r: order.index(r) if r in order else len(order))
        decoded.append(tuple(items))
    table = np.empty(len(decoded), dtype=object)
    table[:] = decoded
    return table[inverse]


def assess(scans: pd.DataFrame, lesions: pd.DataFrame, *, criteria: Sequence[str] = CRITERIA,
           options: ResponseOptions | None = None, infusion_day: int = 0) -> pd.DataFrame:
    """Assess every follow-up scan of every patient under the requested criteria.

    Parameters
    ----------
    scans, lesions : pandas.DataFrame
        Canonical tables (data_model.md); lengths in cm, ``day`` in days relative to infusion.
    criteria : sequence of {"lugano", "cheson2007", "recil", "lyric"}
    options : ResponseOptions, optional
        Ambiguity switches A1-A34 (defaults of response_criteria.md §9).
    infusion_day : int
        Infusion day on the ``day`` scale (0 for canonical data).

    Returns
    -------
    pandas.DataFrame
        One row per (patient_id, centre, scan_id, criterion), ordered by patient, day, criterion, with the
        cli.md keys: category, reasons (tuple), rules (tuple), spd (cm^2), spd_change_baseline_pct,
        spd_change_nadir_pct, sld (cm), flags (tuple); plus sld changes, ct_category / pet_category
        (Lugano only, else None) and pd_dated_scan_id (the scan a PD is dated to; LYRIC A24).
    """
    chosen = _check_criteria(criteria)
    opts = options or ResponseOptions()
    cohort = build_cohort(scans, lesions, infusion_day=infusion_day, baseline_max_day=opts.baseline_max_day)
    graded = grade_all(cohort, chosen, opts)
    return _frame(cohort, graded, chosen, infusion_day=infusion_day)


def protocol_timepoints(cohort: Cohort) -> np.ndarray:
    """[P, S] label "FU1"/"FU2" on the scan nearest the nominal day inside its window (T-FU), else None."""
    P, S = cohort.scan_exists.shape
    labels = np.full((P, S), None, dtype=object)
    follow = cohort.scan_exists & (np.arange(S) >= 1)[None, :]
    for name, (nominal, lo, hi) in TIMEPOINTS.items():
        inside = follow & (cohort.day >= lo) & (cohort.day <= hi)
        dist = np.where(inside, np.abs(cohort.day - nominal), np.iinfo(np.int64).max)
        best = np.argmin(dist, axis=1)                       # ties -> the earlier scan
        has = inside.any(axis=1)
        labels[np.flatnonzero(has), best[has]] = name
    return labels


def _frame(cohort: Cohort, graded: dict[str, Any], chosen: Sequence[str], *,
           infusion_day: int = 0) -> pd.DataFrame:
    m = graded["measures"]
    S = cohort.n_slots
    rows_mask = cohort.scan_exists & (np.arange(S) >= 1)[None, :]
    p_idx, s_idx = np.nonzero(rows_mask)
    spd = m.spd.astype(np.float64) / AREA
    sld, sld_ok = graded["sld"], graded["sld_complete"]
    sld_nadir = nadir_before(sld, sld_ok)
    numbers = {
        "spd": np.where(m.spd_complete, spd, np.nan),
        "spd_change_baseline_pct": pct_change(m.spd, np.broadcast_to(m.spd_bl, m.spd.shape),
                                              m.spd_complete & (m.spd_bl < BIG)),
        "spd_change_nadir_pct": pct_change(m.spd, m.spd_nadir, m.spd_complete & (m.spd_nadir < BIG)),
        "sld": np.where(sld_ok, sld.astype(np.float64) / UNITS_PER_CM, np.nan),
        "sld_change_baseline_pct": pct_change(sld, np.broadcast_to(sld[:, :1], sld.shape),
                                              sld_ok & sld_ok[:, :1]),
        "sld_change_nadir_pct": pct_change(sld, sld_nadir, sld_ok & (sld_nadir < BIG)),
    }
    no_bl = ~cohort.has_baseline[:, None] & rows_mask
    old_bl = (cohort.has_baseline & (cohort.day[:, 0] < -BASELINE_MAX_AGE_DAYS))[:, None] & rows_mask
    timepoint = protocol_timepoints(cohort)
    C, n = len(chosen), len(p_idx)
    per: dict[str, list[np.ndarray]] = {k: [] for k in ("category", "reasons", "rules", "flags", "ct", "pet",
                                                         "dated")}
    for name in chosen:
        g: Grades = graded["grades"][name]
        post = earlier_any((g.category == PD) & rows_mask) & rows_mask
        flags = (g.flags | np.where(post, FLAG["post_PD"], 0) | np.where(no_bl, FLAG["NE:no_baseline"], 0)
                 | np.where(old_bl, FLAG["baseline_older_than_30_days"], 0))
        dated = graded["dated"].get(name)
        cat = g.category[p_idx, s_idx]
        per["category"].append(cat)
        per["reasons"].append(g.reasons[p_idx, s_idx])
        per["rules"].append(g.rules[p_idx, s_idx])
        per["flags"].append(flags[p_idx, s_idx])
        per["ct"].append(g.ct[p_idx, s_idx] if g.ct is not None else np.full(n, -1, np.int8))
        per["pet"].append(g.pet[p_idx, s_idx] if g.pet is not None else np.full(n, -1, np.int8))
        per["dated"].append(np.where(cat == PD, dated[p_idx, s_idx] if dated is not None else s_idx, -1))
    stack = {k: np.stack(v, axis=1).ravel() for k, v in per.items()}    # row-major: scan, then criterion
    rp, rs = np.repeat(p_idx, C), np.repeat(s_idx, C)
    none = np.array([None], dtype=object)
    ct_labels = np.concatenate([np.asarray(CT_CATEGORIES, dtype=object), none])
    pet_labels = np.concatenate([np.asarray(PET_CATEGORIES, dtype=object), none])
    scan_ids = cohort.scan_id[rp, np.maximum(stack["dated"], 0)]
    columns = {
        "patient_id": cohort.patient_id[rp], "centre": cohort.centre[rp], "scan_id": cohort.scan_id[rp, rs],
        "day": cohort.day[rp, rs] + infusion_day, "criterion": np.tile(np.asarray(chosen, dtype=object), n),
        "category": np.asarray(CATEGORIES, dtype=object)[stack["category"]],
        "reasons": _decode(stack["reasons"], REASONS, REASON_ORDER),
        "rules": _decode(stack["rules"], RULE_IDS),
        **{k: np.repeat(v[p_idx, s_idx], C) for k, v in numbers.items()},
        "flags": _decode(stack["flags"], FLAG_NAMES),
        "ct_category": ct_labels[stack["ct"]], "pet_category": pet_labels[stack["pet"]],
        "pd_dated_scan_id": np.where(stack["dated"] >= 0, scan_ids, None),
        "protocol_timepoint": timepoint[rp, rs],
    }
    return pd.DataFrame({k: columns[k] for k in COLUMNS}, copy=False)



def lesion_table(scans: pd.DataFrame, lesions: pd.DataFrame, *, options: ResponseOptions | None = None,
                 infusion_day: int = 0) -> pd.DataFrame:
    """The lesion deltas behind the verdicts: one row per lesion and follow-up scan where it has a row.

    Columns: patient_id, centre, scan_id, day, lesion_id, role ("target", "nontarget", "new"),
    recil_target, state, ppd_cm2, nadir_ppd_cm2, ldi_change_nadir_cm, sdi_change_nadir_cm, l_pd_les
    (L-PD-LES fired), regrowth (A13), new_lesion_counts (Lugano L-PD-NEW / new FDG-avid lesion), watch (A11).
    """
    from cartlens.criteria.common import STATES
    from cartlens.criteria.lugano import pd_single_lesion
    from cartlens.criteria.measures import NODE_ABNORMAL
    from cartlens.criteria.recil import select_targets

    opts = options or ResponseOptions()
    c = build_cohort(scans, lesions, infusion_day=infusion_day, baseline_max_day=opts.baseline_max_day)
    m = compute_measures(c, opts)
    les = pd_single_lesion(c, m, opts)
    counts = m.new_eligible & ((c.nodal[:, None] & (m.ldi > NODE_ABNORMAL)) | ~c.nodal[:, None] | c.biopsy
                               | (m.petct_l & (m.ds >= 4)))
    li, si = np.nonzero((c.state >= 0) & (np.arange(c.n_slots) >= 1)[None, :] & m.followup[c.pat])
    has = m.nadir_ppd[li, si] < BIG
    known = m.valid[li, si] & has
    return pd.DataFrame({
        "patient_id": c.patient_id[c.pat[li]], "centre": c.centre[c.pat[li]],
        "scan_id": c.scan_id[c.pat[li], si], "day": c.day[c.pat[li], si], "lesion_id": c.lesion_id[li],
        "role": np.asarray(["target", "nontarget", "new"], dtype=object)[c.role[li]],
        "recil_target": select_targets(c)[li],
        "state": np.asarray(STATES, dtype=object)[c.state[li, si]],
        "ppd_cm2": np.where(m.valid[li, si], m.ppd[li, si] / AREA, np.nan),
        "nadir_ppd_cm2": np.where(has, m.nadir_ppd[li, si] / AREA, np.nan),
        "ldi_change_nadir_cm": np.where(known, (m.ldi[li, si] - m.nadir_ldi[li, si]) / UNITS_PER_CM, np.nan),
        "sdi_change_nadir_cm": np.where(known, (m.sdi[li, si] - m.nadir_sdi[li, si]) / UNITS_PER_CM, np.nan),
        "l_pd_les": les[li, si], "regrowth": m.regrowth[li, si], "new_lesion_counts": counts[li, si],
        "watch": m.new_watch[li, si],
    })


# ----------------------------------------------------------------------------- result objects
@dataclass(frozen=True, slots=True)
class TimepointResult:
    """One criterion at one follow-up scan (the JSON object of ``cartlens response``)."""

    patient_id: str
    centre: str
    scan_id: str
    day: int
    criterion: str
    category: str
    reasons: tuple[str, ...]
    rules: tuple[str, ...]
    spd: float | None
    spd_change_baseline_pct: float | None
    spd_change_nadir_pct: float | None
    sld: float | None
    flags: tuple[str, ...]
    ct_category: str | None = None
    pet_category: str | None = None
    sld_change_baseline_pct: float | None = None
    sld_change_nadir_pct: float | None = None
    pd_dated_scan_id: str | None = None
    protocol_timepoint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """cli.md keys; ``ct_category``/``pet_category`` only for Lugano."""
        out = {k: getattr(self, k) for k in ("patient_id", "centre", "scan_id", "day", "criterion",
                                             "category")}
        out.update(reasons=list(self.reasons), rules=list(self.rules), spd=self.spd,
                   spd_change_baseline_pct=self.spd_change_baseline_pct,
                   spd_change_nadir_pct=self.spd_change_nadir_pct, sld=self.sld, flags=list(self.flags),
                   sld_change_baseline_pct=self.sld_change_baseline_pct,
                   sld_change_nadir_pct=self.sld_change_nadir_pct, pd_dated_scan_id=self.pd_dated_scan_id,
                   protocol_timepoint=self.protocol_timepoint)
        if self.criterion == "lugano":
            out.update(ct_category=self.ct_category, pet_category=self.pet_category)
        return out


@dataclass(frozen=True, slots=True)
class PatientResponse:
    """All follow-up assessments of one patient under one or more criteria."""

    patient_id: str
    centre: str
    timepoints: tuple[TimepointResult, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"patient_id": self.patient_id, "centre": self.centre,
                "timepoints": [t.to_dict() for t in self.timepoints]}

    def summary(self) -> pd.DataFrame:
        """One row per scan, one column per criterion: "PD (NL, TL)"-style cells for a clinician."""
        rows: dict[tuple[str, int], dict[str, str]] = {}
        for t in self.timepoints:
            cell = t.category + (f" ({', '.join(t.reasons)})" if t.reasons else "")
            rows.setdefault((t.scan_id, t.day), {})[t.criterion] = cell
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index = pd.MultiIndex.from_tuples(list(rows), names=["scan_id", "day"])
        return frame

    def category(self, scan_id: str, criterion: str) -> str:
        """The category of one scan under one criterion (KeyError if absent)."""
        for t in self.timepoints:
            if t.scan_id == scan_id and t.criterion == criterion:
                return t.category
        raise KeyError((scan_id, criterion))


def records(frame: pd.DataFrame) -> list[TimepointResult]:
    """Rows of :func:`assess` -> result objects (nan -> None)."""
    out = []
    for row in frame.to_dict("records"):
        clean: dict[str, Any] = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        clean["day"] = int(row["day"])
        out.append(TimepointResult(**clean))
    return out


def assess_one(scans: pd.DataFrame, lesions: pd.DataFrame, *, criterion: str | Sequence[str] = CRITERIA,
               options: ResponseOptions | None = None, infusion_day: int = 0) -> PatientResponse:
    """One patient's assessments as a :class:`PatientResponse` (refuses several patients)."""
    crit = (criterion,) if isinstance(criterion, str) else tuple(criterion)
    keys = scans[["centre", "patient_id"]].drop_duplicates()
    if len(keys) != 1:
        raise ValueError(f"assess_one expects one patient, got {len(keys)}")
    frame = assess(scans, lesions, criteria=crit, options=options, infusion_day=infusion_day)
    centre, pid = keys.iloc[0]["centre"], keys.iloc[0]["patient_id"]
    return PatientResponse(patient_id=str(pid), centre=str(centre), timepoints=tuple(records(frame)))


__all__ = [
    "COLUMNS",
    "CRITERIA",
    "RULE",
    "PatientResponse",
    "TimepointResult",
    "assess",
    "assess_one",
    "grade_all",
    "lesion_table",
    "records",
]
