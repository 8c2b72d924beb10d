"""SQLAlchemy 2 tables of the cartlens store.

The canonical tables (``patients``, ``labs``, ``scans``, ``lesions``, ``toxicity``, ``biomarkers``) are built
from ``cartlens.model.schema.TABLES``: one column per canonical column, an integer surrogate ``id`` (for later
foreign keys, e.g. PET results), a unique constraint on the natural key and a composite foreign key to the
parent.  ``centres`` is the access-control unit (web users will reference ``centres.name``).  ``imports``,
``import_files`` and ``audit`` record provenance; ``audit`` is append-only (database triggers, migration 0001).

The Alembic migrations in ``cartlens/store/migrations`` are the source of truth for the database; a test checks
that ``migrate()`` produces exactly this metadata, so a column added here without a migration fails CI.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase

from cartlens.model.schema import TABLES, ColumnSpec

__all__ = ["CANONICAL_TABLES", "Base", "audit", "canonical", "centres", "import_files", "imports", "metadata",
           "web_sessions", "web_user_centres", "web_users"]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; later areas (web users, PET results) add their tables to ``Base.metadata``."""

    metadata = MetaData(naming_convention=NAMING)


metadata = Base.metadata

centres = Table(
    "centres", metadata,
    Column("name", String(100), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

imports = Table(
    "imports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user", String(200), nullable=False),
    Column("reason", Text),
    Column("inserted", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("deleted", Integer, nullable=False),
)

import_files = Table(
    "import_files", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False, index=True),
    Column("file_name", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
)

audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("imports.id"), index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user", String(200), nullable=False),
    Column("action", String(10), nullable=False),           # insert / update / delete
    Column("table_name", String(50), nullable=False),
    Column("centre", String(100), index=True),
    Column("row_key", Text, nullable=False),                  # JSON of the natural key
    Column("column_name", String(100)),                       # NULL for whole-row insert / delete
    Column("old_value", Text),                                # JSON; NULL = none
    Column("new_value", Text),
    Column("reason", Text),
)

# Web-app accounts (migration 0002; used by cartlens.web.auth).  A user's centres are its access unit;
# no foreign key to ``centres`` so an account can be created before its centre's first import.
web_users = Table(
    "web_users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", DateTime),
)

web_user_centres = Table(
    "web_user_centres", metadata,
    Column("user_id", Integer, ForeignKey("web_users.id", ondelete="CASCADE"), primary_key=True),
    Column("centre", String(100), primary_key=True),
)

web_sessions = Table(
    "web_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("web_users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

_LONG_TEXT = ("image", "warning", "extranodal_sites")


def _column(spec: ColumnSpec, key: tuple[str, ...]) -> Column:
    sql_type: object
    if spec.type == "str":
        sql_type = Text() if spec.name in _LONG_TEXT else String(100 if spec.name == "centre" else 200)
    elif spec.type == "enum":
        sql_type = String(40)
    elif spec.type == "float":
        sql_type = Float(precision=53)          # DOUBLE PRECISION on PostgreSQL: float64 round-trips exactly
    elif spec.type == "int":
        sql_type = Integer()
    else:
        sql_type = Boolean()
    return Column(spec.name, sql_type, nullable=spec.name not in key and not spec.required)


def _canonical_table(name: str) -> Table:
    spec = TABLES[name]
    args: list = [Column("id", Integer, primary_key=True, autoincrement=True)]
    args += [_column(c, spec.key) for c in spec.columns]
    args.append(UniqueConstraint(*spec.key))
    if name == "patients":
        args.append(ForeignKeyConstraint(["centre"], ["centres.name"]))
    elif spec.parent is not None:
        parent, cols = spec.parent
        args.append(ForeignKeyConstraint(list(cols), [f"{parent}.{c}" for c in cols]))
    return Table(name, metadata, *args)


CANONICAL_TABLES: tuple[str, ...] = ("patients", "toxicity", "labs", "biomarkers", "scans", "lesions")
canonical: dict[str, Table] = {name: _canonical_table(name) for name in CANONICAL_TABLES}
"""Canonical tables by name, parents first."""
