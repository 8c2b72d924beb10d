"""Deauville five-point scale derived from SUVs (with the reader's score kept and mismatches flagged).

Sources: Meignan M et al., Leuk Lymphoma 2009;50:1257; Barrington SF et al., J Clin Oncol 2014;32:3048;
Cheson BD et al., J Clin Oncol 2014;32:3059. Spec ``scores.md`` §11 (MEMORY); cases ``score_cases.md`` H.

===  ===========================================================================
DS   rule applied to the most avid residual lesion (SUVmax)
===  ===========================================================================
1    no uptake above background (``lesion = "none"``)
2    lesion <= mediastinal blood pool (MBP)
3    MBP < lesion <= liver
4    liver < lesion <= multiplier x liver ("moderately higher")
5    lesion > multiplier x liver ("markedly higher"), and/or a new lesion attributed to lymphoma
X    new areas of uptake unlikely to be related to lymphoma (only when nothing scores 5)
===  ===========================================================================

"Markedly higher" has no fixed number in Lugano; the multiplier is configurable, default 2.0 (a common
working definition is 2-3 x liver, Barrington 2014), and travels with the result.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cartlens.scores.common import InputSpec, ScoreInputError, ScoreResult, exact, not_computable

SOURCE = ("Meignan M et al., Leuk Lymphoma 2009;50:1257; Barrington SF et al., J Clin Oncol 2014;32:3048; "
          "scores.md §11")
DEFAULT_MULTIPLIER = Decimal("2.0")

INPUTS = (
    InputSpec("lesion", "text", "SUVmax of the most avid residual lesion, or 'none' (no uptake above "
              "background)", unit="SUV", required=False),
    InputSpec("mbp", "number", "mediastinal blood pool SUV", unit="SUV", minimum=0, maximum=50, required=False),
    InputSpec("liver", "number", "liver reference SUV", unit="SUV", minimum=0, maximum=50, required=False),
    InputSpec("new_lesion", "choice", "new lesion: none, lymphoma (consistent with lymphoma) or unlikely "
              "(unlikely to be lymphoma)", choices=("none", "lymphoma", "unlikely"), required=False),
    InputSpec("recorded", "text", "the reader's Deauville score 1-5 or X, to check", required=False),
)


def _lesion(raw: Any) -> Decimal | None:
    if isinstance(raw, str) and raw.strip().lower() in {"none", "no_uptake", "no uptake", "background"}:
        return None
    try:
        value = exact(raw)
    except Exception:  # noqa: BLE001 - any unreadable value is reported the same way
        raise ScoreInputError("lesion", f"expected an SUV or 'none', got {raw!r}") from None
    if not Decimal(0) <= value <= Decimal(100):
        raise ScoreInputError("lesion", f"SUV {raw!r} outside 0-100")
    return value


def _from_suv(values: dict[str, Any], multiplier: Decimal) -> tuple[int | None, list[str]]:
    """DS from SUVs; only the reference regions the decision needs are required."""
    if "lesion" not in values:
        return None, ["lesion"]
    lesion = _lesion(values["lesion"])
    if lesion is None:
        return 1, []
    mbp, liver = values.get("mbp"), values.get("liver")
    if mbp is not None and lesion <= mbp:
        return 2, []
    if liver is None:
        return None, ["liver"] if mbp is not None else ["mbp", "liver"]
    if lesion > liver:
        return (4 if lesion <= multiplier * liver else 5), []
    if mbp is None:
        return None, ["mbp"]
    return 3, []


def deauville(values: dict[str, Any], missing: list[str], messages: list[str], *,
              multiplier: float | str | Decimal = DEFAULT_MULTIPLIER, **_: Any) -> ScoreResult:
    """Deauville score (1-5 or "X") from SUVs and new-lesion status; ``value`` is the integer DS or None for X.

    A new lesion consistent with lymphoma gives 5 without SUVs. ``recorded`` (the reader's DS) is kept and a
    mismatch is flagged in ``messages`` and ``extra["mismatch"]``.
    """
    mult = exact(multiplier)
    new = values.get("new_lesion", "none")
    ds: int | str | None
    need: list[str]
    if new == "lymphoma":
        ds, need = 5, []
    else:
        ds, need = _from_suv(values, mult)
        if ds is None and new == "unlikely":
            ds, need = "X", []
    extra: dict[str, Any] = {"multiplier": float(mult), "deauville": ds}
    if ds is None:
        return not_computable("deauville", need, source=SOURCE, messages=messages, extra=extra)
    msgs = list(messages)
    if new == "unlikely" and ds != "X":
        msgs.append("new uptake unlikely to be lymphoma recorded (X) beside the lesion score")
    if "recorded" in values:
        recorded = str(values["recorded"]).strip().upper()
        extra["recorded"] = recorded
        extra["mismatch"] = recorded != str(ds)
        if extra["mismatch"]:
            msgs.append(f"recorded Deauville {recorded} differs from the derived {ds}")
    value = ds if isinstance(ds, int) else None
    return ScoreResult("deauville", True, value, f"DS {ds}", {}, tuple(msgs), SOURCE, extra=extra)
