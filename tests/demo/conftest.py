"""Shared fixtures of the demo-cohort tests: the default cohort is generated once per session."""

from __future__ import annotations

import pytest

from cartlens.demo import DEFAULT_SEED, generate


@pytest.fixture(scope="session")
def cohort():
    """The demo cohort of the default seed (504 patients)."""
    return generate(DEFAULT_SEED)
