"""Parsing of DICOM DA / TM / DT strings into naive ``datetime`` objects.

Written here because pydicom's ``valuerep`` types reject the non-standard ``HH:MM:SS`` form that
old exports carry (spec pet_quantification.md §1.8) and do not combine a TM with a DA.
Source: DICOM PS3.5 §6.2 (value representations DA, TM, DT).  A UTC offset suffix ``&ZZXX`` on a DT
is returned separately so that the caller decides how to use it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

_TM = re.compile(r"^(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?$")
_TM_COLON = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")
_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$")


def parse_tm(text: str | None) -> timedelta | None:
    """Time of day (DICOM TM) as a ``timedelta`` since midnight; ``None`` when empty.

    Accepts ``HHMMSS.FFFFFF`` with the fraction optional, ``HHMM``, ``HH``, trailing spaces and
    the non-standard ``HH:MM:SS[.F]``.  Raises ``ValueError`` on anything else.
    """
    if text is None:
        return None
    s = str(text).strip()
    if not s:
        return None
    m = _TM.match(s) or _TM_COLON.match(s)
    if m is None:
        raise ValueError(f"not a DICOM time (TM): {s!r}")
    hh, mm, ss, frac = m.groups()
    h, mi, se = int(hh), int(mm or 0), int(ss or 0)
    if h > 23 or mi > 59 or se > 60:
        raise ValueError(f"time out of range (TM): {s!r}")
    micro = int((frac or "0").ljust(6, "0"))
    return timedelta(hours=h, minutes=mi, seconds=se, microseconds=micro)


def parse_da(text: str | None) -> date | None:
    """Date (DICOM DA ``YYYYMMDD``, or the old ``YYYY.MM.DD``); ``None`` when empty."""
    if text is None:
        return None
    s = str(text).strip().replace(".", "")
    if not s:
        return None
    if len(s) != 8 or not s.isdigit():
        raise ValueError(f"not a DICOM date (DA): {text!r}")
    return date(int(s[:4]), int(s[4:6]), int(s[6:8]))


def parse_dt(text: str | None) -> tuple[datetime, int | None] | None:
    """Date-time (DICOM DT) as ``(naive datetime, utc_offset_minutes or None)``; ``None`` when empty."""
    if text is None:
        return None
    s = str(text).strip()
    if not s:
        return None
    m = _DT.match(s)
    if m is None:
        raise ValueError(f"not a DICOM date-time (DT): {s!r}")
    y, mo, d, h, mi, se, frac, off = m.groups()
    value = datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(se or 0),
                     int((frac or "0").ljust(6, "0")))
    offset = None
    if off:
        sign = -1 if off[0] == "-" else 1
        offset = sign * (int(off[1:3]) * 60 + int(off[3:5]))
    return value, offset


def combine(day: date | None, time_of_day: timedelta | None) -> datetime | None:
    """A DA and a TM as one naive datetime; ``None`` if either is missing."""
    if day is None or time_of_day is None:
        return None
    return datetime(day.year, day.month, day.day) + time_of_day
