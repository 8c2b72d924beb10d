"""Per-lesion and per-patient PET features, and the ``quantify`` pipeline.

Spec: pet_quantification.md §3 (definitions), §3.1 SUVpeak, §3.2 Dmax family, §3.3 diameters,
§3.4 references; cli.md "PET" (JSON keys of :meth:`PETResult.to_dict` are a contract).

Cost: statistics come from the foreground index list (sorted once by label) with ``reduceat`` and
``bincount``; SUVpeak and diameters work on each lesion's bounding box; nothing loops over the full
volume per lesion (§4.2).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from cartlens.pet.geometry import (
    axial_diameter_mm,
    dmax_bulk_mm,
    dmax_mm,
    feret_diameter_mm,
    max_pairwise_distance,
    row_extremes,
    sdmax_per_m,
)
from cartlens.pet.normalisers import bsa_dubois_m2, lbm_janmahasatian_kg
from cartlens.pet.peak import PEAK_VOLUME_ML, peak_kernel, suvpeak_per_lesion
from cartlens.pet.references import ReferenceRegion, blood_pool_reference, liver_reference, liver_reference_at
from cartlens.pet.segment import Segmentation, segment
from cartlens.pet.volume import SUVVolume

BULKY_DIAMETER_MM = 50.0          # §3.3: "lesion >= 5 cm" flag, configurable
SUVMAX_HIGH = 10.0                # lesion-level studies: SUVmax >= 10 (patterns_of_failure.md)


@dataclass(frozen=True, slots=True)
class LesionFeatures:
    """Features of one lesion. Volumes mL, SUV g/mL (SUVbw), TLG SUV x mL, distances mm."""

    id: int
    n_voxels: int
    volume_ml: float
    suvmax: float
    suvmean: float
    suvpeak: float
    tlg: float
    centroid_mm: tuple[float, float, float]       # patient LPS (x, y, z)
    max_diameter_mm: float                        # 3-D Feret, voxel centres
    axial_diameter_mm: float                      # largest in-slice Feret

    def to_dict(self) -> dict[str, Any]:
        """One element of ``lesions`` in the cli.md PET JSON (plus extra keys)."""
        return {"id": self.id, "volume_ml": self.volume_ml, "suvmax": self.suvmax, "suvmean": self.suvmean,
                "suvpeak": self.suvpeak, "tlg": self.tlg, "centroid_mm": list(self.centroid_mm),
                "max_diameter_cm": self.max_diameter_mm / 10.0, "axial_diameter_cm": self.axial_diameter_mm / 10.0,
                "n_voxels": self.n_voxels}


@dataclass(frozen=True, slots=True)
class PETResult:
    """Quantification of one scan.  ``to_dict()`` is the JSON of ``cartlens pet quantify`` (cli.md)."""

    method: str
    lesions: tuple[LesionFeatures, ...]
    mtv_ml: float
    tlg: float
    suvmax: float | None
    suvpeak: float | None
    dmax_mm: float | None
    dmax_bulk_mm: float | None
    sdmax_per_m: float | None
    dmax_voxel_mm: float | None = None            # largest distance between any two lesion voxel centres
    mtv_ml_no_min_volume: float | None = None     # MTV before the minimum-volume filter (§2.1)
    parameters: dict[str, Any] = field(default_factory=dict)
    liver: ReferenceRegion | None = None
    mbp: ReferenceRegion | None = None
    removed: tuple[dict[str, Any], ...] = ()
    qc_flags: tuple[str, ...] = ()

    @property
    def n_lesions(self) -> int:
        return len(self.lesions)

    def to_dict(self) -> dict[str, Any]:
        """cli.md keys (never renamed): method, mtv_ml, tlg, suvmax, suvpeak, n_lesions, dmax_cm, lesions.

        Extra keys: dmax_bulk_cm, sdmax_per_m, dmax_voxel_cm, mtv_ml_no_min_volume, parameters, liver, mbp,
        removed, qc_flags.
        """
        return {"method": self.method, "mtv_ml": self.mtv_ml, "tlg": self.tlg, "suvmax": self.suvmax,
                "suvpeak": self.suvpeak, "n_lesions": self.n_lesions,
                "dmax_cm": None if self.dmax_mm is None else self.dmax_mm / 10.0,
                "lesions": [les.to_dict() for les in self.lesions],
                "dmax_bulk_cm": None if self.dmax_bulk_mm is None else self.dmax_bulk_mm / 10.0,
                "sdmax_per_m": self.sdmax_per_m,
                "dmax_voxel_cm": None if self.dmax_voxel_mm is None else self.dmax_voxel_mm / 10.0,
                "mtv_ml_no_min_volume": self.mtv_ml_no_min_volume, "parameters": dict(self.parameters),
                "liver": self.liver.to_dict() if self.liver else None,
                "mbp": self.mbp.to_dict() if self.mbp else None,
                "removed": list(self.removed), "qc_flags": list(self.qc_flags)}

    def summary(self) -> pd.DataFrame:
        """Lesion table for people (one row per lesion, units in the column names)."""
        return lesion_table(self)


def lesion_features(volume: SUVVolume, seg: Segmentation, *, peak_volume_ml: float = PEAK_VOLUME_ML
                    ) -> tuple[LesionFeatures, ...]:
    """Features of every lesion of ``seg`` (§3)."""
    return _measure(volume, seg, peak_volume_ml)[0]


def _measure(volume: SUVVolume, seg: Segmentation, peak_volume_ml: float
             ) -> tuple[tuple[LesionFeatures, ...], np.ndarray]:
    """Lesion features and the voxel-centre points (LPS mm) that contain every hull vertex of the lesions."""
    labels, data = seg.labels, volume.data
    n = seg.n_lesions
    if n == 0:
        return (), np.zeros((0, 3))
    fgd = seg.foreground
    assert fgd is not None
    counts = fgd.counts
    ids = np.flatnonzero(counts[1:] > 0) + 1                    # labels present (a user's labels may skip ids)
    vmax = fgd.reduce(np.maximum, data, -np.inf)
    sums = fgd.reduce(np.add, data, 0.0)
    zyx = np.stack(np.unravel_index(fgd.index, data.shape), axis=1).astype(np.float64)
    mean_idx = np.add.reduceat(zyx, fgd.starts[:-1][ids - 1], axis=0) / counts[ids, None]
    centroids = volume.index_to_mm(mean_idx)                    # affine is linear: mean then map
    boxes = fgd.boxes(data.shape)
    kernel, _ = peak_kernel(volume.spacing_mm, volume_ml=peak_volume_ml)
    peaks = suvpeak_per_lesion(data, labels, boxes, kernel)
    a3 = volume.affine[:3, :3]
    v_ml = volume.voxel_volume_ml
    out = []
    extremes = []
    for row, lid in enumerate(ids):
        box = boxes[lid - 1]
        assert box is not None
        mask = labels[box] == lid
        extremes.append(row_extremes(mask) + [s.start for s in box])
        out.append(LesionFeatures(
            id=int(lid), n_voxels=int(counts[lid]), volume_ml=float(counts[lid] * v_ml),
            suvmax=float(vmax[lid]), suvmean=float(sums[lid] / counts[lid]), suvpeak=float(peaks[lid - 1]),
            tlg=float(sums[lid] * v_ml), centroid_mm=tuple(float(c) for c in centroids[row]),  # type: ignore[arg-type]
            max_diameter_mm=feret_diameter_mm(mask, a3), axial_diameter_mm=axial_diameter_mm(mask, a3)))
    points = volume.index_to_mm(np.concatenate(extremes)) if extremes else np.zeros((0, 3))
    return tuple(out), points


def _sul_factor(volume: SUVVolume) -> float | None:
    """LBM / W (Janmahasatian, §1.4: preferred for SUL) for an SUVbw volume with known weight, height, sex."""
    w, h, sex = volume.header.get("weight_kg"), volume.header.get("height_cm"), volume.header.get("sex")
    if volume.suv_type != "bw" or not w or not h or sex not in ("M", "F", "O"):
        return None
    return lbm_janmahasatian_kg(float(w), float(h), str(sex)) / float(w)


def _bsa_from_header(volume: SUVVolume) -> float | None:
    w, h = volume.header.get("weight_kg"), volume.header.get("height_cm")
    if w and h:
        return bsa_dubois_m2(float(w), float(h))
    return None


def quantify(volume: SUVVolume, *, method: Literal["suv4", "pct41"] = "suv4", connectivity: int = 26,
             min_volume_ml: float = 0.0, exclude_mask: np.ndarray | None = None,
             peak_volume_ml: float = PEAK_VOLUME_ML, bsa_m2: float | None = None,
             liver_mask: np.ndarray | None = None, aorta_mask: np.ndarray | None = None,
             seeds: np.ndarray | None = None, liver_centre_mm: tuple[float, float, float] | None = None,
             **segment_options: Any) -> PETResult:
    """Segment and measure one scan.

    Parameters
    ----------
    volume : SUVVolume
    method : {"suv4", "pct41"}
        SUV >= 4.0 or 41 % of each lesion's SUVmax (see :func:`cartlens.pet.segment.segment`).
    connectivity : {6, 18, 26}
    min_volume_ml : float
        Lesions below this volume (mL) are removed before counting and Dmax (§3.2).
    exclude_mask : array, optional
        Physiological-uptake organs (component-level removal, §2.4).
    peak_volume_ml : float
        SUVpeak sphere volume; 1.0 (EANM) default, 0.905 for the PERCIST 12 mm sphere.
    bsa_m2 : float, optional
        Body surface area for SDmax; default Du Bois from the DICOM weight/height when known.
    liver_mask, aorta_mask : bool arrays, optional
        Deauville reference regions (§3.4); lesion voxels are excluded from the liver VOI.
    liver_centre_mm : (x, y, z), optional
        A user point (patient LPS mm) for the liver VOI instead of a mask.

    Returns
    -------
    PETResult
        Patient MTV (mL), TLG, SUVmax, SUVpeak (highest lesion SUVpeak), lesion count, Dmax,
        Dmax_bulk (mm) and SDmax (m^-1), the lesion list, references and every parameter used.
    """
    seg = segment(volume, method=method, connectivity=connectivity, min_volume_ml=min_volume_ml,
                  exclude_mask=exclude_mask, seeds=seeds, **segment_options)
    lesions, extreme_points = _measure(volume, seg, peak_volume_ml)
    cents = np.array([les.centroid_mm for les in lesions]).reshape(-1, 3)
    vols = np.array([les.volume_ml for les in lesions])
    dmax = dmax_mm(cents)
    bsa = bsa_m2 if bsa_m2 is not None else _bsa_from_header(volume)
    flags = list(volume.qc_flags) + list(seg.flags)
    if volume.suv_type != "bw" and method == "suv4":
        flags.append(f"suv4_threshold_applied_to_suv_{volume.suv_type}")   # the 4.0 cut-off is defined on SUVbw
    liver = mbp = None
    if liver_mask is not None or liver_centre_mm is not None:
        liver, liver_flags = liver_reference(volume, liver_mask, lesion_mask=seg.labels > 0) \
            if liver_mask is not None else liver_reference_at(volume, liver_centre_mm)  # type: ignore[arg-type]
        flags += liver_flags
        sul = _sul_factor(volume)
        if sul is not None:
            liver = dataclasses.replace(liver, sul_mean=liver.mean * sul)
    if aorta_mask is not None:
        mbp = blood_pool_reference(volume, aorta_mask)
    params = {**seg.parameters(), "suv_type": volume.suv_type, "suvpeak_kernel": "fractional_sphere",
              "suvpeak_volume_ml": peak_volume_ml, "suvpeak_centres": "lesion_voxels",
              "diameter": "feret_voxel_centres", "centroid": "unweighted_voxel_centres_lps_mm",
              "bsa_formula": "du_bois" if bsa_m2 is None else "given", "bsa_m2": bsa,
              "sul_lbm": "janmahasatian",
              "t_ref_rule": volume.header.get("t_ref_rule")}
    return PETResult(
        method=method, lesions=lesions, mtv_ml=float(vols.sum()), tlg=float(sum(les.tlg for les in lesions)),
        suvmax=max((les.suvmax for les in lesions), default=None),
        suvpeak=max((les.suvpeak for les in lesions), default=None),
        dmax_mm=dmax, dmax_bulk_mm=dmax_bulk_mm(cents, vols), sdmax_per_m=sdmax_per_m(dmax, bsa),
        dmax_voxel_mm=max_pairwise_distance(extreme_points) if lesions else None,
        mtv_ml_no_min_volume=float(vols.sum()) + sum(r.volume_ml for r in seg.removed
                                                     if r.reason == "below_min_volume"),
        parameters=params, liver=liver, mbp=mbp, removed=tuple(r.to_dict() for r in seg.removed),
        qc_flags=tuple(dict.fromkeys(flags)))


def lesion_table(result: PETResult, *, bulky_mm: float = BULKY_DIAMETER_MM,
                 suv_high: float = SUVMAX_HIGH) -> pd.DataFrame:
    """Per-lesion results in canonical column names (data_model.md ``lesions``: volume_ml, suvmax).

    ``bulky_5cm`` = 3-D Feret >= ``bulky_mm`` (50 mm; bulky-disease definitions use 60, 75 or 100 mm,
    §3.3); ``suv_ge10`` = SUVmax >= ``suv_high`` (10; patterns_of_failure.md). The column names stay fixed.
    """
    rows = [{"lesion": les.id, "volume_ml": les.volume_ml, "suvmax": les.suvmax, "suvmean": les.suvmean,
             "suvpeak": les.suvpeak, "tlg": les.tlg, "centroid_x_mm": les.centroid_mm[0],
             "centroid_y_mm": les.centroid_mm[1], "centroid_z_mm": les.centroid_mm[2],
             "max_diameter_cm": les.max_diameter_mm / 10.0, "axial_diameter_cm": les.axial_diameter_mm / 10.0,
             "bulky_5cm": les.max_diameter_mm >= bulky_mm, "suv_ge10": les.suvmax >= suv_high}
            for les in result.lesions]
    columns = ["lesion", "volume_ml", "suvmax", "suvmean", "suvpeak", "tlg", "centroid_x_mm", "centroid_y_mm",
               "centroid_z_mm", "max_diameter_cm", "axial_diameter_cm", "bulky_5cm", "suv_ge10"]
    return pd.DataFrame(rows, columns=columns)


def scan_table(result: PETResult) -> pd.DataFrame:
    """One row of per-scan results in canonical names (data_model.md: mtv_ml, mtv_method, liver_suvmean,
    mbp_suvmax) for the store; the caller adds patient_id / centre / scan_id."""
    row = {"mtv_ml": result.mtv_ml, "mtv_method": result.method, "tlg": result.tlg, "suvmax": result.suvmax,
           "suvpeak": result.suvpeak, "n_lesions": result.n_lesions,
           "dmax_cm": None if result.dmax_mm is None else result.dmax_mm / 10.0,
           "dmax_bulk_cm": None if result.dmax_bulk_mm is None else result.dmax_bulk_mm / 10.0,
           "sdmax_per_m": result.sdmax_per_m,
           "liver_suvmean": result.liver.mean if result.liver else None,
           "mbp_suvmax": result.mbp.max if result.mbp else None,
           "connectivity": result.parameters.get("connectivity"),
           "min_volume_ml": result.parameters.get("min_volume_ml"),
           "qc_flags": ";".join(result.qc_flags)}
    return pd.DataFrame([row])
