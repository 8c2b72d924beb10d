"""The ``cartlens`` command line (Typer).

Each command group lives in its own module of this package and exposes ``register(app)``;
this module only assembles them, so that teams can work on commands independently.
Exit status: 0 success, 2 invalid input, 1 other failure (see ``docs``/``cli.md``).
"""

from __future__ import annotations

import importlib
import importlib.util

import typer

from cartlens import __version__

app = typer.Typer(
    name="cartlens",
    help="CAR-T outcome research: response criteria, PET, scores, survival statistics, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules, in the order they appear in --help.  A module that does not exist yet is
# skipped (work in progress); one that exists but fails to import raises, loudly.
_COMMAND_MODULES = (
    "demo",
    "data",
    "response",
    "score",
    "stats",
    "pet",
    "failure",
    "study",
    "web",
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"cartlens {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """cartlens command line."""


for _name in _COMMAND_MODULES:
    _full = f"cartlens.cli.{_name}"
    if importlib.util.find_spec(_full) is not None:
        importlib.import_module(_full).register(app)


def main() -> None:
    """Entry point of the ``cartlens`` console script."""
    app()
