"""Deauville reference regions: liver (3 cm sphere) and mediastinal blood pool.

Spec: pet_quantification.md §3.4 and the liver QC range of §1.11.

* Liver: a 3 cm diameter spherical VOI (14.14 mL) placed inside the liver mask where the distance
  to the mask border is largest (exact Euclidean distance transform with the voxel spacing), lesion
  voxels counted as outside; the centre must be at least 15 mm + one voxel from the border.  The VOI
  is the set of voxel centres within 15 mm of the centre.  PERCIST 1.0 (Wahl 2009); EANM 2.0 QC
  range SUVmean 1.3-3.0 (Boellaard 2015).
* Mediastinal blood pool: following autods-pet (PyPI 0.1.0): descending-aorta mask eroded by
  4 mm, voxels within 6 mm of an optional heart mask removed, median reported (plus mean, max).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from cartlens.pet.errors import PETInputError
from cartlens.pet.volume import SUVVolume

LIVER_VOI_RADIUS_MM = 15.0
LIVER_QC_RANGE = (1.3, 3.0)       # EANM 2.0 guideline, SUVmean in the liver VOI


@dataclass(frozen=True, slots=True)
class ReferenceRegion:
    """Statistics of one reference VOI (SUV), with its volume (mL) and centre (LPS mm)."""

    name: str
    mean: float
    sd: float
    median: float
    max: float
    volume_ml: float
    centre_mm: tuple[float, float, float] | None
    method: str
    sul_mean: float | None = None          # mean x LBM / W (SUL, PERCIST), when body values are known

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "mean": self.mean, "sd": self.sd, "median": self.median, "max": self.max,
                "volume_ml": self.volume_ml, "centre_mm": list(self.centre_mm) if self.centre_mm else None,
                "method": self.method, "sul_mean": self.sul_mean}


def _stats(name: str, values: np.ndarray, v_ml: float, centre: Any, method: str) -> ReferenceRegion:
    return ReferenceRegion(name, float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0,
                           float(np.median(values)), float(values.max()), float(values.size * v_ml),
                           centre, method)


def _crop(mask: np.ndarray, margin: int) -> tuple[slice, ...]:
    """Bounding box of a non-empty bool mask, grown by ``margin`` voxels (clipped to the volume)."""
    box = []
    for axis, dim in enumerate(mask.shape):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        box.append(slice(max(int(hit[0]) - margin, 0), min(int(hit[-1]) + 1 + margin, dim)))
    return tuple(box)


def liver_reference(volume: SUVVolume, liver_mask: np.ndarray, *, lesion_mask: np.ndarray | None = None,
                    radius_mm: float = LIVER_VOI_RADIUS_MM) -> tuple[ReferenceRegion, list[str]]:
    """Liver SUV in a 3 cm sphere placed deepest inside the liver mask (§3.4).

    Returns the region and QC flags (``liver_suvmean_outside_1.3_3.0`` per §1.11).
    Raises PETInputError when no centre lies ``radius_mm`` + one voxel inside the mask.
    """
    mask = np.asarray(liver_mask, dtype=bool)
    if mask.shape != volume.data.shape or not mask.any():
        raise PETInputError("liver_mask", f"must be a non-empty bool array of shape {volume.data.shape}")
    if lesion_mask is not None:
        mask = mask & ~np.asarray(lesion_mask, dtype=bool)
    spacing = np.asarray(volume.spacing_mm)
    box = _crop(mask, 1)
    sub = np.pad(mask[box], 1)                         # border outside the mask at the crop edge
    depth = ndimage.distance_transform_edt(sub, sampling=spacing)[1:-1, 1:-1, 1:-1]
    best = np.unravel_index(int(np.argmax(depth)), depth.shape)
    if depth[best] < radius_mm + float(spacing.max()):
        raise PETInputError("liver_mask", f"no point lies {radius_mm + spacing.max():.1f} mm inside the liver "
                            f"(deepest {depth[best]:.1f} mm)")
    centre = tuple(int(b + s.start) for b, s in zip(best, box))
    return _sphere_region(volume, centre, radius_mm, f"sphere_{2 * radius_mm:g}mm_deepest")


def liver_reference_at(volume: SUVVolume, centre_mm: tuple[float, float, float], *,
                       radius_mm: float = LIVER_VOI_RADIUS_MM) -> tuple[ReferenceRegion, list[str]]:
    """Liver SUV in a 3 cm sphere centred at a user point (patient LPS mm; nearest voxel centre), §3.4."""
    inverse = np.linalg.inv(volume.affine)
    index = inverse[:3, :3] @ np.asarray(centre_mm, dtype=np.float64) + inverse[:3, 3]
    centre = tuple(round(float(v)) for v in index)
    if not all(0 <= c < n for c, n in zip(centre, volume.data.shape)):
        raise PETInputError("liver point", f"{tuple(centre_mm)} mm lies outside the image")
    return _sphere_region(volume, centre, radius_mm, f"sphere_{2 * radius_mm:g}mm_user_point")


def _sphere_region(volume: SUVVolume, centre: tuple[int, ...], radius_mm: float, method: str
                   ) -> tuple[ReferenceRegion, list[str]]:
    """Voxel centres within ``radius_mm`` of voxel ``centre`` (clipped at the image border) and the QC flag."""
    spacing = np.asarray(volume.spacing_mm)
    r = [int(np.ceil(radius_mm / s)) for s in spacing]
    win = tuple(slice(max(c - ri, 0), c + ri + 1) for c, ri in zip(centre, r))
    grids = np.meshgrid(*[(np.arange(w.start, min(w.stop, n)) - c) * s
                          for w, c, s, n in zip(win, centre, spacing, volume.data.shape)], indexing="ij")
    ball = sum(g**2 for g in grids) <= radius_mm**2
    values = volume.data[win][ball].astype(np.float64)
    centre_mm = tuple(float(v) for v in volume.index_to_mm(np.array(centre))[0])
    region = _stats("liver", values, volume.voxel_volume_ml, centre_mm, method)
    flags = []
    if not LIVER_QC_RANGE[0] <= region.mean <= LIVER_QC_RANGE[1]:
        flags.append(f"liver_suvmean_outside_1.3_3.0:{region.mean:.2f}")
    return region, flags


def blood_pool_reference(volume: SUVVolume, aorta_mask: np.ndarray, *, erosion_mm: float = 4.0,
                         heart_mask: np.ndarray | None = None, heart_margin_mm: float = 6.0) -> ReferenceRegion:
    """Mediastinal blood pool from a descending-aorta mask (autods-pet method, §3.4)."""
    mask = np.asarray(aorta_mask, dtype=bool)
    if mask.shape != volume.data.shape or not mask.any():
        raise PETInputError("aorta_mask", f"must be a non-empty bool array of shape {volume.data.shape}")
    spacing = np.asarray(volume.spacing_mm)
    box = _crop(mask, int(np.ceil(heart_margin_mm / spacing.min())) + 1)      # work near the aorta only
    inside = ndimage.distance_transform_edt(np.pad(mask[box], 1), sampling=spacing)[1:-1, 1:-1, 1:-1]
    keep = inside > erosion_mm
    if heart_mask is not None and np.asarray(heart_mask)[box].any():
        heart = np.asarray(heart_mask, dtype=bool)[box]
        keep &= ndimage.distance_transform_edt(~heart, sampling=spacing) > heart_margin_mm
    if not keep.any():
        raise PETInputError("aorta_mask", f"nothing left after {erosion_mm:g} mm erosion / heart margin")
    values = volume.data[box][keep].astype(np.float64)
    return _stats("mbp", values, volume.voxel_volume_ml, None,
                  f"aorta_eroded_{erosion_mm:g}mm_median")
