"""Feature unit tests (spec pet_quantification.md §5.5 items 3, 5-8; §3.2) and the cli.md JSON keys."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from cartlens.pet import PETInputError, SUVVolume, quantify
from cartlens.pet.geometry import max_pairwise_distance
from cartlens.pet.peak import peak_kernel
from cartlens.pet.references import liver_reference


def vol(data: np.ndarray, spacing: tuple[float, float, float] = (2.0, 2.0, 2.0),
        origin: tuple[float, float, float] = (0.0, 0.0, 0.0), header: dict | None = None) -> SUVVolume:
    """Axis-aligned volume: index (k, j, i) -> (x, y, z) = (i dx, j dy, k dz) + origin."""
    aff = np.zeros((4, 4))
    aff[2, 0], aff[1, 1], aff[0, 2], aff[3, 3] = spacing[0], spacing[1], spacing[2], 1.0
    aff[:3, 3] = origin
    return SUVVolume(np.asarray(data, dtype=np.float32), aff, (), header or {})


def ball(shape: tuple[int, int, int], centre: tuple[float, float, float], radius_vox: float) -> np.ndarray:
    g = np.ogrid[: shape[0], : shape[1], : shape[2]]
    return sum((gi - c) ** 2 for gi, c in zip(g, centre)) <= radius_vox**2


def test_cube_volume_and_tlg() -> None:
    # 10 x 10 x 10 voxels at 2 mm = 1000 x 0.008 mL = 8.000 mL; TLG = sum(SUV) x 0.008 mL
    d = np.ones((14, 14, 14))
    d[2:12, 2:12, 2:12] = 5.0
    d[2:12, 2:12, 2] = 7.0                                   # 100 voxels at 7, 900 at 5
    res = quantify(vol(d))
    les = res.lesions[0]
    assert res.n_lesions == 1
    assert les.volume_ml == pytest.approx(8.0)
    assert les.tlg == pytest.approx((100 * 7.0 + 900 * 5.0) * 0.008)
    assert les.suvmean == pytest.approx(5.2) and les.suvmax == 7.0
    assert res.mtv_ml == pytest.approx(8.0) and res.tlg == pytest.approx(41.6)
    # centroid: mean voxel index 6.5 on y and z, x index mean = 6.5 -> 13 mm on each axis
    assert les.centroid_mm == pytest.approx((13.0, 13.0, 13.0))


def test_suvpeak_uniform_sphere() -> None:
    # sphere of 30 mm diameter at 2 mm voxels, SUV 6: SUVpeak = 6 within 1 %
    d = np.ones((30, 30, 30))
    d[ball(d.shape, (15, 15, 15), 7.5)] = 6.0
    les = quantify(vol(d)).lesions[0]
    assert les.suvpeak == pytest.approx(6.0, rel=0.01)


def test_suvpeak_single_hot_voxel() -> None:
    # 4 mm voxels: the central voxel (corner at 3.46 mm) lies wholly inside the 6.2035 mm sphere, so its
    # weight is w0 = voxel volume / sphere volume = 0.064 mL / 1 mL; SUVpeak = b + (h - b) w0
    b, h = 1.0, 30.0
    d = np.full((11, 11, 11), b)
    d[5, 5, 5] = h
    les = quantify(vol(d, (4.0, 4.0, 4.0))).lesions[0]
    assert les.suvpeak - b == pytest.approx((h - b) * 0.064, rel=0.015)


def test_suvpeak_maximised_not_centred_on_max() -> None:
    # plateau of SUV 8 (15^3 voxels, 2 mm); the maximum 9 sits on the plateau's outer face.
    d = np.ones((25, 25, 25))
    d[5:20, 5:20, 5:20] = 8.0
    d[12, 12, 5] = 9.0
    les = quantify(vol(d)).lesions[0]
    # centred on the max, a 6.2 mm sphere reaches ~3 voxels into background: brute-force mean of the
    # centre-inclusion ball around (12, 12, 5)
    around = ball(d.shape, (12, 12, 5), 6.2035 / 2.0)
    centred = float(d[around].mean())
    assert centred < 7.0
    # maximised: a sphere inside the plateau, possibly touching the 9-voxel with at most one voxel's
    # weight (0.008 mL / 1 mL): 8 <= SUVpeak <= 8 + (9 - 8) x 0.008 (+1.5 % kernel normalisation)
    assert 8.0 - 1e-6 <= les.suvpeak <= 8.0 + 0.008 * 1.015
    assert les.suvpeak > centred


@pytest.mark.parametrize("spacing", [(2, 2, 2), (3, 3.65, 3.65), (4, 4, 4), (3.27, 4.07, 4.07)])
def test_peak_kernel_volume(spacing: tuple[float, float, float]) -> None:
    kernel, covered_ml = peak_kernel(spacing)
    assert covered_ml == pytest.approx(1.0, rel=0.015)
    assert kernel.sum() == pytest.approx(1.0)


def _three_lesions(sizes: tuple[int, int, int]) -> np.ndarray:
    # 4 mm slices, origin z = -20 mm: slice k is at z = 4k - 20; lesions at z = 0, 300, 500 mm
    d = np.ones((141, 9, 9))
    for z_mm, s in zip((0.0, 300.0, 500.0), sizes):
        k = int((z_mm + 20.0) / 4.0)
        d[k - s:k + s + 1, 4 - s:4 + s + 1, 4 - s:4 + s + 1] = 6.0
    return d


def test_dmax_dmax_bulk_sdmax() -> None:
    header = {"weight_kg": 70.0, "height_cm": 175.0}
    res = quantify(vol(_three_lesions((1, 2, 1)), (4.0, 4.0, 4.0), (0.0, 0.0, -20.0), header))
    assert res.n_lesions == 3
    assert res.dmax_mm == pytest.approx(500.0)
    assert res.dmax_bulk_mm == pytest.approx(300.0)          # bulkiest at z = 300: farthest other at 0
    assert res.sdmax_per_m == pytest.approx(0.5 / 1.848143, rel=1e-5)     # 0.2705 m^-1 (Du Bois)
    assert res.to_dict()["dmax_cm"] == pytest.approx(50.0)


def test_dmax_single_lesion_is_zero_and_none_without_lesions() -> None:
    d = np.ones((9, 9, 9))
    assert quantify(vol(d)).dmax_mm is None
    d[4, 4, 4] = 5.0
    res = quantify(vol(d))
    assert (res.n_lesions, res.dmax_mm) == (1, 0.0)


@pytest.mark.parametrize("n", [3, 50, 700, 2000])
def test_hull_diameter_equals_brute_force(n: int) -> None:
    pts = np.random.default_rng(n).normal(size=(n, 3)) * (10.0, 30.0, 5.0)
    assert max_pairwise_distance(pts) == pytest.approx(float(pdist(pts).max()), rel=1e-12)


def test_hull_diameter_flat_point_set() -> None:
    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(0, 50, 1500), rng.uniform(0, 20, 1500), np.zeros(1500)])
    assert max_pairwise_distance(pts) == pytest.approx(float(pdist(pts).max()), rel=1e-12)


def test_feret_sphere_radius_20mm() -> None:
    # sphere of radius 20 mm at 1 mm voxels: centre-based Feret = 40 mm within one voxel
    d = np.ones((45, 45, 45))
    d[ball(d.shape, (22, 22, 22), 20.0)] = 6.0
    les = quantify(vol(d, (1.0, 1.0, 1.0))).lesions[0]
    assert abs(les.max_diameter_mm - 40.0) <= 1.0
    assert abs(les.axial_diameter_mm - 40.0) <= 1.0


def test_liver_reference_sphere() -> None:
    # ellipsoid liver, SUV 2.0 + N(0, 0.2) noise, 2 mm voxels: the 3 cm VOI lies inside, mean 2.0 +- 0.05,
    # volume 4/3 pi 1.5^3 = 14.137 mL +- 3 %
    rng = np.random.default_rng(7)
    shape = (60, 60, 80)
    g = np.ogrid[:60, :60, :80]
    liver = ((g[0] - 30) / 25.0) ** 2 + ((g[1] - 30) / 22.0) ** 2 + ((g[2] - 40) / 35.0) ** 2 <= 1.0
    d = np.where(liver, 2.0 + rng.normal(0, 0.2, shape), 0.8)
    region, flags = liver_reference(vol(d), liver)
    assert region.mean == pytest.approx(2.0, abs=0.05)
    assert region.volume_ml == pytest.approx(4.0 / 3.0 * math.pi * 1.5**3, rel=0.03)
    assert flags == []


def test_liver_qc_flag_outside_range() -> None:
    g = np.ogrid[:40, :40, :40]
    liver = sum((gi - 20) ** 2 for gi in g) <= 15**2
    d = np.where(liver, 3.5, 0.8)
    _, flags = liver_reference(vol(d), liver)
    assert flags == ["liver_suvmean_outside_1.3_3.0:3.50"]


def test_json_contract_keys() -> None:
    d = np.ones((9, 9, 9))
    d[4, 4, 4] = 5.0
    out = quantify(vol(d), method="pct41").to_dict()
    for key in ("method", "mtv_ml", "tlg", "suvmax", "suvpeak", "n_lesions", "dmax_cm", "lesions"):
        assert key in out
    lesion = out["lesions"][0]
    for key in ("id", "volume_ml", "suvmax", "suvmean", "suvpeak", "tlg", "centroid_mm", "max_diameter_cm"):
        assert key in lesion
    assert out["method"] == "pct41" and len(lesion["centroid_mm"]) == 3


def test_blood_pool_reference() -> None:
    # aorta cylinder (radius 12 mm, 2 mm voxels) at SUV 1.6 with a hot rim voxel layer of 5.0 at its edge:
    # the 4 mm erosion removes the rim, so the median is 1.6
    from cartlens.pet.references import blood_pool_reference

    g = np.ogrid[:30, :30, :30]
    r2 = (g[1] - 15) ** 2 + (g[2] - 15) ** 2
    aorta = np.broadcast_to(r2 <= 6**2, (30, 30, 30))
    d = np.where(aorta, 1.6, 0.8)
    d = np.where(np.broadcast_to((r2 > 5**2) & (r2 <= 6**2), d.shape), 5.0, d)
    region = blood_pool_reference(vol(d), aorta)
    assert region.median == pytest.approx(1.6, rel=1e-6) and region.max == pytest.approx(1.6, rel=1e-6)


def test_tables_have_canonical_columns() -> None:
    from cartlens.pet import lesion_table, scan_table

    d = np.ones((9, 9, 9))
    d[4, 4, 4] = 12.0
    res = quantify(vol(d))
    scans, lesions = scan_table(res), lesion_table(res)
    assert scans.loc[0, "mtv_ml"] == pytest.approx(0.008) and scans.loc[0, "mtv_method"] == "suv4"
    assert lesions.loc[0, "volume_ml"] == pytest.approx(0.008) and lesions.loc[0, "suvmax"] == 12.0
    assert bool(lesions.loc[0, "suv_ge10"]) and not bool(lesions.loc[0, "bulky_5cm"])


def test_synthetic_whole_body_is_deterministic_and_excludable() -> None:
    from cartlens.pet.synthetic import EXCLUDED_ORGANS, LIVER, whole_body

    a = whole_body(shape=(120, 60, 60), spacing_mm=(4.0, 4.0, 4.0), n_lesions=5, seed=3)
    b = whole_body(shape=(120, 60, 60), spacing_mm=(4.0, 4.0, 4.0), n_lesions=5, seed=3)
    assert np.array_equal(a.volume.data, b.volume.data)
    res = quantify(a.volume, exclude_mask=a.exclude_mask)
    # one kept lesion per planted lesion (placed 10 mm from organs); what was removed is physiological uptake
    assert res.n_lesions == len(a.lesion_radii_mm) == 5
    assert res.removed and all(r["organ"] in EXCLUDED_ORGANS for r in res.removed)
    for centre in a.lesion_centres_mm:
        assert min(np.linalg.norm(np.subtract(les.centroid_mm, centre)) for les in res.lesions) < 4.0
    assert (a.organs == LIVER).any()


def test_voxel_level_dmax_and_unfiltered_mtv() -> None:
    # lesions: 3x3x3 cubes (4 mm voxels) centred at z = 0 and 500 mm, a 5x5x5 cube at z = 300 mm.
    # Farthest voxel centres: (-4, -4, -4) and (4, 4, 504) mm around the x/y centre -> sqrt(508^2 + 8^2 + 8^2)
    d = _three_lesions((1, 2, 1))
    res = quantify(vol(d, (4.0, 4.0, 4.0), (0.0, 0.0, -20.0)))
    assert res.dmax_voxel_mm == pytest.approx(math.sqrt(508**2 + 8**2 + 8**2))
    # minimum volume 2 mL drops the two 27-voxel cubes (27 x 0.064 = 1.728 mL) but not the 125-voxel one (8 mL)
    res = quantify(vol(d, (4.0, 4.0, 4.0), (0.0, 0.0, -20.0)), min_volume_ml=2.0)
    assert res.n_lesions == 1 and res.mtv_ml == pytest.approx(8.0)
    assert res.mtv_ml_no_min_volume == pytest.approx(8.0 + 2 * 1.728)
    assert res.dmax_mm == 0.0


def test_liver_sul_mean_in_quantify() -> None:
    # SUL = SUV x LBM / W; Janmahasatian male 70 kg 175 cm: 55.857 kg (spec §1.4 worked value)
    g = np.ogrid[:40, :40, :40]
    liver = sum((gi - 20) ** 2 for gi in g) <= 15**2
    d = np.where(liver, 2.0, 0.8)
    res = quantify(vol(d, header={"weight_kg": 70.0, "height_cm": 175.0, "sex": "M"}), liver_mask=liver)
    assert res.liver is not None and res.liver.mean == pytest.approx(2.0)
    assert res.liver.sul_mean == pytest.approx(2.0 * 55.857 / 70.0, abs=1e-4)


@pytest.mark.parametrize("seed", range(5))
def test_feret_diameters_equal_brute_force_on_random_masks(seed: int) -> None:
    from cartlens.pet.geometry import axial_diameter_mm, feret_diameter_mm

    rng = np.random.default_rng(seed)
    mask = rng.random((6, 9, 11)) > 0.6
    a3 = np.array([[0.0, 0.0, 2.5], [0.0, 2.0, 0.0], [3.0, 0.0, 0.0]])       # (k, j, i) -> (x, y, z)
    pts = np.argwhere(mask) @ a3.T
    assert feret_diameter_mm(mask, a3) == pytest.approx(float(pdist(pts).max()), rel=1e-12)
    per_slice = [float(pdist(np.argwhere(mask[k]) @ a3[:, 1:].T).max()) for k in range(6) if mask[k].sum() > 1]
    assert axial_diameter_mm(mask, a3) == pytest.approx(max(per_slice), rel=1e-12)


def test_user_segmentation_with_label_gaps() -> None:
    from cartlens.pet import Segmentation
    from cartlens.pet.features import lesion_features

    d = np.ones((3, 3, 9))
    d[1, 1, 1], d[1, 1, 7] = 5.0, 8.0
    labels = np.zeros(d.shape, dtype=np.uint32)
    labels[1, 1, 1], labels[1, 1, 7] = 1, 3                    # label 2 unused
    seg = Segmentation(labels, "suv4", 26, 0.0, 4.0)
    feats = lesion_features(vol(d), seg)
    assert seg.n_lesions == 2 and [(f.id, f.suvmax) for f in feats] == [(1, 5.0), (3, 8.0)]


def test_results_invariant_to_array_flip_and_transpose() -> None:
    # the same patient-space object stored with reversed slices and swapped rows/columns (affine adjusted)
    # must give identical features in mm / mL: geometry comes from the affine, never from axis order
    rng = np.random.default_rng(4)
    d = np.ones((20, 16, 18))
    d[3:8, 2:6, 4:9] = 6.0 + rng.random((5, 4, 5))
    d[14:17, 10:14, 12:15] = 9.0
    a = vol(d, (3.0, 2.0, 2.5), (10.0, -5.0, 7.0))
    flipped = d[::-1].transpose(0, 2, 1)                                  # (k', i, j)
    aff = np.zeros((4, 4))
    aff[:3, 0] = -a.affine[:3, 0]                                         # k' = 19 - k
    aff[:3, 1] = a.affine[:3, 2]
    aff[:3, 2] = a.affine[:3, 1]
    aff[:3, 3] = a.affine[:3, 3] + 19 * a.affine[:3, 0]
    aff[3, 3] = 1.0
    b = SUVVolume(np.ascontiguousarray(flipped, dtype=np.float32), aff)
    ra, rb = quantify(a, method="pct41"), quantify(b, method="pct41")
    key = lambda les: les.suvmax
    for la, lb in zip(sorted(ra.lesions, key=key), sorted(rb.lesions, key=key)):
        assert lb.volume_ml == pytest.approx(la.volume_ml) and lb.tlg == pytest.approx(la.tlg)
        assert lb.centroid_mm == pytest.approx(la.centroid_mm)
        assert lb.max_diameter_mm == pytest.approx(la.max_diameter_mm)
        assert lb.suvpeak == pytest.approx(la.suvpeak, rel=1e-6)
    assert rb.dmax_mm == pytest.approx(ra.dmax_mm) and rb.dmax_voxel_mm == pytest.approx(ra.dmax_voxel_mm)


def test_liver_reference_at_user_point() -> None:
    # uniform "liver" SUV 2.0; VOI centred at (x, y, z) = (40, 40, 40) mm on a 2 mm grid -> voxel (20, 20, 20)
    g = np.ogrid[:40, :40, :40]
    liver = sum((gi - 20) ** 2 for gi in g) <= 17**2
    d = np.where(liver, 2.0, 0.8)
    res = quantify(vol(d), liver_centre_mm=(40.0, 40.0, 40.0))
    assert res.liver is not None and res.liver.mean == pytest.approx(2.0)
    assert res.liver.centre_mm == pytest.approx((40.0, 40.0, 40.0))
    assert res.liver.volume_ml == pytest.approx(4.0 / 3.0 * math.pi * 1.5**3, rel=0.03)
    with pytest.raises(PETInputError, match="outside the image"):
        quantify(vol(d), liver_centre_mm=(500.0, 0.0, 0.0))
