"""Tables of the web app: users, their centres, server-side sessions.

They live in the same database as the study data; the Alembic migration that creates them belongs to the
store's migration chain (``cartlens.store``).  ``WEB_METADATA`` is kept separate from the study tables so
that the web shell can be dropped without touching the core schema.
"""

from __future__ import annotations

import sqlalchemy as sa

WEB_METADATA = sa.MetaData()

users = sa.Table(
    "web_users",
    WEB_METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.DateTime, nullable=True),
)

user_centres = sa.Table(
    "web_user_centres",
    WEB_METADATA,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("web_users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("centre", sa.String(64), primary_key=True),
)

sessions = sa.Table(
    "web_sessions",
    WEB_METADATA,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("web_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)


def ensure_web_schema(engine: sa.Engine) -> None:
    """Create the web tables if they do not exist (idempotent)."""
    WEB_METADATA.create_all(engine, checkfirst=True)
