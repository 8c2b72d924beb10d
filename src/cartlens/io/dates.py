"""Optional calendar dates -> days relative to infusion (data_model.md: "Calendar dates are optional and, where
given, are only used to compute days; they are never shown in reports").

``patients.infusion_date`` and ``date`` in ``labs``, ``scans`` and ``biomarkers`` are read, turned into the
``day`` column (date - infusion_date, in days) and then dropped: no calendar date is ever stored.  A row with
both ``day`` and ``date`` must agree.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cartlens.io.validate import Issues, RawTable

__all__ = ["DATED_TABLES", "dates_to_days"]

DATED_TABLES = ("labs", "scans", "biomarkers")


def _parse_date(text: str) -> dt.date | None:
    """ISO date ``YYYY-MM-DD`` (a spreadsheet's ``YYYY-MM-DD 00:00:00`` is accepted); None if not a date."""
    head = text.strip()
    if len(head) > 10 and head[10] in " T" and head[11:].strip("0: ") == "":
        head = head[:10]
    try:
        return dt.date.fromisoformat(head)
    except ValueError:
        return None


def _infusion_dates(patients: RawTable, issues: Issues) -> dict[tuple[str, str], dt.date]:
    frame = patients.frame
    out: dict[tuple[str, str], dt.date] = {}
    if "infusion_date" not in frame.columns or frame.columns.duplicated().any():
        return out
    keys = zip(frame.get("centre", [""] * len(frame)), frame.get("patient_id", [""] * len(frame)))
    for pos, (key, text) in enumerate(zip(keys, frame["infusion_date"])):
        if not text:
            continue
        date = _parse_date(text)
        if date is None:
            issues.error(patients.file, patients.rows[pos], "infusion_date", f"{text!r} is not a date (YYYY-MM-DD)")
        else:
            out[key] = date
    return out


def _fill_days(raw: RawTable, infusion: dict[tuple[str, str], dt.date], issues: Issues) -> None:
    frame = raw.frame
    if "day" not in frame.columns:
        frame["day"] = ""
    keys = list(zip(frame.get("centre", [""] * len(frame)), frame.get("patient_id", [""] * len(frame))))
    days = frame["day"].tolist()
    for pos, text in enumerate(frame["date"].tolist()):
        if not text:
            continue
        date = _parse_date(text)
        if date is None:
            issues.error(raw.file, raw.rows[pos], "date", f"{text!r} is not a date (YYYY-MM-DD)")
            continue
        if keys[pos] not in infusion:
            issues.error(raw.file, raw.rows[pos], "date", "a date needs the patient's infusion_date in patients")
            continue
        day = (date - infusion[keys[pos]]).days
        if days[pos] and days[pos] not in (str(day), f"{day}.0"):
            issues.error(raw.file, raw.rows[pos], "day", f"day {days[pos]} disagrees with date (day {day})")
            continue
        days[pos] = str(day)
    frame["day"] = days


def dates_to_days(raws: dict[str, RawTable], issues: Issues) -> None:
    """Replace dates by days in place (see module docstring); date columns are removed afterwards."""
    patients = raws.get("patients")
    infusion = _infusion_dates(patients, issues) if patients is not None else {}
    for name in DATED_TABLES:
        raw = raws.get(name)
        if raw is not None and "date" in raw.frame.columns and not raw.frame.columns.duplicated().any():
            _fill_days(raw, infusion, issues)
            raw.frame.drop(columns=["date"], inplace=True)
    if patients is not None and "infusion_date" in patients.frame.columns:
        patients.frame.drop(columns=["infusion_date"], inplace=True)
