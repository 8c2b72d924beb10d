"""NEMA NU 2 / IEC 61675-1 body-phantom digital twin.

Spec: pet_quantification.md §5.6.  Two geometries:

* ``geometry="reference"`` (default) is the spec's reference generator, reproduced exactly so its
  table of SUVmax / SUVpeak / MTV values is a regression test: 2 mm grid 100 x 100 x 40 voxels, voxel
  centres at -100 + 2(i + 1/2) mm in x and y and -40 + 2(k + 1/2) mm in z; lung insert (value 0)
  inside 25 mm of the z axis; background 1.0 everywhere else; six spheres of inner diameters
  37, 28, 22, 17, 13, 10 mm centred at (57.2 cos t, 57.2 sin t, 0) mm, t = 180, 240, ... degrees,
  filled at ``sbr`` x background with 4 x 4 x 4 partial-volume supersampling; optional Gaussian blur
  (sigma = FWHM / 2.3548, ``mode='nearest'``).
* ``geometry="iec"`` adds the body outline of the IEC phantom as modelled in OpenGATE
  ``contrib/phantoms/nemaiec.py``: interior = half-cylinder of radius 150 mm (anterior, y < 0 in
  LPS) on a 140 x 80 mm block with two 80 mm-radius quarter cylinders (posterior); outside = 0.  Along z
  the interior is 194 mm long (214 mm with two 10 mm end walls) and the sphere plane (z = 0) lies 70 mm
  from its end at z = -70 mm, i.e. 27 mm above mid-length.  Walls are not modelled (activity 0 outside).

Sphere volumes (mL, inner): 26.522, 11.494, 5.575, 2.572, 1.150, 0.524.  Activity ratios: NEMA 4:1
and 8:1; EARL 10:1 with 2.0 kBq/mL background (spec §5.6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage

from cartlens.pet.errors import PETInputError
from cartlens.pet.volume import SUVVolume

SPHERE_DIAMETERS_MM = (37.0, 28.0, 22.0, 17.0, 13.0, 10.0)
SPHERE_ANGLES_DEG = (180.0, 240.0, 300.0, 0.0, 60.0, 120.0)
SPHERE_RING_RADIUS_MM = 57.2          # reference generator (geometric truth in OpenGATE: 57.27)
LUNG_RADIUS_MM = 25.0
FWHM_TO_SIGMA = 2.3548
IEC_INTERIOR_LENGTH_MM = 194.0        # 214 mm total minus two 10 mm end walls
IEC_PLANE_TO_END_MM = 70.0            # sphere plane 70 mm from the interior end (27 mm above mid-length)


@dataclass(frozen=True, slots=True)
class PhantomSphere:
    """One fillable sphere: inner diameter (mm), centre (patient x, y, z mm), true volume (mL)."""

    diameter_mm: float
    centre_mm: tuple[float, float, float]

    @property
    def volume_ml(self) -> float:
        return float(np.pi / 6.0 * self.diameter_mm**3 / 1000.0)


def _axes(shape: tuple[int, int, int], spacing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nz, ny, nx = shape
    z = -nz * spacing / 2 + spacing * (np.arange(nz) + 0.5)
    y = -ny * spacing / 2 + spacing * (np.arange(ny) + 0.5)
    x = -nx * spacing / 2 + spacing * (np.arange(nx) + 0.5)
    return z, y, x


def _sphere_fraction(z: np.ndarray, y: np.ndarray, x: np.ndarray, centre: tuple[float, float, float],
                     radius: float, spacing: float, ss: int) -> tuple[tuple[slice, ...], np.ndarray]:
    """Fraction of each voxel inside the sphere from ss^3 sub-samples, on the sphere's bounding box."""
    box = []
    for axis, c in zip((z, y, x), (centre[2], centre[1], centre[0])):
        idx = np.flatnonzero(np.abs(axis - c) <= radius + spacing)
        if idx.size == 0:                                   # sphere outside this grid
            return tuple(slice(0, 0) for _ in range(3)), np.zeros((0, 0, 0))
        box.append(slice(int(idx[0]), int(idx[-1]) + 1))
    off = ((np.arange(ss) + 0.5) / ss - 0.5) * spacing
    dz = ((z[box[0]][:, None] + off) - centre[2]).reshape(-1) ** 2
    dy = ((y[box[1]][:, None] + off) - centre[1]).reshape(-1) ** 2
    dx = ((x[box[2]][:, None] + off) - centre[0]).reshape(-1) ** 2
    inside = (dz[:, None, None] + dy[None, :, None] + dx[None, None, :]) <= radius**2
    n = [s.stop - s.start for s in box]
    return tuple(box), inside.reshape(n[0], ss, n[1], ss, n[2], ss).mean(axis=(1, 3, 5))


