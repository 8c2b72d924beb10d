"""Shared loader for the R reference fixtures of the survival core (tests/reference/survival_*.json)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

REF_DIR = Path(__file__).resolve().parents[1] / "reference"


@cache
def load(name: str) -> dict[str, Any]:
    """One fixture written by the committed R script of the same stem."""
    return json.loads((REF_DIR / f"{name}.json").read_text())


def arr(values: list[Any]) -> np.ndarray:
    """JSON list -> float array, null -> nan."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def why(ref: dict[str, Any]) -> str:
    return f"R {ref['r_version']}, survival {ref['survival']}"
