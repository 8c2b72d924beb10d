"""``cartlens response DATA_DIR``: time-point response under Lugano 2014, Cheson 2007, RECIL and LYRIC.

Reads and validates the data directory (``cartlens.io.read_data_dir``), runs
:func:`cartlens.criteria.assess` and prints one JSON object per (patient, follow-up scan, criterion)
with the keys of spec cli.md (``--format json``), a CSV (``--format csv``; lists joined with ``;``) or a
table. Exit status: 0 success, 2 invalid input (``file:row:column: message`` on stderr), 1 other failure.
"""

from __future__ import annotations

import json
import math
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

__all__ = ["register", "rows_to_json"]

PATIENTS_REQUIRED = "the patients table is required"


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _fail(lines: list[str] | tuple[str, ...], code: int) -> None:
    for line in lines:
        typer.echo(str(line), err=True)
    raise typer.Exit(code)


def _tables(data_dir: Path, allow_extra: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """scans and lesions from the validated import. A data directory without ``patients`` is accepted
    for this command (only scans and lesions are needed) when that is its only problem."""
    from cartlens.io import read_data_dir

    batch = read_data_dir(data_dir, allow_extra=allow_extra)
    errors = [e for e in batch.errors if PATIENTS_REQUIRED not in e.message]
    if errors:
        _fail([str(e) for e in errors], 2)
    missing = [t for t in ("scans", "lesions") if t not in batch.tables]
    if missing:
        _fail([f"{t}.csv:0:-: the {t} table is required by cartlens response" for t in missing], 2)
    return batch.tables["scans"], batch.tables["lesions"]


def _clean(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _clean(value.item())
    return value


def rows_to_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of :func:`cartlens.criteria.assess` -> cli.md objects (ct/pet categories only for Lugano)."""
    out = []
    for row in frame.to_dict("records"):
        obj = {k: _clean(v) for k, v in row.items()}
        if obj["criterion"] != "lugano":
            obj.pop("ct_category", None)
            obj.pop("pet_category", None)
        out.append(obj)
    return out


def response_command(
    data_dir: Annotated[Path, typer.Argument(help="Data directory with scans and lesions tables.")],
    criteria: Annotated[str, typer.Option("--criteria", help="Comma-separated subset of "
                                          "lugano,cheson2007,recil,lyric.")] = "lugano,cheson2007,recil,lyric",
    options: Annotated[Path | None, typer.Option("--options", dir_okay=False,
                                                 help="TOML file of ambiguity switches (A1-A34).")] = None,
    allow_extra: Annotated[bool, typer.Option("--allow-extra", help="Unknown columns: warn, do not fail.")]
    = False,
    fmt: Annotated[Format, typer.Option("--format", help="json (cli.md contract), csv or table.")]
    = Format.table,
) -> None:
    """Response at every follow-up scan under four lymphoma criteria, with PD reasons and rule IDs."""
    from cartlens.criteria import CRITERIA, ResponseInputError, ResponseOptions, assess

    chosen = tuple(c.strip() for c in criteria.split(",") if c.strip())
    unknown = [c for c in chosen if c not in CRITERIA]
    if unknown or not chosen:
        _fail([f"--criteria: {unknown or criteria!r} not in {list(CRITERIA)}"], 2)
    opts = ResponseOptions()
    if options is not None:
        try:
            opts = ResponseOptions.from_toml(options)
        except OSError as exc:
            _fail([f"{options.name}:0:-: cannot read options ({exc.strerror})"], 2)
        except ValueError as exc:                     # tomllib.TOMLDecodeError is a ValueError
            _fail([f"{options.name}:0:-: {exc}"], 2)
    scans, lesions = _tables(data_dir, allow_extra)
    try:
        frame = assess(scans, lesions, criteria=chosen, options=opts)
    except ResponseInputError as exc:
        _fail(list(exc.problems), 2)
    if fmt is Format.json:
        typer.echo(json.dumps(rows_to_json(frame), allow_nan=False))
    elif fmt is Format.csv:
        flat = frame.copy()
        for column in ("reasons", "rules", "flags"):
            flat[column] = flat[column].map(";".join)
        flat.to_csv(sys.stdout, index=False)
    else:
        show = frame.assign(reasons=frame.reasons.map(", ".join))
        typer.echo(show[["patient_id", "scan_id", "day", "criterion", "category", "reasons"]].to_string(
            index=False))


def register(app: typer.Typer) -> None:
    """Attach ``cartlens response`` to the root app."""
    app.command("response")(response_command)
