"""IMPI (International Metabolic Prognostic Index) linear predictor — UNVERIFIED coefficients.

Source: Mikhaeel NG, Heymans MW, Eertink JJ et al., "Proposed new dynamic prognostic index for diffuse large
B-cell lymphoma: International Metabolic Prognostic Index", J Clin Oncol 2022;40(21):2352-2360 (PMC9287279).
Spec ``scores.md`` §5; cases ``score_cases.md`` D.

* Predictors (CONFIRMED, abstract): baseline MTV as a linear spline with one knot at the median 307.9 mL,
  age (continuous) and Ann Arbor stage I-IV as categories.
* Coefficients (SECONDARY): quoted from the original by a Kameda Medical Center conference abstract; every
  output is marked ``unverified``. All 9 printed decimals are kept.
* Spline basis (inferred, scores.md §5): change-in-slope (truncated power) basis
  ``b1*MTV + b2*max(0, MTV - 307.9)``, so the LP is continuous and rises with MTV (slope 0.003077 per mL up
  to the knot, 0.000315 above). The other reading would make risk fall above the knot; rejected.
* Probability conversion and risk-group cutpoints: NOT FOUND, so neither is produced (``group`` is None).
  The CAR-IMPI cutoffs (1.07/1.35/1.53/1.58) must never be applied to this LP.
* MTV 0 (no FDG-avid disease) is outside the derivation domain and is flagged.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cartlens.scores.common import InputSpec, ScoreResult, not_computable
from cartlens.scores.ipi import parse_stage

SOURCE = ("Mikhaeel NG et al., J Clin Oncol 2022;40(21):2352-2360 (IMPI); coefficients SECONDARY (quoted in a "
          "Kameda Medical Center conference abstract), UNVERIFIED; scores.md §5")
KNOT_ML = Decimal("307.9")
B_MTV = Decimal("0.003077330")
B_MTV_ABOVE_KNOT = Decimal("-0.002761985")
B_AGE = Decimal("0.008092449")
B_STAGE = {1: Decimal(0), 2: Decimal("-0.114645415"), 3: Decimal("0.281141117"), 4: Decimal("0.322247142")}

INPUTS = (
    InputSpec("mtv", "number", "baseline total metabolic tumour volume, mL (SUV >= 4.0)", unit="mL",
              minimum=0, maximum=20000),
    InputSpec("age", "number", "age in years", unit="years", minimum=18, maximum=110),
    InputSpec("stage", "text", "Ann Arbor stage 1-4 (or I-IV)"),
)

UNVERIFIED_NOTE = ("UNVERIFIED: IMPI coefficients are from a secondary source and the spline basis is inferred; "
                   "no probability or risk group (not published in reach)")


def impi_linear_predictor(mtv_ml: Decimal, age: Decimal, stage: int) -> dict[str, Decimal]:
    """The four terms of the IMPI LP (their sum is the LP).

    Parameters
    ----------
    mtv_ml : Decimal
        Baseline MTV in mL (= cm^3).
    age : Decimal
        Age in years.
    stage : int
        Ann Arbor stage 1-4.
    """
    return {
        "mtv": B_MTV * mtv_ml,
        "mtv_above_knot": B_MTV_ABOVE_KNOT * (mtv_ml - KNOT_ML) if mtv_ml > KNOT_ML else Decimal(0),
        "age": B_AGE * age,
        "stage": B_STAGE[stage],
    }


def impi(values: dict[str, Any], missing: list[str], messages: list[str], **_: Any) -> ScoreResult:
    """IMPI linear predictor (unverified); ``points`` are the LP terms, ``group`` is always None."""
    if missing:
        return not_computable("impi", missing, source=SOURCE, unverified=True, messages=[*messages, UNVERIFIED_NOTE])
    terms = impi_linear_predictor(values["mtv"], values["age"], parse_stage(values["stage"]))
    msgs = [*messages, UNVERIFIED_NOTE]
    out_of_domain = values["mtv"] == 0
    if out_of_domain:
        msgs.append("MTV 0: IMPI was derived in FDG-avid disease; this value is outside its domain")
    return ScoreResult("impi", True, float(sum(terms.values())), None,
                       {name: float(term) for name, term in terms.items()}, tuple(msgs), SOURCE,
                       unverified=True, extra={"out_of_domain": out_of_domain, "knot_ml": float(KNOT_ML)})
