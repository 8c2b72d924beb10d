"""``cartlens study run PLAN.toml [--out DIR]``: the study pipeline and publication report (spec study_report.md).

Exit status: 0 success; 2 invalid input (a plan with errors: one ``file: key: message`` line per problem on
stderr; an unreadable data source; ``--out`` is a file); 1 any other failure.  Progress goes to stderr (rich),
the summary (or JSON with ``--format json``) to stdout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

study_app = typer.Typer(help="Run a study plan and write the publication report.", no_args_is_help=True)


@study_app.command("run")
def run_command(
    plan_path: Annotated[Path, typer.Argument(metavar="PLAN.toml", help="the study plan (TOML)")],
    out: Annotated[Path, typer.Option("--out", help="output directory (created if needed)")] = Path("study"),
    fmt: Annotated[str, typer.Option("--format", help="stdout format: text or json")] = "text",
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="progress on stderr")] = True,
) -> None:
    """Run every section of the plan; write report.html, tables/, figures/ and run.json under --out."""
    from cartlens.cli.demo import check_output_options
    from cartlens.study.config import PlanError, load_plan
    from cartlens.study.data import StudyDataError
    from cartlens.study.pipeline import run_study

    check_output_options(fmt, out)
    try:
        plan = load_plan(plan_path)
    except PlanError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    try:
        result = run_study(plan, out_dir=out, progress=progress)
    except StudyDataError as exc:
        typer.echo(f"{plan_path.name}: {exc}", err=True)
        raise typer.Exit(2) from None
    except Exception as exc:        # noqa: BLE001 - one line on stderr, exit 1 (cli.md)
        typer.echo(f"cartlens study run failed: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict()))
        return
    for name, sec in result.sections.items():
        typer.echo(f"{name:10s} {sec.status}")
    typer.echo(f"report:   {out / 'report.html'}")
    typer.echo(f"time:     {result.record['timings_s']['total']:.1f} s")


def register(app: typer.Typer) -> None:
    """Attach ``cartlens study`` to the root app."""
    app.add_typer(study_app, name="study")
