"""Property: any valid canonical table survives write -> read unchanged (CSV, XLSX, Parquet)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartlens.io import read_data_dir, validate_tables, write_data_dir
from cartlens.io.columns import MISSING_TOKENS
from cartlens.model.schema import TABLES

ids = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-_", min_size=1, max_size=8).filter(
    lambda s: s not in MISSING_TOKENS and s.upper() not in MISSING_TOKENS)
floats = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


def _enum(column: str, table: str = "patients") -> st.SearchStrategy:
    return st.none() | st.sampled_from(TABLES[table].by_name[column].values)


@st.composite
def patients_table(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=6))
    keys = draw(st.lists(st.tuples(st.sampled_from(["A", "B", "ctr 3"]), ids), min_size=n, max_size=n,
                         unique=True))
    rows = []
    for centre, pid in keys:
        pfs = draw(st.none() | floats)
        mtv = draw(st.none() | floats)
        rows.append({
            "patient_id": pid, "centre": centre,
            "age": draw(st.floats(min_value=18, max_value=100, allow_nan=False)),
            "stage": draw(st.integers(1, 4)), "sex": draw(_enum("sex")), "histology": draw(_enum("histology")),
            "ecog": draw(st.none() | st.integers(0, 4)),
            "extranodal_sites": draw(st.none() | st.sampled_from(["liver", "liver;bone_marrow", "spleen"])),
            "prior_auto_hct": draw(st.none() | st.booleans()), "mtv_ml": mtv,
            "mtv_method": None if mtv is None else draw(st.sampled_from(["suv4", "pct41"])),
            "pfs_days": pfs, "pfs_event": None if pfs is None else draw(st.integers(0, 1)),
        })
    return pd.DataFrame(rows)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients=patients_table(), fmt=st.sampled_from(["csv", "xlsx", "parquet"]))
def test_valid_tables_round_trip_through_files(patients: pd.DataFrame, fmt: str) -> None:
    batch = validate_tables({"patients": patients})
    assert batch.ok, [str(e) for e in batch.errors]
    with tempfile.TemporaryDirectory() as tmp:
        write_data_dir(batch.tables, Path(tmp), fmt=fmt)
        again = read_data_dir(tmp)
    assert again.ok, [str(e) for e in again.errors]
    pd.testing.assert_frame_equal(again.tables["patients"], batch.tables["patients"])
