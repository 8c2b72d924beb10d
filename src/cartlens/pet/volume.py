"""SUV volumes: the array, its geometry, and the NIfTI reader.

Spec: pet_quantification.md §0 (array order, affine), §1.10 (slice sorting and spacing).

Conventions (fixed once, §0)
----------------------------
* ``data`` is C-contiguous float32, axis order ``(z, y, x)`` = (slice, row, column).
* ``affine`` is 4x4 and maps an array index **in the array's own order** ``(k, j, i, 1)`` =
  (slice, row, column) to DICOM patient coordinates LPS ``(x, y, z, 1)`` in mm.  (This differs from
  the NIfTI/ITK habit of ``(i, j, k)``; :func:`load_nifti` converts.)
* ``spacing_mm`` is ``(dz, dy, dx)`` in mm, the column norms of ``affine``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cartlens.pet.errors import PETInputError

#: RAS (NIfTI world) -> LPS (DICOM patient) flips x and y.
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
#: (k, j, i, 1) -> (i, j, k, 1): reverses the three index axes.
KJI_TO_IJK = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)


@dataclass(frozen=True, slots=True)
class SUVVolume:
    """A PET volume in SUV with its geometry.

    Attributes
    ----------
    data : numpy.ndarray, float32, shape (z, y, x)
        SUV (g/mL for SUVbw), read-only.
    affine : numpy.ndarray, shape (4, 4)
        ``(k, j, i, 1)`` array index -> patient LPS mm.
    qc_flags : tuple of str
        Warnings of spec §1.11 and reader remarks; empty when nothing was noticed.
    header : dict
        De-identified summary of the header values used (no names, IDs, dates or UIDs).
    suv_type : str
        ``"bw"`` unless another normaliser was requested.
    """

    data: np.ndarray
    affine: np.ndarray
    qc_flags: tuple[str, ...] = ()
    header: dict[str, Any] = field(default_factory=dict)
    suv_type: str = "bw"

    def __post_init__(self) -> None:
        if self.data.ndim != 3:
            raise PETInputError("data", f"a PET volume must be 3-D (z, y, x), got shape {self.data.shape}")
        if self.data.dtype != np.float32 or not self.data.flags.c_contiguous:
            object.__setattr__(self, "data", np.ascontiguousarray(self.data, dtype=np.float32))
        aff = np.asarray(self.affine, dtype=np.float64)
        if aff.shape != (4, 4) or not np.all(np.isfinite(aff)) or abs(np.linalg.det(aff[:3, :3])) < 1e-9:
            raise PETInputError("affine", "must be a finite, non-singular 4x4 matrix")
        object.__setattr__(self, "affine", aff)
        self.data.flags.writeable = False
        aff.flags.writeable = False

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """Voxel spacing ``(dz, dy, dx)`` in mm."""
        norms = np.linalg.norm(self.affine[:3, :3], axis=0)
        return float(norms[0]), float(norms[1]), float(norms[2])

    @property
    def origin_mm(self) -> tuple[float, float, float]:
        """Patient LPS position (x, y, z) of voxel (0, 0, 0), mm."""
        return tuple(float(v) for v in self.affine[:3, 3])  # type: ignore[return-value]

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in mL: |triple product| of the affine's columns (mm^3) / 1000.

        The triple product is exact for axis-aligned grids (a 2 mm voxel gives 0.008 mL, not the
        0.007999... that an LU determinant returns).
        """
        a = self.affine[:3, :3]
        return float(abs(np.dot(a[:, 0], np.cross(a[:, 1], a[:, 2]))) / 1000.0)

    def index_to_mm(self, index: np.ndarray) -> np.ndarray:
        """Array indices ``(N, 3)`` in (k, j, i) order -> patient LPS ``(N, 3)`` (x, y, z) mm."""
        idx = np.asarray(index, dtype=np.float64).reshape(-1, 3)
        return idx @ self.affine[:3, :3].T + self.affine[:3, 3]


def affine_from_dicom(positions: np.ndarray, orientation: np.ndarray, pixel_spacing: tuple[float, float]
                      ) -> np.ndarray:
    """Affine ``(k, j, i, 1) -> LPS`` from sorted ImagePositionPatient rows (PS3.3 C.7.6.2.1.1).

    ``orientation`` is ImageOrientationPatient (0020,0037): first three = direction of increasing
    column index (along a row), last three = direction of increasing row index.  ``pixel_spacing``
    is PixelSpacing (0028,0030) = (distance between rows, distance between columns).
    """
    row_dir, col_dir = orientation[:3], orientation[3:]
    aff = np.eye(4)
    if len(positions) > 1:
        aff[:3, 0] = (positions[-1] - positions[0]) / (len(positions) - 1)
    else:
        aff[:3, 0] = np.cross(row_dir, col_dir)       # single slice: unit step along the normal
    aff[:3, 1] = col_dir * pixel_spacing[0]
    aff[:3, 2] = row_dir * pixel_spacing[1]
    aff[:3, 3] = positions[0]
    return aff


