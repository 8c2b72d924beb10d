"""Many scans at once on Dask (``cartlens pet batch``), designed for scale-out.

One task per scan (read + SUV + segment + features); tasks share nothing, so they distribute over a
``dask.distributed`` cluster given by address, or a local cluster of ``workers`` single-threaded
processes (numpy/cc3d release the GIL only partly, so processes scale better than threads).
A scan that fails gives a row with ``status`` = the error message, never a failed batch.
Re-running with the same output skips scans already done (resumable, no duplicates:
web_and_security.md "Reliability").

Manifest (CSV) columns: ``scan_id`` (required, unique), exactly one of ``dicom`` / ``nifti`` (path,
relative paths resolved against the manifest's folder), optional ``method`` (suv4 | pct41),
``min_volume_ml``, ``suv_type``; any other column (patient_id, centre, ...) is copied through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cartlens.pet.errors import PETInputError

KNOWN = ("scan_id", "dicom", "nifti", "method", "min_volume_ml", "suv_type")


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Validate the manifest; errors name ``file:row:column`` (row = spreadsheet row, header = 1)."""
    p = Path(path)
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise PETInputError(p.name, f"cannot read manifest ({type(err).__name__})") from err
    if "scan_id" not in df.columns:
        raise PETInputError(f"{p.name}:1:scan_id", "required column missing")
    problems = []
    for i, row in df.iterrows():
        line = int(i) + 2  # type: ignore[call-overload]
        if not row["scan_id"]:
            problems.append(f"{p.name}:{line}:scan_id: empty")
        sources = [c for c in ("dicom", "nifti") if c in df.columns and row[c]]
        if len(sources) != 1:
            problems.append(f"{p.name}:{line}:dicom: give exactly one of dicom / nifti")
        if "method" in df.columns and row["method"] not in ("", "suv4", "pct41"):
            problems.append(f"{p.name}:{line}:method: {row['method']!r} is not suv4 or pct41")
    dup = df["scan_id"][df["scan_id"].duplicated()]
    problems += [f"{p.name}:{int(i) + 2}:scan_id: duplicate {v!r}" for i, v in dup.items()]  # type: ignore[call-overload]
    if problems:
        raise PETInputError(p.name, "\n".join(problems))
    for col in ("dicom", "nifti"):
        if col in df.columns:
            df[col] = [str((p.parent / v).resolve()) if v else "" for v in df[col]]
    return df


def process_scan(row: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Quantify one manifest row; returns the scan row and its lesion rows (never raises on bad input)."""
    from cartlens.pet.dicom import load_dicom_suv
    from cartlens.pet.features import lesion_table, quantify, scan_table
    from cartlens.pet.volume import load_nifti

    passthrough = {k: v for k, v in row.items() if k not in KNOWN[1:]}
    try:
        if row.get("dicom"):
            volume = load_dicom_suv(row["dicom"], suv_type=row.get("suv_type") or "bw")
        else:
            volume = load_nifti(row["nifti"])
        result = quantify(volume, method=row.get("method") or "suv4",
                          min_volume_ml=float(row.get("min_volume_ml") or 0.0))
    except PETInputError as err:
        return {**passthrough, "status": f"invalid: {err}"}, []
    except Exception as err:  # noqa: BLE001 - a bug or unreadable file: recorded, the batch goes on
        return {**passthrough, "status": f"error: {type(err).__name__}: {err}"}, []
    scan = {**passthrough, **scan_table(result).iloc[0].to_dict(), "status": "ok"}
    lesions = [{**passthrough, **r} for r in lesion_table(result).to_dict(orient="records")]
    return scan, lesions


def run_batch(rows: Sequence[dict[str, Any]], *, scheduler: str | None = None, workers: int = 1,
              progress: Callable[[int, int], None] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Process manifest rows on Dask; returns (scans, lesions) DataFrames in manifest order.

    ``scheduler``: address of a running Dask scheduler; else a LocalCluster of ``workers`` processes
    (``workers=0``: run in this process without Dask).
    """
    if not rows:
        return pd.DataFrame(), pd.DataFrame()
    results: list[Any] = [None] * len(rows)
    if scheduler is None and workers == 0:                 # in this process, no cluster (debugging, tiny jobs)
        results = []
        for done, r in enumerate(rows, start=1):
            results.append(process_scan(dict(r)))
            if progress is not None:
                progress(done, len(rows))
        return _tables(results)
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=max(int(workers), 1), threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(cluster if cluster is not None else scheduler)
    try:
        futures = {client.submit(process_scan, dict(r), pure=False): i for i, r in enumerate(rows)}
        for done, fut in enumerate(as_completed(futures), start=1):
            results[futures[fut]] = fut.result()
            if progress is not None:
                progress(done, len(rows))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return _tables(results)


def _tables(results: list[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    scans = pd.DataFrame([s for s, _ in results])
    lesions = pd.DataFrame([les for _, ls in results for les in ls])
    return scans, lesions


def lesions_path(out: Path) -> Path:
    """Lesion table written beside the scan table: ``X.parquet`` -> ``X.lesions.parquet``."""
    return out.with_name(out.stem + ".lesions" + out.suffix)


def pending_rows(manifest: pd.DataFrame, out: Path) -> tuple[list[dict[str, Any]], pd.DataFrame, pd.DataFrame]:
    """Rows not yet done in ``out`` (status ok), with the previous scan and lesion tables to keep."""
    if not out.exists():
        return manifest.to_dict(orient="records"), pd.DataFrame(), pd.DataFrame()
    old_scans = pd.read_parquet(out)
    old_lesions = pd.read_parquet(lesions_path(out)) if lesions_path(out).exists() else pd.DataFrame()
    done = set(old_scans.loc[old_scans["status"] == "ok", "scan_id"].astype(str))
    keep_scans = old_scans[old_scans["scan_id"].astype(str).isin(done)]
    keep_lesions = old_lesions[old_lesions["scan_id"].astype(str).isin(done)] if len(old_lesions) else old_lesions
    todo = [r for r in manifest.to_dict(orient="records") if str(r["scan_id"]) not in done]
    return todo, keep_scans, keep_lesions
