"""Small synthetic PET SUV volumes for a handful of demo patients (pure; the CLI writes them as NIfTI).

Each volume is 96 x 96 x 200 voxels of 4 mm (RAS world = voxel * 4 mm + origin (-192, -192, 700) mm, the
coordinate frame of the lesion table's ``centroid_*_mm``): an elliptic body at SUV 0.8 with mild noise, a
liver at the scan's ``liver_suvmean``, a mediastinal blood pool at ``mbp_suvmax`` and, for every baseline
lesion with SUVmax >= 4, an ellipsoid at that lesion's centroid whose volume equals its ``volume_ml`` and whose
uniform uptake equals its ``suvmax``.  So ``cartlens pet quantify --nifti`` (SUV >= 4.0) recovers the lesion
table's SUVmax and, where lesions do not touch, its volumes; partial-volume effects are not modelled.
Spec demo_cohort.md, "Optional small PET volumes".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ORIGIN_MM", "SHAPE", "SPACING_MM", "affine", "build", "paint_patient", "relative_path"]

SHAPE = (96, 96, 200)                   # (x, y, z) voxels, NIfTI order
SPACING_MM = 4.0
ORIGIN_MM = (-192.0, -192.0, 700.0)


def affine() -> np.ndarray:
    """The 4 x 4 voxel-to-world (RAS, mm) affine shared by all demo volumes."""
    a = np.diag([SPACING_MM, SPACING_MM, SPACING_MM, 1.0])
    a[:3, 3] = ORIGIN_MM
    return a


def relative_path(centre: str, patient_id: str, scan_id: str) -> str:
    """Where the CLI writes a volume, relative to the output directory (stored in ``scans.image``)."""
    return f"pet/{centre}_{patient_id}_{scan_id}.nii.gz"


def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    axes = [ORIGIN_MM[d] + SPACING_MM * np.arange(SHAPE[d]) for d in range(3)]
    return np.meshgrid(*axes, indexing="ij", sparse=True)


def paint_patient(rng: np.random.Generator, lesions: pd.DataFrame, scan: pd.Series) -> np.ndarray:
    """SUV volume (float32, x-y-z) of one baseline scan from its lesion rows (see the module docstring)."""
    x, y, z = _grid()
    vol = np.zeros(SHAPE, dtype=np.float32)
    body = (x / 170.0) ** 2 + (y / 110.0) ** 2 <= 1.0
    vol[np.broadcast_to(body, SHAPE)] = 0.8
    vol += (rng.normal(0.0, 0.05, SHAPE) * np.broadcast_to(body, SHAPE)).astype(np.float32)
    liver = ((x + 100) / 80.0) ** 2 + (y / 70.0) ** 2 + ((z - 1050) / 90.0) ** 2 <= 1.0
    vol[liver] = float(scan["liver_suvmean"])
    mbp = (x / 15.0) ** 2 + ((y + 20) / 15.0) ** 2 + ((z - 1230) / 40.0) ** 2 <= 1.0
    vol[mbp] = float(scan["mbp_suvmax"])
    for _, les in lesions.iterrows():
        if not (les["suvmax"] >= 4.0 and les["volume_ml"] > 0):
            continue
        radius = np.cbrt(3.0 * float(les["volume_ml"]) * 1000.0 / (4.0 * np.pi))     # mm, equal-volume sphere
        aspect = np.array([1.2, 0.9, 1.0 / (1.2 * 0.9)])                              # volume-preserving
        semi = radius * aspect
        inside = (((x - les["centroid_x_mm"]) / semi[0]) ** 2 + ((y - les["centroid_y_mm"]) / semi[1]) ** 2
                  + ((z - les["centroid_z_mm"]) / semi[2]) ** 2) <= 1.0
        if not inside.any():           # smaller than a voxel: paint the nearest voxel
            idx = tuple(int(np.clip(round((les[f"centroid_{a}_mm"] - ORIGIN_MM[d]) / SPACING_MM), 0, SHAPE[d] - 1))
                        for d, a in enumerate("xyz"))
            vol[idx] = float(les["suvmax"])
            continue
        vol[inside] = np.maximum(vol[inside], float(les["suvmax"]))
    return np.clip(vol, 0.0, None)


def build(rng: np.random.Generator, tables: dict[str, pd.DataFrame], patient_ids: list[str]
          ) -> dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]]:
    """Volumes of the baseline scans of ``patient_ids``: ``(centre, patient_id, "BL") -> (volume, affine)``."""
    les, scans = tables["lesions"], tables["scans"]
    out: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = {}
    for pid in patient_ids:
        scan = scans[(scans["patient_id"] == pid) & (scans["scan_id"] == "BL")].iloc[0]
        rows = les[(les["patient_id"] == pid) & (les["scan_id"] == "BL")]
        out[(str(scan["centre"]), pid, "BL")] = (paint_patient(rng, rows, scan), affine())
    return out
