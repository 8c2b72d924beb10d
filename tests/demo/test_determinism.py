"""The generator is a deterministic function of its seed (demo_cohort.md: "deterministic for a seed")."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cartlens.demo import generate


def test_same_seed_same_tables_and_truth(cohort):
    again = generate(cohort.seed)
    assert again.tables.keys() == cohort.tables.keys()
    for name, frame in cohort.tables.items():
        pd.testing.assert_frame_equal(frame, again.tables[name], obj=name)
    assert json.dumps(again.truth, sort_keys=True) == json.dumps(cohort.truth, sort_keys=True)
    assert again.data_hash() == cohort.data_hash()


def test_other_seed_other_cohort(cohort):
    other = generate(cohort.seed + 1)
    assert other.data_hash() != cohort.data_hash()
    # the same shape: six centres and the published cohort sizes
    assert other.tables["patients"].groupby("cohort").size().to_dict() == {"development": 256, "validation": 248}


def test_truth_is_json_serialisable(cohort):
    text = json.dumps(cohort.truth)
    assert '"knot_ml": 44.3' in text


def test_rejects_empty_cohort():
    with pytest.raises(ValueError, match="n_dev"):
        generate(1, n_dev=0)


def test_to_dict_and_summary(cohort):
    record = cohort.to_dict()
    assert record["seed"] == cohort.seed and record["counts"]["patients"] == 504
    assert json.loads(json.dumps(record))["data_hash"] == cohort.data_hash()
    assert cohort.summary().set_index("table").loc["toxicity", "rows"] == 504


def test_small_cohort_still_generates_and_validates():
    small = generate(3, n_dev=30, n_val=20)
    p = small.tables["patients"]
    assert len(p) == 50 and p["centre"].nunique() == 6
    assert small.truth["imaging_substudy"]["shortfall"]            # too few patients for all 41 slots
    assert generate(3).truth["imaging_substudy"]["shortfall"] == {}
    io = pytest.importorskip("cartlens.io")
    assert io.validate_tables(small.tables).ok
