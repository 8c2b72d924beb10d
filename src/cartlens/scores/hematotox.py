"""CAR-HEMATOTOX (HT score) before lymphodepletion.

Source: Rejeski K, Perez A, Sesques P et al., "CAR-HEMATOTOX: a model for CAR T-cell-related hematologic
toxicity in relapsed/refractory large B-cell lymphoma", Blood 2021;138(24):2499-2513,
doi:10.1182/blood.2020010543. Point table and equality conventions: spec ``scores.md`` §7 (SECONDARY),
confirmed threshold by threshold against the developer group's R code (``Linus-byte/Dynamic-Hematotox``,
``survival_analysis_mice_imputation.R``, ``calculate_hematotox``, commit 3b8f6b77).

=========================  ========  ===================================  ==========
item (canonical unit)      0 points  1 point                              2 points
=========================  ========  ===================================  ==========
platelets (10^9/L)         > 175     75-175 (both ends inclusive)         < 75
ANC (10^9/L)               > 1.2     <= 1.2                               -
hemoglobin (g/dL)          > 9.0     <= 9.0                               -
CRP (mg/dL)                < 3.0     >= 3.0                               -
ferritin (ng/mL)           < 650     650-2000 (both ends inclusive)       > 2000
=========================  ========  ===================================  ==========

Score 0-7; HT-low 0-1, HT-high >= 2 (CONFIRMED; also in myeloma, J Hematol Oncol 2023). The CAR-IMPI
study (Winkelmann 2025, seed 001) split at >= 3 instead: pass ``high_cutoff=3`` for that analysis.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cartlens.scores.common import InputSpec, ScoreResult, exact, not_computable

SOURCE = ("Rejeski K et al., Blood 2021;138(24):2499-2513 (CAR-HEMATOTOX); equality conventions from the "
          "developer group's code (Linus-byte/Dynamic-Hematotox@3b8f6b77); scores.md §7")
DEFAULT_HIGH_CUTOFF = 2  # HT-high: score >= 2 (scores.md §7)

INPUTS = (
    InputSpec("anc", "lab", "absolute neutrophil count", unit="10^9/L", analyte="anc"),
    InputSpec("hb", "lab", "hemoglobin", unit="g/dL", analyte="hb"),
    InputSpec("plt", "lab", "platelet count", unit="10^9/L", analyte="plt"),
    InputSpec("crp", "lab", "C-reactive protein", unit="mg/dL", analyte="crp"),
    InputSpec("ferritin", "lab", "serum ferritin", unit="ng/mL", analyte="ferritin"),
)

T_PLT_HIGH, T_PLT_LOW = Decimal(175), Decimal(75)
T_ANC = Decimal("1.2")
T_HB = Decimal("9.0")
T_CRP = Decimal("3.0")
T_FERRITIN_LOW, T_FERRITIN_HIGH = Decimal(650), Decimal(2000)


def hematotox_points(plt: Decimal, anc: Decimal, hb: Decimal, crp: Decimal, ferritin: Decimal) -> dict[str, int]:
    """Per-item points in canonical units (see the module table; scores.md §7).

    Values are rounded to 12 significant digits first (:func:`~cartlens.scores.common.exact`), so a value carrying
    float noise from a unit conversion (7 g/L x 0.1 = 0.7000000000000001 g/dL) still lands on its threshold.
    """
    plt, anc, hb, crp, ferritin = (exact(v) for v in (plt, anc, hb, crp, ferritin))
    return {
        "plt": 0 if plt > T_PLT_HIGH else 1 if plt >= T_PLT_LOW else 2,
        "anc": int(anc <= T_ANC),
        "hb": int(hb <= T_HB),
        "crp": int(crp >= T_CRP),
        "ferritin": 0 if ferritin < T_FERRITIN_LOW else 1 if ferritin <= T_FERRITIN_HIGH else 2,
    }


def car_hematotox(values: dict[str, Any], missing: list[str], messages: list[str], *,
                  high_cutoff: int = DEFAULT_HIGH_CUTOFF, **_: Any) -> ScoreResult:
    """CAR-HEMATOTOX score 0-7 with group HT-low / HT-high.

    Parameters
    ----------
    values : dict
        ``anc``, ``plt`` (10^9/L), ``hb`` (g/dL), ``crp`` (mg/dL), ``ferritin`` (ng/mL), as Decimals.
    high_cutoff : int, default 2
        HT-high when score >= ``high_cutoff`` (2 as published; 3 in the CAR-IMPI study).
    """
    if missing:
        return not_computable("car-hematotox", missing, source=SOURCE, messages=messages)
    points = hematotox_points(values["plt"], values["anc"], values["hb"], values["crp"], values["ferritin"])
    total = sum(points.values())
    group = "HT-high" if total >= high_cutoff else "HT-low"
    return ScoreResult("car-hematotox", True, total, group, points, tuple(messages), SOURCE,
                       extra={"high_cutoff": high_cutoff})
