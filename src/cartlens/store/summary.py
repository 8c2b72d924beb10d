"""The result of an import into the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["ImportSummary"]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one import changed.

    Attributes
    ----------
    import_id : int or None
        Row of the ``imports`` table; None when nothing changed (nothing is written) or for a dry run.
    inserted, updated, deleted, unchanged : dict of str to int
        Rows per table.
    source_hashes : dict of str to str
        SHA-256 of each source file.
    dry_run : bool
        True when the changes were computed and rolled back.
    """

    import_id: int | None
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    source_hashes: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        """True when any row was inserted, updated or deleted."""
        return any(self.inserted.values()) or any(self.updated.values()) or any(self.deleted.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (keys: import_id, changed, dry_run, inserted, updated, deleted, unchanged,
        source_hashes)."""
        return {"import_id": self.import_id, "changed": self.changed, "dry_run": self.dry_run,
                "inserted": dict(self.inserted), "updated": dict(self.updated), "deleted": dict(self.deleted),
                "unchanged": dict(self.unchanged), "source_hashes": dict(self.source_hashes)}

    def summary(self) -> pd.DataFrame:
        """Rows per table and action, for people."""
        tables = sorted(set(self.inserted) | set(self.updated) | set(self.deleted) | set(self.unchanged))
        return pd.DataFrame({
            "table": tables,
            "inserted": [self.inserted.get(t, 0) for t in tables],
            "updated": [self.updated.get(t, 0) for t in tables],
            "deleted": [self.deleted.get(t, 0) for t in tables],
            "unchanged": [self.unchanged.get(t, 0) for t in tables],
        })
