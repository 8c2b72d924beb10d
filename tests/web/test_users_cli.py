"""``cartlens users add|list|disable``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cartlens.cli import app
from cartlens.store import sqlite_url


def test_users_add_list_disable(tmp_path):
    db = sqlite_url(tmp_path / "u.db")
    runner = CliRunner()
    r = runner.invoke(app, ["users", "add", "--username", "admin", "--role", "admin", "--centre", "C1",
                            "--centre", "C2", "--password-stdin", "--db", db], input="a long enough secret\n")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"username": "admin", "role": "admin", "centres": ["C1", "C2"]}
    short = runner.invoke(app, ["users", "add", "--username", "x2", "--role", "viewer", "--centre", "C1",
                                "--password-stdin", "--db", db], input="short\n")
    assert short.exit_code == 2
    bad_role = runner.invoke(app, ["users", "add", "--username", "x3", "--role", "god", "--centre", "C1",
                                   "--password-stdin", "--db", db], input="a long enough secret\n")
    assert bad_role.exit_code == 2
    listed = [json.loads(line) for line in runner.invoke(app, ["users", "list", "--db", db]).output.splitlines()]
    assert [u["username"] for u in listed] == ["admin"] and "password" not in str(listed)
    assert runner.invoke(app, ["users", "disable", "admin", "--db", db]).exit_code == 0
    listed = [json.loads(line) for line in runner.invoke(app, ["users", "list", "--db", db]).output.splitlines()]
    assert listed[0]["disabled"] is True
