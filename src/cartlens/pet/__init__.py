"""PET quantification for CAR-T lymphoma research (spec pet_quantification.md).

Public API
----------
load_dicom_suv(directory, *, suv_type="bw") -> SUVVolume        DICOM series -> SUV (float32, z,y,x)
load_nifti(path) -> SUVVolume                                    NIfTI of SUV
segment(volume, *, method="suv4"|"pct41", connectivity=26, min_volume_ml=0.0, exclude_mask=None)
quantify(volume, *, method=..., ...) -> PETResult                features, MTV, TLG, Dmax; .to_dict() = cli.md
lesion_table(result), scan_table(result) -> DataFrame             canonical columns for the store
phantom.nema_iec_phantom(...), synthetic.whole_body(...)         digital twins for tests/benchmarks
"""

from __future__ import annotations

from cartlens.pet.dicom import load_dicom_suv
from cartlens.pet.errors import PETInputError
from cartlens.pet.features import LesionFeatures, PETResult, lesion_table, quantify, scan_table
from cartlens.pet.segment import Segmentation, segment
from cartlens.pet.suv import SUVConversion, suv_factors
from cartlens.pet.volume import SUVVolume, load_mask_nifti, load_nifti

__all__ = [
    "LesionFeatures", "PETInputError", "PETResult", "SUVConversion", "SUVVolume", "Segmentation",
    "lesion_table", "load_dicom_suv", "load_mask_nifti", "load_nifti", "quantify", "scan_table", "segment", "suv_factors",
]
