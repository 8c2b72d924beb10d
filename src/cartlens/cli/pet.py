"""``cartlens pet …``: PET quantification (spec cli.md "PET"; JSON keys are a contract).

* ``cartlens pet quantify (--dicom DIR | --nifti FILE) [--method suv4|pct41] [--min-volume-ml V]
  [--format json]`` -> ``{"method", "mtv_ml", "tlg", "suvmax", "suvpeak", "n_lesions", "dmax_cm",
  "lesions": [{"id", "volume_ml", "suvmax", "suvmean", "suvpeak", "tlg", "centroid_mm", "max_diameter_cm"}]}``
  plus extra keys (parameters, qc_flags, …).
* ``cartlens pet batch MANIFEST.csv [--scheduler ADDRESS] [--workers N] --out FILE.parquet``.
* ``cartlens pet deidentify DIR --out DIR --pseudonym P --key-file F [--anchor YYYY-MM-DD]``.

Exit status: 0 success, 2 invalid input (message on stderr naming the file/tag), 1 other failure.
"""

from __future__ import annotations

import json
import math
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

pet_app = typer.Typer(help="PET quantification: SUV from DICOM/NIfTI, MTV (SUV>=4 or 41 % SUVmax), features.",
                      no_args_is_help=True)


class Method(str, Enum):
    suv4 = "suv4"
    pct41 = "pct41"


class Format(str, Enum):
    json = "json"
    table = "table"


def _clean(value: Any) -> Any:
    """Non-finite floats -> None (JSON null), recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _fail(message: str, code: int) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@pet_app.command("quantify")
def quantify_cmd(
    dicom: Annotated[Path | None, typer.Option("--dicom", help="Folder with one PET DICOM series (recursive).")] = None,
    nifti: Annotated[Path | None, typer.Option("--nifti", help="NIfTI image whose values are already SUV.")] = None,
    method: Annotated[Method, typer.Option("--method", help="suv4: SUV >= 4.0; pct41: 41 % of each lesion's "
                                           "SUVmax.")] = Method.suv4,
    min_volume_ml: Annotated[float, typer.Option("--min-volume-ml", help="Drop lesions below this (mL).")] = 0.0,
    connectivity: Annotated[int, typer.Option("--connectivity", help="6, 18 or 26.")] = 26,
    suv_type: Annotated[str, typer.Option("--suv-type", help="bw, lbm_james, lbm_janmahasatian, ibw or bsa "
                                          "(DICOM only).")] = "bw",
    fmt: Annotated[Format, typer.Option("--format", help="json (the cli.md contract) or a table.")] = Format.table,
    exclude_mask: Annotated[Path | None, typer.Option("--exclude-mask", help="NIfTI organ labels on the PET grid: "
                                                      "components >= 50 % inside are removed.")] = None,
    liver_mask: Annotated[Path | None, typer.Option("--liver-mask", help="NIfTI liver mask: 3 cm reference VOI.")] = None,
    aorta_mask: Annotated[Path | None, typer.Option("--aorta-mask", help="NIfTI descending-aorta mask: blood pool.")] = None,
    liver_point: Annotated[str | None, typer.Option("--liver-point", help="x,y,z (patient LPS mm): centre of the "
                                                    "3 cm liver VOI, instead of --liver-mask.")] = None,
    seeds: Annotated[Path | None, typer.Option("--seeds", help="NIfTI lesion labels/mask on the PET grid: seeds "
                                               "for pct41 (default: the SUV >= 4 components).")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Also store the result (baseline MTV, Deauville reference "
                                                        "SUVs) in this database, audited.")] = None,
    centre: Annotated[str | None, typer.Option("--centre", help="With --db: the patient's centre.")] = None,
    patient: Annotated[str | None, typer.Option("--patient", help="With --db: the patient_id.")] = None,
    scan: Annotated[str | None, typer.Option("--scan", help="With --db: the scan_id.")] = None,
) -> None:
    """Quantify one PET scan: MTV, TLG, SUVmax/peak, lesion count, Dmax and the lesion list."""
    from cartlens.pet import PETInputError, load_dicom_suv, load_nifti, quantify
    from cartlens.pet.volume import load_mask_nifti

    if (dicom is None) == (nifti is None):
        _fail("pet quantify: give exactly one of --dicom DIR or --nifti FILE", 2)
    if seeds is not None and method is not Method.pct41:
        _fail("pet quantify: --seeds applies to --method pct41 only", 2)
    point: tuple[float, float, float] | None = None
    if liver_point is not None:
        try:
            x, y, z = (float(v) for v in liver_point.split(","))
        except ValueError:
            _fail("--liver-point: give three numbers x,y,z in mm", 2)
        if liver_mask is not None:
            _fail("--liver-point: not together with --liver-mask", 2)
        point = (x, y, z)
    try:
        volume = load_dicom_suv(dicom, suv_type=suv_type) if dicom is not None else load_nifti(nifti)  # type: ignore[arg-type]
        organs = load_mask_nifti(exclude_mask, volume) if exclude_mask is not None else None
        liver = load_mask_nifti(liver_mask, volume) > 0 if liver_mask is not None else None
        aorta = load_mask_nifti(aorta_mask, volume) > 0 if aorta_mask is not None else None
        seed_labels = load_mask_nifti(seeds, volume) if seeds is not None else None
        result = quantify(volume, method=method.value, min_volume_ml=min_volume_ml, connectivity=connectivity,
                          exclude_mask=organs, liver_mask=liver, aorta_mask=aorta, seeds=seed_labels,
                          liver_centre_mm=point)
    except PETInputError as err:
        _fail(str(err), 2)
    except Exception as err:  # noqa: BLE001 - a bug: say so, exit 1, no traceback for the user
        _fail(f"pet quantify failed: {type(err).__name__}: {err}", 1)
    if db is not None:
        _store(result, db, centre, patient, scan)
    if fmt is Format.json:
        typer.echo(json.dumps(_clean(result.to_dict())))
        return
    scan = {k: v for k, v in result.to_dict().items() if k in ("method", "mtv_ml", "tlg", "suvmax", "suvpeak",
                                                              "n_lesions", "dmax_cm", "sdmax_per_m")}
    typer.echo("  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in scan.items()))
    if result.qc_flags:
        typer.echo("qc: " + ", ".join(result.qc_flags))
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        typer.echo(result.summary().round(3).to_string(index=False))


def _store(result, db: str, centre: str | None, patient: str | None, scan: str | None) -> None:  # type: ignore[no-untyped-def]
    """``--db``: write the result against the patient's scan (cartlens.store.pet_results), message on stderr."""
    from cartlens.store import Store, sqlite_url
    from cartlens.store.engine import StoreError
    from cartlens.store.pet_results import store_pet_result

    if not (centre and patient and scan):
        _fail("pet quantify: --db needs --centre, --patient and --scan", 2)
    try:
        store = Store(db if "://" in db else sqlite_url(db))
        store.migrate()
        out = store_pet_result(store, result, centre=centre, patient_id=patient, scan_id=scan,  # type: ignore[arg-type]
                               user="cartlens-pet")
    except StoreError as err:
        _fail(f"pet quantify: {err}", 2)
    typer.echo(f"stored: {', '.join(out['fields']) or 'nothing to store'}", err=True)


