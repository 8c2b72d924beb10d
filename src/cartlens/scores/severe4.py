"""Severe4 comorbidity index from per-system CIRS ratings.

Source: "A validated composite comorbidity index predicts outcomes of CAR T-cell therapy in patients with
diffuse large B-cell lymphoma", Blood Adv 2023;7(14):3516 (learning cohort 577 patients, 9 centres).
Definition from the abstract (CONFIRMED; spec ``scores.md`` §9.2)::

    Severe4 = 1 if the CIRS rating is >= 3 in ANY of: respiratory, upper GI, hepatic, renal; else 0

Each rating is the CIRS 0-4 scale (Linn BS et al., J Am Geriatr Soc 1968; Miller MD et al. 1992; spec
§9.1). The CIRS total is not enough. Missing ratings make the index not computable, even when another
system already qualifies (spec ``scores.md`` §0.2; the alternative reading is documented in docs/scores.md).
"""

from __future__ import annotations

from typing import Any

from cartlens.scores.common import InputSpec, ScoreResult, not_computable

SOURCE = "Severe4 index, Blood Adv 2023;7(14):3516; CIRS: Linn BS et al. 1968, Miller MD et al. 1992; scores.md §9"
SYSTEMS = ("respiratory", "upper_gi", "hepatic", "renal")
SEVERE = 3  # CIRS 3 = severe (scores.md §9.1); >= 3 qualifies

INPUTS = tuple(InputSpec(name, "integer", f"CIRS rating 0-4 of the {name.replace('_', ' ')} system",
                         minimum=0, maximum=4) for name in SYSTEMS)


def severe4(values: dict[str, Any], missing: list[str], messages: list[str], **_: Any) -> ScoreResult:
    """Severe4 (0/1): 1 when any of the four systems has a CIRS rating >= 3; group ``severe4``/``none``."""
    if missing:
        return not_computable("severe4", missing, source=SOURCE, messages=messages)
    points = {name: int(values[name] >= SEVERE) for name in SYSTEMS}
    value = int(any(points.values()))
    return ScoreResult("severe4", True, value, "Severe4" if value else "not Severe4", points,
                       tuple(messages), SOURCE, extra={"ratings": {n: values[n] for n in SYSTEMS}})
