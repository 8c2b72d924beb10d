"""``cartlens serve`` and ``cartlens users add|list|disable`` (spec cli.md, web_and_security.md)."""

from __future__ import annotations

import json
import sys

import typer

users_app = typer.Typer(help="Manage web-app users (roles viewer|editor|admin, one or more centres).",
                        no_args_is_help=True)

DEFAULT_DB = "sqlite:///cartlens.db"


def _url(db: str) -> str:
    """A SQLAlchemy URL, or a plain file path taken as a SQLite database."""
    from cartlens.store import sqlite_url

    return db if "://" in db else sqlite_url(db)


def _engine(db: str):  # type: ignore[no-untyped-def]
    from cartlens.store import Store

    store = Store(_url(db))
    store.migrate()
    return store.engine


@users_app.command("add")
def users_add(
    username: str = typer.Option(..., "--username", help="Login name."),
    role: str = typer.Option(..., "--role", help="viewer, editor or admin."),
    centre: list[str] = typer.Option(..., "--centre", help="Centre the user may access (repeatable)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
    db: str = typer.Option(DEFAULT_DB, "--db", help="SQLAlchemy database URL or SQLite file path."),
) -> None:
    """Create a user (there is no default account and no default password)."""
    from cartlens.web import auth

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = auth.add_user(_engine(db), username, password, role, list(centre))
    except auth.AuthError as exc:
        typer.echo(f"users add: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps({"username": user.username, "role": user.role, "centres": list(user.centres)}))


@users_app.command("list")
def users_list(db: str = typer.Option(DEFAULT_DB, "--db", help="SQLAlchemy database URL or SQLite file path.")) -> None:
    """List users as JSON lines (no password hashes)."""
    from cartlens.web import auth

    for user in auth.list_users(_engine(db)):
        typer.echo(json.dumps({"username": user.username, "role": user.role, "centres": list(user.centres),
                               "disabled": user.disabled}))


@users_app.command("disable")
def users_disable(username: str = typer.Argument(..., help="User to disable."),
                  db: str = typer.Option(DEFAULT_DB, "--db", help="SQLAlchemy database URL or SQLite file path.")) -> None:
    """Disable a user and end its sessions."""
    from cartlens.web import auth

    try:
        auth.disable_user(_engine(db), username)
    except auth.AuthError as exc:
        typer.echo(f"users disable: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps({"username": username, "disabled": True}))


def serve(
    db: str = typer.Option(DEFAULT_DB, "--db", help="SQLAlchemy database URL or SQLite file path."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    car_impi_coefficients: str = typer.Option(None, "--car-impi-coefficients",
                                              help="Reviewed CAR-IMPI coefficients TOML (enables that calculator)."),
    inflamix_model: str = typer.Option(None, "--inflamix-model",
                                       help="Official InflaMix model.RData (enables that calculator)."),
    insecure_cookies: bool = typer.Option(False, "--insecure-cookies",
                                          help="Drop the Secure cookie flag (plain-HTTP test setups only)."),
) -> None:
    """Run the web app (calculators, cohort browser, upload, JSON API)."""
    import uvicorn

    from cartlens.web.app import WebConfig, create_app

    _engine(db)
    app = create_app(WebConfig(db_url=_url(db), secure_cookies=not insecure_cookies,
                               car_impi_coefficients=car_impi_coefficients, inflamix_model=inflamix_model))
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    """Attach ``serve`` and ``users`` to the root app."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
