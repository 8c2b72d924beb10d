"""Aalen-Johansen cumulative incidence against R survival (multi-state survfit)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cartlens.failure.cif import cumulative_incidence

REF = json.loads((Path(__file__).parents[1] / "reference" / "cif_reference.json").read_text())


@pytest.mark.parametrize(("cause", "key"), [(1, "cif1"), (2, "cif2")])
def test_cif_matches_r_survfit_multistate(cause: int, key: str) -> None:
    _, _, at = cumulative_incidence(REF["time"], np.asarray(REF["status"]), cause=cause, times=REF["times"])
    assert at.tolist() == pytest.approx(REF[key], abs=1e-12), f"R {REF['r_version']}: {REF['call']}"


def test_cif_by_hand_with_a_competing_death() -> None:
    """4 lesions: failure at 10, death at 20, failure at 30, censored at 40.
    S(10-) = 1 -> CIF1(10) = 1/4; S(20-) = 3/4, death -> S = 3/4 * 2/3 = 1/2; CIF1(30) = 1/4 + 1/2 * 1/2 = 1/2."""
    _, _, at = cumulative_incidence([10, 20, 30, 40], np.array([1, 2, 1, 0]), times=[5, 10, 25, 30, 50])
    assert at.tolist() == pytest.approx([0.0, 0.25, 0.25, 0.5, 0.5])


def test_cif_rejects_negative_status() -> None:
    with pytest.raises(ValueError, match="status must be integers >= 0"):
        cumulative_incidence([1.0], np.array([-1]))


def test_lesion_cif_codes_death_as_competing() -> None:
    """Two patients, one lesion each: P1's lesion fails at day 90; P2 dies at day 120 without failure.
    CIF of local failure: 1/2 from day 90 (S(90-) = 1, one of two at risk)."""
    from failure_builders import les, scan, tables

    from cartlens.failure import analyse

    s, rows = [], []
    for pid, ds90 in (("P1", "5"), ("P2", "2")):
        s += [scan(pid, "BL", -5), scan(pid, "FU1", 30), scan(pid, "FU2", 90)]
        rows += [les(pid, "BL", "A", "axillary", ldi=3.0, sdi=2.0, ds="5", suv=12),
                 les(pid, "FU1", "A", "axillary", state="too_small", ds="2"),
                 les(pid, "FU2", "A", "axillary", state="too_small", ds=ds90)]
    pts = [{"patient_id": "P1", "centre": "C1", "os_days": 400, "os_event": 0},
           {"patient_id": "P2", "centre": "C1", "os_days": 120, "os_event": 1}]
    res = analyse(tables(s, rows, pts))
    cif = res.models["cif_local_failure"]["all"]
    assert cif["at"] == {"90": 0.5, "180": 0.5, "365": 0.5} and cif["events"] == 1
    assert "cumulative_incidence" in res.tables()
