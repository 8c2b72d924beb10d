"""Row-level difference between stored and incoming canonical tables (pure pandas; used by ``Store``).

Rows are matched on the table's natural key (``cartlens.model.schema``).  Values are compared exactly (floats
as float64, missing == missing), which is what makes re-import a no-op and a corrected file touch only the
rows that changed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cartlens.model.schema import TABLES

__all__ = ["TableDiff", "diff_table", "python_value", "records", "to_json"]


@dataclass(frozen=True)
class TableDiff:
    """What importing ``new`` over ``old`` changes in one table.

    ``inserted``: new rows (canonical columns).  ``deleted``: old rows to remove (with ``id``).
    ``updated``: new values of changed rows (with ``id``).  ``changes``: one dict per changed cell
    (``id``, key values, ``column``, ``old``, ``new``).
    """

    table: str
    inserted: pd.DataFrame
    deleted: pd.DataFrame
    updated: pd.DataFrame
    changes: list[dict[str, Any]]
    unchanged: int

    @property
    def empty(self) -> bool:
        """True when nothing changes."""
        return self.inserted.empty and self.deleted.empty and self.updated.empty


def python_value(value: Any) -> Any:
    """numpy / pandas scalar -> plain Python; NaN / NA / None -> None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def to_json(value: Any) -> str | None:
    """JSON text of a cell for the audit table (None stays NULL); floats keep their full repr."""
    value = python_value(value)
    return None if value is None else json.dumps(value)


def records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values, for executemany."""
    cells = []
    for c in columns:
        series = frame[c].astype(object)
        cells.append(series.where(frame[c].notna(), None).tolist())   # plain Python scalars, None = missing
    return [dict(zip(columns, row)) for row in zip(*cells)]


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    a_na, b_na = a.isna().to_numpy(), b.isna().to_numpy()
    av, bv = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    equal = np.fromiter((x == y if not (xn or yn) else False for x, y, xn, yn in zip(av, bv, a_na, b_na)),
                        dtype=bool, count=len(av))
    return equal | (a_na & b_na)


def diff_table(name: str, old: pd.DataFrame, new: pd.DataFrame) -> TableDiff:
    """Compare stored rows ``old`` (canonical columns + ``id``) with incoming rows ``new`` (canonical columns).

    ``old`` must already be limited to the scope of the import (the batch's patients).
    """
    spec = TABLES[name]
    key = list(spec.key)
    values = [c for c in spec.column_names if c not in key]
    merged = old.merge(new, on=key, how="outer", suffixes=("_old", ""), indicator=True)
    inserted = merged.loc[merged["_merge"] == "right_only", spec.column_names].reset_index(drop=True)
    deleted_mask = merged["_merge"] == "left_only"
    deleted = merged.loc[deleted_mask, ["id", *key] + [f"{c}_old" for c in values]]
    deleted = deleted.rename(columns={f"{c}_old": c for c in values}).reset_index(drop=True)
    both = merged[merged["_merge"] == "both"].reset_index(drop=True)
    changed = np.zeros(len(both), dtype=bool)
    changes: list[dict[str, Any]] = []
    for column in values:
        differs = ~_same(both[f"{column}_old"], both[column])
        changed |= differs
        for pos in np.flatnonzero(differs):
            row = both.iloc[pos]
            changes.append({"id": int(row["id"]), "key": {k: python_value(row[k]) for k in key},
                            "column": column, "old": row[f"{column}_old"], "new": row[column]})
    updated = both.loc[changed, ["id", *spec.column_names]].reset_index(drop=True)
    return TableDiff(name, inserted, deleted, updated, changes, int((~changed).sum()))
