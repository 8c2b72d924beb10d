"""Segmentation unit tests (spec pet_quantification.md §5.5 items 1-4 and 9, §2.2 union rule)."""

from __future__ import annotations

import numpy as np
import pytest

from cartlens.pet import PETInputError, SUVVolume, segment


def vol(data: np.ndarray, spacing: float = 2.0) -> SUVVolume:
    return SUVVolume(np.asarray(data, dtype=np.float32), np.diag([spacing, spacing, spacing, 1.0]))


def test_inclusive_suv4_threshold() -> None:
    d = np.ones((5, 5, 5))
    d[2, 2, 2] = 4.0                         # exactly 4.0 is in (>=), 3.9999 is not
    d[0, 0, 0] = 3.9999
    seg = segment(vol(d))
    assert seg.n_lesions == 1 and seg.labels[2, 2, 2] == 1 and seg.labels[0, 0, 0] == 0


@pytest.mark.parametrize(("suvmax", "edge_value"), [(12.5, 5.125), (20.0, np.float32(0.41 * 20.0))])
def test_inclusive_pct41_threshold(suvmax: float, edge_value: float) -> None:
    # 0.41 x 12.5 = 5.125 exactly; 0.41 x 20 = 8.2 held as float32(8.2): both are in the 41 % region
    d = np.ones((5, 5, 7))
    d[2, 2, 2] = suvmax
    d[2, 2, 3] = edge_value
    d[2, 2, 4] = np.nextafter(np.float32(edge_value), np.float32(0))     # one float32 step below: out
    seg = segment(vol(d), method="pct41")
    assert seg.labels[2, 2, 3] == 1 and seg.labels[2, 2, 4] == 0


@pytest.mark.parametrize(("offset", "expected"), [
    ((0, 0, 1), {6: 1, 18: 1, 26: 1}),       # share a face
    ((0, 1, 1), {6: 2, 18: 1, 26: 1}),       # share an edge only
    ((1, 1, 1), {6: 2, 18: 2, 26: 1}),       # share a corner only
])
def test_connectivity(offset: tuple[int, int, int], expected: dict[int, int]) -> None:
    d = np.ones((4, 4, 4))
    d[1, 1, 1] = 5.0
    d[1 + offset[0], 1 + offset[1], 1 + offset[2]] = 5.0
    for conn, n in expected.items():
        assert segment(vol(d), connectivity=conn).n_lesions == n


def test_invalid_connectivity() -> None:
    with pytest.raises(PETInputError, match="must be 6, 18 or 26"):
        segment(vol(np.ones((2, 2, 2))), connectivity=8)


def test_rim_suv4_vs_pct41() -> None:
    # core 3x3x3 at value c, surrounded by a one-voxel rim of SUV 5, background 1
    def phantom(core: float) -> np.ndarray:
        d = np.ones((9, 9, 9))
        d[2:7, 2:7, 2:7] = 5.0
        d[3:6, 3:6, 3:6] = core
        return d

    rim_and_core = 5 * 5 * 5
    for method in ("suv4", "pct41"):     # core 10: 41 % = 4.1 <= 5, rim included by both
        assert int((segment(vol(phantom(10.0)), method=method).labels > 0).sum()) == rim_and_core
    assert int((segment(vol(phantom(20.0)), method="suv4").labels > 0).sum()) == rim_and_core
    assert int((segment(vol(phantom(20.0)), method="pct41").labels > 0).sum()) == 27   # 8.2 > 5: core only


def test_pct41_union_goes_to_higher_suvmax() -> None:
    # a bar along x (2 mm voxels): A core 20 at x 2-4, gap 3.5 at x 5-6, B core 8 at x 7-9, background 1.
    # A: >= 8.2 -> x 2-4 (3 voxels). B: >= 3.28 would reach x 2-9 but A's voxels are taken -> x 5-9 (5).
    d = np.ones((1, 1, 16))
    d[0, 0, 2:5], d[0, 0, 5:7], d[0, 0, 7:10] = 20.0, 3.5, 8.0
    seg = segment(vol(d), method="pct41")
    assert seg.n_lesions == 2
    sizes = sorted(np.bincount(seg.labels.ravel())[1:].tolist())
    assert sizes == [3, 5]


