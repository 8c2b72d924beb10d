"""Ambiguity switches A1-A34 of the response engine (spec response_criteria.md §9).

Every field below is one documented choice. The default is the one chosen in the register; the
alternative(s) are listed in ``Literal`` types or in the comment. ``ResponseOptions.from_mapping``
accepts either field names or register numbers (``A14 = "ihp"``, or ``A14 = "alternative"`` /
``A14 = true`` for the first alternative), and rejects unknown keys and values, like R's
``coxph.control`` does (style_examples.md §4). Pure module: ``from_toml`` only parses a path it is
given (the one place where a file is read, kept here so callers need no TOML code).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

__all__ = ["ALIASES", "ResponseOptions"]


@dataclass(frozen=True, slots=True)
class ResponseOptions:
    """All response-engine switches; defaults as in response_criteria.md §9."""

    # A1: "Cheson" = 2007 revised IWG (LMU usage); alternative: the CT arm of Lugano 2014.
    cheson_variant: Literal["iwg2007", "lugano_ct"] = "iwg2007"
    # A2: the thresholds listed as inclusive (50 % SPD fall, 50 % PPD rise, 0.5/1.0 cm, RECIL 30 %/10 %,
    # LYRIC 10 % confirmation) compare with >=; False makes them strict >. Strict ones stay strict.
    inclusive: bool = True
    # A3: Lugano "lesion <=2 cm / >2 cm" is judged on LDi at the lesion's nadir; alternative: current LDi.
    lugano_size_class: Literal["nadir", "current"] = "nadir"
    # A4: L-PD-LES also runs on measured non-targets (reason NTL); alternative: reader judgement only.
    lugano_pd_les_on_nontargets: bool = True
    # A5: spleen reference length = nadir (alternative: baseline); new splenomegaly needs >13 cm AND
    # +2 cm (alternative "length_only": >13 cm is enough).
    spleen_reference: Literal["nadir", "baseline"] = "nadir"
    new_splenomegaly: Literal["length_and_increase", "length_only"] = "length_and_increase"
    # A6: uptake change vs baseline is reader input; alternative: fall back to SUVmax when the reader
    # left it empty (|dSUVmax| >= 30 % and >= 0.8 units, PERCIST-style; not Lugano).
    uptake_source: Literal["reader", "suvmax_fallback"] = "reader"
    # A7: worst site decides (fixed). Optional: derive a missing Deauville score from SUVmax against the
    # scan's mbp_suvmax / liver_suvmean, DS 5 above ``ds5_liver_factor`` x liver (recalled 2-3x).
    deauville_from_suv: bool = False
    ds5_liver_factor: Decimal = Decimal(2)
    # A8: PET/CT combination: PD if either (default); "best" of the two when neither is PD;
    # "pet_always_wins" (CDISC ADRS demo mapping): an evaluable PET decides even against CT PD.
    lugano_combination: Literal["pd_if_either", "best", "pet_always_wins"] = "pd_if_either"
    # A9: DS 4-5 returning at a site that had DS 1-3 (or had resolved) on an earlier PET follow-up is
    # PMD; alternative "literal": PMD only when uptake increased vs baseline.
    pmd_after_cmr: Literal["recurrent", "literal"] = "recurrent"
    # A10: criterion-specific new-lesion sizes are fixed by the rules; the switch lets a biopsy-proven
    # new lesion <=1.5 cm count under Cheson 2007 (default: it does not).
    cheson_small_new_if_biopsy: bool = False
    # A11: equivocal new findings are "watch"; a later confirmation makes PD at the confirming scan;
    # alternative "first_appearance": the finding counts from the scan where it first appeared.
    equivocal_dating: Literal["confirming", "first_appearance"] = "confirming"
    # A12: Lugano "abnormal, LDi > 1.5 cm" also for extranodal lesions (cm); alternative 1.0.
    lugano_extranodal_pd_ldi_cm: Decimal = Decimal("1.5")
    # A13: regrowth reason = the lesion's original role (TL/NTL) + flag REGROWTH; alternative "NL".
    regrowth_reason: Literal["original_role", "NL"] = "original_role"
    # A14: Cheson PET positivity: DS >= 4; alternative "ihp" (>=2 cm: DS >= 3; <2 cm: DS >= 2).
    cheson_pet_positive: Literal["ds4", "ihp"] = "ds4"
    # A15: Cheson: spleen growth (sized by Lugano's PD thresholds) blocks PR; never PD. False: ignore.
    cheson_spleen_blocks_pr: bool = True
    # A16: Cheson with no PET at follow-up: CT branch; alternative "ne": not evaluable.
    cheson_no_pet: Literal["ct_branch", "ne"] = "ct_branch"
    # A17: Cheson single-node PPD +50 % clause (2007 text); False = summary table only.
    cheson_single_node: bool = True
    # A18: RECIL: node CR cut (LDi < 1.0 cm), absolute SLD rise required for PD (0 = none; alt 0.5),
    # and the small-node rule for nodes < 1.5 cm at nadir.
    recil_node_cr_cm: Decimal = Decimal("1.0")
    recil_pd_min_abs_cm: Decimal = Decimal(0)
    recil_small_node_rule: bool = True
    # A19: RECIL: proven new marrow involvement is a new lesion (reason BM); False: not PD.
    recil_marrow_is_new_lesion: bool = True
    # A20: RECIL LDi for "too small" (cm); alternative 0.
    recil_too_small_cm: Decimal = Decimal("0.5")
    # A21: LYRIC IR1 window from infusion, days (inclusive); alternative anchors shift it.
    lyric_window_days: int = 84
    # A22: LYRIC: new lesions join the SPD from the IR time point on; False: targets only.
    lyric_new_lesions_in_spd: bool = True
    # A23: IR2b fires on lesions meeting L-PD-LES; alternative "raw_ppd": PPD >= +50 % from nadir alone.
    lyric_ir2b: Literal["l_pd_les", "raw_ppd"] = "l_pd_les"
    # A24: IR confirmation needs a further >= 10 % SPD rise; PD dated to the first IR (alt "confirming").
    lyric_confirm_pct: int = 10
    lyric_pd_dating: Literal["first_ir", "confirming"] = "first_ir"
    # A25: LYRIC spleen and marrow progression stay PD; alternative "ir2b" for spleen.
    lyric_spleen: Literal["pd", "ir2b"] = "pd"
    # A26: missing clinical deterioration gives IR1 with a flag; alternative "pd".
    lyric_missing_deterioration: Literal["ir1_flag", "pd"] = "ir1_flag"
    # A27: baseline = last scan at day <= this (relative to infusion); e.g. -3 for "before lymphodepletion".
    baseline_max_day: int = 0
    # A28: best overall response stops at the first PD; LYRIC at the first *confirmed* PD (alt "first_ir").
    bor_lyric_stop: Literal["confirmed", "first_ir"] = "confirmed"
    # A29: PD may be proven from a partial sum despite a missing target; False: NE whenever one is missing.
    partial_sum_pd: bool = True
    # A33: CT-only after a prior CMR: CT category + flag (default); alternative "carry_cmr": CR unless PD.
    ct_after_cmr: Literal["ct_category", "carry_cmr"] = "ct_category"

    def __post_init__(self) -> None:
        hints = get_type_hints(ResponseOptions)
        for f in fields(self):
            value, hint = getattr(self, f.name), hints[f.name]
            allowed = get_args(hint)
            if allowed and value not in allowed:
                raise ValueError(f"option {f.name}: {value!r} is not one of {list(allowed)}")
            if hint is Decimal:
                try:
                    object.__setattr__(self, f.name, Decimal(str(value)))
                except Exception as exc:
                    raise ValueError(f"option {f.name}: {value!r} is not a number") from exc
                if getattr(self, f.name) < 0:
                    raise ValueError(f"option {f.name}: must be >= 0, got {value!r}")
            elif hint is bool and not isinstance(value, bool):
                raise ValueError(f"option {f.name}: expected true/false, got {value!r}")
            elif hint is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"option {f.name}: expected an integer, got {value!r}")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> ResponseOptions:
        """Build options from field names or register numbers (``A14``); unknown keys are errors."""
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            if isinstance(value, Mapping):           # [response] or [options] table in a study plan
                nested = cls.from_mapping(value)
                values.update({k: v for k, v in nested.to_dict().items() if v != getattr(cls(), k)})
                continue
            if key in names:
                values[key] = value
                continue
            alias = ALIASES.get(key.upper())
            if alias is None:
                raise ValueError(f"unknown response option {key!r}; known: {sorted(names)} or A1-A34")
            for name, translated in alias(value).items():
                values[name] = translated
        return cls(**values)

    @classmethod
    def from_toml(cls, path: str | Path) -> ResponseOptions:
        """Read options from a TOML file (top-level keys or a ``[response]`` table)."""
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
        return cls.from_mapping(data)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (Decimals as strings) for logs and run records."""
        return {f.name: (str(v) if isinstance(v := getattr(self, f.name), Decimal) else v)
                for f in fields(self)}

    def replace(self, **changes: Any) -> ResponseOptions:
        """A copy with some switches changed."""
        return dataclasses.replace(self, **changes)


