"""Alembic migrations of the cartlens store, run programmatically by ``Store.migrate()``."""
