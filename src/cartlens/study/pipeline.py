"""The study pipeline: plan -> canonical tables -> eight report sections -> report.html, tables, figures, run.json.

``run_study(plan, out_dir=...)`` is what ``cartlens study run PLAN.toml`` and ``cartlens demo`` execute (spec
study_report.md).  Sections run in the spec's order; a section that cannot run on the data (a missing table, a
cohort too small) is reported with its reason instead of stopping the run, and an unexpected error in one
section is reported as such in that section (and in run.json) while the other sections still run.

Outputs under ``out_dir``: ``report.html`` (self-contained), ``tables/*.csv``, ``figures/*.png`` + ``.svg`` and
``run.json`` (plan, versions, seed, options, data hash, timings, per-section status and key numbers, and the
planted truth when given).
"""

from __future__ import annotations

import importlib
import json
import platform
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from cartlens.report.figures import SYNTHETIC_LABEL, svg_output
from cartlens.report.html import Section, write_report
from cartlens.study.common import SectionResult
from cartlens.study.config import SECTION_NAMES, StudyPlan, plan_from_dict
from cartlens.study.data import analysis_frame, data_hash, data_source_text, load_tables

__all__ = ["SECTION_TITLES", "Progress", "StudyContext", "StudyResult", "demo_plan", "run_study", "versions"]

SECTION_TITLES = {"cohort": "Cohort", "response": "Response under four criteria",
                  "car_impi": "Tumour burden and the CAR-adapted IMPI", "toxicity": "Toxicity by risk group",
                  "strata": "Radio-inflammatory strata", "factors": "Prognostic-factor screen",
                  "landmarks": "Post-infusion landmarks", "failure": "Patterns of failure"}


@dataclass
class StudyContext:
    """What sections read (plan, tables, per-patient frame, demo truth) and share (``shared``)."""

    plan: StudyPlan
    tables: dict[str, pd.DataFrame]
    frame: pd.DataFrame
    truth: dict[str, Any] | None = None
    shared: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyResult:
    """Outcome of :func:`run_study`: per-section status and numbers, the files written, the run record."""

    out_dir: Path
    sections: dict[str, SectionResult]
    outputs: dict[str, list[str]]
    record: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "outputs": self.outputs,
                "sections": {k: {"status": v.status} for k, v in self.sections.items()},
                "timings_s": self.record["timings_s"], "data_hash": self.record["data_hash"]}

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([{"section": k, "status": v.status, "tables": len(v.section.tables),
                              "figures": len(v.section.figures), "time_s": self.record["timings_s"].get(k)}
                             for k, v in self.sections.items()])


def demo_plan(seed: int = 20240501) -> StudyPlan:
    """The built-in plan of ``cartlens demo``: every section, the demo's FU1/FU2 scans, a stand-in mixture for
    the InflaMix strata (the official model is never shipped), 200 bootstrap replicates."""
    return plan_from_dict({"study": {"title": "cartlens study report (demo)", "seed": int(seed),
                                     "label": SYNTHETIC_LABEL},
                           "data": {"builtin": "demo"}, "response": {"timepoint_by": "scan_id"},
                           "strata": {"inflamix": "stand-in"}, "car_impi": {"bootstrap": 200}})