@pet_app.command("batch")
def batch_cmd(
    manifest: Annotated[Path, typer.Argument(help="CSV: scan_id and dicom or nifti (+ method, min_volume_ml).")],
    out: Annotated[Path, typer.Option("--out", help="Scan table (parquet); lesions go to OUT.lesions.parquet.")],
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Address of a running Dask scheduler.")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Local worker processes without --scheduler "
                                                          "(0: in this process, no Dask).")] = 1,
) -> None:
    """Quantify many scans on Dask; resumable (scans already done in OUT are skipped)."""
    from cartlens.pet.batch import lesions_path, pending_rows, read_manifest, run_batch
    from cartlens.pet.errors import PETInputError

    try:
        table = read_manifest(manifest)
    except PETInputError as err:
        _fail(str(err), 2)
    todo, old_scans, old_lesions = pending_rows(table, out)

    def progress(done: int, total: int) -> None:
        typer.echo(f"pet batch: {done}/{total} scans", err=True)

    try:
        scans, lesions = run_batch(todo, scheduler=scheduler, workers=workers, progress=progress)
    except Exception as err:  # noqa: BLE001 - cluster failure: exit 1 with the reason
        _fail(f"pet batch failed: {type(err).__name__}: {err}", 1)
    scans = pd.concat([old_scans, scans], ignore_index=True)
    lesions = pd.concat([old_lesions, lesions], ignore_index=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    scans.to_parquet(out, index=False)
    lesions.to_parquet(lesions_path(out), index=False)
    bad = int((scans["status"] != "ok").sum()) if len(scans) else 0
    typer.echo(json.dumps({"scans": len(scans), "ok": len(scans) - bad, "failed": bad, "out": str(out),
                           "lesions_out": str(lesions_path(out))}))


@pet_app.command("deidentify")
def deidentify_cmd(
    source: Annotated[Path, typer.Argument(help="Folder with the DICOM files of one patient (recursive).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the de-identified copies.")],
    pseudonym: Annotated[str, typer.Option("--pseudonym", help="Study pseudonym (patient_id) to write.")],
    key_file: Annotated[Path, typer.Option("--key-file", help="Secret key for UID replacement (same for a study).")],
    anchor: Annotated[str | None, typer.Option("--anchor", help="Date (YYYY-MM-DD) that becomes 2000-01-01; "
                                               "default the earliest study date.")] = None,
) -> None:
    """De-identify DICOM (PS3.15 basic profile; keeps what SUV needs; dates shifted, intervals exact)."""
    from datetime import date

    from cartlens.pet.dicom import deidentify_series
    from cartlens.pet.errors import PETInputError

    try:
        key = key_file.read_bytes()
        day = date.fromisoformat(anchor) if anchor else None
    except (OSError, ValueError) as err:
        _fail(f"pet deidentify: {type(err).__name__}: {err}", 2)
    if len(key) < 16:
        _fail(f"{key_file.name}: key must be at least 16 bytes", 2)
    try:
        n = deidentify_series(source, out, pseudonym=pseudonym, uid_key=key, anchor=day)
    except PETInputError as err:
        _fail(str(err), 2)
    typer.echo(json.dumps({"files": n, "out": str(out)}))


def register(app: typer.Typer) -> None:
    """Attach the ``pet`` command group to the root app."""
    app.add_typer(pet_app, name="pet")
