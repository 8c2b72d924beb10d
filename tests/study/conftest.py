"""Shared fixture: the study pipeline run once on a small seeded synthetic cohort (about 20-40 s).

The cohort is ``cartlens.demo.generate(11, n_dev=160, n_val=80)`` (the imaging sub-study needs about 150
development patients), validated and unit-converted by ``cartlens.io.validate_tables``, stored in SQLite and loaded back (the path
of ``cartlens demo``).
The plan is the demo plan with 20 bootstrap replicates, PNG-only figures (SVG is checked in test_plan.py) and
without the failure engine's lesion-level GEE/GLMM fits (seconds each; tested in tests/failure).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from cartlens.demo import generate
from cartlens.io import validate_tables
from cartlens.store import Store, sqlite_url
from cartlens.study.config import plan_from_dict
from cartlens.study.pipeline import StudyResult, demo_plan, run_study

SEED = 11


@dataclass(frozen=True)
class SmallRun:
    tables: dict[str, pd.DataFrame]
    truth: dict
    result: StudyResult
    out: Path


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> SmallRun:
    cohort = generate(SEED, n_dev=160, n_val=80)
    batch = validate_tables(cohort.tables)
    batch.raise_for_errors()
    store = Store(sqlite_url(tmp_path_factory.mktemp("db") / "study.db"))
    store.migrate()
    store.import_batch(batch, user="pytest", reason="study tests")
    tables = store.load_tables()        # as cartlens demo passes them: loaded back from the store
    base = demo_plan(SEED).model_dump(mode="json", exclude={"base_dir"})
    plan = plan_from_dict({**base, "study": {**base["study"], "svg": False}, "car_impi": {"bootstrap": 20},
                           "failure": {"models": False}})
    out = tmp_path_factory.mktemp("study")
    result = run_study(plan, out_dir=out, tables=tables, truth=cohort.truth, progress=False)
    return SmallRun(tables=tables, truth=cohort.truth, result=result, out=out)
