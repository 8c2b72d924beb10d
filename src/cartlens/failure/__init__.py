"""cartlens.failure: patterns of failure after CAR-T (local / adjacent / de novo) and the
lesion-level risk model (Figura et al., Int J Radiat Oncol Biol Phys 2021;111:1145-54;
spec patterns_of_failure.md).

Public API: :func:`analyse` → :class:`FailureResult` (``.to_dict()`` is the JSON of
``cartlens failure``; ``.tables()`` the §2.6 tables); :class:`LesionMask` for masks;
:class:`FailureInputError` for located input problems.
"""

from __future__ import annotations

from cartlens.failure._data import FailureInputError
from cartlens.failure.analysis import analyse, analyse_by_criterion
from cartlens.failure.masks import LesionMask
from cartlens.failure.patterns import FailureOptions
from cartlens.failure.result import FailureResult

__all__ = ["FailureInputError", "FailureOptions", "FailureResult", "LesionMask", "analyse", "analyse_by_criterion"]
