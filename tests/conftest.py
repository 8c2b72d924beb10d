"""Shared pytest configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Third-party reference data (never committed): ../shared/data relative to the repository root.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Directory of third-party reference data; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"third-party reference data not present at ../shared/data (see docs)")
    return SHARED_DATA
