"""Optional PET volumes: their lesions match the lesion table (demo_cohort.md, "Optional small PET volumes")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cartlens.demo import generate


@pytest.fixture(scope="module")
def with_pet(cohort):
    return generate(cohort.seed, with_pet=True)


def test_pet_does_not_change_the_tables(cohort, with_pet):
    for name, frame in cohort.tables.items():
        other = with_pet.tables[name]
        if name == "scans":
            other = other.assign(image=None)
        pd.testing.assert_frame_equal(frame, other, obj=name)
    images = with_pet.tables["scans"]["image"].dropna()
    assert len(images) == len(with_pet.pet) == 4
    assert images.str.match(r"^pet/C\d_C\d-\d{3}_BL\.nii\.gz$").all()


def test_volume_geometry_and_uptake(with_pet):
    les = with_pet.tables["lesions"]
    for (centre, pid, scan_id), (vol, aff) in with_pet.pet.items():
        assert vol.shape == (96, 96, 200) and vol.dtype == np.float32
        assert np.allclose(np.diag(aff)[:3], 4.0)
        bl = les[(les["patient_id"] == pid) & (les["scan_id"] == scan_id)]
        # the hottest voxel is the hottest lesion's SUVmax (uniform uptake per lesion)
        assert vol.max() == pytest.approx(bl["suvmax"].max(), abs=1e-4)
        # a lesion's centroid voxel holds at least its SUVmax (world -> voxel with the affine, by hand)
        row = bl.sort_values("volume_ml").iloc[-1]
        ijk = np.round((np.array([row["centroid_x_mm"], row["centroid_y_mm"], row["centroid_z_mm"]])
                        - aff[:3, 3]) / 4.0).astype(int)
        if np.all((ijk >= 0) & (ijk < np.array(vol.shape))):
            assert vol[tuple(ijk)] >= row["suvmax"] - 1e-4


def test_quantified_mtv_matches_lesion_table(with_pet, tmp_path):
    """SUV >= 4 segmentation (cartlens.pet) of the written NIfTI: SUVmax equal, MTV 80-101 % of the table's
    FDG-avid volume (lesions at neighbouring sites may overlap, which only lowers the segmented total)."""
    pet = pytest.importorskip("cartlens.pet.features")
    from cartlens.cli.demo import _write_nifti
    from cartlens.pet.volume import load_nifti
    paths = _write_nifti(with_pet.pet, tmp_path)
    les = with_pet.tables["lesions"]
    for rel, (centre, pid, scan_id) in zip(paths, with_pet.pet):
        result = pet.quantify(load_nifti(tmp_path / rel), method="suv4").to_dict()
        avid = les[(les["patient_id"] == pid) & (les["scan_id"] == scan_id) & (les["suvmax"] >= 4.0)]
        table_mtv = avid["volume_ml"].sum()
        assert 0.8 * table_mtv <= result["mtv_ml"] <= 1.01 * table_mtv + 0.2
        assert result["suvmax"] == pytest.approx(avid["suvmax"].max(), abs=1e-4)
