"""Course of each index lesion after infusion, and when it failed locally (spec §2.2).

An index lesion fails at the **first** scan where the patient is in PD under the main criterion
and the lesion itself shows (patterns_of_failure.md §2.2):

(a) metabolic progression: DS 4-5 with uptake increased vs baseline, or DS 4-5 returning after
    DS 1-3 (or complete disappearance) on an earlier post-infusion scan (Lugano L-PET-PMD,
    Barrington 2014; response_criteria.md §2.4 and A9);
(b) anatomic progression: Lugano ``L-PD-LES`` against the lesion's own nadir (Cheson 2014,
    J Clin Oncol 32:3059, PD table; response_criteria.md §2.3; thresholds inclusive, A2; size class
    from LDi at nadir, A3);
(c) regrowth after it had resolved (absent, or PPD 0 at nadir): again at new-lesion size (node
    LDi > 1.5 cm, extranodal > 1.0 cm) or FDG-avid DS 4-5 (response_criteria.md A13).

The per-lesion L-PD-LES check here mirrors the response engine's rule on a single lesion; the
patient-level PD decision itself always comes from the response engine (``_response.py``).

Sizes use exact decimals (cm): ``too_small`` counts as 0.5 x 0.5 cm and ``absent`` as 0 x 0
(Lugano convention, response_criteria.md §1). The nadir is the running minimum of PPD, LDi and
SDi separately over baseline and earlier follow-ups (§1: "kept per lesion (PPD, LDi, SDi)").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from cartlens.failure.registry import baseline_scans, excluded_reason

TOO_SMALL_CM = Decimal("0.5")
NODE_MEASURABLE_CM = Decimal("1.5")          # L-PD-LES item 1 and new-node size, strict ">" (A2)
EXTRANODAL_NEW_CM = Decimal("1.0")           # new extranodal lesion size, strict ">"
SMALL_LESION_CM = Decimal("2.0")             # "<= 2 cm" size class (A3: LDi at nadir)
STEP_SMALL_CM, STEP_LARGE_CM = Decimal("0.5"), Decimal("1.0")
AVID = ("4", "5")
CLEAR = ("1", "2", "3")


@dataclass(frozen=True)
class Size:
    """LDi x SDi in cm (exact)."""

    ldi: Decimal
    sdi: Decimal

    @property
    def ppd(self) -> Decimal:
        return self.ldi * self.sdi


def size_of(row: Mapping | None) -> Size | None:
    """Lugano sizes for one lesion row: measured, too_small 0.5x0.5, absent 0x0, else None."""
    if row is None:
        return None
    state = row["state"]
    if state == "measured":
        return Size(row["ldi_cm"], row["sdi_cm"])
    if state == "too_small":
        return Size(TOO_SMALL_CM, TOO_SMALL_CM)
    if state == "absent":
        return Size(Decimal(0), Decimal(0))
    return None


def pd_single_lesion(now: Size, nadir_ldi: Decimal, nadir_sdi: Decimal, nadir_ppd: Decimal) -> bool:
    """L-PD-LES on one lesion: LDi > 1.5 cm, PPD >= 1.5 x nadir, and LDi or SDi up by 0.5/1.0 cm.

    Source: Cheson 2014 (Lugano), PD by CT; response_criteria.md §2.3 items 1-3, A2 (inclusive
    >= at 50 % and 0.5/1.0 cm; strict > at 1.5 cm), A3 (size class by LDi at nadir). A nadir PPD
    of 0 (resolved lesion) meets item 2 whenever the lesion is now measurable.
    """
    if now.ldi <= NODE_MEASURABLE_CM:
        return False
    if 2 * now.ppd < 3 * nadir_ppd:
        return False
    step = STEP_SMALL_CM if nadir_ldi <= SMALL_LESION_CM else STEP_LARGE_CM
    return now.ldi - nadir_ldi >= step or now.sdi - nadir_sdi >= step


def _regrown(row: Mapping, now: Size, extranodal: bool | None) -> bool:
    """A13: a resolved lesion is back at new-lesion size or FDG-avid."""
    limit = EXTRANODAL_NEW_CM if extranodal else NODE_MEASURABLE_CM
    return (row["state"] == "measured" and now.ldi > limit) or (
        row["state"] in ("measured", "too_small") and row["deauville"] in AVID)


def _one_lesion(index: dict, rows: dict[str, dict], followups: list[dict], base_row: dict) -> list[dict]:
    """The course of one index lesion over the patient's follow-up scans."""
    base = size_of(base_row)
    n_ldi: Decimal | None = None
    n_sdi: Decimal | None = None
    n_ppd: Decimal | None = None
    if base is not None:
        n_ldi, n_sdi, n_ppd = base.ldi, base.sdi, base.ppd
    was_clear = resolved = False
    out = []
    for scan in followups:
        row = rows.get(scan["scan_id"])
        now = size_of(row)
        rec = {"centre": index["centre"], "patient_id": index["patient_id"], "lesion_id": index["lesion_id"],
               "scan_id": scan["scan_id"], "day": scan["day"], "state": None if row is None else row["state"],
               "deauville": None if row is None else row["deauville"], "ldi_cm": None if now is None else now.ldi,
               "ppd": None if now is None else now.ppd, "evaluable": now is not None or (
                   row is not None and row["deauville"] is not None), "metabolic": False, "anatomic": False,
               "regrowth": False, "excluded": None if row is None else excluded_reason(row)}
        if row is not None and rec["excluded"] is None:
            avid = row["deauville"] in AVID
            rec["metabolic"] = avid and (row["uptake_vs_baseline"] == "increased" or was_clear)
            if now is not None and n_ldi is not None and n_sdi is not None and n_ppd is not None:
                rec["anatomic"] = row["state"] == "measured" and pd_single_lesion(now, n_ldi, n_sdi, n_ppd)
                rec["regrowth"] = resolved and _regrown(row, now, index["extranodal"])
        rec["progressing"] = rec["metabolic"] or rec["anatomic"] or rec["regrowth"]
        rec["clear"] = row is not None and (row["deauville"] in CLEAR or (row["state"] == "absent"
                                                                           and row["deauville"] is None))
        rec["shrunk50"] = now is not None and base is not None and base.ppd > 0 and 2 * now.ppd <= base.ppd
        out.append(rec)
        if row is not None and rec["excluded"] is None:
            was_clear = was_clear or rec["clear"]
            resolved = resolved or row["state"] == "absent"
        if now is not None:                       # running nadir; starts here when baseline had no size
            n_ldi = now.ldi if n_ldi is None else min(n_ldi, now.ldi)
            n_sdi = now.sdi if n_sdi is None else min(n_sdi, now.sdi)
            n_ppd = now.ppd if n_ppd is None else min(n_ppd, now.ppd)
            resolved = resolved or n_ppd == 0
    return out