def test_min_volume_filter_lists_removed() -> None:
    d = np.ones((10, 10, 10))
    d[1:3, 1:3, 1:3] = 6.0          # 8 voxels x 8 uL = 0.064 mL
    d[5:9, 5:9, 5:9] = 6.0          # 64 voxels = 0.512 mL
    seg = segment(vol(d), min_volume_ml=0.1)
    assert seg.n_lesions == 1
    assert [(r.reason, round(r.volume_ml, 6)) for r in seg.removed] == [("below_min_volume", 0.064)]


def test_exclusion_mask_removes_and_flags() -> None:
    # two 10-voxel bars; the organ covers 8 of 10 voxels of the first and 3 of 10 of the second
    d = np.ones((3, 6, 12))
    d[1, 1, 1:11] = 6.0
    d[1, 4, 1:11] = 6.0
    organ = np.zeros(d.shape, dtype=np.uint8)
    organ[1, 1, 1:9] = 3                      # 80 % inside organ label 3
    organ[1, 4, 1:4] = 3                      # 30 % inside
    seg = segment(vol(d), exclude_mask=organ, exclude_dilation_voxels=0)
    assert seg.n_lesions == 1
    assert len(seg.removed) == 1
    removed = seg.removed[0]
    assert (removed.reason, removed.organ, removed.excluded_fraction) == ("excluded_organ", 3, 0.8)
    assert seg.flags == ("straddles_exclusion:1",)
    assert seg.labels[1, 4, 5] == 1
    # with the default 1-voxel dilation the fractions become 9/10 and 4/10: same decisions
    seg_dilated = segment(vol(d), exclude_mask=organ > 0)
    assert seg_dilated.n_lesions == 1 and seg_dilated.removed[0].excluded_fraction == 0.9


def test_exclusion_mask_shape_checked() -> None:
    with pytest.raises(PETInputError, match="differs from the volume"):
        segment(vol(np.ones((3, 3, 3))), exclude_mask=np.zeros((3, 3, 4), bool))


def test_pct41_does_not_grow_into_excluded_organ() -> None:
    # lesion SUVmax 9 at x 2-4, a voxel of 3.8 at x 5 (below 4: separate SUV4 components, but above
    # 0.41 x 9 = 3.69), a "bladder" of SUV 20 at x 6-9; organ mask covers x 5-9.
    d = np.ones((1, 1, 12))
    d[0, 0, 2:5], d[0, 0, 5], d[0, 0, 6:10] = 9.0, 3.8, 20.0
    organ = np.zeros(d.shape, dtype=np.uint8)
    organ[0, 0, 5:10] = 1
    free = segment(vol(d), method="pct41")                 # no mask: the lesion grows through x 5
    assert 5 in np.flatnonzero(free.labels[0, 0] == free.labels[0, 0, 2]).tolist()
    seg = segment(vol(d), method="pct41", exclude_mask=organ, exclude_dilation_voxels=0)
    # bladder seed removed (100 % inside); the lesion may not grow into organ voxels x 5-9
    assert seg.n_lesions == 1 and np.flatnonzero(seg.labels[0, 0]).tolist() == [2, 3, 4]


def test_all_voxels_foreground_with_external_seeds() -> None:
    # every voxel is lesion; two seed labels: statistics must follow the labels, not the raster order
    d = np.array([[[5.0, 9.0, 6.0, 7.0]]])
    seeds = np.array([[[2, 1, 2, 1]]], dtype=np.uint32)
    seg = segment(vol(d), method="pct41", seeds=seeds)
    from cartlens.pet.features import lesion_features

    feats = {f.suvmax: f for f in lesion_features(vol(d), seg)}
    # seed 1 (max 9): >= 3.69 -> grows over the whole bar first (all connected); seed 2 then gets nothing
    assert sorted(feats) == [9.0] and feats[9.0].n_voxels == 4 and feats[9.0].suvmean == 6.75
