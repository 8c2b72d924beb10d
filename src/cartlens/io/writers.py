"""Write canonical tables as a data directory (CSV, XLSX or Parquet) that ``read_data_dir`` reads back
losslessly: floats in shortest round-trip form, booleans as ``true``/``false``, missing as empty cells."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from cartlens.model.schema import TABLES, cast_table

__all__ = ["write_data_dir"]


def _for_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for name in out.columns:
        if str(out[name].dtype) == "boolean":
            out[name] = out[name].map({True: "true", False: "false"}).astype(object)
    return out


def write_data_dir(tables: Mapping[str, pd.DataFrame], path: str | Path, fmt: str = "csv") -> list[Path]:
    """Write each canonical table to ``path/<table>.<fmt>``.

    Parameters
    ----------
    tables : mapping of table name to DataFrame
        Canonical tables (e.g. ``Store.load_tables()`` or ``ImportBatch.tables``); columns are put in canonical
        order and dtypes first.
    path : str or Path
        Output directory (created if needed).  Existing files of the same names are replaced.
    fmt : {"csv", "xlsx", "parquet"}

    Returns
    -------
    list of Path
        The files written.
    """
    if fmt not in ("csv", "xlsx", "parquet"):
        raise ValueError(f"fmt must be one of 'csv', 'xlsx', 'parquet', got {fmt!r}")
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for name in TABLES:
        if name not in tables:
            continue
        frame = cast_table(name, tables[name])
        target = root / f"{name}.{fmt}"
        if fmt == "csv":
            _for_text(frame).to_csv(target, index=False, lineterminator="\n")
        elif fmt == "xlsx":
            _for_text(frame).to_excel(target, index=False, engine="openpyxl")
        else:
            frame.to_parquet(target, index=False)
        written.append(target)
    return written
