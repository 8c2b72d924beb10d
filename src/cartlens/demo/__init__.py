"""cartlens.demo: the seeded synthetic demonstration cohort (spec demo_cohort.md).

``generate(seed) -> DemoCohort`` builds the canonical tables (patients, labs, scans, lesions, toxicity,
biomarkers) of six centres with a planted, documented truth (``DemoCohort.truth``).
"""

from __future__ import annotations

from cartlens.demo.generator import DEFAULT_SEED, LABEL, DemoCohort, generate, hematotox_points

__all__ = ["DEFAULT_SEED", "LABEL", "DemoCohort", "generate", "hematotox_points"]