def _switch(field: str, default: Any, alternative: Any, *, lenient: bool = True) -> Any:
    """Alias translator for a register number.

    true / "alternative" -> the alternative; false / "default" -> the default; the field's own values pass
    through. With ``lenient`` (switches with one alternative) any other word names the alternative, so that
    ``A17 = "table_only"`` or ``A11 = "backdate"`` work; numbers pass through to the field's check.
    """
    def translate(value: Any) -> dict[str, Any]:
        if value is True or value in ("alternative", "alt"):
            return {field: alternative}
        if value is False or value == "default":
            return {field: default}
        if value in (default, alternative) or not lenient or not isinstance(value, str):
            return {field: value}
        return {field: alternative}
    return translate


def _fixed(number: str) -> Any:
    def translate(value: Any) -> dict[str, Any]:
        if value in (False, "default"):
            return {}
        raise ValueError(f"{number} has no alternative in this engine (see docs/response_criteria.md)")
    return translate


def _a5(value: Any) -> dict[str, Any]:
    if value in (True, "alternative", "baseline"):
        return {"spleen_reference": "baseline"}
    if value == "length_only":
        return {"new_splenomegaly": "length_only"}
    if value in (False, "default", "nadir"):
        return {}
    raise ValueError(f"A5: {value!r} is not one of default, baseline, length_only")


