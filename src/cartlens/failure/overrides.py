"""Reader overrides of automatic calls; the automatic value is always kept beside the final one.

An override is one record (dict or DataFrame row) with

* ``patient_id``, ``lesion_id`` (required), ``centre`` and ``scan_id`` (optional: any centre /
  any PD scan when absent);
* ``field``: ``class`` (a failure lesion's LOCAL / ADJACENT / DE_NOVO), ``exclude`` (true: not a
  failure lesion, e.g. biopsy-proven sarcoid-like reaction; false: include a lesion the rules
  excluded) or ``failed`` (an index lesion's local failure, true/false);
* ``value``; optional ``linked_index_ids`` (";"-separated, for a class override to LOCAL or
  ADJACENT), ``reader`` and ``note`` (kept in the audit listing).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from cartlens.failure._data import as_bool

FIELDS = ("class", "exclude", "failed")
CLASSES = ("local", "adjacent", "de_novo")


@dataclass(frozen=True)
class Override:
    patient_id: str
    lesion_id: str
    field: str
    value: str | bool
    centre: str | None = None
    scan_id: str | None = None
    linked_index_ids: tuple[str, ...] = ()
    reader: str | None = None
    note: str | None = None

    def matches(self, centre: str, patient_id: str, lesion_id: str, scan_id: str | None = None) -> bool:
        return (self.patient_id == patient_id and self.lesion_id == lesion_id
                and self.centre in (None, centre) and (self.scan_id is None or scan_id is None
                                                       or self.scan_id == scan_id))


def _text(v: object) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
        return None
    return str(v).strip()


def parse_overrides(overrides: pd.DataFrame | Iterable[Mapping] | None) -> tuple[Override, ...]:
    """Validate override records; errors name the record (1-based) and the field."""
    if overrides is None:
        return ()
    records = overrides.to_dict("records") if isinstance(overrides, pd.DataFrame) else list(overrides)
    out, problems = [], []
    for n, rec in enumerate(records, start=1):
        pid, lid, fld = _text(rec.get("patient_id")), _text(rec.get("lesion_id")), _text(rec.get("field"))
        if pid is None or lid is None:
            problems.append(f"overrides:{n}:patient_id/lesion_id: both are required")
            continue
        if fld not in FIELDS:
            problems.append(f"overrides:{n}:field: {fld!r} is not one of {list(FIELDS)}")
            continue
        raw = rec.get("value")
        try:
            if fld == "class":
                value: str | bool = str(raw).strip().lower()
                if value not in CLASSES:
                    raise ValueError(f"{raw!r} is not one of {list(CLASSES)}")
            else:
                parsed = as_bool(raw)
                if parsed is None:
                    raise ValueError("a boolean value is required")
                value = parsed
        except ValueError as exc:
            problems.append(f"overrides:{n}:value: {exc}")
            continue
        linked = tuple(x.strip() for x in (_text(rec.get("linked_index_ids")) or "").split(";") if x.strip())
        out.append(Override(pid, lid, fld, value, _text(rec.get("centre")), _text(rec.get("scan_id")), linked,
                            _text(rec.get("reader")), _text(rec.get("note"))))
    if problems:
        from cartlens.failure._data import FailureInputError
        raise FailureInputError(problems)
    return tuple(out)


def apply_to_record(rec: dict, overrides: tuple[Override, ...]) -> dict:
    """Final ``class`` and ``excluded`` for one failure-lesion record, keeping the automatic values."""
    rec = dict(rec)
    rec["class"] = None if rec["excluded"] else rec["auto_class"]
    rec["auto_excluded"] = rec["excluded"]
    rec["override"] = None
    for o in overrides:
        if o.field not in ("class", "exclude") or not o.matches(rec["centre"], rec["patient_id"], rec["lesion_id"],
                                                               rec["scan_id"]):
            continue
        if o.field == "exclude":
            rec["excluded"] = "reader" if o.value else None
            rec["class"] = None if o.value else rec["auto_class"]
        else:
            rec["class"] = o.value
            if rec["excluded"]:
                rec["excluded"] = None
            if o.linked_index_ids:
                key = "linked_index_ids" if o.value == "local" else "adjacent_index_ids"
                rec[key] = o.linked_index_ids
        rec["override"] = f"{o.field}={o.value}" + (f" by {o.reader}" if o.reader else "") + (
            f" ({o.note})" if o.note else "")
    return rec


def failed_override(overrides: tuple[Override, ...], centre: str, patient_id: str, lesion_id: str) -> Override | None:
    """The last ``failed`` override for an index lesion, if any."""
    hit = None
    for o in overrides:
        if o.field == "failed" and o.matches(centre, patient_id, lesion_id):
            hit = o
    return hit
