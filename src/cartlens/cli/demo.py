"""``cartlens demo [--out DIR] [--db URL] [--seed N]`` (spec cli.md "Main job", demo_cohort.md).

Steps: generate the synthetic cohort (``cartlens.demo.generate``) -> write its input files to ``DIR/data`` ->
validate and convert units (``cartlens.io.validate_tables``) -> store (``Store(url).migrate()`` +
``import_batch``; default SQLite ``DIR/cartlens.db``; re-running is a no-op because the import is
idempotent) -> load back -> the full study (``cartlens.study.pipeline.run_study`` with the built-in
``demo_plan``: ``DIR/report.html``, ``DIR/tables/*.csv``, ``DIR/figures/*``) ->
``DIR/run.json`` (seed, versions, planted truth, timings, data hash, import summary).

Progress goes to stderr (rich); the summary to stdout.  Exit 0 on success, 2 for invalid input (for example
``--out`` is a file), 1 for any other failure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register", "run_demo"]


def _safe_url(url: str) -> str:
    """The database URL without a password (for run.json)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:     # noqa: BLE001 - an unparsable URL fails later with a clear error
        return "<unparsable URL>"


def _write_nifti(pet: dict, out: Path) -> list[str]:
    """Write the demo PET volumes as NIfTI (nibabel) at ``scans.image`` paths under ``out``."""
    import nibabel as nib

    from cartlens.demo.pet_volumes import relative_path

    paths = []
    for (centre, pid, scan_id), (volume, aff) in pet.items():
        rel = relative_path(centre, pid, scan_id)
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(volume, aff), str(out / rel))
        paths.append(rel)
    return paths


class _Steps:
    """Times each step; shows a rich spinner on stderr when ``show`` is true."""

    def __init__(self, show: bool) -> None:
        self.timings: dict[str, float] = {}
        self._progress = None
        if show:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                      console=Console(stderr=True), transient=False)

    @contextmanager
    def step(self, name: str, description: str) -> Iterator[None]:
        task = self._progress.add_task(description, total=1) if self._progress else None
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)
            if self._progress is not None and task is not None:
                self._progress.update(task, completed=1)

    def __enter__(self) -> _Steps:  # noqa: PYI034 - private helper, never subclassed
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def run_demo(out: Path, *, db: str | None = None, seed: int | None = None, with_pet: bool = False,
             progress: bool = True, study_runner: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Run the demo end to end (see the module docstring) and return the run record written to run.json.

    ``study_runner`` defaults to :func:`cartlens.study.pipeline.run_study` (tests may pass a lighter one).
    """
    from cartlens.demo import DEFAULT_SEED, LABEL, generate
    from cartlens.io import validate_tables, write_data_dir
    from cartlens.store import Store, sqlite_url
    from cartlens.study.pipeline import demo_plan, run_study, versions

    study_runner = study_runner or run_study

    seed = DEFAULT_SEED if seed is None else seed
    out.mkdir(parents=True, exist_ok=True)
    url = db if db else sqlite_url(out / "cartlens.db")
    if db and "://" not in db:
        url = sqlite_url(db)
    total = time.perf_counter()
    with _Steps(progress) as steps:
        with steps.step("generate", f"Generating the synthetic cohort (seed {seed})"):
            cohort = generate(seed, with_pet=with_pet)
        with steps.step("write_inputs", "Writing the input tables to data/"):
            write_data_dir(cohort.tables, out / "data")
            if with_pet:
                _write_nifti(cohort.pet, out)
        with steps.step("validate", "Validating and converting units"):
            batch = validate_tables(cohort.tables)
            batch.raise_for_errors()
        with steps.step("store", "Storing in the database"):
            store = Store(url)
            store.migrate()
            summary = store.import_batch(batch, user="cartlens-demo", reason=f"cartlens demo, seed {seed}")
        with steps.step("load", "Loading back from the database"):
            tables = store.load_tables()
    # The full study (spec cli.md "Main job"): the same pipeline as `cartlens study run`, on the stored cohort,
    # with the planted truth so every section shows planted vs recovered values.  Run after the steps above
    # have closed their progress display (rich allows one live display at a time).
    study = study_runner(demo_plan(seed), out_dir=out, tables=tables, truth=cohort.truth, progress=progress)
    record = {
        **study.record,
        "command": "demo", "label": LABEL, "seed": seed, "versions": versions(), "database": _safe_url(url),
        "data_hash": cohort.data_hash(),
        "timings_s": {**steps.timings, **study.record.get("timings_s", {}),
                      "total": round(time.perf_counter() - total, 3)},
        "counts": {name: len(frame) for name, frame in tables.items()},
        "centres": int(tables["patients"]["centre"].nunique()),
        "import": summary.to_dict(), "outputs": study.outputs, "truth": cohort.truth,
    }
    (out / "run.json").write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    return record


def check_output_options(fmt: str, out: Path) -> None:
    """Shared by ``demo`` and ``study run``: ``--format`` is text|json and ``--out`` is not a file (exit 2)."""
    if fmt not in ("text", "json"):
        typer.echo(f"--format: must be 'text' or 'json', got {fmt!r}", err=True)
        raise typer.Exit(2)
    if out.exists() and not out.is_dir():
        typer.echo(f"{out}: --out must be a directory, but a file of that name exists", err=True)
        raise typer.Exit(2)


def demo_command(
    out: Annotated[Path, typer.Option("--out", help="output directory (created if needed)")] = Path("demo"),
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite file path "
                                                        "(default: DIR/cartlens.db)")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="random seed (default 20240501)")] = None,
    pet: Annotated[bool, typer.Option("--pet/--no-pet", help="also write small PET NIfTI volumes")] = False,
    fmt: Annotated[str, typer.Option("--format", help="stdout format: text or json")] = "text",
) -> None:
    """Build the synthetic multi-centre demo cohort, store it, and write the report (synthetic data)."""
    check_output_options(fmt, out)
    try:
        record = run_demo(out, db=db, seed=seed, with_pet=pet)
    except Exception as exc:        # noqa: BLE001 - one line on stderr, exit 1 (cli.md)
        typer.echo(f"cartlens demo failed: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if fmt == "json":
        typer.echo(json.dumps({k: record[k] for k in ("seed", "database", "data_hash", "counts", "centres",
                                                      "timings_s", "outputs")}))
        return
    c = record["counts"]
    typer.echo(f"cartlens demo (synthetic demonstration data, seed {record['seed']}): {c['patients']} patients in "
               f"{record['centres']} centres, {c['scans']} scans, {c['lesions']} lesion rows, {c['labs']} lab "
               f"values, {c['toxicity']} toxicity rows")
    typer.echo(f"database: {record['database']}")
    typer.echo(f"report:   {out / 'report.html'}")
    typer.echo(f"time:     {record['timings_s']['total']:.1f} s")


def register(app: typer.Typer) -> None:
    """Attach ``cartlens demo`` to the root app."""
    app.command("demo")(demo_command)
