"""How each catalogue factor (prognostic_factors.yaml) is computed from the canonical data.

One rule per family of catalogue ids (matched by regular expression, first match wins).  A rule gives the
covariate as a float Series over the analysis frame (NaN = missing) and, where needed, the patients it applies
to, a landmark day (post-infusion factors: survival is measured from the landmark, Anderson JR et al., J Clin
Oncol 1983;1:710) and the cohort.  Where the source leaves a threshold unstated, the choice is written in the
rule's ``note`` and shown in the report.  Factors needing data the model does not hold (TP53, CIRS, antibiotic
exposure, double-expressor status...) have no rule and are listed as "not computable" with the catalogue's
variable text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

Covariate = Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class Rule:
    pattern: str
    label: str
    covariate: Covariate
    note: str = ""
    subset: Covariate | None = None           # boolean Series: patients in the comparison
    landmark_day: int | None = None
    cohort: str | None = None                 # "development" / "validation"; default from the id (below)


def _col(name: str) -> Covariate:
    return lambda f: f[name].astype(float) if name in f else pd.Series(np.nan, index=f.index)


def _flag(expr: Callable[[pd.DataFrame], pd.Series], base: str) -> Covariate:
    def cov(f: pd.DataFrame) -> pd.Series:
        if base not in f:
            return pd.Series(np.nan, index=f.index)
        return expr(f).astype(float).where(f[base].notna())
    return cov


def _product(exposed: str, reference: str) -> tuple[Covariate, Covariate]:
    return (_flag(lambda f: f["product"] == exposed, "product"),
            lambda f: f["product"].isin([exposed, reference]) if "product" in f else pd.Series(False, index=f.index))


def _aaipi(f: pd.DataFrame) -> pd.Series:
    """age-adjusted IPI (Shipp MA et al., N Engl J Med 1993;329:987): stage III-IV + LDH > ULN + ECOG >= 2."""
    parts = [f.get("stage_34"), f.get("ldh_gt_uln"), f.get("ecog_ge2")]
    if any(p is None for p in parts):
        return pd.Series(np.nan, index=f.index)
    return (sum(parts) >= 2).astype(float).where(sum(parts).notna())


def _median_split(col: str, high: bool) -> Covariate:
    def cov(f: pd.DataFrame) -> pd.Series:
        x = f[col].astype(float)
        m = x.median()
        return ((x > m) if high else (x <= m)).astype(float).where(x.notna())
    return cov


_tisa, _tisa_axi = _product("tisa-cel", "axi-cel")
_axi, _axi_tisa = _product("axi-cel", "tisa-cel")
_liso, _liso_axi = _product("liso-cel", "axi-cel")
_ecog2 = _col("ecog_ge2")
_ldh = _col("ldh_gt_uln")
_impi = _col("car_impi")
_impi_high = _flag(lambda f: f["car_impi_median"] == "high", "car_impi_median")

RULES: tuple[Rule, ...] = (
    Rule(r"^ecog_per_unit", "ECOG (per point)", _col("ecog")),
    Rule(r"^ecog_(ge2|2_4)", "ECOG >= 2", _ecog2),
    Rule(r"^age_gt60", "age > 60 years", _flag(lambda f: f["age"] > 60, "age")),
    Rule(r"^age_older", "age (per 10 years)", lambda f: f["age"].astype(float) / 10,
         "cut-off or scale not stated in the source: per 10 years used"),
    Rule(r"^aaipi_ge2", "aaIPI >= 2", _aaipi, "stage III-IV + LDH > ULN + ECOG >= 2 (pre-lymphodepletion labs)"),
    Rule(r"^ldh_(high|gt_uln)", "LDH > ULN", _ldh, "pre-lymphodepletion LDH used for every time point (apheresis, "
         "lymphodepletion, infusion); threshold = ULN"),
    Rule(r"^mtv_low_baseline", "MTV at or below the cohort median", _median_split("mtv_ml", False),
         "study cut-off not given: this cohort's median"),
    Rule(r"^mtv_high_baseline", "MTV above the cohort median", _median_split("mtv_ml", True),
         "study cut-off not given: this cohort's median"),
    Rule(r"^bridging_any", "any bridging", _flag(lambda f: f["bridging"] != "none", "bridging")),
    Rule(r"^bridging_chemo", "systemic bridging", _flag(lambda f: f["bridging"].isin(["systemic", "combined"]),
                                                        "bridging"), "systemic or combined bridging"),
    Rule(r"^product_tisa_vs_axi", "tisa-cel vs axi-cel", _tisa, subset=_tisa_axi),
    Rule(r"^product_axi_vs_tisa", "axi-cel vs tisa-cel", _axi, subset=_axi_tisa),
    Rule(r"^product_liso_vs_axi", "liso-cel vs axi-cel", _liso, subset=_liso_axi),
    Rule(r"^progression_lt30d", "progression within 30 days", lambda f: ((f["pfs_days"] <= 30) &
                                                                          (f["pfs_event"] == 1)).astype(float)),
    Rule(r"^crs_grade34", "CRS grade >= 3", _col("crs_ge3"), "ASTCT grade 3-5"),
    Rule(r"^prior_lines_gt2", "> 2 prior lines", _flag(lambda f: f["prior_lines"] > 2, "prior_lines")),
    Rule(r"^ferritin_infusion", "ferritin (per 100 ng/mL)", lambda f: f["ferritin"].astype(float) / 100,
         "pre-lymphodepletion value; unit of the published HR not stated: per 100 ng/mL used"),
    Rule(r"^crp_", "CRP (per mg/dL)", _col("crp"), "pre-lymphodepletion value; per 1 mg/dL"),
    Rule(r"^bulky_apheresis", "bulky > 10 cm", _col("bulky_10cm"), "threshold not stated: > 10 cm at baseline "
         "(CAR-IMPI Table 1 definition)"),
    Rule(r"^any_lesion_ge5", "any lesion >= 5 cm", _col("any_lesion_ge5")),
    Rule(r"^extranodal_ge2", ">= 2 extranodal sites", _flag(lambda f: f["n_extranodal"] >= 2, "n_extranodal")),
    Rule(r"^car_impi_median_", "CAR-IMPI above the median cutoff", _impi_high),
    Rule(r"^car_impi_(pfs|os)_001", "CAR-IMPI (per unit)", _impi),
    Rule(r"^deauville_d30", "Deauville 4-5 at day 30", _flag(lambda f: f["deauville_d30"] >= 4, "deauville_d30"),
         "day-30 landmark; 4-5 vs 1-3 (groups in section 7)", landmark_day=30),
    Rule(r"^suvmax_d30_ge10", "SUVmax >= 10 at day 30", _flag(lambda f: f["suvmax_d30"] >= 10, "suvmax_d30"),
         "day-30 landmark", landmark_day=30),
    Rule(r"^ctdna_d28", "ctDNA detectable at day 28", _col("ctdna_d28"), "day-28 landmark", landmark_day=28),
)


def cohort_of(entry_id: str, rule: Rule) -> str | None:
    """Seed-001 entries ending in ``_dev`` / ``_val`` are estimated in that cohort; others pooled."""
    if rule.cohort is not None:
        return rule.cohort
    if entry_id.endswith("_dev"):
        return "development"
    return "validation" if entry_id.endswith("_val") else None


def rule_for(entry_id: str) -> Rule | None:
    """The first rule whose pattern matches the catalogue id, or None (not computable)."""
    for rule in RULES:
        if re.search(rule.pattern, entry_id):
            return rule
    return None
