"""``cartlens failure DATA_DIR``: patterns of failure after CAR-T (spec cli.md, "Patterns of failure").

Reads and validates the data directory (``cartlens.io.read_data_dir``), runs
:func:`cartlens.failure.analyse` and prints the JSON of cli.md (``--format json``) or the §2.6
tables. Optional CSVs: ``--overrides`` (reader overrides: patient_id, lesion_id, field, value,
…) and ``--later-therapy`` (patient_id, centre, day, type, lesion_id) for censoring.
Exit status: 0 success, 2 invalid input (errors on stderr as ``file:row:column: message``),
1 anything else (one line, no traceback).
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

__all__ = ["register"]


class Format(str, Enum):
    table = "table"
    json = "json"


class Criterion(str, Enum):
    lugano = "lugano"
    cheson2007 = "cheson2007"
    recil = "recil"
    lyric = "lyric"


def _csv(path: Path | None, what: str) -> pd.DataFrame | None:
    if path is None:
        return None
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        typer.echo(f"{path.name}:0:-: cannot read {what}: {exc}", err=True)
        raise typer.Exit(2) from None


def failure_command(
    data_dir: Annotated[Path, typer.Argument(help="Data directory with patients, scans and lesions tables.")],
    criterion: Annotated[Criterion, typer.Option("--criterion", help="Response criterion that decides PD.")]
    = Criterion.lugano,
    margin_mm: Annotated[float, typer.Option("--margin-mm", min=0.0, help="ADJACENT margin, mm.")] = 10.0,
    overrides: Annotated[Path | None, typer.Option("--overrides", exists=True, dir_okay=False,
                                                   help="CSV of reader overrides.")] = None,
    later_therapy: Annotated[Path | None, typer.Option("--later-therapy", exists=True, dir_okay=False,
                                                       help="CSV of later therapies (censoring).")] = None,
    allow_extra: Annotated[bool, typer.Option("--allow-extra", help="Unknown columns: warn, do not fail.")] = False,
    fmt: Annotated[Format, typer.Option("--format", help="json (cli.md contract) or table.")] = Format.table,
) -> None:
    """Local vs de novo failure at first progression, and lesion-level risk of local failure."""
    from cartlens.failure import analyse
    from cartlens.io import read_data_dir

    batch = read_data_dir(data_dir, allow_extra=allow_extra)
    if not batch.ok:
        for issue in batch.errors:
            typer.echo(str(issue), err=True)
        raise typer.Exit(2)
    tables = dict(batch.tables)
    therapy = _csv(later_therapy, "later therapy")
    if therapy is not None:
        tables["later_therapy"] = therapy
    try:
        res = analyse(tables, criterion=criterion.value, margin_mm=margin_mm, overrides=_csv(overrides, "overrides"))
    except ValueError as exc:                 # FailureInputError, the engine's ResponseInputError, bad options
        for line in getattr(exc, "problems", None) or [f"failure: {exc}"]:
            typer.echo(line, err=True)
        raise typer.Exit(2) from None
    if fmt is Format.json:
        typer.echo(json.dumps(res.to_dict(), allow_nan=False))
        return
    for name, frame in res.tables().items():
        if name in ("pattern", "lesions", "model"):
            typer.echo(f"\n== {name} ==")
            typer.echo(frame.drop(columns=[c for c in ("or", "or_lower", "or_upper", "p_value") if c in frame],
                                  errors="ignore").to_string(index=False))
    for msg in (*res.messages, *res.models.get("messages", [])):
        typer.echo(f"note: {msg}", err=True)


def register(app: typer.Typer) -> None:
    """Attach ``cartlens failure`` to the root app."""
    app.command("failure")(failure_command)
