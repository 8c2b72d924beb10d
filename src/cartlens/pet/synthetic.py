"""Synthetic whole-body FDG PET volumes for tests and benchmarks (deterministic for a seed).

Not a physiological model: an elliptic body (SUV ~0.8 with Gaussian noise), a liver ellipsoid
(SUV 2.0), a descending aorta (SUV 1.6), physiological high uptake in brain (SUV 7), heart (SUV 5)
and bladder (SUV 20), and spherical lesions with a smooth edge (peak SUV 4-25, radius 4-25 mm)
placed inside the body away from the organs.  The organ label array lets callers test exclusion
masks and reference regions.  Default shape 600 x 200 x 200 (z, y, x) float32 (96 MB) at
3.0 x 3.65 x 3.65 mm, the benchmark volume of performance.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cartlens.pet.volume import SUVVolume

#: organ labels of :attr:`WholeBody.organs`
BRAIN, HEART, BLADDER, LIVER, AORTA = 1, 2, 3, 4, 5
EXCLUDED_ORGANS = (BRAIN, HEART, BLADDER)


@dataclass(frozen=True, slots=True)
class WholeBody:
    """A synthetic scan: the volume, organ labels (uint8, 0 = none) and lesion truth."""

    volume: SUVVolume
    organs: np.ndarray
    lesion_centres_mm: np.ndarray      # (K, 3) patient (x, y, z)
    lesion_radii_mm: np.ndarray        # (K,)
    lesion_peaks: np.ndarray           # (K,) peak SUV

    @property
    def exclude_mask(self) -> np.ndarray:
        """Brain, heart and bladder (physiological uptake to exclude)."""
        return np.isin(self.organs, EXCLUDED_ORGANS)


def _ellipsoid(shape: tuple[int, int, int], spacing: np.ndarray, centre: tuple[float, float, float],
               radii: tuple[float, float, float]) -> tuple[tuple[slice, ...], np.ndarray]:
    """Bool ellipsoid on its bounding box; centre and radii in (z, y, x) mm from voxel 0."""
    box = tuple(slice(max(int((c - r) / s), 0), min(int((c + r) / s) + 2, n))
                for c, r, s, n in zip(centre, radii, spacing, shape))
    g = np.ogrid[box[0], box[1], box[2]]
    d = sum(((gi * s - c) / r) ** 2 for gi, s, c, r in zip(g, spacing, centre, radii))
    return box, d <= 1.0


def whole_body(*, shape: tuple[int, int, int] = (600, 200, 200),
               spacing_mm: tuple[float, float, float] = (3.0, 3.65, 3.65), n_lesions: int = 100,
               seed: int = 0, noise_sd: float = 0.15) -> WholeBody:
    """Generate a whole-body SUV volume with ``n_lesions`` lesions (deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    sp = np.asarray(spacing_mm, dtype=float)
    ext = np.asarray(shape) * sp                                      # (z, y, x) extent, mm
    data = np.zeros(shape, dtype=np.float32)
    organs = np.zeros(shape, dtype=np.uint8)
    cy, cx = ext[1] / 2, ext[2] / 2
    body_box, body = _ellipsoid(shape, sp, (ext[0] / 2, cy, cx), (ext[0] * 0.49, ext[1] * 0.30, ext[2] * 0.42))
    data[body_box][body] = 0.8
    placements = {  # organ: (label, suv, centre fraction of z, radii mm (z, y, x), y, x offsets mm)
        "brain": (BRAIN, 7.0, 0.92, (70.0, 75.0, 65.0), 0.0, 0.0),
        "heart": (HEART, 5.0, 0.70, (45.0, 45.0, 50.0), -10.0, 25.0),
        "liver": (LIVER, 2.0, 0.62, (70.0, 60.0, 90.0), 0.0, -70.0),
        "bladder": (BLADDER, 20.0, 0.22, (30.0, 35.0, 35.0), -20.0, 0.0),
    }
    for label, suv, zf, organ_radii, dy, dx in placements.values():
        box, m = _ellipsoid(shape, sp, (ext[0] * zf, cy + dy, cx + dx), organ_radii)
        data[box][m] = suv
        organs[box][m] = label
    aorta_box, aorta = _ellipsoid(shape, sp, (ext[0] * 0.62, cy + 35.0, cx + 15.0), (120.0, 11.0, 11.0))
    data[aorta_box][aorta] = 1.6
    organs[aorta_box][aorta] = AORTA
    centres, radii, peaks = _place_lesions(rng, shape, sp, organs, body_box, body, n_lesions)
    for c, r, p in zip(centres, radii, peaks):
        _paint_lesion(data, sp, c, r, p)
    if noise_sd > 0:
        inside = data > 0
        data += (rng.standard_normal(shape, dtype=np.float32) * np.float32(noise_sd)) * inside
    affine = np.zeros((4, 4))
    affine[2, 0], affine[1, 1], affine[0, 2], affine[3, 3] = sp[0], sp[1], sp[2], 1.0    # k->z, j->y, i->x
    volume = SUVVolume(data, affine, (), {"source": "synthetic.whole_body", "seed": seed})
    xyz = np.stack([centres[:, 2], centres[:, 1], centres[:, 0]], axis=1) if len(centres) else np.zeros((0, 3))
    return WholeBody(volume, organs, xyz, radii, peaks)


def _place_lesions(rng: np.random.Generator, shape: tuple[int, int, int], sp: np.ndarray, organs: np.ndarray,
                   body_box: tuple[slice, ...], body: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Non-overlapping lesion centres (z, y, x mm) inside the body and outside every organ."""
    centres: list[np.ndarray] = []
    radii: list[float] = []
    lo = np.array([s.start for s in body_box]) * sp
    hi = np.array([s.stop for s in body_box]) * sp
    tries = 0
    while len(centres) < n and tries < 200 * max(n, 1):
        tries += 1
        r = float(rng.uniform(4.0, 25.0) if rng.random() < 0.3 else rng.uniform(4.0, 12.0))
        c = rng.uniform(lo + r, hi - r)
        idx = tuple(np.minimum((c / sp).astype(int), np.asarray(shape) - 1))
        rel = tuple(i - s.start for i, s in zip(idx, body_box))
        if not all(0 <= v < d for v, d in zip(rel, body.shape)) or not body[rel]:
            continue
        near = tuple(slice(max(int((ci - r - 10.0) / s), 0), int((ci + r + 10.0) / s) + 1) for ci, s in zip(c, sp))
        if organs[near].any():                    # keep 10 mm from every organ: lesions stay separate
            continue
        if any(np.linalg.norm(c - o) < r + ro + 10.0 for o, ro in zip(centres, radii)):
            continue
        centres.append(c)
        radii.append(r)
    peaks = rng.uniform(4.5, 25.0, size=len(centres))
    return np.array(centres).reshape(-1, 3), np.array(radii), peaks


def _paint_lesion(data: np.ndarray, sp: np.ndarray, centre: np.ndarray, radius: float, peak: float) -> None:
    """Sphere with a smooth (logistic, 1.5 mm) edge and a mild central bump, added onto the volume."""
    reach = radius + 6.0
    box = tuple(slice(max(int((c - reach) / s), 0), min(int((c + reach) / s) + 2, n))
                for c, s, n in zip(centre, sp, data.shape))
    g = np.ogrid[box[0], box[1], box[2]]
    dist = np.sqrt(sum((gi * s - c) ** 2 for gi, s, c in zip(g, sp, centre)))
    profile = 1.0 / (1.0 + np.exp((dist - radius) / 1.5)) * (0.85 + 0.15 * np.exp(-(dist / radius) ** 2))
    sub = data[box]
    np.maximum(sub, (peak * profile).astype(np.float32), out=sub)
