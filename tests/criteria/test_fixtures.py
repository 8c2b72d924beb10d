"""Every shared response scenario (copied from shared/fixtures/response_cases) passes, every criterion and
follow-up. Expectations are written by the spec authors from response_criteria.md, not by this code."""

from __future__ import annotations

import pytest

from cartlens.criteria import ResponseOptions, assess

from .helpers import FIXTURES, frames, load_case

CASES = sorted(FIXTURES.glob("C*.json"))


def test_fixture_directory_is_complete() -> None:
    assert len(CASES) >= 26


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture(path) -> None:
    case = load_case(path)
    scans, lesions = frames(case)
    out = assess(scans, lesions, options=ResponseOptions.from_mapping(case.get("options") or {}))
    for scan_id, per_criterion in case["expected"].items():
        for criterion, expected in per_criterion.items():
            row = out[(out.scan_id == scan_id) & (out.criterion == criterion)]
            assert len(row) == 1, (scan_id, criterion)
            got = (row.iloc[0].category, sorted(row.iloc[0].reasons))
            assert got == (expected["category"], sorted(expected["reasons"])), \
                f"{case['id']} {scan_id} {criterion}: {case['title']}"