def versions() -> dict[str, str]:
    """Python and key package versions (for run.json)."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("cartlens", "numpy", "pandas", "scipy", "matplotlib", "scikit-learn", "statsmodels"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


class Progress:
    """Step timer with rich progress on stderr (one line per step, elapsed time); ``timings`` in seconds.
    Usable by any shell that runs timed steps (e.g. ``cartlens demo``)."""

    def __init__(self, show: bool) -> None:
        self.timings: dict[str, float] = {}
        self._p = None
        if show:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._p = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                               console=Console(stderr=True))

    @contextmanager
    def step(self, name: str, text: str) -> Iterator[None]:
        task = self._p.add_task(text, total=1) if self._p else None
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)
            if self._p is not None and task is not None:
                self._p.update(task, completed=1)

    def __enter__(self) -> Self:
        if self._p is not None:
            self._p.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.stop()


def _run_section(name: str, ctx: StudyContext) -> SectionResult:
    module = importlib.import_module(f"cartlens.study.sections.{name}")
    try:
        return module.build(ctx)
    except Exception as exc:      # noqa: BLE001 - reported in the section and run.json, the run goes on
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return SectionResult(Section(title=SECTION_TITLES[name], notes=[f"This section failed: {tb}"]),
                             {"error": tb}, "failed")


def _single_cohort(tabs: dict[str, pd.DataFrame], plan: StudyPlan) -> list[str]:
    """Without the plan's cohort column every patient is in the development cohort (said in run.json)."""
    col = plan.cohorts.column
    p = tabs["patients"]
    if col in p.columns and p[col].notna().any():
        return []
    tabs["patients"] = p.assign(**{col: plan.cohorts.development})
    if col != "cohort":
        tabs["patients"]["cohort"] = plan.cohorts.development
    return [(f"patients.{col}: missing or empty; every patient was put in the development cohort "
            f"({plan.cohorts.development!r}), so validation analyses are empty")]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if value is pd.NA or value is None:
        return None
    if isinstance(value, (str, int, bool)):
        return value
    return str(value)


def run_study(plan: StudyPlan, *, out_dir: str | Path, tables: dict[str, pd.DataFrame] | None = None,
              truth: dict | None = None, progress: bool = True) -> StudyResult:
    """Run every enabled section of ``plan`` and write the report.

    Parameters
    ----------
    plan : StudyPlan
        A validated plan (:func:`cartlens.study.config.load_plan` or :func:`demo_plan`).
    out_dir : path
        Output folder (created).
    tables : dict of str to DataFrame, optional
        Canonical tables already loaded (canonical units, as from the store or ``cartlens.io``); default: read
        the plan's data source.
    truth : dict, optional
        The demo generator's planted truth (``DemoCohort.truth``): every section then shows planted vs
        recovered values and all output is labelled synthetic.
    progress : bool
        Show rich progress on stderr.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results: dict[str, SectionResult] = {}
    with Progress(progress) as prog:
        with prog.step("load", "Loading and preparing the data"):
            tabs = dict(tables) if tables is not None else load_tables(plan)
            warnings = _single_cohort(tabs, plan)
            ctx = StudyContext(plan=plan, tables=tabs, frame=analysis_frame(tabs, plan), truth=truth)
        for name in plan.sections.enabled():
            with prog.step(name, f"Section: {SECTION_TITLES[name]}"), svg_output(plan.study.svg):
                results[name] = _run_section(name, ctx)
        label = plan.study.label or (SYNTHETIC_LABEL if truth is not None else "")
        with prog.step("write", "Writing report.html, tables and figures"):
            meta = {"data": data_source_text(plan), "patients": len(tabs["patients"]),
                    "centres": int(tabs["patients"]["centre"].nunique()), "seed": plan.study.seed,
                    **({"warning": "; ".join(warnings)} if warnings else {})}
            outputs = write_report(out, [r.section for r in results.values()], title=plan.study.title, label=label,
                                   meta=meta, footer="Generated by cartlens study run."
                                   + (" All patients are synthetic." if truth is not None else ""))
    record = {"command": "study run", "title": plan.study.title, "label": label, "seed": plan.study.seed,
              "plan": plan.model_dump(mode="json"), "options": {k: plan.model_dump(mode="json")[k] for k in
                                                               ("response", "car_impi", "strata", "factors",
                                                                "landmarks", "failure")},
              "versions": versions(), "data_hash": data_hash(tabs),
              "counts": {k: len(v) for k, v in tabs.items()},
              "timings_s": {**prog.timings, "total": round(time.perf_counter() - start, 3)},
              "sections": {k: {"status": v.status, "values": v.values} for k, v in results.items()},
              "outputs": outputs, "warnings": warnings, "truth": truth}
    record = _jsonable(record)
    (out / "run.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return StudyResult(out_dir=out, sections=results, outputs=outputs, record=record)


assert set(SECTION_TITLES) == set(SECTION_NAMES)
