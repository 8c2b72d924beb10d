"""EASIX, simplified EASIX and modified EASIX (m-EASIX).

Sources
-------
* EASIX = LDH [U/L] x creatinine [mg/dL] / platelets [10^9/L]: Luft T et al., Lancet Haematol 2017;
  in CAR-T Pennisi M et al., Blood Adv 2021;5(17):3397-3406 (formula restated with units). Spec
  ``scores.md`` §8.1 (CONFIRMED).
* EASIX-pre cutoff **> 4.67** (EASIX immediately before lymphodepletion; 4.67 itself is not high):
  Korell F et al., Front Immunol 2022;13:877477. Spec ``scores.md`` §8.1.
* simplified EASIX = LDH / platelets and m-EASIX = LDH x CRP [mg/dL] / platelets: Pennisi M et al.,
  Blood Adv 2021;5(17):3397-3406. No published m-EASIX cutoff is used (scores.md §8.2), so m-EASIX and
  simplified EASIX have no group.

The raw value is the score; ``log2`` (used by most papers) is returned as an extra key. CRP must be mg/dL:
"45 mg/L" is converted, and a bare 45 is refused as implausible (it would make m-EASIX 10 x too large).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from cartlens.scores.common import InputSpec, ScoreInputError, ScoreResult, not_computable

EASIX_SOURCE = ("Luft T et al., Lancet Haematol 2017 (EASIX); EASIX-pre > 4.67: Korell F et al., Front Immunol "
                "2022;13:877477; scores.md §8.1")
PENNISI_SOURCE = "Pennisi M et al., Blood Adv 2021;5(17):3397-3406; scores.md §8.2"
EASIX_PRE_CUTOFF = Decimal("4.67")  # high when EASIX-pre > 4.67 (strict; Korell 2022)

LDH = InputSpec("ldh", "lab", "serum LDH", unit="U/L", analyte="ldh")
PLT = InputSpec("plt", "lab", "platelet count (> 0)", unit="10^9/L", analyte="plt")
CREATININE = InputSpec("creatinine", "lab", "serum creatinine", unit="mg/dL", analyte="creatinine")
CRP = InputSpec("crp", "lab", "C-reactive protein", unit="mg/dL", analyte="crp")

EASIX_INPUTS = (LDH, CREATININE, PLT)
SIMPLIFIED_INPUTS = (LDH, PLT)
M_EASIX_INPUTS = (LDH, CRP, PLT)


def _ratio(numerator: Decimal, plt: Decimal) -> Decimal:
    if plt <= 0:
        raise ScoreInputError("plt", "platelets must be > 0 for EASIX (division by the platelet count)")
    return numerator / plt


def _result(name: str, value: Decimal, inputs: dict[str, Decimal], messages: list[str], source: str,
            group: str | None = None, extra: dict[str, Any] | None = None) -> ScoreResult:
    """A continuous score: no points; the canonical inputs are reported under ``inputs``."""
    log2 = math.log2(value) if value > 0 else None
    messages = [*messages]
    if log2 is None:
        messages.append("log2 undefined for a value of 0")
    used = {key: float(val) for key, val in inputs.items()}
    return ScoreResult(name, True, float(value), group, {}, tuple(messages), source,
                       extra={"log2": log2, "inputs": used, **(extra or {})})


def easix(values: dict[str, Any], missing: list[str], messages: list[str], **_: Any) -> ScoreResult:
    """EASIX = LDH x creatinine / platelets; group ``high`` when > 4.67 (EASIX-pre, Korell 2022).

    The group is meaningful only for EASIX measured immediately before lymphodepletion.
    """
    if missing:
        return not_computable("easix", missing, source=EASIX_SOURCE, messages=messages)
    value = _ratio(values["ldh"] * values["creatinine"], values["plt"])
    group = "high" if value > EASIX_PRE_CUTOFF else "low"
    return _result("easix", value, values, [*messages, "group: EASIX-pre > 4.67 (valid before lymphodepletion)"],
                   EASIX_SOURCE, group, {"cutoff": float(EASIX_PRE_CUTOFF)})


def simplified_easix(values: dict[str, Any], missing: list[str], messages: list[str], **_: Any) -> ScoreResult:
    """Simplified EASIX = LDH / platelets (Pennisi 2021); no group."""
    if missing:
        return not_computable("simplified-easix", missing, source=PENNISI_SOURCE, messages=messages)
    value = _ratio(values["ldh"], values["plt"])
    return _result("simplified-easix", value, values, messages, PENNISI_SOURCE)


def m_easix(values: dict[str, Any], missing: list[str], messages: list[str], **_: Any) -> ScoreResult:
    """m-EASIX = LDH x CRP [mg/dL] / platelets (Pennisi 2021); no published cutoff, so no group."""
    if missing:
        return not_computable("m-easix", missing, source=PENNISI_SOURCE, messages=messages)
    value = _ratio(values["ldh"] * values["crp"], values["plt"])
    return _result("m-easix", value, values, messages, PENNISI_SOURCE)