def _iec_body(z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Interior of the IEC body (OpenGATE nemaiec.py outline), bool (z, y, x)."""
    yy, xx = np.meshgrid(y, x, indexing="ij")
    upper = (yy <= 0) & (xx**2 + yy**2 <= 150.0**2)                       # half-cylinder r 150 mm
    block = (yy > 0) & (yy <= 80.0) & (np.abs(xx) <= 70.0)                 # 140 x 80 mm block
    corners = (yy > 0) & (yy <= 80.0) & (np.abs(xx) > 70.0) & ((np.abs(xx) - 70.0) ** 2 + yy**2 <= 80.0**2)
    plane = upper | block | corners
    along = (z >= -IEC_PLANE_TO_END_MM) & (z <= IEC_INTERIOR_LENGTH_MM - IEC_PLANE_TO_END_MM)
    return along[:, None, None] & plane[None, :, :]


def nema_iec_phantom(*, sbr: float = 10.0, background: float = 1.0, fwhm_mm: float = 0.0,
                     spacing_mm: float = 2.0, shape: tuple[int, int, int] = (40, 100, 100),
                     supersample: int = 4, geometry: Literal["reference", "iec"] = "reference"
                     ) -> tuple[SUVVolume, tuple[PhantomSphere, ...]]:
    """Build the IEC body-phantom twin (§5.6) as an SUV volume.

    Parameters
    ----------
    sbr : float
        Sphere-to-background activity ratio (NEMA 4 or 8, EARL 10).
    background : float
        Background SUV (activity concentration units are arbitrary; 1.0 = SUV 1).
    fwhm_mm : float
        Gaussian resolution (FWHM, mm); 0 = no blur.
    spacing_mm, shape : float, (nz, ny, nx)
        Isotropic grid centred on the sphere plane; the reference table uses 2 mm, (40, 100, 100).
    supersample : int
        Sub-samples per axis for partial-volume sphere filling (4 in the reference).
    geometry : {"reference", "iec"}

    Returns
    -------
    volume : SUVVolume
        float32 ``(z, y, x)``; affine maps index to patient (x, y, z) mm with the origin at the
        lung-insert axis in the sphere plane.
    spheres : tuple of PhantomSphere
        Truth, largest first.
    """
    if sbr <= 0 or background < 0 or fwhm_mm < 0 or spacing_mm <= 0 or supersample < 1:
        raise PETInputError("phantom parameters", "sbr > 0, background >= 0, fwhm >= 0, spacing > 0 required")
    z, y, x = _axes(shape, spacing_mm)
    data = np.full(shape, background, dtype=np.float64)
    if geometry == "iec":
        data[~_iec_body(z, y, x)] = 0.0
    lung = (y[:, None] ** 2 + x[None, :] ** 2) <= LUNG_RADIUS_MM**2
    data[:, lung] = 0.0
    spheres = []
    for d, t in zip(SPHERE_DIAMETERS_MM, SPHERE_ANGLES_DEG):
        c = (SPHERE_RING_RADIUS_MM * np.cos(np.radians(t)), SPHERE_RING_RADIUS_MM * np.sin(np.radians(t)), 0.0)
        box, frac = _sphere_fraction(z, y, x, c, d / 2.0, spacing_mm, supersample)
        data[box] = data[box] * (1.0 - frac) + sbr * background * frac
        spheres.append(PhantomSphere(d, (float(c[0]), float(c[1]), float(c[2]))))
    if fwhm_mm > 0:
        data = ndimage.gaussian_filter(data, fwhm_mm / FWHM_TO_SIGMA / spacing_mm, mode="nearest")
    affine = np.zeros((4, 4))
    affine[0, 2] = affine[1, 1] = affine[2, 0] = spacing_mm     # k -> z, j -> y, i -> x
    affine[:3, 3] = (x[0], y[0], z[0])
    affine[3, 3] = 1.0
    header = {"source": "nema_iec_phantom", "sbr": sbr, "fwhm_mm": fwhm_mm, "geometry": geometry}
    return SUVVolume(data.astype(np.float32), affine, (), header), tuple(spheres)