def slice_order(positions: np.ndarray, orientation: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Sort slices along the normal of ImageOrientationPatient; check spacing (§1.10).

    Returns the sort order and QC remarks.  Duplicate positions raise; a gap (a step more than
    1 % away from the median step) raises too, since voxel volumes would be wrong.
    """
    normal = np.cross(orientation[:3], orientation[3:])
    along = positions @ normal
    order = np.argsort(along, kind="stable")
    flags: list[str] = []
    if len(order) < 2:
        return order, flags
    steps = np.diff(along[order])
    if np.any(steps < 1e-3):
        raise PETInputError("ImagePositionPatient (0020,0032)", "duplicate slice positions (mixed series?)")
    median = float(np.median(steps))
    bad = np.abs(steps - median) > 0.01 * median
    if np.any(bad):
        where = int(np.argmax(bad))
        raise PETInputError("ImagePositionPatient (0020,0032)",
                            f"non-uniform slice spacing: step {steps[where]:.3f} mm after sorted slice {where}, "
                            f"median {median:.3f} mm (missing bed position or gap)")
    return order, flags


def load_nifti(path: str | Path, *, assume_suv: bool = True) -> SUVVolume:
    """Read a 3-D NIfTI image of SUV into an :class:`SUVVolume` (nibabel).

    nibabel returns ``(i, j, k)`` with a RAS affine; this transposes to ``(z, y, x)`` = ``(k, j, i)``
    and converts the affine to LPS in the array's own index order (§0), so spacing is never swapped.

    Parameters
    ----------
    path : str or Path
        ``.nii`` or ``.nii.gz``; the voxel values must already be SUV (e.g. autoPET SUV NIfTI),
        since NIfTI carries no dose, weight or time.  Scale slope/intercept are applied.
    assume_suv : bool
        Must be True; recorded as QC flag ``nifti_values_assumed_suv``.
    """
    if not assume_suv:
        raise PETInputError("assume_suv", "NIfTI holds no dose/weight/time: values must already be SUV")
    data, affine = _read_nifti(path, scaled=True)
    flags = ["nifti_values_assumed_suv", *suv_value_flags(data)]
    header = {"source": "nifti", "shape_zyx": list(data.shape)}
    return SUVVolume(data, affine, tuple(flags), header)


def _read_nifti(path: str | Path, *, scaled: bool) -> tuple[np.ndarray, np.ndarray]:
    """A 3-D NIfTI as ``(z, y, x)`` array and ``(k, j, i) -> LPS`` affine; errors name the file.

    ``scaled``: float32 with scl_slope/inter applied (images); else the stored values (masks).
    """
    import nibabel as nib

    p = Path(path)
    try:
        img: Any = nib.load(str(p))
        data = np.asarray(img.get_fdata(dtype=np.float32) if scaled else img.dataobj)
    except FileNotFoundError as err:
        raise PETInputError(p.name, "file not found") from err
    except Exception as err:  # nibabel raises many types for corrupt files
        raise PETInputError(p.name, f"not a readable NIfTI image ({type(err).__name__})") from err
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise PETInputError(p.name, f"expected a 3-D image, got shape {data.shape}")
    affine = RAS_TO_LPS @ np.asarray(img.affine, dtype=np.float64) @ KJI_TO_IJK
    return np.ascontiguousarray(data.transpose(2, 1, 0)), affine


def suv_value_flags(data: np.ndarray) -> list[str]:
    """QC flags on SUV values (§1.11): SUVmax > 100, negatives below -0.5, non-finite voxels."""
    flags = []
    finite = np.isfinite(data)
    if not finite.all():
        flags.append("non_finite_voxels")
    vmax = float(np.max(data, where=finite, initial=-np.inf))
    vmin = float(np.min(data, where=finite, initial=np.inf))
    if vmax > 100:
        flags.append(f"suvmax_above_100:{vmax:.1f}")
    if vmin < -0.5:
        flags.append(f"negative_suv_below_-0.5:{vmin:.2f}")
    return flags


def load_mask_nifti(path: str | Path, like: SUVVolume, *, tolerance_mm: float = 0.01) -> np.ndarray:
    """Read a mask/label NIfTI on the grid of ``like``; integer labels ``(z, y, x)``, 0 = outside.

    The mask's affine (converted to the LPS, ``(k, j, i)`` convention of §0) must equal the volume's
    within ``tolerance_mm``: a mask on another grid or axis order is rejected, never resampled.
    """
    p = Path(path)
    data, affine = _read_nifti(p, scaled=False)
    if data.shape != like.data.shape:
        raise PETInputError(p.name, f"mask shape (z, y, x) {data.shape} differs from the volume {like.data.shape}")
    if np.max(np.abs(affine - like.affine)) > tolerance_mm:
        raise PETInputError(p.name, "mask geometry (affine) differs from the PET volume; resample it first")
    if np.issubdtype(data.dtype, np.floating):
        data = np.rint(data)
    return data.astype(np.int32)
