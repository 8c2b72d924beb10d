"""``cartlens import`` and ``cartlens export`` (spec cli.md "Main job").

Errors go to stderr, one ``file:row:column: message`` per line; exit 2 = invalid input (nothing stored),
1 = any other failure (one line, no traceback), 0 = success.  Warnings go to stderr as
``file:row:column: warning: message`` and do not change the exit status.
"""

from __future__ import annotations

import getpass
import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from cartlens.io import ImportBatch, read_data_dir, read_redcap, read_workbook, write_data_dir
from cartlens.store import Store, sqlite_url

__all__ = ["db_url", "register"]


class OutputFormat(str, Enum):
    """Output of the command on stdout."""

    table = "table"
    json = "json"


class FileFormat(str, Enum):
    """File type of exported tables."""

    csv = "csv"
    xlsx = "xlsx"
    parquet = "parquet"


def db_url(db: str) -> str:
    """``--db`` value -> SQLAlchemy URL: a URL passes through, a plain path becomes a SQLite file URL."""
    return db if "://" in db else sqlite_url(db)


def _user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


def _read(source: Path, mapping: Path | None, allow_extra: bool, accept_suspicious: bool) -> ImportBatch:
    if mapping is not None:
        return read_redcap(source, mapping, allow_extra=allow_extra, accept_suspicious=accept_suspicious)
    if source.is_file() and source.suffix.lower() == ".xlsx":
        return read_workbook(source, allow_extra=allow_extra, accept_suspicious=accept_suspicious)
    return read_data_dir(source, allow_extra=allow_extra, accept_suspicious=accept_suspicious)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def import_command(
    data_dir: Annotated[Path, typer.Argument(help="data directory (CSV/XLSX/Parquet per table), one workbook "
                                                  "with a sheet per table, or a REDCap export with --mapping")],
    db: Annotated[str, typer.Option("--db", help="SQLAlchemy URL or a SQLite file path")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate (and show what would change); "
                                                            "store nothing")] = False,
    allow_extra: Annotated[bool, typer.Option("--allow-extra", help="ignore unknown columns (warning)")] = False,
    accept_suspicious: Annotated[bool, typer.Option(
        "--accept-suspicious", help="keep implausible lab magnitudes as warnings stored with the value")] = False,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="REDCap mapping YAML (DATA_DIR is then "
                                                                   "the REDCap CSV export)")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="why (written to the audit table)")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="stdout format")] = OutputFormat.table,
) -> None:
    """Validate, convert units and store a data directory atomically (all-or-nothing, idempotent, audited)."""
    progress = Console(stderr=True)          # spinners only on a terminal; nothing in pipes and logs
    with progress.status(f"Reading and validating {data_dir.name}"):
        batch = _read(data_dir, mapping, allow_extra, accept_suspicious)
    for warning in batch.warnings:
        typer.echo(f"{warning.file}:{warning.row}:{warning.column}: warning: {warning.message}", err=True)
    if not batch.ok:
        for error in batch.errors:
            typer.echo(str(error), err=True)
        typer.echo(f"{len(batch.errors)} error(s); nothing stored", err=True)
        raise typer.Exit(2)
    url = db_url(db)
    if dry_run and "://" not in db and not Path(db).exists():
        summary = None                      # validation only: never create a database on a dry run
    else:
        try:
            with progress.status("Storing (one transaction)"):
                store = Store(url)
                if not dry_run:
                    store.migrate()
                summary = store.import_batch(batch, user=_user(), reason=reason, dry_run=dry_run)
                store.dispose()
        except (SQLAlchemyError, RuntimeError, OSError, ImportError) as exc:
            raise _fail(f"{db}: database error: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    body = {"valid": True, "dry_run": dry_run, "tables": {n: len(t) for n, t in batch.tables.items()},
            "warnings": [str(w) for w in batch.warnings], "import": summary.to_dict() if summary else None}
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(body))
        return
    typer.echo(("valid (dry run): " if dry_run else "imported: ") +
               ", ".join(f"{n} {len(t)} rows" for n, t in batch.tables.items()))
    if summary is not None:
        typer.echo(summary.summary().to_string(index=False) if summary.changed else "no change (same content)")


def export_command(
    db: Annotated[str, typer.Option("--db", help="SQLAlchemy URL or a SQLite file path")],
    out: Annotated[Path, typer.Option("--out", help="output directory")],
    file_format: Annotated[FileFormat, typer.Option("--file-format", help="file type")] = FileFormat.csv,
    centre: Annotated[list[str] | None, typer.Option("--centre", help="only these centres (repeat)")] = None,
) -> None:
    """Write the canonical tables (import -> export -> import is lossless)."""
    if "://" not in db and not Path(db).is_file():
        raise _fail(f"{db}: no such database file", 2)
    try:
        store = Store(db_url(db))
        tables = store.load_tables(centre or None)
        store.dispose()
    except (SQLAlchemyError, RuntimeError, ImportError) as exc:
        raise _fail(f"{db}: database error: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    try:
        written = write_data_dir(tables, out, fmt=file_format.value)
    except OSError as exc:
        raise _fail(f"{out}: cannot write: {exc.strerror}") from None
    typer.echo(f"wrote {len(written)} tables to {out}: " +
               ", ".join(f"{p.name} ({len(tables[p.stem])} rows)" for p in written))


def register(app: typer.Typer) -> None:
    """Attach ``import`` and ``export`` to the root app."""
    app.command("import")(import_command)
    app.command("export")(export_command)
