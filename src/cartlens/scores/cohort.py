"""Every computable score for every patient of a cohort, from the canonical tables (``data_model.md``).

Baseline-lab rule (documented in docs/scores.md): for each patient and analyte, the lab with the **latest day
in the window day -14 ... day -3** (inclusive; day 0 = infusion; labs after lymphodepletion excluded) is used; among several rows on that day the
last one in table order. InflaMix uses its own window, day -2 ... 0 (labs <= 48 h before infusion,
inflamix.md §2). The LDH ULN is the ``uln`` of the chosen LDH row (same unit as its value). Each lab's unit
travels with its value, so a centre reporting CRP in mg/L or Hb in g/L is converted, never misread.

Scores computed: IPI, aaIPI, R-IPI, NCCN-IPI, CAR-HEMATOTOX, EASIX, simplified EASIX, m-EASIX, IMPI (unverified;
from ``mtv_ml``), and CAR-IMPI / InflaMix only when a model is passed. An invalid value for one patient makes
that score not computable for that patient, with the reason in its messages (tables are validated on import).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from cartlens.scores.car_impi import CarImpi, require_model
from cartlens.scores.common import ScoreResult, is_missing, not_computable
from cartlens.scores.inflamix import FEATURES, INPUT_NAME, InflaMixModel, load_inflamix_model
from cartlens.scores.registry import SCORES, compute

DEFAULT_WINDOW = (-14, -3)  # before lymphodepletion (LD typically day -5 ... -3; data_model.md, labs)
INFLAMIX_WINDOW = (-2, 0)
POINT_SCORES = ("ipi", "aaipi", "ripi", "nccn-ipi", "car-hematotox", "easix", "simplified-easix", "m-easix",
                "impi")
PATIENT_COLUMNS = {"age": "age", "stage": "stage", "ecog": "ecog", "mtv_ml": "mtv"}


def baseline_labs(labs: pd.DataFrame, window: tuple[int, int]) -> dict[tuple[str, str], dict[str, Any]]:
    """(patient_id, centre) -> analyte -> {"value": text with unit, "uln": text with unit or None}."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    if labs is None or labs.empty:
        return out
    frame = labs.reset_index(drop=True)
    frame = frame.assign(_order=range(len(frame)))
    day = pd.to_numeric(frame["day"], errors="coerce")
    frame = frame[(day >= window[0]) & (day <= window[1])].assign(_day=day)
    frame = frame.sort_values(["_day", "_order"])
    for row in frame.itertuples(index=False):
        unit = "" if is_missing(getattr(row, "unit", None)) else f" {row.unit}"
        uln = getattr(row, "uln", None)
        key = (str(row.patient_id), str(row.centre))
        mark = getattr(row, "censored", None)
        mark = "" if is_missing(mark) else str(mark)       # "<" / ">" from io (value = the limit)
        out.setdefault(key, {})[str(row.analyte)] = {
            "value": None if is_missing(row.value) else f"{mark}{row.value}{unit}",
            "uln": None if is_missing(uln) else f"{uln}{unit}",
        }
    return out


def _patient_inputs(patient: Mapping[str, Any], labs: Mapping[str, Any]) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    for column, name in PATIENT_COLUMNS.items():
        if column in patient and not is_missing(patient[column]):
            inputs[name] = patient[column]
    if "extranodal_sites" in patient:                         # data_model.md: empty = none
        sites = patient["extranodal_sites"]
        sites = "" if is_missing(sites) else str(sites)
        inputs["extranodal_sites"] = [s for s in sites.split(";") if s.strip()]
        inputs["key_extranodal"] = inputs["extranodal_sites"] or "no"
    for analyte in ("ldh", "anc", "hb", "plt", "crp", "ferritin", "creatinine"):
        if analyte in labs and labs[analyte]["value"] is not None:
            inputs[analyte] = labs[analyte]["value"]
    if "ldh" in labs and labs["ldh"]["uln"] is not None:
        inputs["ldh_uln"] = labs["ldh"]["uln"]
    return inputs


def _inflamix_inputs(labs: Mapping[str, Any]) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    for feature in FEATURES:
        name = INPUT_NAME[feature]
        if name in labs and labs[name]["value"] is not None:
            inputs[name] = labs[name]["value"]
            if labs[name]["uln"] is not None:
                inputs[f"{name}_uln"] = labs[name]["uln"]
    return inputs


def _safe(name: str, inputs: Mapping[str, Any], **config: Any) -> ScoreResult:
    spec = SCORES[name]
    usable = {k: v for k, v in inputs.items() if k in {s.name for s in spec.inputs}}
    try:
        return compute(name, usable, **config)
    except ValueError as exc:                                  # ScoreInputError and model refusals
        return not_computable(name, [], source=spec.source, unverified=spec.unverified,
                              messages=[f"not computable: invalid input: {exc}"])