def _a18(value: Any) -> dict[str, Any]:
    if value in (True, "alternative", "absolute_0.5"):
        return {"recil_pd_min_abs_cm": Decimal("0.5")}
    if value in (False, "default"):
        return {}
    raise ValueError(f"A18: {value!r} is not one of default, alternative")


ALIASES: dict[str, Any] = {
    "A1": _switch("cheson_variant", "iwg2007", "lugano_ct"),
    "A2": lambda v: {"inclusive": not (v is True or v in ("alternative", "strict"))},
    "A3": _switch("lugano_size_class", "nadir", "current"),
    "A4": _switch("lugano_pd_les_on_nontargets", True, False),
    "A5": _a5,
    "A6": _switch("uptake_source", "reader", "suvmax_fallback"),
    "A7": _switch("deauville_from_suv", False, True),
    "A8": _switch("lugano_combination", "pd_if_either", "best", lenient=False),
    "A9": _switch("pmd_after_cmr", "recurrent", "literal"),
    "A10": _switch("cheson_small_new_if_biopsy", False, True),
    "A11": _switch("equivocal_dating", "confirming", "first_appearance"),
    "A12": _switch("lugano_extranodal_pd_ldi_cm", Decimal("1.5"), Decimal("1.0"), lenient=False),
    "A13": _switch("regrowth_reason", "original_role", "NL"),
    "A14": _switch("cheson_pet_positive", "ds4", "ihp"),
    "A15": _switch("cheson_spleen_blocks_pr", True, False),
    "A16": _switch("cheson_no_pet", "ct_branch", "ne"),
    "A17": _switch("cheson_single_node", True, False),
    "A18": _a18,
    "A19": _switch("recil_marrow_is_new_lesion", True, False),
    "A20": _switch("recil_too_small_cm", Decimal("0.5"), Decimal(0), lenient=False),
    "A21": _switch("lyric_window_days", 84, 91, lenient=False),
    "A22": _switch("lyric_new_lesions_in_spd", True, False),
    "A23": _switch("lyric_ir2b", "l_pd_les", "raw_ppd"),
    "A24": _switch("lyric_pd_dating", "first_ir", "confirming"),
    "A25": _switch("lyric_spleen", "pd", "ir2b"),
    "A26": _switch("lyric_missing_deterioration", "ir1_flag", "pd"),
    "A27": _switch("baseline_max_day", 0, -3, lenient=False),
    "A28": _switch("bor_lyric_stop", "confirmed", "first_ir"),
    "A29": _switch("partial_sum_pd", True, False),
    "A30": _fixed("A30"),
    "A31": _fixed("A31"),
    "A32": _fixed("A32"),
    "A33": _switch("ct_after_cmr", "ct_category", "carry_cmr"),
    "A34": _fixed("A34"),
}
