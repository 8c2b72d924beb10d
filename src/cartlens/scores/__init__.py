"""Prognostic scores and toxicity grading (pure functions; spec ``scores.md``, ``inflamix.md``).

Public API
----------
compute(name, inputs, **config) -> ScoreResult
    One score for one patient (inputs: numbers in canonical units, or strings with units).
SCORES
    Registry name -> ScoreSpec (inputs with canonical units, citation, unverified flag).
score_patients(tables) -> DataFrame
    Every computable score for every patient of a cohort (canonical tables).
scores_by_cohort(scores, patients, by="cohort") -> DataFrame
    Per cohort and score: n computable, median (Q1, Q3), group counts (for the report's scores section).
CarImpi, CarImpiCutoffs
    CAR-IMPI linear predictor, configured (``CarImpi.from_toml``) or fitted (``CarImpi(coefficients=...)``).
InflaMixModel, load_inflamix_model
    InflaMix model from the user's ``model.RData`` or from arrays.
"""

from __future__ import annotations

from cartlens.scores.car_impi import CarImpi, CarImpiCutoffs, CoefficientsNotConfigured, group_car_impi
from cartlens.scores.cohort import score_patient_results, score_patients, scores_by_cohort
from cartlens.scores.common import ScoreInputError, ScoreResult, ScoreSpec
from cartlens.scores.inflamix import InflaMixModel, load_inflamix_model, model_from_arrays
from cartlens.scores.registry import SCORES, canonical_name, compute

__all__ = [
    "SCORES",
    "CarImpi",
    "CarImpiCutoffs",
    "CoefficientsNotConfigured",
    "InflaMixModel",
    "ScoreInputError",
    "ScoreResult",
    "ScoreSpec",
    "canonical_name",
    "compute",
    "group_car_impi",
    "load_inflamix_model",
    "model_from_arrays",
    "score_patient_results",
    "score_patients",
    "scores_by_cohort",
]
