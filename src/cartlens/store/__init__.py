"""The cartlens store: SQLAlchemy 2 + Alembic, SQLite by default, any SQLAlchemy URL (PostgreSQL tested).

Public API
----------
Store(url)                      .migrate(), .import_batch(batch, *, user, reason), .load_tables(centres),
                                .audit_log(centres), .imports(), .patients_count(), .centres()
sqlite_url(path) -> str
ImportSummary                   what an import changed (``to_dict()``, ``summary()``)

Import semantics (spec web_and_security.md "Reliability"; docs/data_model.md):

* One transaction: all or nothing.  An invalid batch (``not batch.ok``) raises ``InputError`` before the
  database is touched.
* Scope: the patients of the batch.  For every table present in the batch, the stored rows of those patients
  are made equal to the batch: new rows inserted, changed cells updated, rows missing from the file deleted
  (lesions of a deleted scan go with it).  Other patients and tables absent from the batch are not touched.
* Idempotent: importing the same content again changes nothing and writes nothing (not even an import record).
* Every change is written to the append-only ``audit`` table (who, when, table, key, column, old -> new, why);
  the SHA-256 of each source file is recorded in ``import_files``.

Centre scoping: :meth:`Store.load_tables` and :meth:`Store.audit_log` take ``centres`` and return only those
centres' rows; web code must pass the user's centres (this is the single place the filter is applied).
"""

from __future__ import annotations

from cartlens.store.engine import Store, sqlite_url
from cartlens.store.summary import ImportSummary

__all__ = ["ImportSummary", "Store", "sqlite_url"]

