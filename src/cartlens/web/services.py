"""What the pages and the JSON API both do: patient views, scores, uploads.

Pages and API call these same functions (and the CLI calls the same engines), so a calculator gives the
same number in every channel.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from cartlens.web import auth
from cartlens.web.uploads import UploadError, unpack_zip


def jsonable(value: Any) -> Any:
    """Recursively turn pandas/numpy values into JSON-safe Python (NaN/NaT → ``None``)."""
    if isinstance(value, pd.DataFrame):
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if value is pd.NaT or (not isinstance(value, list | dict | str) and pd.api.types.is_scalar(value)
                            and pd.isna(value)):
        return None
    return value


def responses_for(record: dict[str, Any]) -> pd.DataFrame:
    """Response under the four criteria at each follow-up scan of one patient (empty without scans)."""
    scans, lesions = record.get("scans"), record.get("lesions")
    if scans is None or lesions is None or scans.empty or lesions.empty:
        return pd.DataFrame()
    from cartlens.criteria import assess

    try:
        return assess(scans, lesions)
    except ValueError as exc:  # the engine rejects inconsistent lesion data with a message
        return pd.DataFrame([{"criterion": "all", "category": "NE", "flags": [f"not assessable: {exc}"]}])


def scores_for(record: dict[str, Any]) -> dict[str, Any]:
    """Every computable pre-infusion score of one patient."""
    from cartlens.scores import score_patients

    tables = {k: v for k, v in record.items() if isinstance(v, pd.DataFrame)}
    tables["patients"] = pd.DataFrame([record["patient"]])
    out = score_patients(tables)
    return jsonable(out.iloc[0].to_dict()) if len(out) else {}


def patient_detail(record: dict[str, Any]) -> dict[str, Any]:
    """The JSON of ``GET /api/v1/patients/{centre}/{patient_id}``."""
    detail: dict[str, Any] = dict(jsonable(record["patient"]))
    for name in ("scans", "lesions", "labs", "toxicity", "biomarkers"):
        detail[name] = jsonable(record.get(name, pd.DataFrame()))
    detail["responses"] = jsonable(responses_for(record))
    detail["scores"] = scores_for(record)
    return detail


def compute_score(name: str, inputs: dict[str, Any], config: Any) -> dict[str, Any]:
    """One score for one patient: exactly the JSON of ``cartlens score NAME --format json``."""
    from cartlens.scores import compute

    extra: dict[str, Any] = {}
    if name == "car-impi" and getattr(config, "car_impi_coefficients", None):
        extra["coefficients"] = config.car_impi_coefficients
    if name == "inflamix" and getattr(config, "inflamix_model", None):
        extra["model"] = config.inflamix_model
    clean = {k.replace("-", "_"): v for k, v in inputs.items() if v not in (None, "")}
    return jsonable(compute(name, {**clean, **extra}).to_dict())


def validate_upload(filename: str, payload: bytes, *, max_bytes: int):  # type: ignore[no-untyped-def]
    """Validate an uploaded zip (data folder) or xlsx workbook (one sheet per table).

    Returns an ``ImportBatch``; raises :class:`UploadError` for unusable uploads.
    """
    from cartlens.io import read_data_dir, read_workbook

    if len(payload) > max_bytes:
        raise UploadError(f"{filename}: larger than the upload limit of {max_bytes // (1024 * 1024)} MiB")
    name = Path(filename or "upload").name
    if name.lower().endswith(".zip"):
        with tempfile.TemporaryDirectory(prefix="cartlens-upload-") as tmp:
            unpack_zip(payload, Path(tmp))
            return read_data_dir(Path(tmp))
    if name.lower().endswith(".xlsx"):
        with tempfile.TemporaryDirectory(prefix="cartlens-upload-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(payload)
            return read_workbook(path)
    raise UploadError(f"{name}: upload a .zip of the data folder or an .xlsx workbook")


def check_upload(filename: str, payload: bytes, session: auth.Session, *, max_bytes: int) -> tuple[Any, list[str]]:
    """Validate an upload for ``session``'s user: ``(batch, [])`` when it may be stored, else ``(batch|None, errors)``.

    Errors are the upload's own (size, archive safety), every validation error (``file:row:column: message``)
    and rows of centres the user does not belong to.
    """
    try:
        batch = validate_upload(filename, payload, max_bytes=max_bytes)
    except UploadError as exc:
        return None, [str(exc)]
    errors = [str(e) for e in batch.errors] if not batch.ok else centre_errors(batch, session)
    return batch, errors


def commit_upload(batch: Any, session: auth.Session, db_url: str) -> dict[str, Any]:
    """Store a validated batch for ``session``'s user; rows of other centres are refused (422 list)."""
    from cartlens.store import Store

    errors = centre_errors(batch, session)
    if errors:
        return {"errors": errors}
    summary = Store(db_url).import_batch(batch, user=session.user.username)
    return {"summary": jsonable(summary.to_dict() if hasattr(summary, "to_dict") else vars(summary))}


def centre_errors(batch: Any, session: auth.Session) -> list[str]:
    """One error per table row whose centre the uploading user may not write."""
    allowed = set(session.user.centres)
    errors: list[str] = []
    for table, df in batch.tables.items():
        if df is None or df.empty or "centre" not in df.columns:
            continue
        for i, centre in enumerate(df["centre"].astype(str), start=2):
            if centre not in allowed:
                errors.append(f"{table}:{i}:centre: centre {centre!r} is not one of your centres")
    return errors


__all__ = ["UploadError", "commit_upload", "compute_score", "jsonable", "patient_detail", "validate_upload"]
