"""Benchmark: the response engine on 100 000 patients x 3 scans x ~8 lesions, four criteria.

Peer (performance.md, row response_engine): ``pandas.read_csv`` of the same lesions file.
"Ours" is the whole job: reading scans.csv and lesions.csv and assessing every follow-up under Lugano,
Cheson 2007, RECIL and LYRIC. Target: ours <= 2 x the parse time (ratio Y/X >= 0.5).

Run: ``python benchmarks/response_engine.py [--patients 100000]``. Prints
``response_engine: ours X s, peer Y s, ratio Y/X``. Not run by CI.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cartlens.criteria import assess

SITES = np.array(["cervical", "axillary", "mediastinal", "retroperitoneal", "iliac", "inguinal", "liver",
                  "lung", "bone", "spleen"], dtype=object)
NODAL = np.array([True, True, True, True, True, True, False, False, False, False])


def synthetic(n_patients: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scans (BL day -5, FU1 ~30, FU2 ~90) and lesions (8 per patient, 3-6 targets, some new lesions)."""
    rng = np.random.default_rng(seed)
    pid = np.char.add("P", np.arange(n_patients).astype(str)).astype(object)
    centre = np.where(np.arange(n_patients) % 3 == 0, "LMU", "TUM").astype(object)
    scan_ids = np.array(["BL", "FU1", "FU2"], dtype=object)
    days = np.stack([np.full(n_patients, -5), rng.integers(25, 36, n_patients),
                     rng.integers(80, 100, n_patients)], axis=1)
    scans = pd.DataFrame({
        "patient_id": np.repeat(pid, 3), "centre": np.repeat(centre, 3), "scan_id": np.tile(scan_ids, n_patients),
        "day": days.ravel(), "modality": np.where(rng.random(3 * n_patients) < 0.8, "petct", "ct"),
        "spleen_cm": np.round(rng.normal(11.5, 1.5, 3 * n_patients), 1),
        "marrow": np.where(rng.random(3 * n_patients) < 0.02, "involved", "not_involved"),
        "nontarget": np.where(rng.random(3 * n_patients) < 0.05, "unequivocal_progression", "present"),
        "clinical_deterioration": rng.random(3 * n_patients) < 0.1,
        "liver_suvmean": 2.0, "mbp_suvmax": 1.6,
    })
    per = 8
    n_l = n_patients * per
    site_idx = rng.integers(0, len(SITES), n_l)
    n_targets = rng.integers(3, 7, n_patients)
    role = np.where(np.arange(per)[None, :] < n_targets[:, None], "target", "nontarget").ravel()
    ldi0 = np.round(rng.uniform(1.6, 6.0, n_l), 1)
    sdi0 = np.round(ldi0 * rng.uniform(0.5, 1.0, n_l), 1)
    frames = []
    factor = {0: np.ones(n_l), 1: rng.uniform(0.0, 1.6, n_l), 2: rng.uniform(0.0, 1.8, n_l)}
    for k, sid in enumerate(scan_ids):
        ldi = np.round(ldi0 * factor[k], 1)
        sdi = np.minimum(np.round(sdi0 * factor[k], 1), ldi)
        state = np.where(ldi < 0.3, "absent", np.where(ldi < 0.6, "too_small", "measured"))
        ds = np.where(state == "absent", None, rng.integers(1, 6, n_l).astype(str)).astype(object)
        frames.append(pd.DataFrame({
            "patient_id": np.repeat(pid, per), "centre": np.repeat(centre, per), "scan_id": sid,
            "lesion_id": np.tile(np.char.add("L", np.arange(per).astype(str)).astype(object), n_patients),
            "site": SITES[site_idx], "nodal": NODAL[site_idx], "role": role if k == 0 else None,
            "state": state, "ldi_cm": np.where(state == "measured", ldi, np.nan),
            "sdi_cm": np.where(state == "measured", sdi, np.nan), "volume_ml": np.nan,
            "suvmax": np.round(rng.uniform(2, 25, n_l), 1), "deauville": ds,
            "uptake_vs_baseline": None if k == 0 else rng.choice(["decreased", "unchanged", "increased"], n_l),
            "attribution": None, "biopsy_proven": False,
        }))
        if k > 0:                                         # ~10 % of patients get one new lesion
            who = np.flatnonzero(rng.random(n_patients) < 0.1)
            frames.append(pd.DataFrame({
                "patient_id": pid[who], "centre": centre[who], "scan_id": sid,
                "lesion_id": f"N{k}", "site": "lung", "nodal": False, "role": None, "state": "measured",
                "ldi_cm": np.round(rng.uniform(0.5, 3.0, len(who)), 1), "sdi_cm": 0.5, "volume_ml": np.nan,
                "suvmax": 8.0, "deauville": "5", "uptake_vs_baseline": None,
                "attribution": rng.choice(["lymphoma", "equivocal", "not_lymphoma"], len(who)),
                "biopsy_proven": False}))
    return scans, pd.concat(frames, ignore_index=True)


# Our reader parses enum columns straight into categoricals (the C parser hashes them once); the
# engine maps the few categories instead of millions of strings.
LESION_DTYPES = {c: "category" for c in ("centre", "scan_id", "lesion_id", "site", "role", "state",
                                          "deauville", "uptake_vs_baseline", "attribution")}
SCAN_DTYPES = {c: "category" for c in ("centre", "scan_id", "modality", "marrow", "nontarget")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scans, lesions = synthetic(args.patients)
    with tempfile.TemporaryDirectory() as tmp:
        scans_csv, lesions_csv = Path(tmp) / "scans.csv", Path(tmp) / "lesions.csv"
        scans.to_csv(scans_csv, index=False)
        lesions.to_csv(lesions_csv, index=False)
        peer, ours, engine, plain = [], [], [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            pd.read_csv(lesions_csv)
            peer.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            s = pd.read_csv(scans_csv, dtype=SCAN_DTYPES)
            les = pd.read_csv(lesions_csv, dtype=LESION_DTYPES)
            t1 = time.perf_counter()
            result = assess(s, les)
            t2 = time.perf_counter()
            ours.append(t2 - t0)
            engine.append(t2 - t1)
            t0 = time.perf_counter()                     # the same job reading every column as text
            assess(pd.read_csv(scans_csv), pd.read_csv(lesions_csv, low_memory=False))
            plain.append(time.perf_counter() - t0)
    x, y = min(ours), min(peer)
    print(f"# {len(lesions):,} lesion rows, {len(result):,} assessments; engine alone {min(engine):.2f} s; "
          f"whole job with plain read_csv {min(plain):.2f} s (ratio {y / min(plain):.2f})")
    print(f"response_engine: ours {x:.2f} s, peer {y:.2f} s, ratio {y / x:.2f}")


if __name__ == "__main__":
    main()
