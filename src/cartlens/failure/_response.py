"""Which follow-up scans are PD under a response criterion — adapter to the response engine.

The patient-level PD decision is the response engine's (``cartlens.criteria.assess``,
response_criteria.md); this module never re-implements the criteria.  Order of preference:

1. a precomputed assessment table passed in (``tables["response"]``, the output of
   ``cartlens response`` with columns patient_id, centre, scan_id, criterion, category);
2. ``cartlens.criteria.assess(scans, lesions, criteria=(criterion,))``.

A PD scan is one whose category is ``PD`` (LYRIC's IR1-IR3 are not PD until confirmed; the
scan used is the one where the category is PD, i.e. where the failure lesions are seen).
"""

from __future__ import annotations

import pandas as pd

PD_CATEGORIES = frozenset({"PD"})          # LYRIC IR1-IR3 are not PD until confirmed (A28)
CRITERIA = ("lugano", "cheson2007", "recil", "lyric")


PdScans = dict[tuple[str, str, str], frozenset[str]]


def pd_scans(tables: dict[str, pd.DataFrame], criterion: str) -> tuple[PdScans, str]:
    """(centre, patient_id, scan_id) -> PD reason codes, for scans in PD under ``criterion``; and the source."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {list(CRITERIA)}, got {criterion!r}")
    given = tables.get("response")
    if given is not None:
        return _from_assessments(given, criterion), "response table"
    from cartlens.criteria import assess

    frame = assess(tables["scans"], tables["lesions"], criteria=(criterion,))
    return _from_assessments(frame, criterion), "cartlens.criteria.assess"


def _reasons(value: object) -> frozenset[str]:
    """Reason codes from a tuple/list (engine) or a ';'/','-separated string (a CSV response table)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(str(v) for v in value)
    if isinstance(value, str):
        return frozenset(x.strip() for x in value.replace(",", ";").split(";") if x.strip())
    return frozenset()


def _from_assessments(frame: pd.DataFrame, criterion: str) -> PdScans:
    for col in ("patient_id", "centre", "scan_id", "criterion", "category"):
        if col not in frame.columns:
            raise ValueError(f"response table: column {col!r} missing")
    sel = frame[(frame["criterion"] == criterion) & frame["category"].isin(PD_CATEGORIES)]
    reasons = sel["reasons"] if "reasons" in sel.columns else [()] * len(sel)
    return {(str(c), str(p), str(s)): _reasons(r)
            for c, p, s, r in zip(sel["centre"], sel["patient_id"], sel["scan_id"], reasons)}
