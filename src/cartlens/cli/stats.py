"""``cartlens stats …``: survival and group statistics (CSV in, JSON out; defaults match R).

The sub-commands live in two modules: ``stats_survival`` (km, logrank, cox) and
``stats_prognostic`` (cutpoint, spline, groups, table); each exposes ``register(stats_app)``.
"""

from __future__ import annotations

import importlib
import importlib.util

import typer

stats_app = typer.Typer(help="Survival statistics (Kaplan-Meier, log-rank, Cox, cutpoints, splines, group tests).",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Attach the ``stats`` command group to the root app."""
    for name in ("stats_survival", "stats_prognostic"):
        full = f"cartlens.cli.{name}"
        if importlib.util.find_spec(full) is not None:
            importlib.import_module(full).register(stats_app)
    app.add_typer(stats_app, name="stats")
