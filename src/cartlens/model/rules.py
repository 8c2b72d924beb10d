"""Cross-field validation rules of data_model.md ("Validation rules"), shared by the domain types
(``cartlens.model``) and the table validator (``cartlens.io``), so each rule is written once.

Each function takes plain scalars (None = missing) and returns a list of ``(column, message)`` problems; an
empty list means the values are consistent.  Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cartlens.model.schema import EXTRANODAL_SITES, NODAL_SITES, SITES

__all__ = [
    "FieldError",
    "Problem",
    "check_event",
    "check_extranodal_sites",
    "check_measurement",
    "check_mtv",
    "check_range",
    "check_site_nodal",
    "split_sites",
]

Problem = tuple[str, str]


class FieldError(ValueError):
    """An invalid value of one field; ``column`` names the canonical column / attribute."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")
        self.column = column
        self.message = message


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def check_range(column: str, value: float | None, minimum: float | None, maximum: float | None,
                unit: str = "") -> list[Problem]:
    """Inclusive range check; a missing value passes (requiredness is checked separately)."""
    if _missing(value):
        return []
    assert value is not None
    if not math.isfinite(value):
        return [(column, f"{value!r} is not a finite number")]
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        low = "" if minimum is None else f"{minimum:g}"
        high = "" if maximum is None else f"{maximum:g}"
        allowed = f"{low}-{high}" if high else f">= {low}"
        return [(column, f"{value:g} is out of range (allowed {allowed}{' ' + unit if unit else ''})")]
    return []


def check_measurement(state: str | None, ldi_cm: float | None, sdi_cm: float | None) -> list[Problem]:
    """Lesion diameters (data_model.md lesions): ``measured`` needs LDi and SDi, and SDi <= LDi.

    SDi is the perpendicular of the longest diameter, so it cannot exceed it (Lugano: Cheson BD et al.,
    J Clin Oncol 2014;32:3059, "Measured dominant lesions").  Diameters of a non-measured lesion are not an
    error here (a reader may record the 5 x 5 mm default of a too-small lesion); see :func:`measurement_warnings`.
    """
    problems: list[Problem] = []
    if state == "measured":
        if _missing(ldi_cm):
            problems.append(("ldi_cm", "state 'measured' needs ldi_cm"))
        if _missing(sdi_cm):
            problems.append(("sdi_cm", "state 'measured' needs sdi_cm"))
    if not _missing(ldi_cm) and not _missing(sdi_cm) and sdi_cm > ldi_cm:  # type: ignore[operator]
        problems.append(("sdi_cm", f"{sdi_cm:g} cm must not exceed ldi_cm ({ldi_cm:g} cm)"))
    return problems


def measurement_warnings(state: str | None, ldi_cm: float | None, sdi_cm: float | None) -> list[Problem]:
    """Diameters given for a lesion that is ``absent`` or ``not_evaluable`` (kept, but suspicious)."""
    if state in ("absent", "not_evaluable") and not (_missing(ldi_cm) and _missing(sdi_cm)):
        return [("state", f"diameters given for a lesion in state {state!r}")]
    return []


def check_event(prefix: str, days: float | None, event: int | None) -> list[Problem]:
    """An event flag needs its time and a time needs its flag (``pfs``/``os``; data_model.md)."""
    if event is not None and not _missing(event) and _missing(days):
        return [(f"{prefix}_event", f"{prefix}_event given without {prefix}_days")]
    if not _missing(days) and (event is None or _missing(event)):
        return [(f"{prefix}_days", f"{prefix}_days given without {prefix}_event")]
    return []


def check_mtv(mtv_ml: float | None, mtv_method: str | None) -> list[Problem]:
    """``mtv_method`` is required with ``mtv_ml`` (data_model.md patients)."""
    if not _missing(mtv_ml) and not mtv_method:
        return [("mtv_method", "mtv_method (suv4 or pct41) is required with mtv_ml")]
    return []


def split_sites(text: str | None) -> tuple[str, ...]:
    """``"liver; bone_marrow"`` -> ``("liver", "bone_marrow")``; empty / None -> ``()``."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ()
    return tuple(part.strip() for part in str(text).split(";") if part.strip())


def check_extranodal_sites(sites: Sequence[str]) -> list[Problem]:
    """Each entry of ``patients.extranodal_sites`` is an extranodal name of the site vocabulary, once."""
    problems: list[Problem] = []
    for site in sites:
        if site in NODAL_SITES:
            problems.append(("extranodal_sites", f"{site!r} is a nodal site, not extranodal"))
        elif site not in EXTRANODAL_SITES:
            problems.append(("extranodal_sites", f"{site!r} is not one of {list(EXTRANODAL_SITES)}"))
    if len(set(sites)) != len(sites):
        problems.append(("extranodal_sites", "a site is listed more than once"))
    return problems


def check_site_nodal(site: str | None, nodal: bool | None) -> list[Problem]:
    """Warning-level: ``nodal`` disagrees with the vocabulary (spleen may be either; see schema.is_lymphatic)."""
    if site is None or nodal is None or site not in SITES or site == "spleen":
        return []
    if (site in NODAL_SITES) != bool(nodal):
        return [("nodal", (f"nodal={bool(nodal)} disagrees with site {site!r} "
                          f"({'nodal' if site in NODAL_SITES else 'extranodal'} in the vocabulary)"))]
    return []
