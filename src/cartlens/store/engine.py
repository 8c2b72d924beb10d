"""``Store``: migrations, atomic idempotent import with audit, centre-scoped loading (see package docstring)."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, bindparam, create_engine, event, func, insert, select, text

from cartlens.io.batch import ImportBatch
from cartlens.model.schema import TABLES, cast_table, empty_table
from cartlens.store.diff import TableDiff, diff_table, records, to_json
from cartlens.store.models import CANONICAL_TABLES, audit, canonical, centres, import_files, imports
from cartlens.store.summary import ImportSummary

__all__ = ["Store", "StoreError", "sqlite_url"]

MIGRATIONS = Path(__file__).parent / "migrations"
_IMPORT_LOCK = 0x6361_7274    # PostgreSQL advisory lock key serialising imports ("cart")
_CHUNK = 500


class StoreError(RuntimeError):
    """The database cannot be used as asked (not migrated, wrong revision)."""


def sqlite_url(path: str | Path) -> str:
    """SQLAlchemy URL of a SQLite file (absolute path), e.g. ``sqlite:////home/me/demo/cartlens.db``."""
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")       # SQLite ignores foreign keys unless asked
    cursor.close()


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(url: str) -> Engine:
    """One engine (connection pool) per URL per process, so ``Store(url)`` is cheap to create per request."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = create_engine(url)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            _ENGINES[url] = engine
        return engine


@functools.cache
def _head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


class Store:
    """A cartlens database at a SQLAlchemy URL.

    Parameters
    ----------
    url : str
        Any SQLAlchemy URL: ``sqlite_url("cartlens.db")`` (default store),
        ``postgresql+psycopg://user@host/db`` ...
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = _engine(url)

    # ----------------------------------------------------------------------------------------------- schema
    def migrate(self) -> None:
        """Bring the schema to the newest revision (``alembic upgrade head``); safe to call every time."""
        with self.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")

    def revision(self) -> str | None:
        """The database's Alembic revision (None when never migrated)."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def _require_head(self, conn: Connection) -> None:
        head = _head_revision()
        current = MigrationContext.configure(conn).get_current_revision()
        if current != head:
            raise StoreError(f"database schema is at revision {current!r}, cartlens needs {head!r}; "
                             "run Store.migrate() (the CLI does this on import)")

    def dispose(self) -> None:
        """Close pooled connections (the engine is shared by every ``Store`` of this URL and reopens on use)."""
        self.engine.dispose()

    # ----------------------------------------------------------------------------------------------- import
    def import_batch(self, batch: ImportBatch, *, user: str = "cli", reason: str | None = None,
                     dry_run: bool = False) -> ImportSummary:
        """Store a validated batch in one transaction (all-or-nothing, idempotent, audited).

        Parameters
        ----------
        batch : ImportBatch
            From ``cartlens.io``; must be ``ok`` and contain ``patients``.
        user : str
            Who imports (written to ``imports`` and ``audit``).
        reason : str, optional
            Why (e.g. "corrected lesion sizes after central review"); written with every audit row.
        dry_run : bool
            Compute what would change, then roll back.

        Raises
        ------
        cartlens.io.InputError
            The batch has validation errors (nothing is touched).
        StoreError
            The database is not migrated to the current revision.
        """
        batch.raise_for_errors()
        if "patients" not in batch.tables:
            raise ValueError("an import batch needs the patients table")
        new = {name: cast_table(name, batch.tables[name]) for name in CANONICAL_TABLES if name in batch.tables}
        patients = new["patients"]
        scope = set(zip(patients["centre"], patients["patient_id"]))
        centre_names = sorted({c for c, _ in scope})
        with self.engine.connect() as conn, conn.begin() as trans:
            self._require_head(conn)
            if conn.dialect.name == "postgresql":      # one import at a time: the diff must see committed rows
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IMPORT_LOCK})
            diffs = {name: diff_table(name, self._scoped(conn, name, centre_names, scope), frame)
                     for name, frame in new.items()}
            orphans = self._orphan_lesions(conn, diffs, centre_names)
            summary = self._summary(diffs, orphans, batch.source_hashes, dry_run)
            if not summary.changed:
                return summary
            import_id = self._write(conn, diffs, orphans, batch, user, reason, summary)
            if dry_run:
                trans.rollback()
                return summary
        return ImportSummary(import_id, summary.inserted, summary.updated, summary.deleted, summary.unchanged,
                             summary.source_hashes)

    def _scoped(self, conn: Connection, name: str, centre_names: list[str], scope: set[tuple]) -> pd.DataFrame:
        frame = self._select(conn, name, centre_names, with_id=True)
        if frame.empty:
            return frame
        keep = [pair in scope for pair in zip(frame["centre"], frame["patient_id"])]
        return frame[keep].reset_index(drop=True)

    def _select(self, conn: Connection, name: str, centre_names: Iterable[str] | None, *,
                with_id: bool = False, patient_ids: list[str] | None = None) -> pd.DataFrame:
        table = canonical[name]
        cols = TABLES[name].column_names
        query = select(*(table.c[c] for c in (["id"] if with_id else []) + cols))
        if centre_names is not None:
            query = query.where(table.c.centre.in_(list(centre_names)))
        if patient_ids is not None:
            query = query.where(table.c.patient_id.in_(patient_ids))
        result = conn.execute(query)
        frame = pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))
        if frame.empty:
            frame = empty_table(name)
            return frame.assign(id=pd.Series([], dtype="int64")) if with_id else frame
        typed = cast_table(name, frame)
        if with_id:
            ids = frame.set_index(list(TABLES[name].key))["id"]
            typed = typed.join(ids, on=list(TABLES[name].key))
        return typed

    def _orphan_lesions(self, conn: Connection, diffs: dict[str, TableDiff], centre_names: list[str]
                        ) -> pd.DataFrame:
        """Stored lesions of scans deleted by this import when the batch has no lesions table."""
        if "lesions" in diffs or "scans" not in diffs or diffs["scans"].deleted.empty:
            return pd.DataFrame()
        gone = set(map(tuple, diffs["scans"].deleted[["centre", "patient_id", "scan_id"]].itertuples(index=False)))
        lesions = self._select(conn, "lesions", centre_names, with_id=True)
        keep = [k in gone for k in zip(lesions["centre"], lesions["patient_id"], lesions["scan_id"])]
        return lesions[keep].reset_index(drop=True)

    @staticmethod
    def _summary(diffs: dict[str, TableDiff], orphans: pd.DataFrame, hashes: dict[str, str],
                 dry_run: bool) -> ImportSummary:
        deleted = {n: len(d.deleted) for n, d in diffs.items()}
        if len(orphans):
            deleted["lesions"] = len(orphans)
        return ImportSummary(None, {n: len(d.inserted) for n, d in diffs.items()},
                             {n: len(d.updated) for n, d in diffs.items()}, deleted,
                             {n: d.unchanged for n, d in diffs.items()}, dict(hashes), dry_run)

    def _write(self, conn: Connection, diffs: dict[str, TableDiff], orphans: pd.DataFrame, batch: ImportBatch,
               user: str, reason: str | None, summary: ImportSummary) -> int:
        now = datetime.now(UTC)
        key = conn.execute(insert(imports).values(
            at=now, user=user, reason=reason, inserted=sum(summary.inserted.values()),
            updated=sum(summary.updated.values()), deleted=sum(summary.deleted.values()))).inserted_primary_key
        assert key is not None
        import_id = key[0]
        if batch.source_hashes:
            conn.execute(insert(import_files), [{"import_id": import_id, "file_name": f, "sha256": h}
                                                for f, h in sorted(batch.source_hashes.items())])
        known = set(conn.execute(select(centres.c.name)).scalars())
        wanted = sorted(set(diffs["patients"].inserted["centre"]) - known)
        if wanted:
            conn.execute(insert(centres), [{"name": c, "created_at": now} for c in wanted])
        trail: list[dict[str, Any]] = []
        base = {"import_id": import_id, "at": now, "user": user, "reason": reason}
        if len(orphans):
            self._delete(conn, "lesions", orphans, base, trail)
        for name in reversed(CANONICAL_TABLES):
            if name in diffs:
                self._delete(conn, name, diffs[name].deleted, base, trail)
        for name in CANONICAL_TABLES:
            if name in diffs:
                self._update(conn, name, diffs[name], base, trail)
                self._insert(conn, name, diffs[name].inserted, base, trail)
        for start in range(0, len(trail), 5000):
            conn.execute(insert(audit), trail[start:start + 5000])
        return int(import_id)

    @staticmethod
    def _row_json(row: dict[str, Any], skip: Iterable[str]) -> str:
        return json.dumps({k: v for k, v in row.items() if k not in skip and v is not None})

    def _delete(self, conn: Connection, name: str, rows: pd.DataFrame, base: dict[str, Any],
                trail: list[dict[str, Any]]) -> None:
        if rows.empty:
            return
        key = list(TABLES[name].key)
        table = canonical[name]
        for row in records(rows, ["id", *TABLES[name].column_names]):
            trail.append({**base, "action": "delete", "table_name": name, "centre": row["centre"],
                          "row_key": json.dumps({k: row[k] for k in key}), "column_name": None,
                          "old_value": self._row_json(row, ["id", *key]), "new_value": None})
        ids = [int(i) for i in rows["id"]]
        for start in range(0, len(ids), _CHUNK):
            conn.execute(table.delete().where(table.c.id.in_(ids[start:start + _CHUNK])))

    def _update(self, conn: Connection, name: str, diff: TableDiff, base: dict[str, Any],
                trail: list[dict[str, Any]]) -> None:
        if diff.updated.empty:
            return
        for change in diff.changes:
            trail.append({**base, "action": "update", "table_name": name, "centre": change["key"]["centre"],
                          "row_key": json.dumps(change["key"]), "column_name": change["column"],
                          "old_value": to_json(change["old"]), "new_value": to_json(change["new"])})
        table = canonical[name]
        cols = [c for c in TABLES[name].column_names if c not in TABLES[name].key]
        rows = records(diff.updated, ["id", *cols])
        stmt = table.update().where(table.c.id == bindparam("_id")).values({c: bindparam(f"_{c}") for c in cols})
        conn.execute(stmt, [{"_id": r["id"], **{f"_{c}": r[c] for c in cols}} for r in rows])

    def _insert(self, conn: Connection, name: str, rows: pd.DataFrame, base: dict[str, Any],
                trail: list[dict[str, Any]]) -> None:
        if rows.empty:
            return
        key = list(TABLES[name].key)
        data = records(rows, TABLES[name].column_names)
        for row in data:
            trail.append({**base, "action": "insert", "table_name": name, "centre": row["centre"],
                          "row_key": json.dumps({k: row[k] for k in key}), "column_name": None,
                          "old_value": None, "new_value": self._row_json(row, key)})
        for start in range(0, len(data), 5000):
            conn.execute(insert(canonical[name]), data[start:start + 5000])

    # ----------------------------------------------------------------------------------------------- read
    def load_tables(self, centres: Iterable[str] | None = None, *,
                    patient_ids: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
        """All canonical tables, limited to ``centres`` when given (None = every centre).

        This is where centre scoping is enforced: web code passes the user's centres.  An empty iterable
        returns empty tables.  ``patient_ids`` further limits to those patients (within ``centres``), e.g.
        one patient page: ``load_tables([centre], patient_ids=[pid])``.  Tables have canonical columns and
        dtypes, sorted by their natural key.
        """
        wanted = None if centres is None else sorted(set(centres))
        ids = None if patient_ids is None else sorted(set(patient_ids))
        with self.engine.connect() as conn:
            self._require_head(conn)
            return {name: self._select(conn, name, wanted, patient_ids=ids) for name in TABLES}

    def audit_log(self, centres: Iterable[str] | None = None) -> pd.DataFrame:
        """The audit table (oldest first), limited to rows of ``centres`` when given."""
        query = select(audit).order_by(audit.c.id)
        if centres is not None:
            query = query.where(audit.c.centre.in_(sorted(set(centres))))
        with self.engine.connect() as conn:
            result = conn.execute(query)
            return pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))

    def imports(self) -> pd.DataFrame:
        """One row per import that changed something, with its source files and SHA-256 hashes."""
        query = (select(imports, import_files.c.file_name, import_files.c.sha256)
                 .join(import_files, import_files.c.import_id == imports.c.id, isouter=True)
                 .order_by(imports.c.id, import_files.c.file_name))
        with self.engine.connect() as conn:
            result = conn.execute(query)
            return pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()))

    def patients_count(self, centres: Iterable[str] | None = None) -> int:
        """Number of stored patients (of ``centres`` when given)."""
        table = canonical["patients"]
        query = select(func.count()).select_from(table)
        if centres is not None:
            query = query.where(table.c.centre.in_(sorted(set(centres))))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def centres(self) -> list[str]:
        """Names of the centres with stored data."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(centres.c.name).order_by(centres.c.name)).scalars())

