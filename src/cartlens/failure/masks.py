"""Lesion masks in the baseline frame, and the overlap / distance measures of spec §2.3 step 2.

Registration itself is outside this core: a failure-scan mask must already be resampled into the
pre-treatment scan's grid (rigid CT registration per body region, spec §2.3 step 1); the
method and its quality (landmark residual) travel with the mask and are reported.

Distances are between voxel centres (Euclidean distance transform with the voxel spacing,
``scipy.ndimage.distance_transform_edt``): the distance of F from I is the smallest distance
from a voxel of F to a voxel of I, in mm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

MaskKey = tuple[str, str, str, str]            # centre, patient_id, scan_id, lesion_id


@dataclass(frozen=True)
class LesionMask:
    """A binary lesion mask on the patient's baseline grid.

    Parameters
    ----------
    array : ndarray of bool, 3-D
        Voxels of the lesion.
    spacing_mm : tuple of 3 float
        Voxel size per axis, mm.
    origin_mm : tuple of 3 float
        Position of voxel (0, 0, 0), mm; masks compared with each other must share grid.
    registration : str
        How the scan was brought into the baseline frame (e.g. ``"rigid_ct_per_region"``, or
        ``"identity"`` for the baseline itself).
    residual_mm : float or None
        Registration quality, e.g. mean landmark residual, mm.
    """

    array: np.ndarray
    spacing_mm: tuple[float, float, float]
    origin_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    registration: str = "identity"
    residual_mm: float | None = None

    def __post_init__(self) -> None:
        arr = np.asarray(self.array)
        if arr.ndim != 3:
            raise ValueError(f"mask array must be 3-D, got {arr.ndim}-D")
        if len(self.spacing_mm) != 3 or any(not s > 0 for s in self.spacing_mm):
            raise ValueError(f"spacing_mm must be three positive numbers, got {self.spacing_mm!r}")
        object.__setattr__(self, "array", arr.astype(bool))

    @property
    def voxels(self) -> int:
        return int(np.count_nonzero(self.array))

    def centroid_mm(self) -> tuple[float, float, float] | None:
        idx = np.argwhere(self.array)
        if idx.size == 0:
            return None
        x, y, z = (float(o + s * c) for o, s, c in zip(self.origin_mm, self.spacing_mm, idx.mean(axis=0)))
        return x, y, z


def normalise_masks(masks: Mapping | None) -> dict[MaskKey, LesionMask]:
    """Accept keys (centre, patient_id, scan_id, lesion_id) or (patient_id, scan_id, lesion_id).

    A 3-tuple key matches the patient in any centre (use 4-tuples when ids repeat across centres).
    """
    out: dict[MaskKey, LesionMask] = {}
    for key, mask in (masks or {}).items():
        if not isinstance(mask, LesionMask):
            raise TypeError(f"masks[{key!r}] must be a LesionMask, got {type(mask).__name__}")
        if len(key) == 4:
            out[tuple(map(str, key))] = mask  # type: ignore[index]
        elif len(key) == 3:
            out[("*", *map(str, key))] = mask  # type: ignore[index]
        else:
            raise ValueError(f"mask key {key!r} must be (centre, patient_id, scan_id, lesion_id) "
                             "or (patient_id, scan_id, lesion_id)")
    return out


def find_mask(masks: dict[MaskKey, LesionMask], centre: str, patient: str, scan: str,
              lesion: str) -> LesionMask | None:
    return masks.get((centre, patient, scan, lesion)) or masks.get(("*", patient, scan, lesion))


def _same_grid(a: LesionMask, b: LesionMask, what: str) -> None:
    if a.array.shape != b.array.shape or not np.allclose(a.spacing_mm, b.spacing_mm) or not np.allclose(
            a.origin_mm, b.origin_mm):
        raise ValueError(f"{what}: masks are not on the same grid (shape/spacing/origin differ); "
                         "resample the failure scan into the baseline frame first")


def overlap_and_distance(failure: LesionMask, index: LesionMask, *, margin_mm: float = 0.0,
                         what: str = "mask") -> tuple[int, float | None]:
    """(|F ∩ I| in voxels, smallest voxel-centre distance F→I in mm; 0.0 when they overlap).

    The crop keeps the whole of F and I, so the distance is exact at any range.
    """
    _same_grid(failure, index, what)
    f, i = failure.array, index.array
    overlap = int(np.count_nonzero(f & i))
    if overlap:
        return overlap, 0.0
    if not f.any() or not i.any():
        return 0, None
    pad = [int(np.ceil(margin_mm / s)) + 1 for s in failure.spacing_mm]
    both = np.argwhere(f | i)
    lo = np.maximum(both.min(axis=0) - pad, 0)
    hi = np.minimum(both.max(axis=0) + pad + 1, f.shape)
    sl = tuple(slice(a, b) for a, b in zip(lo, hi))
    dist = ndimage.distance_transform_edt(~i[sl], sampling=failure.spacing_mm)
    d = float(dist[f[sl]].min())
    return 0, d
