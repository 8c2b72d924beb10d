"""``cartlens score NAME --INPUT VALUE ...`` and ``cartlens scores DATA_DIR`` (spec ``cli.md``, Scores).

``score`` computes one score for one patient. Inputs are ``--name value`` pairs (``--ldh-uln 250``); a value
may carry a unit (``--crp "45 mg/L"``), otherwise it is read in the canonical unit shown by
``cartlens score NAME --help``. JSON: ``{"score", "computable", "value", "group", "points", "messages", ...}``.

``scores`` reads a data directory (validated by :mod:`cartlens.io`) and prints one object per patient with
every computable score: ``[{"patient_id", "centre", "scores": {NAME: {...}}, "not_computable": {NAME: [...]}}]``.

Exit status: 0 success, 2 invalid input (unknown score or input, wrong unit, implausible value, refused
CAR-IMPI without coefficients), 1 anything else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cartlens.scores import SCORES, canonical_name, compute, score_patient_results
from cartlens.scores.common import ScoreInputError, parse_bool

#: Options of the ``score`` command that configure a score instead of being an input: flag -> (score, key).
CONFIG_FLAGS = {
    "coefficients": ("car-impi", "coefficients"),
    "allow_example": ("car-impi", "allow_example"),
    "upper_tercile": ("car-impi", "upper_tercile"),
    "model": ("inflamix", "model"),
    "high_cutoff": ("car-hematotox", "high_cutoff"),
    "pleura_as_lung": ("nccn-ipi", "pleura_as_lung"),
    "multiplier": ("deauville", "multiplier"),
}
_FLAG_TYPES: dict[str, Any] = {"allow_example": "bool", "pleura_as_lung": "bool", "upper_tercile": float, "high_cutoff": int,
               "multiplier": str, "coefficients": str, "model": str}


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def parse_score_args(name: str, args: list[str]) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Split ``--flag value`` / ``--flag=value`` pairs into (inputs, config, format)."""
    inputs: dict[str, Any] = {}
    config: dict[str, Any] = {}
    fmt = "table"
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("--") or token == "--":
            raise ScoreInputError("arguments", f"expected --INPUT VALUE, got {token!r}")
        key, eq, value = token[2:].partition("=")
        key = key.replace("-", "_")
        if not eq:
            if key in {"allow_example", "pleura_as_lung"} and (i + 1 == len(args) or args[i + 1].startswith("--")):
                value = "yes"
            elif i + 1 >= len(args):
                raise ScoreInputError(key, "needs a value")
            else:
                i += 1
                value = args[i]
        i += 1
        if key == "format":
            if value not in {"json", "table"}:
                raise ScoreInputError("format", f"{value!r} is not one of ['json', 'table']")
            fmt = value
        elif key in CONFIG_FLAGS and CONFIG_FLAGS[key][0] == name:
            kind = _FLAG_TYPES[key]
            config[CONFIG_FLAGS[key][1]] = parse_bool(key, value) if kind == "bool" else kind(value)
        elif key in inputs:
            raise ScoreInputError(key, "given twice")
        else:
            inputs[key] = value
    return inputs, config, fmt


def _score_help() -> str:
    lines = ["Compute one score for one patient.\n\nScores and their inputs (canonical units):\n"]
    for spec in SCORES.values():
        flags = ", ".join(f"--{i.name.replace('_', '-')}" + (f" ({i.unit})" if i.unit else "")
                          for i in spec.inputs if not i.name.endswith("_uln") or spec.name != "inflamix")
        if spec.name == "inflamix":
            flags += " (and --LAB-uln for each lab); --model FILE"
        if spec.name == "car-impi":
            flags += "; --coefficients FILE"
        lines.append(f"{spec.name}{' (UNVERIFIED)' if spec.unverified else ''}: {flags}\n")
    lines.append("A value may carry a unit: --crp '45 mg/L'. Add --format json for the JSON contract.")
    return "\n".join(lines)


def _print_table(result: Any) -> None:
    typer.echo(f"{result.score}: {result.value if result.computable else 'not computable'}"
               + (f" ({result.group})" if result.group else ""))
    if result.points:
        typer.echo(result.summary().to_string(index=False))
    for message in result.messages:
        typer.echo(f"  - {message}")


def register(app: typer.Typer) -> None:
    """Add ``score`` and ``scores`` to the root app."""

    @app.command("score", help=_score_help(), context_settings={"allow_extra_args": True,
                                                                 "ignore_unknown_options": True})
    def score_command(ctx: typer.Context, name: Annotated[str, typer.Argument(help="score name")]) -> None:
        try:
            key = canonical_name(name)
            inputs, config, fmt = parse_score_args(key, list(ctx.args))
            result = compute(key, inputs, **config)
        except ValueError as exc:                 # ScoreInputError, unit errors, CAR-IMPI refusal, bad model
            raise _fail(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - one line on stderr, exit 1, no traceback
            raise _fail(f"{type(exc).__name__}: {exc}", 1) from None
        if fmt == "json":
            typer.echo(json.dumps(result.to_dict(), allow_nan=False))
        else:
            _print_table(result)

    @app.command("scores")
    def scores_command(
        data_dir: Annotated[Path, typer.Argument(help="data directory (patients.csv, labs.csv, ...)")],
        fmt: Annotated[str, typer.Option("--format", help="json or table")] = "table",
        coefficients: Annotated[Path | None, typer.Option("--coefficients", help="reviewed CAR-IMPI TOML")] = None,
        model: Annotated[Path | None, typer.Option("--model", help="InflaMix model.RData (research use)")] = None,
        window: Annotated[str, typer.Option("--window", help="baseline-lab window, days: FIRST,LAST")] = "-14,-3",
    ) -> None:
        """Every computable score for every patient of a data directory (one JSON object per patient)."""
        from cartlens.io import read_data_dir

        if fmt not in {"json", "table"}:
            raise _fail(f"--format: {fmt!r} is not one of ['json', 'table']")
        try:
            first, last = (int(x) for x in window.split(","))
        except ValueError:
            raise _fail(f"--window: expected FIRST,LAST in days, got {window!r}") from None
        batch = read_data_dir(data_dir)
        if not batch.ok:
            typer.echo("\n".join(map(str, batch.errors)), err=True)
            raise typer.Exit(2)
        try:
            rows = score_patient_results(batch.tables, window=(first, last), car_impi=coefficients,
                                         inflamix_model=model)
        except ValueError as exc:
            raise _fail(str(exc)) from None
        body = [{"patient_id": r["patient_id"], "centre": r["centre"],
                 "scores": {n: res.to_dict() for n, res in r["results"].items() if res.computable},
                 "not_computable": {n: list(res.messages) for n, res in r["results"].items() if not res.computable}}
                for r in rows]
        if fmt == "json":
            typer.echo(json.dumps(body, allow_nan=False))
        else:
            for row in body:
                values = ", ".join(f"{n}={s['value']:.4g}" if isinstance(s["value"], float) else f"{n}={s['value']}"
                                   for n, s in row["scores"].items())
                typer.echo(f"{row['centre']}/{row['patient_id']}: {values}")
