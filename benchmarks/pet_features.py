"""Benchmark ``pet_features`` (spec performance.md; pet_quantification.md §4, §5.7).

Data: ``cartlens.pet.synthetic.whole_body`` -- 600 x 200 x 200 float32 (96 MB), ~100 lesions, seed 0.
Ours: ``cartlens.pet.quantify`` (segmentation + every feature: volume, SUVmax/mean/peak, TLG,
centroid, 3-D and axial Feret, Dmax, Dmax_bulk) for SUV >= 4.0 and 41 % SUVmax; and features only on a
given segmentation.
Peers, same run, same masks:
* one numpy read pass over the volume (``np.max``), the memory-bandwidth floor; target <= 100x;
* pyradiomics first-order + shape per lesion, if it is importable (target: ours >= 10x faster);
* SimpleITK LabelStatistics + LabelShapeStatistics (with Feret diameter), if importable;
* a per-label numpy loop (``labels == i`` per lesion, the pattern the spec says to avoid);
* itself with three times the lesions (no O(K x N) per-label work, §5.7).
Peak memory of ours (tracemalloc, numpy allocations) is reported as a multiple of the volume size
(target < 4x).  Prints ``name: ours X s, peer Y s, ratio Y/X``; ``--json FILE`` also writes the numbers.
Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np


def best_of(fn: Callable[[], Any], repeats: int) -> float:
    """Best wall time of ``repeats`` calls (s)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def peak_memory(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def naive_per_label(data: np.ndarray, labels: np.ndarray, n: int, voxel_ml: float) -> list[tuple[float, ...]]:
    """Per-label full-volume loop (autoPET / metrics-script style): the pattern to avoid."""
    out = []
    for i in range(1, n + 1):
        m = labels == i
        vals = data[m]
        idx = np.nonzero(m)
        out.append((vals.size * voxel_ml, float(vals.max()), float(vals.mean()), float(vals.sum() * voxel_ml),
                    *(float(a.mean()) for a in idx)))
    return out


def simpleitk_features(data: np.ndarray, labels: np.ndarray, spacing: tuple[float, float, float]) -> int:
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(data)
    lab = sitk.GetImageFromArray(labels.astype(np.uint32))
    for im in (img, lab):
        im.SetSpacing(tuple(float(s) for s in spacing[::-1]))
    stats = sitk.LabelStatisticsImageFilter()
    stats.Execute(img, lab)
    shape = sitk.LabelShapeStatisticsImageFilter()
    shape.ComputeFeretDiameterOn()
    shape.Execute(lab)
    return len(shape.GetLabels())


def pyradiomics_features(data: np.ndarray, labels: np.ndarray, spacing: tuple[float, float, float], n: int) -> int:
    import SimpleITK as sitk
    from radiomics import featureextractor

    ext = featureextractor.RadiomicsFeatureExtractor()
    ext.disableAllFeatures()
    ext.enableFeatureClassByName("firstorder")
    ext.enableFeatureClassByName("shape")
    img = sitk.GetImageFromArray(data)
    lab = sitk.GetImageFromArray(labels.astype(np.uint32))
    for im in (img, lab):
        im.SetSpacing(tuple(float(s) for s in spacing[::-1]))
    for i in range(1, n + 1):
        ext.execute(img, lab, label=i)
    return n


def line(name: str, ours: float, peer_name: str, peer: float) -> str:
    return f"{name}: ours {ours:.4f} s, peer {peer_name} {peer:.4f} s, ratio {peer / ours:.3f}"


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesions", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    from cartlens.pet import quantify, segment
    from cartlens.pet.features import lesion_features
    from cartlens.pet.synthetic import whole_body

    wb = whole_body(n_lesions=args.lesions, seed=0)
    volume, data = wb.volume, wb.volume.data
    results: dict[str, Any] = {"shape": list(data.shape), "lesions_planted": int(wb.lesion_radii_mm.size)}
    read_pass = best_of(lambda: np.max(data), 20)
    results["numpy_read_pass_s"] = read_pass
    for method in ("suv4", "pct41"):
        quantify(volume, method=method)                                     # warm caches
        ours = best_of(lambda m=method: quantify(volume, method=m), args.repeats)
        seg = segment(volume, method=method)
        feats = best_of(lambda s=seg: lesion_features(volume, s), args.repeats)
        peak = peak_memory(lambda m=method: quantify(volume, method=m))
        n = seg.n_lesions
        rec: dict[str, Any] = {"n_lesions": n, "ours_s": ours, "features_only_s": feats,
                               "peak_memory_x_volume": peak / data.nbytes}
        print(line(f"pet_features_{method}", ours, "numpy_read_pass", read_pass)
              + f"  (= {ours / read_pass:.0f} read passes; target <= 100)")
        print(f"pet_features_{method}: {n} lesions, features only {feats:.4f} s, "
              f"peak memory {peak / data.nbytes:.2f} x volume (target < 4)")
        labels = np.asarray(seg.labels)
        naive = best_of(lambda lab=labels, k=n: naive_per_label(data, lab, k, volume.voxel_volume_ml), 1)
        rec["naive_per_label_s"] = naive
        print(line(f"pet_features_{method}", feats, "numpy_per_label_loop", naive))
        for peer, fn in (("simpleitk_label_stats_shape_feret",
                          lambda lab=labels: simpleitk_features(data, lab, volume.spacing_mm)),
                         ("pyradiomics_firstorder_shape",
                          lambda lab=labels, k=n: pyradiomics_features(data, lab, volume.spacing_mm, k))):
            try:
                t = best_of(fn, 1)
            except ImportError as err:
                print(f"pet_features_{method}: peer {peer} not available ({err.name} not importable)")
                rec[f"{peer}_s"] = None
                continue
            rec[f"{peer}_s"] = t
            print(line(f"pet_features_{method}", feats, peer, t))
        results[method] = rec
    # §5.7: no O(K x N) per-label work -- three times the lesions must cost far less than three times the time
    wb3 = whole_body(n_lesions=3 * args.lesions, seed=1)
    k3 = best_of(lambda: quantify(wb3.volume, method="suv4"), args.repeats)
    k1 = results["suv4"]["ours_s"]
    results["scaling"] = {"lesions_planted": int(wb3.lesion_radii_mm.size), "ours_s": k3, "ratio_to_base": k3 / k1}
    print(f"pet_features_scaling: {wb3.lesion_radii_mm.size} vs {wb.lesion_radii_mm.size} lesions, "
          f"ours {k3:.4f} s vs {k1:.4f} s, ratio {k3 / k1:.2f} (per-lesion work scales with lesion size; a "
          f"per-label full-volume loop would add ~{2 * args.lesions} volume passes)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
