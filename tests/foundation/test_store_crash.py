"""Killing the process in the middle of an import leaves the database as it was (web_and_security.md,
Reliability).  The child process dies with os._exit (no rollback, no cleanup: like SIGKILL) right after the
patient rows of a second import were written."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd

from cartlens.io import read_data_dir
from cartlens.store import Store

from .helpers import copy_dir

CHILD = textwrap.dedent("""
    import os, sys
    from cartlens.io import read_data_dir
    from cartlens.store import Store
    original = Store._insert
    def insert_then_die(self, conn, name, rows, base, trail):
        original(self, conn, name, rows, base, trail)
        if name == "patients" and not rows.empty:
            os._exit(137)
    Store._insert = insert_then_die
    Store(sys.argv[1]).import_batch(read_data_dir(sys.argv[2]))
""")


def test_killed_import_leaves_database_unchanged(store: Store, store_url: str, tmp_path: Path) -> None:
    root = copy_dir("good", tmp_path)
    store.import_batch(read_data_dir(root))
    before = store.load_tables()
    audit_before = store.audit_log()
    with (root / "patients.csv").open("a") as fh:
        fh.write("P003,A,validation,F,70,DLBCL,4,2,,1,false,false,none,liso-cel,,,,,,\n")
    child = subprocess.run([sys.executable, "-c", CHILD, store_url, str(root)], check=False, capture_output=True,
                           timeout=120)
    assert child.returncode == 137, child.stderr.decode()
    store.dispose()                                   # fresh connections see only committed data
    after = store.load_tables()
    for name, table in before.items():
        pd.testing.assert_frame_equal(after[name], table, obj=name)
    pd.testing.assert_frame_equal(store.audit_log(), audit_before)
    assert store.import_batch(read_data_dir(root)).inserted["patients"] == 1   # and the database still works
