"""Which follow-up scans are PD under a response criterion — adapter to the response engine.

The patient-level PD decision is the response engine's (``cartlens.criteria.assess``,
response_criteria.md); this module never re-implements the criteria.  Order of preference:

1. a precomputed assessment table passed in (``tables["response"]``, the output of
   ``cartlens response`` with columns patient_id, centre, scan_id, criterion, category);
2. ``cartlens.criteria.assess(scans, lesions, criteria=(criterion,))``.

``INTERIM_ADAPTER`` below is the temporary stand-in used only while ``cartlens.criteria.assess``
is not importable (the engine is being built in parallel).  It is deliberately minimal and
only for Lugano: a follow-up scan is PD when an index lesion meets the §2.2 lesion rules
(L-PD-LES / PMD / regrowth), a new lymphoma lesion of Lugano new-lesion size or FDG-avid
appears (L-PD-NEW), or marrow becomes involved (L-PD-BM).  Remove it once the engine lands.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from cartlens.failure.local import AVID, EXTRANODAL_NEW_CM, NODE_MEASURABLE_CM
from cartlens.failure.registry import excluded_reason, is_extranodal

PD_CATEGORIES = frozenset({"PD"})          # LYRIC IR1-IR3 are not PD until confirmed (A28)
CRITERIA = ("lugano", "cheson2007", "recil", "lyric")


def pd_scans(tables: dict[str, pd.DataFrame], norm: dict[str, pd.DataFrame], course: pd.DataFrame,
             registry: pd.DataFrame, criterion: str) -> tuple[set[tuple[str, str, str]], str]:
    """Set of (centre, patient_id, scan_id) in PD under ``criterion``, and the source used."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {list(CRITERIA)}, got {criterion!r}")
    given = tables.get("response")
    if given is not None:
        return _from_assessments(given, criterion), "response table"
    try:
        from cartlens.criteria import assess  # type: ignore[attr-defined]
    except ImportError:
        assess = None
    if assess is not None:
        frame = assess(tables["scans"], tables["lesions"], criteria=(criterion,))
        return _from_assessments(frame, criterion), "cartlens.criteria.assess"
    if criterion != "lugano":
        raise NotImplementedError(f"criterion {criterion!r} needs cartlens.criteria.assess (not available)")
    return _interim_lugano(norm, course, registry), "interim adapter (response engine not available)"


def _from_assessments(frame: pd.DataFrame, criterion: str) -> set[tuple[str, str, str]]:
    for col in ("patient_id", "centre", "scan_id", "criterion", "category"):
        if col not in frame.columns:
            raise ValueError(f"response table: column {col!r} missing")
    sel = frame[(frame["criterion"] == criterion) & frame["category"].isin(PD_CATEGORIES)]
    return {(str(c), str(p), str(s)) for c, p, s in zip(sel["centre"], sel["patient_id"], sel["scan_id"])}


# ---------------------------------------------------------------- INTERIM_ADAPTER (temporary) ---
def _interim_lugano(norm: dict[str, pd.DataFrame], course: pd.DataFrame,
                    registry: pd.DataFrame) -> set[tuple[str, str, str]]:
    """INTERIM_ADAPTER: minimal Lugano PD (see module docstring). Not the response engine."""
    out = {(c, p, s) for c, p, s, prog in zip(course["centre"], course["patient_id"], course["scan_id"],
                                             course["progressing"]) if prog}
    index_ids = set(zip(registry["centre"], registry["patient_id"], registry["lesion_id"]))
    scans = norm["scans"]
    day = {(c, p, s): d for c, p, s, d in zip(scans["centre"], scans["patient_id"], scans["scan_id"], scans["day"])}
    for row in norm["lesions"].to_dict("records"):
        key = (row["centre"], row["patient_id"], row["scan_id"])
        if day[key] <= 0 or (row["centre"], row["patient_id"], row["lesion_id"]) in index_ids:
            continue
        if excluded_reason(row) is not None or row["state"] not in ("measured", "too_small"):
            continue
        limit = EXTRANODAL_NEW_CM if is_extranodal(row["site"], row["nodal"]) else NODE_MEASURABLE_CM
        big = row["state"] == "measured" and row["ldi_cm"] > limit
        if big or row["deauville"] in AVID:
            out.add(key)
    prev: dict[tuple[str, str], str | None] = {}
    for s in sorted(scans.to_dict("records"), key=lambda r: float(r["day"])):
        pk = (s["centre"], s["patient_id"])
        if s["day"] > Decimal(0) and s["marrow"] == "involved" and prev.get(pk) != "involved":
            out.add((*pk, s["scan_id"]))
        if s["marrow"] is not None:
            prev[pk] = s["marrow"]
    return out
