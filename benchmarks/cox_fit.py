"""Benchmark: Cox PH fit, n = 500, 5 covariates, Efron ties, repeated fits (performance.md, row cox_fit).

Peers measured in the same run on the same data: lifelines ``CoxPHFitter`` (Efron only) and, when ``Rscript``
is on PATH, R ``survival::coxph`` timed inside R with ``system.time`` over the same number of repeats (so R's
start-up is excluded). "Ours" is :func:`cartlens.stats.cox.coxph` including what R's coxph also computes on
every fit (tests, concordance with its s.e.). Targets: >= 10x lifelines; <= 1x R's per-fit time.

Run: ``python benchmarks/cox_fit.py [--repeats 200] [--n 500]``. Prints
``cox_fit: ours X s, peer Y s, ratio Y/X`` (per fit). Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cartlens.stats.cox import coxph

NAMES = ["x1", "x2", "x3", "x4", "x5"]


def synthetic(n: int, seed: int = 1) -> pd.DataFrame:
    """Five covariates (2 continuous, 1 skewed, 2 binary), integer-day times (ties), ~30 % censoring."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(60, 10, n), rng.normal(0, 1, n), rng.lognormal(5, 1, n),
                         rng.integers(0, 2, n), rng.integers(0, 2, n)]).astype(float)
    lp = 0.02 * (x[:, 0] - 60) + 0.3 * x[:, 1] + 0.001 * x[:, 2] + 0.4 * x[:, 3] - 0.2 * x[:, 4]
    t = np.ceil(rng.exponential(365 * np.exp(-lp)))
    c = np.ceil(rng.uniform(30, 1500, n))
    frame = pd.DataFrame(x, columns=NAMES)
    frame["time"], frame["event"] = np.minimum(t, c), (t <= c).astype(int)
    return frame


def time_ours(frame: pd.DataFrame, repeats: int) -> tuple[float, np.ndarray]:
    t, e, x = frame["time"].to_numpy(), frame["event"].to_numpy(), frame[NAMES].to_numpy()
    fit = coxph(t, e, x)
    start = time.perf_counter()
    for _ in range(repeats):
        fit = coxph(t, e, x)
        _ = fit.concordance                  # R's coxph computes it on every fit
    return (time.perf_counter() - start) / repeats, fit.coef


def time_lifelines(frame: pd.DataFrame, repeats: int) -> tuple[float, np.ndarray] | None:
    try:
        from lifelines import CoxPHFitter
    except ImportError:
        return None
    data = frame[[*NAMES, "time", "event"]]
    cph = CoxPHFitter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph.fit(data, "time", "event")
        n = max(1, repeats // 4)              # lifelines is slow; fewer repeats, same per-fit measure
        start = time.perf_counter()
        for _ in range(n):
            cph = CoxPHFitter().fit(data, "time", "event")
        return (time.perf_counter() - start) / n, cph.params_.to_numpy()


def time_r(frame: pd.DataFrame, repeats: int) -> tuple[float, np.ndarray] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        frame.to_csv(path, index=False)
        script = (f"suppressMessages(library(survival)); d <- read.csv('{path}'); "
                  f"f <- coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + x5, d); "
                  f"tm <- system.time(for (i in 1:{repeats}) f <- coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + x5, d))"
                  f"[['elapsed']]; cat(jsonlite::toJSON(list(t = tm / {repeats}, coef = unname(coef(f))), digits = NA))")
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True).stdout
    res = json.loads(out)
    return float(res["t"][0]), np.array(res["coef"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    frame = synthetic(args.n)
    ours, coef = time_ours(frame, args.repeats)
    for name, result in (("lifelines", time_lifelines(frame, args.repeats)), ("R", time_r(frame, args.repeats))):
        if result is None:
            print(f"cox_fit vs {name}: peer not available")
            continue
        peer, peer_coef = result
        agree = float(np.max(np.abs(peer_coef - coef) / np.abs(peer_coef)))
        print(f"cox_fit vs {name}: ours {ours:.6f} s, peer {peer:.6f} s, ratio {peer / ours:.2f} "
              f"(per fit, n={args.n}, 5 covariates, Efron; max rel. coef difference {agree:.1e})")


if __name__ == "__main__":
    main()