def lesion_course(registry: pd.DataFrame, scans: pd.DataFrame, lesions: pd.DataFrame) -> pd.DataFrame:
    """One row per (index lesion, follow-up scan at day > 0) with the §2.2 flags.

    Columns: centre, patient_id, lesion_id, scan_id, day, state, deauville, ldi_cm, ppd,
    evaluable, metabolic, anatomic, regrowth, progressing, excluded, clear (DS 1-3 or gone),
    shrunk50 (PPD <= 50 % of baseline).
    """
    base = baseline_scans(scans).set_index(["centre", "patient_id"])["scan_id"].to_dict()
    rows_by: dict[tuple[str, str, str], dict[str, dict]] = {}
    for rec in lesions.to_dict("records"):
        rows_by.setdefault((rec["centre"], rec["patient_id"], rec["lesion_id"]), {})[rec["scan_id"]] = rec
    fu_by: dict[tuple[str, str], list[dict]] = {}
    for rec in sorted(scans.to_dict("records"), key=lambda r: float(r["day"])):
        if rec["day"] > 0:
            fu_by.setdefault((rec["centre"], rec["patient_id"]), []).append(rec)
    out: list[dict] = []
    for index in registry.to_dict("records"):
        key = (index["centre"], index["patient_id"])
        rows = rows_by[(*key, index["lesion_id"])]
        out.extend(_one_lesion(index, rows, fu_by.get(key, []), rows[base[key]]))
    cols = ["centre", "patient_id", "lesion_id", "scan_id", "day", "state", "deauville", "ldi_cm", "ppd",
            "evaluable", "metabolic", "anatomic", "regrowth", "progressing", "excluded", "clear", "shrunk50"]
    return pd.DataFrame(out, columns=cols)


def censor_days(scans: pd.DataFrame, therapy: pd.DataFrame, patients: pd.DataFrame
                ) -> tuple[dict[tuple[str, str], Decimal | None], dict[tuple[str, str, str], Decimal]]:
    """Censoring of spec §2.2: (patient-level day, per-lesion RT day).

    Patient level: the first systemic therapy or allo-SCT after infusion, or death (``os_days``
    with ``os_event`` 1) — whichever is first; None = end of follow-up (last scan). An RT course
    without ``lesion_id`` censors every lesion of the patient; with ``lesion_id`` only that lesion.
    Scans on the censoring day still count (imaging precedes treatment on the same day).
    """
    patient: dict[tuple[str, str], Decimal | None] = {}
    lesion: dict[tuple[str, str, str], Decimal] = {}
    for _, t in therapy.iterrows():
        if t["day"] is None or t["day"] <= 0:
            continue
        key = (t["centre"], t["patient_id"])
        if t["type"] == "rt" and t["lesion_id"] is not None:
            lk = (*key, t["lesion_id"])
            lesion[lk] = min(lesion.get(lk, t["day"]), t["day"])
        else:
            cur = patient.get(key)
            patient[key] = t["day"] if cur is None else min(cur, t["day"])
    if {"os_days", "os_event"} <= set(patients.columns):
        for _, p in patients.iterrows():
            try:
                died = int(float(p["os_event"])) == 1
                day = Decimal(str(p["os_days"]))
            except (TypeError, ValueError, ArithmeticError):
                continue
            if died:
                key = (p["centre"], p["patient_id"])
                cur = patient.get(key)
                patient[key] = day if cur is None else min(cur, day)
    return patient, lesion


def subtype(course: list[dict], failure_day: Decimal) -> str:
    """``relapse_local`` if the lesion responded (DS 1-3 or PPD fall >= 50 %) on a scan before it
    failed, else ``refractory_local`` (spec §2.2 subtypes). ``course``: the lesion's course rows."""
    responded = any(r["clear"] or r["shrunk50"] for r in course if r["day"] < failure_day)
    return "relapse_local" if responded else "refractory_local"
