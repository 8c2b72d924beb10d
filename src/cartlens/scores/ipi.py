"""IPI, age-adjusted IPI (aaIPI / sAAIPI), revised IPI (R-IPI) and NCCN-IPI.

Sources
-------
* IPI and aaIPI: International Non-Hodgkin's Lymphoma Prognostic Factors Project (Shipp MA et al.),
  N Engl J Med 1993;329:987-994. Spec ``scores.md`` §1-2 (MEMORY, cross-checked against Blood Cancer J
  2023;13:157 Table 2 and the MDCalc IPI/R-IPI page).
* R-IPI: Sehn LH et al., Blood 2007;109:1857-1861. Spec ``scores.md`` §3.
* NCCN-IPI: Zhou Z, Sehn LH, Rademaker AW et al., Blood 2014;123(6):837-842. Spec ``scores.md`` §4.

Conventions (spec ``scores.md`` §1, §4; cases in ``score_cases.md`` A-B):

* LDH enters as the ratio to the *local* ULN; a ratio of exactly 1.00 is not elevated.
* Extranodal sites may be given as a count or as site names (data-model vocabulary). Names are counted by
  :func:`count_extranodal_sites`: spleen, thymus and Waldeyer's ring are lymphatic under Ann Arbor and are
  not counted; each distinct extranodal site counts once; bone marrow counts as one site.
* NCCN-IPI key sites: bone marrow, CNS, liver, GI tract, lung. Pleura does **not** count as lung by default
  (``pleura_as_lung=False``); the paper does not say, so the mapping is a switch (docs/scores.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from cartlens.scores.common import (
    InputSpec,
    ScoreInputError,
    ScoreResult,
    not_computable,
    parse_bool,
)

IPI_SOURCE = ("Shipp MA et al. (International NHL Prognostic Factors Project), N Engl J Med "
              "1993;329:987-994; scores.md §1")
AAIPI_SOURCE = "Shipp MA et al., N Engl J Med 1993;329:987-994 (age-adjusted index); scores.md §2"
RIPI_SOURCE = "Sehn LH et al., Blood 2007;109:1857-1861; scores.md §3"
NCCN_SOURCE = "Zhou Z, Sehn LH, Rademaker AW et al., Blood 2014;123(6):837-842; scores.md §4"

#: Data-model site vocabulary (data_model.md). Lymphatic sites under Ann Arbor are not extranodal.
NODAL_SITES = frozenset({"cervical", "supraclavicular", "axillary", "mediastinal", "hilar", "mesenteric",
                         "retroperitoneal", "iliac", "inguinal", "waldeyer", "other_nodal", "spleen",
                         "thymus"})
EXTRANODAL_SITES = frozenset({"bone_marrow", "cns", "liver", "gi_tract", "lung", "pleura", "bone", "kidney",
                              "adrenal", "skin", "soft_tissue", "breast", "testis", "other_extranodal",
                              "stomach", "bowel"})
#: NCCN-IPI key extranodal sites (scores.md §4; "liver/GI tract" covers liver, stomach and bowel).
NCCN_KEY_SITES = frozenset({"bone_marrow", "cns", "liver", "gi_tract", "lung", "stomach", "bowel"})

IPI_GROUPS = ("Low", "Low-intermediate", "High-intermediate", "High")
RIPI_GROUPS = ("Very good", "Good", "Poor")

_STAGE_WORDS = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def parse_stage(raw: Any) -> int:
    """Ann Arbor stage 1-4 from 1..4 or I..IV (suffixes such as ``IIE``/``IVB`` are not accepted)."""
    text = str(raw).strip().lower()
    text = text.removesuffix(".0")
    if text not in _STAGE_WORDS:
        raise ScoreInputError("stage", f"{raw!r} is not an Ann Arbor stage (1-4 or I-IV)")
    return _STAGE_WORDS[text]


def _sites(raw: Any, field_name: str) -> list[str]:
    items: Iterable[Any] = raw.split(";") if isinstance(raw, str) else raw
    names = [str(s).strip().lower().replace(" ", "_").replace("-", "_") for s in items]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in NODAL_SITES | EXTRANODAL_SITES]
    if unknown:
        raise ScoreInputError(field_name, f"unknown site(s) {unknown}; use the data-model site vocabulary")
    return names


def count_extranodal_sites(raw: Any) -> int:
    """Number of distinct extranodal sites for the IPI (spleen/thymus/Waldeyer's ring not counted).

    ``raw`` is a count (int), or site names (``"bone_marrow;liver"`` or a list).
    """
    if isinstance(raw, str) and raw.strip().lstrip("+").isdigit():
        raw = int(raw.strip())
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        if raw != int(raw) or not 0 <= raw <= 30:
            raise ScoreInputError("extranodal_sites", f"count must be a whole number 0-30, got {raw!r}")
        return int(raw)
    return len({n for n in _sites(raw, "extranodal_sites") if n in EXTRANODAL_SITES})


def key_extranodal(raw: Any, *, pleura_as_lung: bool = False) -> bool:
    """NCCN-IPI key extranodal involvement from yes/no or from site names (scores.md §4)."""
    if isinstance(raw, bool) or (isinstance(raw, str) and ";" not in raw and raw.strip().lower()
                                 in {"yes", "no", "y", "n", "true", "false", "1", "0", "present", "absent"}):
        return parse_bool("key_extranodal", raw)
    if isinstance(raw, str) and raw.strip().lower() == "none":
        return False
    names = set(_sites(raw, "key_extranodal"))
    keys = NCCN_KEY_SITES | ({"pleura"} if pleura_as_lung else set())
    return bool(names & keys)


def ldh_ratio(values: dict[str, Any]) -> Decimal:
    """LDH / local ULN (both U/L), exact."""
    uln = values["ldh_uln"]
    if uln <= 0:
        raise ScoreInputError("ldh_uln", "must be > 0 U/L")
    return values["ldh"] / uln


def _age(spec_max: int = 110) -> InputSpec:
    return InputSpec("age", "number", "age in years (completed)", unit="years", minimum=18, maximum=spec_max)


LDH_INPUTS = (
    InputSpec("ldh", "lab", "serum LDH", unit="U/L", analyte="ldh"),
    InputSpec("ldh_uln", "lab", "the reporting lab's upper limit of normal for LDH", unit="U/L",
              analyte="ldh"),
)
ECOG = InputSpec("ecog", "integer", "ECOG performance status 0-4", minimum=0, maximum=4)
STAGE = InputSpec("stage", "text", "Ann Arbor stage 1-4 (or I-IV)")
IPI_INPUTS = (_age(), *LDH_INPUTS, ECOG, STAGE,
              InputSpec("extranodal_sites", "text",
                        "number of extranodal sites, or site names separated by ';'"))
AAIPI_INPUTS = (*LDH_INPUTS, ECOG, STAGE,
                # accepted so that one IPI input set serves all three indices (cli.md); not scored by the aaIPI
                InputSpec("age", "number", "age in years (not scored; the aaIPI is applied whatever the age)",
                          unit="years", minimum=18, maximum=110, required=False),
                InputSpec("extranodal_sites", "text", "not scored by the aaIPI", required=False))
NCCN_INPUTS = (_age(), *LDH_INPUTS, ECOG, STAGE,
               InputSpec("key_extranodal", "text",
                         "yes/no: bone marrow, CNS, liver/GI tract or lung involved (or site names)"))


def _ipi_points(values: dict[str, Any], *, with_age: bool) -> dict[str, int]:
    points = {}
    if with_age:
        points["age"] = int(values["age"] > 60)                            # age > 60 (§1)
    points["ldh"] = int(ldh_ratio(values) > 1)                             # LDH/ULN > 1.0 (§1)
    points["ecog"] = int(values["ecog"] >= 2)                              # ECOG >= 2
    points["stage"] = int(parse_stage(values["stage"]) >= 3)              # stage III-IV
    if "extranodal_sites" in values:
        points["extranodal_sites"] = int(count_extranodal_sites(values["extranodal_sites"]) > 1)  # > 1 site
    return points


def ipi(values: dict[str, Any], missing: list[str], messages: list[str], **_: Any) -> ScoreResult:
    """International Prognostic Index 0-5 and its four risk groups (scores.md §1).

    Inputs: age (years), LDH and local ULN (U/L), ECOG 0-4, Ann Arbor stage 1-4, extranodal sites.
    Groups: 0-1 Low, 2 Low-intermediate, 3 High-intermediate, 4-5 High.
    """
    if missing:
        return not_computable("ipi", missing, source=IPI_SOURCE, messages=messages)
    points = _ipi_points(values, with_age=True)
    total = sum(points.values())
    group = IPI_GROUPS[max(0, min(total - 1, 3))] if total >= 2 else IPI_GROUPS[0]
    return ScoreResult("ipi", True, total, group, points, tuple(messages), IPI_SOURCE,
                       extra={"ldh_ratio": float(ldh_ratio(values))})


def ripi(values: dict[str, Any], missing: list[str], messages: list[str], **_: Any) -> ScoreResult:
    """Revised IPI: the IPI factors, grouped 0 Very good / 1-2 Good / 3-5 Poor (scores.md §3)."""
    if missing:
        return not_computable("ripi", missing, source=RIPI_SOURCE, messages=messages)
    points = _ipi_points(values, with_age=True)
    total = sum(points.values())
    group = RIPI_GROUPS[0] if total == 0 else RIPI_GROUPS[1] if total <= 2 else RIPI_GROUPS[2]
    return ScoreResult("ripi", True, total, group, points, tuple(messages), RIPI_SOURCE,
                       extra={"ldh_ratio": float(ldh_ratio(values))})


def aaipi(values: dict[str, Any], missing: list[str], messages: list[str], **_: Any) -> ScoreResult:
    """Age-adjusted IPI 0-3: LDH > ULN, ECOG >= 2, stage III-IV (scores.md §2).

    Groups 0 Low, 1 Low-intermediate, 2 High-intermediate, 3 High. Applied at relapse whatever the age
    (ZUMA-7 "sAAIPI"); label the timepoint accordingly.
    """
    if missing:
        return not_computable("aaipi", missing, source=AAIPI_SOURCE, messages=messages)
    points = _ipi_points({k: v for k, v in values.items() if k != "extranodal_sites"}, with_age=False)
    total = sum(points.values())
    if "age" in values and values["age"] > 60:
        messages = [*messages, "age > 60: the aaIPI was built for age <= 60 (applied at relapse as sAAIPI)"]
    return ScoreResult("aaipi", True, total, IPI_GROUPS[total], points, tuple(messages), AAIPI_SOURCE,
                       extra={"ldh_ratio": float(ldh_ratio(values))})


def _nccn_age_points(age: Decimal) -> int:
    # <= 40: 0; > 40 and <= 60: 1; > 60 and <= 75: 2; > 75: 3 (scores.md §4)
    return 0 if age <= 40 else 1 if age <= 60 else 2 if age <= 75 else 3


def nccn_ipi(values: dict[str, Any], missing: list[str], messages: list[str], *,
             pleura_as_lung: bool = False, **_: Any) -> ScoreResult:
    """NCCN-IPI 0-8 (scores.md §4).

    Age <=40/41-60/61-75/>75 -> 0/1/2/3; LDH ratio <=1/(1,3]/>3 -> 0/1/2; stage III-IV 1; any key extranodal
    site (bone marrow, CNS, liver/GI, lung) 1; ECOG >= 2 1. Groups 0-1 Low, 2-3 Low-intermediate,
    4-5 High-intermediate, 6-8 High.
    """
    if missing:
        return not_computable("nccn-ipi", missing, source=NCCN_SOURCE, messages=messages)
    ratio = ldh_ratio(values)
    points = {
        "age": _nccn_age_points(values["age"]),
        "ldh": 0 if ratio <= 1 else 1 if ratio <= 3 else 2,
        "stage": int(parse_stage(values["stage"]) >= 3),
        "key_extranodal": int(key_extranodal(values["key_extranodal"], pleura_as_lung=pleura_as_lung)),
        "ecog": int(values["ecog"] >= 2),
    }
    total = sum(points.values())
    group = IPI_GROUPS[0] if total <= 1 else IPI_GROUPS[1] if total <= 3 else \
        IPI_GROUPS[2] if total <= 5 else IPI_GROUPS[3]
    return ScoreResult("nccn-ipi", True, total, group, points, tuple(messages), NCCN_SOURCE,
                       extra={"ldh_ratio": float(ratio), "pleura_as_lung": pleura_as_lung})
