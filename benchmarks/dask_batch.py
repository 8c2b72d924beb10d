"""Benchmark: the PET batch path on Dask, 1 vs 2 workers (performance.md, row dask_batch).

Data: ``--volumes`` (default 64) synthetic whole-body SUV volumes from
:func:`cartlens.pet.synthetic.whole_body` (default 160 x 96 x 96 voxels (z, y, x) float32 = 5.9 MB each,
3.0 x 3.65 x 3.65 mm, ``--lesions`` 20 lesions planted, seed = volume number), written as uncompressed
NIfTI and listed in a manifest CSV (methods alternate suv4 / pct41), exactly what ``cartlens pet batch``
reads.  Generation and writing are not timed.

Ours: :func:`cartlens.pet.batch.run_batch` (read NIfTI + segment + every feature, one task per scan) on a
``distributed.LocalCluster`` of 2 workers (1 thread each, ``processes=True``).  Peer: the same on a
LocalCluster of 1 worker.  Each cluster is started, its workers import the PET modules (warm, as a
long-lived cluster given by ``--scheduler`` would be), and then the batch is timed through the scheduler
address, as ``cartlens pet batch --scheduler ADDRESS`` does; best of ``--repeats`` rounds that alternate
1 and 2 workers (so load changes on a shared machine hit both alike).  Cluster start-up is reported on a
``#`` line and is not part of the ratio.  Also on ``#`` lines: the CPU seconds the workers actually got
(``time.process_time`` in each worker).  On a shared machine whose kernel groups a session's processes
(``sched_autogroup``), 2 workers get no more CPU than 1 while others are busy, so the speed-up shows
only what the machine gave; "cores obtained" tells the reader which.  Both runs write their tables to parquet
(as the CLI does) and the tables are checked equal (``pandas.testing.assert_frame_equal`` after reading
back); a difference makes the script exit 1.  Target: speed-up (peer / ours) >= 1.7.

Run: ``python benchmarks/dask_batch.py [--volumes 64] [--shape 160 96 96] [--repeats 2]``.  Prints
``dask_batch: ours X s, peer Y s, ratio Y/X``.  Not run by CI.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")   # before dask is imported; workers inherit it
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def write_volumes(folder: Path, count: int, shape: tuple[int, int, int], lesions: int) -> Path:
    """Write ``count`` synthetic SUV NIfTI volumes and their manifest; returns the manifest path."""
    import nibabel as nib

    from cartlens.pet.synthetic import whole_body
    from cartlens.pet.volume import KJI_TO_IJK, RAS_TO_LPS

    rows = []
    for i in range(count):
        wb = whole_body(shape=shape, n_lesions=lesions, seed=i)
        vol = wb.volume
        # inverse of cartlens.pet.volume._read_nifti: (z, y, x) LPS -> (i, j, k) RAS
        affine = np.linalg.inv(RAS_TO_LPS) @ vol.affine @ np.linalg.inv(KJI_TO_IJK)
        name = f"scan{i:03d}.nii"
        nib.save(nib.Nifti1Image(np.ascontiguousarray(vol.data.transpose(2, 1, 0)), affine), str(folder / name))
        rows.append({"scan_id": f"S{i:03d}", "nifti": name, "method": ("suv4", "pct41")[i % 2]})
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def _warm() -> bool:
    """Import the PET modules in a worker (what the first task would otherwise pay)."""
    import cartlens.pet.batch
    import cartlens.pet.features
    import cartlens.pet.volume  # noqa: F401

    return True


def start_cluster(workers: int) -> tuple[Any, Any, float]:
    """A LocalCluster of ``workers`` single-threaded processes, workers warm; (cluster, client, start-up s)."""
    from dask.distributed import Client, LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.wait_for_workers(workers)
    client.run(_warm)
    return cluster, client, time.perf_counter() - t0


def timed_batches(rows: list[dict], repeats: int) -> dict[int, dict[str, Any]]:
    """Time the batch on a 1-worker and a 2-worker cluster, rounds alternating; best wall time of each.

    Per cluster: start-up s, best batch wall s, the workers' CPU s in that run (``time.process_time`` summed
    over workers: wall x cores actually obtained on a loaded machine) and the (scans, lesions) tables.
    """
    from cartlens.pet.batch import run_batch

    clusters: dict[int, tuple[Any, Any, float]] = {}
    out: dict[int, dict[str, Any]] = {}
    try:
        for w in (1, 2):
            clusters[w] = start_cluster(w)
            out[w] = {"startup": clusters[w][2], "wall": float("inf"), "cpu": float("nan")}
        for _ in range(repeats):   # alternate, so that load changes on a shared machine hit both alike
            for w, (cluster, client, _s) in clusters.items():
                c0 = sum(client.run(time.process_time).values())
                t0 = time.perf_counter()
                tables = run_batch(rows, scheduler=cluster.scheduler_address)
                wall = time.perf_counter() - t0
                if wall < out[w]["wall"]:
                    cpu = sum(client.run(time.process_time).values()) - c0
                    out[w].update(wall=wall, cpu=cpu, tables=tables)
    finally:
        for cluster, client, _s in clusters.values():
            client.close()
            cluster.close()
    return out


def same_tables(tmp: Path, runs: dict[int, tuple[pd.DataFrame, pd.DataFrame]]) -> str | None:
    """Write each run's tables to parquet as the CLI does, read back, compare; None if equal, else why."""
    from cartlens.pet.batch import lesions_path

    back = {}
    for workers, (scans, lesions) in runs.items():
        out = tmp / f"batch_{workers}w.parquet"
        scans.to_parquet(out, index=False)
        lesions.to_parquet(lesions_path(out), index=False)
        back[workers] = (pd.read_parquet(out), pd.read_parquet(lesions_path(out)))
    (s1, l1), (s2, l2) = back.values()
    bad = int((s1["status"] != "ok").sum())
    if bad:
        return f"{bad} scans did not quantify: {s1.loc[s1['status'] != 'ok', 'status'].iloc[0]}"
    try:
        pd.testing.assert_frame_equal(s1, s2, check_exact=True)
        pd.testing.assert_frame_equal(l1, l2, check_exact=True)
    except AssertionError as err:
        return str(err).splitlines()[0]
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", type=int, default=64)
    parser.add_argument("--shape", type=int, nargs=3, default=(160, 96, 96), metavar=("Z", "Y", "X"))
    parser.add_argument("--lesions", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    shape = tuple(args.shape)
    from cartlens.pet.batch import read_manifest

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        manifest = write_volumes(tmp, args.volumes, shape, args.lesions)   # type: ignore[arg-type]
        rows = read_manifest(manifest).to_dict(orient="records")
        made = time.perf_counter() - t0
        timings = timed_batches(rows, args.repeats)
        problem = same_tables(tmp, {w: t["tables"] for w, t in timings.items()})
    one, two = timings[1], timings[2]
    print(f"# {args.volumes} volumes {shape[0]}x{shape[1]}x{shape[2]} (z, y, x) float32, "
          f"{len(one['tables'][1])} lesions found, data written in {made:.1f} s; os.cpu_count() {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    for w, t in timings.items():
        print(f"# {w} worker(s): cluster start-up (not timed) {t['startup']:.1f} s; batch {t['wall']:.2f} s wall, "
              f"workers' CPU {t['cpu']:.2f} s = {t['cpu'] / t['wall']:.2f} cores obtained, "
              f"{t['cpu'] / args.volumes:.3f} CPU s per scan")
    print(f"# workers' CPU 2 vs 1: {two['cpu'] / one['cpu']:.2f}x (Dask overhead + contention); a machine giving "
          f"each worker a whole core would give a speed-up of about {2 * one['cpu'] / two['cpu']:.2f} (estimate, "
          f"not the measured ratio; on a loaded machine with scheduler autogroups a session gets a fixed CPU share "
          f"however many processes it runs)")
    ours, peer = two["wall"], one["wall"]
    same = "tables identical" if problem is None else f"TABLES DIFFER: {problem}"
    print(f"dask_batch: ours {ours:.3f} s, peer {peer:.3f} s, ratio {peer / ours:.2f} "
          f"(2 vs 1 LocalCluster workers, 1 thread each, processes; best of {args.repeats}; {same})")
    return 0 if problem is None else 1


if __name__ == "__main__":
    sys.exit(main())
