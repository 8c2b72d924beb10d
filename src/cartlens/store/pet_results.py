"""Store PET quantification results against a patient and scan (shell: reads and writes the database).

The result of :func:`cartlens.pet.quantify` becomes canonical values of the study tables, written through the
normal import path so that the change is validated, done in one transaction and audited like any correction:

* ``patients.mtv_ml`` / ``patients.mtv_method`` when the scan is the patient's baseline (the last scan at
  day <= 0, data_model.md) — the pre-infusion MTV the CAR-IMPI analysis uses;
* ``scans.liver_suvmean`` / ``scans.mbp_suvmax`` of that scan when the reference regions were measured
  (Deauville references, scores.md §11).

Lesion-level PET components are not matched to reader lesions here (no rule in the spec links a segmented
component to a ``lesion_id``); they stay in the quantification output (``cartlens pet quantify --format json``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from cartlens.store.engine import Store, StoreError


def store_pet_result(store: Store, result: Any, *, centre: str, patient_id: str, scan_id: str, user: str,
                     reason: str = "PET quantification") -> dict[str, Any]:
    """Write ``result`` (a :class:`cartlens.pet.PETResult`) for one scan; returns the import summary as a dict.

    Raises :class:`StoreError` if the patient or scan does not exist (nothing is written).
    """
    from cartlens.io import read_data_dir, write_data_dir

    tables = store.load_tables(centres=[centre], patient_ids=[patient_id])
    patients, scans = tables["patients"], tables["scans"]
    if patients.empty:
        raise StoreError(f"patient {centre}/{patient_id}: not in the database")
    hit = scans["scan_id"] == scan_id
    if not hit.any():
        raise StoreError(f"scan {scan_id!r} of patient {centre}/{patient_id}: not in the database")
    changed: list[str] = []
    baseline = scans[scans["day"] <= 0].sort_values(["day", "scan_id"])
    if not baseline.empty and baseline["scan_id"].iloc[-1] == scan_id:
        patients.loc[:, "mtv_ml"] = float(result.mtv_ml)
        patients.loc[:, "mtv_method"] = str(result.method)
        changed += ["patients.mtv_ml", "patients.mtv_method"]
    if getattr(result, "liver", None) is not None and result.liver.mean is not None:
        scans.loc[hit, "liver_suvmean"] = float(result.liver.mean)
        changed.append("scans.liver_suvmean")
    if getattr(result, "mbp", None) is not None and result.mbp.max is not None:
        scans.loc[hit, "mbp_suvmax"] = float(result.mbp.max)
        changed.append("scans.mbp_suvmax")
    if not changed:
        return {"changed": False, "fields": [], "note": "not the baseline scan and no reference regions measured"}
    with tempfile.TemporaryDirectory(prefix="cartlens-pet-") as tmp:
        write_data_dir(tables, Path(tmp))                # the lossless export/import round trip
        batch = read_data_dir(Path(tmp))
        batch.raise_for_errors()
        summary = store.import_batch(batch, user=user, reason=f"{reason}: scan {scan_id}")
    return {**summary.to_dict(), "fields": changed}
