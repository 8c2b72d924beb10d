"""A minimal, self-contained HTML report built from sections (shell: writes files).

A report is a list of :class:`Section` objects; each holds HTML fragments produced by cartlens code, named
tables (pandas DataFrames) and figures (PNG bytes, optionally SVG text).  :func:`render_html` turns them into
one HTML page with figures embedded as base64 (works offline, printable; spec study_report.md, Output);
:func:`write_report` also writes every table to ``DIR/tables/<name>.csv`` and every figure to
``DIR/figures/<name>.png`` (and ``.svg``).  Later sections (response, CAR-IMPI, toxicity, ...) are added by
appending more :class:`Section` objects; table and figure names must be unique across the report.

The template ships in the package (``cartlens/report/templates/report.html.j2``); jinja2 autoescaping is on,
so titles, captions, notes and table cells are escaped, and only ``html_fragments`` are inserted verbatim.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

__all__ = ["Figure", "Section", "render_html", "write_report"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


@dataclass(frozen=True)
class Figure:
    """One figure: ``name`` (file stem), ``caption``, PNG bytes and optional SVG text."""

    name: str
    caption: str
    png: bytes
    svg: str | None = None


@dataclass(frozen=True)
class Section:
    """One report section.

    Attributes
    ----------
    title : str
        Section heading.
    html_fragments : list of str
        Trusted HTML produced by cartlens code (inserted verbatim).
    tables : dict of str to DataFrame
        Named tables; the name is the CSV file stem, ``captions`` may give a heading per name.
    figures : list of Figure
    notes : list of str
        Plain-text notes (escaped), e.g. method statements and seed comparisons.
    captions : dict of str to str
        Optional table headings by table name (default: the name).
    """

    title: str
    html_fragments: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    captions: dict[str, str] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        """URL fragment of the section."""
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "section"


def _check_names(sections: list[Section]) -> None:
    seen: set[str] = set()
    for s in sections:
        for name in [*s.tables, *(f.name for f in s.figures)]:
            if not _NAME.match(name):
                raise ValueError(f"report: table/figure name {name!r} in section {s.title!r} must match "
                                 f"{_NAME.pattern}")
        for name in s.tables:
            if name in seen:
                raise ValueError(f"report: table name {name!r} is used twice (section {s.title!r})")
            seen.add(name)


def render_html(sections: list[Section], *, title: str, label: str = "", meta: dict[str, Any] | None = None,
                footer: str = "") -> str:
    """Render the sections into one self-contained HTML document (str)."""
    _check_names(sections)
    env = Environment(loader=PackageLoader("cartlens.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    view = []
    for s in sections:
        tables = [{"caption": s.captions.get(name, name),
                   "html": Markup(frame.to_html(index=False, na_rep="", classes="table", border=0, escape=True))}
                  for name, frame in s.tables.items()]
        figures = [{"caption": f.caption, "b64": base64.b64encode(f.png).decode("ascii")} for f in s.figures]
        view.append({"title": s.title, "anchor": s.anchor, "fragments": [Markup(x) for x in s.html_fragments],
                     "tables": tables, "figures": figures, "notes": s.notes})
    template = env.get_template("report.html.j2")
    return template.render(title=title, label=label, meta=meta or {}, sections=view, footer=footer)


def write_report(out_dir: str | Path, sections: list[Section], *, title: str, label: str = "",
                 meta: dict[str, Any] | None = None, footer: str = "") -> dict[str, list[str]]:
    """Write ``report.html``, ``tables/*.csv`` and ``figures/*.png|svg`` under ``out_dir``.

    Returns
    -------
    dict
        ``{"report": [path], "tables": [paths], "figures": [paths]}`` (relative to ``out_dir``).
    """
    out = Path(out_dir)
    html = render_html(sections, title=title, label=label, meta=meta, footer=footer)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    written: dict[str, list[str]] = {"report": ["report.html"], "tables": [], "figures": []}
    for s in sections:
        for name, frame in s.tables.items():
            frame.to_csv(out / "tables" / f"{name}.csv", index=False)
            written["tables"].append(f"tables/{name}.csv")
        for f in s.figures:
            (out / "figures").mkdir(parents=True, exist_ok=True)
            (out / "figures" / f"{f.name}.png").write_bytes(f.png)
            written["figures"].append(f"figures/{f.name}.png")
            if f.svg is not None:
                (out / "figures" / f"{f.name}.svg").write_text(f.svg, encoding="utf-8")
                written["figures"].append(f"figures/{f.name}.svg")
    (out / "report.html").write_text(html, encoding="utf-8")
    return written