def score_patient_results(tables: Mapping[str, pd.DataFrame], *, window: tuple[int, int] = DEFAULT_WINDOW,
                          car_impi: Any = None, inflamix_model: Any = None,
                          **config: Any) -> list[dict[str, Any]]:
    """Per patient: ``{"patient_id", "centre", "results": {score: ScoreResult}}`` in table order."""
    patients = tables["patients"]
    if car_impi is not None and not isinstance(car_impi, CarImpi):
        car_impi = require_model(car_impi)                    # read the file once, refuse an example file
    if inflamix_model is not None and not isinstance(inflamix_model, InflaMixModel):
        inflamix_model = load_inflamix_model(inflamix_model)  # parse the RData once
    labs = baseline_labs(tables.get("labs"), window)
    inflamix_labs = baseline_labs(tables.get("labs"), INFLAMIX_WINDOW) if inflamix_model is not None else {}
    rows = []
    for patient in patients.to_dict("records"):
        key = (str(patient["patient_id"]), str(patient["centre"]))
        inputs = _patient_inputs(patient, labs.get(key, {}))
        results = {name: _safe(name, inputs, **config.get(name, {})) for name in POINT_SCORES}
        if car_impi is not None:
            results["car-impi"] = _safe("car-impi", inputs, coefficients=car_impi)
        if inflamix_model is not None:
            results["inflamix"] = _safe("inflamix", _inflamix_inputs(inflamix_labs.get(key, {})),
                                        model=inflamix_model)
        rows.append({"patient_id": key[0], "centre": key[1], "results": results})
    return rows


def score_patients(tables: Mapping[str, pd.DataFrame], *, window: tuple[int, int] = DEFAULT_WINDOW,
                   car_impi: Any = None, inflamix_model: Any = None, **config: Any) -> pd.DataFrame:
    """One row per patient: ``patient_id``, ``centre``, and per score ``<score>`` (value) and ``<score>_group``.

    Column names use underscores (``nccn_ipi``, ``car_hematotox_group``); a not-computable score is NaN/None.

    Parameters
    ----------
    tables : mapping
        Canonical tables; ``patients`` required, ``labs`` optional (long format with ``unit`` and ``uln``).
    window : (int, int), default (-14, -3)
        Days relative to infusion from which the latest lab per analyte is taken.
    car_impi : CarImpi or path, optional
        A reviewed or fitted CAR-IMPI model; without it CAR-IMPI is not computed.
    inflamix_model : InflaMixModel or path, optional
        The user's InflaMix model; without it InflaMix is not computed.
    **config
        Per-score options, e.g. ``{"car-hematotox": {"high_cutoff": 3}}``.
    """
    records = []
    for row in score_patient_results(tables, window=window, car_impi=car_impi, inflamix_model=inflamix_model,
                                     **config):
        record: dict[str, Any] = {"patient_id": row["patient_id"], "centre": row["centre"]}
        for name, result in row["results"].items():
            column = name.replace("-", "_")
            record[column] = result.value if result.computable else None
            record[f"{column}_group"] = result.group if result.computable else None
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    frame.attrs["lab_window_days"] = window
    return frame


def scores_by_cohort(scores: pd.DataFrame, patients: pd.DataFrame, *, by: str = "cohort") -> pd.DataFrame:
    """Report table: per cohort and score, n computable, median (Q1, Q3) of the value and group counts.

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`score_patients`.
    patients : DataFrame
        The patients table (for the ``by`` column; patients without it are labelled ``"all"``).
    by : str, default "cohort"
        Column of ``patients`` to split by.

    Returns
    -------
    DataFrame
        Columns ``cohort``, ``score``, ``n``, ``computable``, ``median``, ``q1``, ``q3``, ``groups``
        (a ``{group: count}`` dict), one row per cohort and score.
    """
    labels = patients[["patient_id", "centre"]].astype(str).assign(
        _cohort=patients[by].fillna("all").astype(str) if by in patients else "all")
    frame = scores.merge(labels, on=["patient_id", "centre"], how="left")
    names = [c for c in scores.columns if c not in {"patient_id", "centre"} and not c.endswith("_group")]
    rows = []
    for cohort, part in frame.groupby("_cohort", sort=True):
        for name in names:
            values = pd.to_numeric(part[name], errors="coerce").dropna()
            groups = part.get(f"{name}_group", pd.Series(dtype=object)).dropna().value_counts().to_dict()
            rows.append({"cohort": cohort, "score": name.replace("_", "-"), "n": len(part),
                         "computable": len(values),
                         "median": float(values.median()) if len(values) else None,
                         "q1": float(values.quantile(0.25)) if len(values) else None,
                         "q3": float(values.quantile(0.75)) if len(values) else None,
                         "groups": {str(k): int(v) for k, v in groups.items()}})
    return pd.DataFrame(rows)
