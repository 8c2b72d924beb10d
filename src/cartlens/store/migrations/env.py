"""Alembic environment: runs on the connection handed over by ``cartlens.store.Store.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from cartlens.store.models import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is None:  # e.g. `alembic -x url=...` from a shell; cartlens itself always passes a connection
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("pass the database URL: alembic -x url=sqlite:///cartlens.db upgrade head")
    with create_engine(url).begin() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
