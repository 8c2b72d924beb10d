"""Shared helpers of the foundation tests."""

from __future__ import annotations

import shutil
from pathlib import Path

DATA = Path(__file__).parent / "data"


def copy_dir(name: str, target: Path) -> Path:
    """Copy test data directory ``name`` into ``target`` and return the copy."""
    dest = target / name
    shutil.copytree(DATA / name, dest)
    return dest


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write ``{file name: text}`` into ``root`` (created) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root
