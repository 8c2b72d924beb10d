"""cartlens.criteria: lymphoma response criteria (Lugano 2014, Cheson 2007, RECIL 2017, LYRIC 2016).

Public API: :func:`assess` (all patients, all criteria, one row per follow-up scan and criterion),
:class:`ResponseOptions` (ambiguity switches A1-A34), per-criterion ``assess_patient`` in the criterion
modules, and :mod:`cartlens.criteria.compare` (rates, agreement, kappa, reasons, focality, BOR).
Spec: response_criteria.md.
"""

from __future__ import annotations

from cartlens.criteria.common import ResponseInputError
from cartlens.criteria.engine import CRITERIA, PatientResponse, TimepointResult, assess, assess_one
from cartlens.criteria.options import ResponseOptions

__all__ = [
           "CRITERIA",
           "PatientResponse",
           "ResponseInputError",
           "ResponseOptions",
           "TimepointResult",
           "assess",
           "assess_one",
]
