"""Centres and published cohort targets of the synthetic demo cohort.

The shape follows the CAR-IMPI study (Winkelmann M, Raj S, et al., Blood Cancer J 2025;15:144; spec
``seed_results.md`` section 001, Table 1): five development sites (n = 256) and one validation site (n = 248).
Centres carry neutral codes ``C1``..``C6`` (spec ``demo_cohort.md``, Shape).  Per-centre sizes are not published;
the split of the 256 development patients over C1..C5 is our choice (documented in docs/demo_cohort.md).

Reporting conventions per centre (LDH upper limit of normal, units) are invented but realistic: German and
Spanish laboratories commonly report creatinine and bilirubin in umol/L and albumin in g/L; one centre (C2)
reports CRP in mg/L and haemoglobin in g/L, as ``demo_cohort.md`` requires, so unit normalisation is exercised.
MTV segmentation: SUV >= 4.0 at LMU Munich (C4) and MSKCC (C6), 41 % of SUVmax elsewhere (seed 001, Design).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CENTRES", "COHORT_TARGETS", "MONTH_DAYS", "Centre"]

MONTH_DAYS = 30.4375
"""Days per month (365.25 / 12), used to express monthly targets in days."""


@dataclass(frozen=True, slots=True)
class Centre:
    """One treating centre of the demo cohort.

    Attributes
    ----------
    code : str
        Neutral centre code (``C1``..``C6``).
    cohort : str
        ``development`` or ``validation``.
    n : int
        Number of patients generated at this centre (with the default cohort sizes).
    ldh_uln : float
        The centre laboratory's LDH upper limit of normal, U/L.
    units : dict
        Reporting unit per analyte where it differs from the canonical unit of data_model.md.
    mtv_method : str
        ``suv4`` or ``pct41``.
    cytokines : bool
        The centre measures the 14 day-0 InflaMix-style labs (IL-6, IL-10, TNF-alpha, D-dimer, ...).
    """

    code: str
    cohort: str
    n: int
    ldh_uln: float
    units: dict[str, str] = field(default_factory=dict)
    mtv_method: str = "pct41"
    cytokines: bool = False


_EU = {"creatinine": "umol/L", "bilirubin": "umol/L", "albumin": "g/L"}

CENTRES: tuple[Centre, ...] = (
    Centre("C1", "development", 80, 222.0, {}, "pct41", cytokines=True),                  # Moffitt-like
    Centre("C2", "development", 46, 250.0, {**_EU, "crp": "mg/L", "hb": "g/L"}, "pct41"),  # Erlangen-like
    Centre("C3", "development", 38, 248.0, dict(_EU), "pct41"),                            # Regensburg-like
    Centre("C4", "development", 54, 250.0, dict(_EU), "suv4"),                             # LMU-like
    Centre("C5", "development", 38, 480.0, dict(_EU), "pct41"),                            # Vall d'Hebron-like
    Centre("C6", "validation", 248, 246.0, {}, "suv4", cytokines=True),                    # MSKCC-like
)
"""The six centres; C1..C5 sum to the development n = 256."""

# Published Table 1 (seed 001) as generation targets: medians/quartiles for continuous variables (canonical
# units), proportions for binary ones.  The tests hold their own copy taken from seed_results.md.
COHORT_TARGETS: dict[str, dict[str, Any]] = {
    "development": {
        "age": (57.0, 64.0, 70.0), "female": 0.39, "ecog_ge2": 0.14,
        "product": {"axi-cel": 0.606, "liso-cel": 0.074, "tisa-cel": 0.320},
        "prior_lines": {1: 0.18, 2: 0.40, 3: 0.25, 4: 0.10, 5: 0.07},
        "bridging": 0.75, "primary_refractory": 0.39, "prior_auto_hct": 0.23, "stage34": 0.77,
        "transformed": 0.27,
        "mtv_ml": (12.0, 68.0, 306.0), "ldh": (211.0, 275.0, 455.0), "hb": (9.3, 10.6, 11.8),
        "plt": (108.0, 165.0, 219.0), "anc": (1.70, 2.80, 4.40), "ferritin": (211.0, 447.0, 1026.0),
        "crp": (0.4, 1.3, 4.0),
        "median_pfs_months": 7.9, "median_os_months": 33.4, "median_followup_months": 27.6,
    },
    "validation": {
        "age": (56.0, 66.0, 73.0), "female": 0.36, "ecog_ge2": 0.14,
        "product": {"axi-cel": 0.524, "liso-cel": 0.206, "tisa-cel": 0.270},
        "prior_lines": {1: 0.32, 2: 0.30, 3: 0.20, 4: 0.10, 5: 0.08},
        "bridging": 0.79, "primary_refractory": 0.41, "prior_auto_hct": 0.21, "stage34": 0.70,
        "transformed": 0.37,
        "mtv_ml": (1.0, 24.0, 156.0), "ldh": (185.0, 230.0, 362.0), "hb": (9.1, 10.5, 11.9),
        "plt": (114.0, 169.0, 219.0), "anc": (2.15, 3.40, 4.80), "ferritin": (74.0, 226.0, 549.0),
        "crp": (0.4, 0.8, 3.0),
        "median_pfs_months": 7.5, "median_os_months": 34.0, "median_followup_months": 45.4,
    },
}
