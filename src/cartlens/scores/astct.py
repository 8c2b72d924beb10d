"""ASTCT 2019 consensus grading of CRS and ICANS, and the ICE score, derived from their components.

Source: Lee DW, Santomasso BD, Locke FL et al., "ASTCT consensus grading for cytokine release syndrome and
neurologic toxicity associated with immune effector cells", Biol Blood Marrow Transplant 2019;25:625-638;
table checked against a reproduction (PMC9327779, Table 2). Spec ``scores.md`` §12 (SECONDARY/MEMORY),
cases ``score_cases.md`` I-J.

CRS (§12.1): fever is temperature >= 38.0 °C; the grade is the more severe of hypotension and hypoxia.
Hypotension: none 0; not needing vasopressors 2; one vasopressor with or without vasopressin 3; multiple
vasopressors (vasopressin excluded from the count) 4. Hypoxia: none 0; low-flow nasal cannula (<= 6 L/min) or
blow-by 2; high-flow nasal cannula (> 6 L/min), facemask, non-rebreather or Venturi mask 3; positive pressure
(CPAP, BiPAP, mechanical ventilation) 4. Fever alone is grade 1; death due to CRS is grade 5. After
antipyretics or anti-cytokine therapy fever is no longer required. Without fever (and no such therapy) there
is no CRS (grade 0).

ICANS (§12.3, adults): the grade is the most severe domain: ICE 7-9 -> 1, 3-6 -> 2, 0-2 -> 3 (ICE 10 -> 0);
consciousness: awakens spontaneously 1, to voice 2, only to tactile stimulus 3, unarousable 4; seizure:
rapidly resolving 3, prolonged/repeated 4; motor: deep focal weakness 4; raised ICP / oedema: focal 3,
diffuse (or posturing, CN VI palsy, papilloedema, Cushing's triad) 4. An unarousable patient cannot do ICE,
so ICE is not required then. An awake patient with ICE 0 is grade 3, not 4.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cartlens.scores.common import (
    InputSpec,
    ScoreInputError,
    ScoreResult,
    exact,
    not_computable,
)

SOURCE = ("Lee DW, Santomasso BD, Locke FL et al., Biol Blood Marrow Transplant 2019;25:625-638 (ASTCT "
          "consensus grading); scores.md §12")
FEVER_C = Decimal("38.0")
LOW_FLOW_MAX_L_MIN = Decimal(6)

HYPOTENSION_GRADE = {"none": 0, "no_vasopressor": 2, "one_vasopressor": 3, "multiple_vasopressors": 4}
OXYGEN_GRADE = {"none": 0, "room_air": 0, "nasal_cannula": 2, "low_flow_nasal_cannula": 2, "blow_by": 2,
                "high_flow_nasal_cannula": 3, "facemask": 3, "non_rebreather": 3, "venturi": 3,
                "cpap": 4, "bipap": 4, "mechanical_ventilation": 4, "intubation": 4}
CONSCIOUSNESS_GRADE = {"alert": 0, "awakens_spontaneously": 1, "awakens_to_voice": 2,
                       "awakens_to_tactile": 3, "unarousable": 4}
SEIZURE_GRADE = {"none": 0, "rapidly_resolving": 3, "prolonged": 4}
MOTOR_GRADE = {"none": 0, "deep_focal_weakness": 4}
ICP_GRADE = {"none": 0, "focal_oedema": 3, "diffuse_oedema": 4}
ICE_ITEMS = {"ice_orientation": 4, "ice_naming": 3, "ice_command": 1, "ice_writing": 1, "ice_attention": 1}

CRS_INPUTS = (
    InputSpec("temperature", "text", "maximum temperature, °C (or '101.3 F')", unit="°C", required=False),
    InputSpec("hypotension", "choice", "hypotension treatment (or give vasopressors)",
              choices=tuple(HYPOTENSION_GRADE), required=False),
    InputSpec("vasopressors", "text", "vasopressors given, e.g. 'norepinephrine+vasopressin' (derives "
              "hypotension)", required=False),
    InputSpec("oxygen", "choice", "oxygen support", choices=tuple(OXYGEN_GRADE)),
    InputSpec("o2_flow", "number", "oxygen flow, L/min (nasal cannula > 6 L/min is high-flow)", unit="L/min",
              minimum=0, maximum=80, required=False),
    InputSpec("prior_therapy", "bool", "antipyretics or anti-cytokine therapy given before (fever then not "
              "required)", required=False),
    InputSpec("death", "bool", "death due to CRS", required=False),
    InputSpec("recorded", "integer", "recorded CRS grade 0-5, to check", minimum=0, maximum=5, required=False),
)
ICANS_INPUTS = (
    InputSpec("ice", "integer", "ICE score 0-10 (or give its five items)", minimum=0, maximum=10, required=False),
    *(InputSpec(name, "integer", f"ICE item, 0-{top}", minimum=0, maximum=top, required=False)
      for name, top in ICE_ITEMS.items()),
    InputSpec("consciousness", "choice", "level of consciousness", choices=tuple(CONSCIOUSNESS_GRADE)),
    InputSpec("seizure", "choice", "seizure", choices=tuple(SEIZURE_GRADE)),
    InputSpec("motor", "choice", "motor findings", choices=tuple(MOTOR_GRADE)),
    InputSpec("icp", "choice", "raised intracranial pressure / cerebral oedema", choices=tuple(ICP_GRADE)),
    InputSpec("death", "bool", "death due to ICANS", required=False),
    InputSpec("recorded", "integer", "recorded ICANS grade 0-5, to check", minimum=0, maximum=5, required=False),
)
ICE_INPUTS = tuple(InputSpec(name, "integer", f"ICE item, 0-{top}", minimum=0, maximum=top)
                   for name, top in ICE_ITEMS.items())


def temperature_c(raw: Any) -> Decimal:
    """Temperature in °C from a number (°C) or text with 'C'/'F' (°C = (°F - 32) x 5/9; scores.md §10)."""
    text = str(raw).strip().replace("°", "").replace(" ", "")
    unit = text[-1].upper() if text and text[-1].isalpha() else "C"
    number = text[:-1] if text and text[-1].isalpha() else text
    try:
        value = exact(number)
    except Exception:  # noqa: BLE001
        raise ScoreInputError("temperature", f"expected a temperature such as 38.4 or '101.1 F', got {raw!r}") \
            from None
    if unit == "F":
        value = exact((value - 32) * 5 / 9)
    elif unit != "C":
        raise ScoreInputError("temperature", f"unit {unit!r} not accepted; use C or F")
    if not Decimal(30) <= value <= Decimal(45):
        raise ScoreInputError("temperature", f"{raw!r} is outside 30-45 °C")
    return value


def _hypotension(values: dict[str, Any]) -> str:
    names = values.get("vasopressors")
    if not names:
        return values["hypotension"]
    drugs = [d.strip().lower() for d in str(names).replace("+", ",").split(",") if d.strip()]
    counted = [d for d in drugs if d != "vasopressin"]     # vasopressin is not a second pressor (§12.1)
    if not counted:
        raise ScoreInputError("vasopressors", "vasopressin alone is not graded by ASTCT 2019; give hypotension")
    derived = "one_vasopressor" if len(counted) == 1 else "multiple_vasopressors"
    if values.get("hypotension") not in (None, derived):
        raise ScoreInputError("hypotension", f"{values['hypotension']!r} contradicts vasopressors {names!r}")
    return derived


def _oxygen_grade(values: dict[str, Any]) -> int:
    oxygen = values["oxygen"]
    if oxygen in {"nasal_cannula", "low_flow_nasal_cannula"} and "o2_flow" in values:
        return 2 if values["o2_flow"] <= LOW_FLOW_MAX_L_MIN else 3      # <= 6 L/min is low-flow
    return OXYGEN_GRADE[oxygen]


def _with_recorded(name: str, grade: int, points: dict[str, Any], values: dict[str, Any],
                   messages: list[str]) -> ScoreResult:
    extra: dict[str, Any] = {}
    if "recorded" in values:
        extra = {"recorded": values["recorded"], "mismatch": values["recorded"] != grade}
        if extra["mismatch"]:
            messages.append(f"recorded {name.upper()} grade {values['recorded']} differs from the derived {grade}")
    return ScoreResult(name, True, grade, f"grade {grade}", points, tuple(messages), SOURCE, extra=extra)


def crs(values: dict[str, Any], missing: list[str], messages: list[str], **_: Any) -> ScoreResult:
    """ASTCT 2019 CRS grade 0-5 from temperature, hypotension and oxygen support."""
    msgs = list(messages)
    if values.get("death"):
        return _with_recorded("crs", 5, {"death": 5}, values, msgs)
    prior = values.get("prior_therapy", False)
    if "temperature" not in values and not prior:
        missing = [*missing, "temperature"]
    if "hypotension" not in values and not values.get("vasopressors"):
        missing = [*missing, "hypotension"]
    if missing:
        return not_computable("crs", missing, source=SOURCE, messages=msgs)
    fever = "temperature" in values and temperature_c(values["temperature"]) >= FEVER_C
    points = {"fever": int(fever), "hypotension": HYPOTENSION_GRADE[_hypotension(values)],
              "oxygen": _oxygen_grade(values)}
    if not fever and not prior:
        if points["hypotension"] or points["oxygen"]:
            msgs.append("no fever (< 38.0 °C) and no prior antipyretic/anti-cytokine therapy: not CRS by ASTCT")
        return _with_recorded("crs", 0, points, values, msgs)
    grade = max(points.values())     # fever alone 1; else the more severe of hypotension and hypoxia
    return _with_recorded("crs", grade, points, values, msgs)


def ice_from_items(values: dict[str, Any]) -> int | None:
    """ICE 0-10 as the sum of its items (orientation 4, naming 3, command, writing, attention); None if any
    item is missing."""
    if any(name not in values for name in ICE_ITEMS):
        return None
    return int(sum(values[name] for name in ICE_ITEMS))


def _ice_grade(ice: int) -> int:
    return 0 if ice == 10 else 1 if ice >= 7 else 2 if ice >= 3 else 3


def icans(values: dict[str, Any], missing: list[str], messages: list[str], **_: Any) -> ScoreResult:
    """ASTCT 2019 ICANS grade 0-5 (adults): the most severe domain."""
    msgs = list(messages)
    if values.get("death"):
        return _with_recorded("icans", 5, {"death": 5}, values, msgs)
    ice = values.get("ice")
    from_items = ice_from_items(values)
    if ice is None:
        ice = from_items
    elif from_items is not None and from_items != ice:
        raise ScoreInputError("ice", f"ICE {ice} differs from the sum of its items ({from_items})")
    unarousable = values.get("consciousness") == "unarousable"
    if ice is None and not unarousable:
        missing = [*missing, "ice"]
    if missing:
        return not_computable("icans", missing, source=SOURCE, messages=msgs)
    points = {"ice": 4 if unarousable else _ice_grade(int(ice or 0)),   # unarousable: ICE cannot be done -> grade 4
              "consciousness": CONSCIOUSNESS_GRADE[values["consciousness"]],
              "seizure": SEIZURE_GRADE[values["seizure"]], "motor": MOTOR_GRADE[values["motor"]],
              "icp": ICP_GRADE[values["icp"]]}
    return _with_recorded("icans", max(points.values()), points, values, msgs)


def ice_score(values: dict[str, Any], missing: list[str], messages: list[str], **_: Any) -> ScoreResult:
    """ICE score 0-10 from its five items (scores.md §12.2)."""
    if missing:
        return not_computable("ice", missing, source=SOURCE, messages=messages)
    points = {name: values[name] for name in ICE_ITEMS}
    total = int(sum(points.values()))
    return ScoreResult("ice", True, total, None, points, tuple(messages), SOURCE)
