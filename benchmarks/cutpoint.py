"""Benchmark: maximally selected log-rank cutpoint, n = 500 and n = 10 000 (performance.md, row cutpoint).

Ours: :func:`cartlens.stats.cutpoint.maxstat` (log-rank scores, candidates, statistic) with the Lau94 p-value
and with the "exact" Gaussian p-value (deterministic Gauss-Markov recursion).  Peer: R
``maxstat.test(Surv(time, event) ~ x, smethod = "LogRank", pmethod = ...)`` timed inside R with
``system.time`` (R start-up excluded) on the same CSV.  R's exactGauss stops above 1000 candidates
("only dimensions 1 <= n <= 1000 allowed"), so at n = 10 000 only ours has an exact p; the line says so.
Target: <= 1x R's time; must run where R's exactGauss fails.

Run: ``python benchmarks/cutpoint.py [--repeats 5]``.  Prints ``name: ours X s, peer Y s, ratio Y/X``.
Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cartlens.stats.cutpoint import maxstat


def synthetic(n: int, seed: int = 3) -> pd.DataFrame:
    """Skewed marker (MTV-like, ml, rounded to 0.1 so some ties), its effect above ~300 ml, ~30 % censored."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.lognormal(5.5, 1.0, n), 1)
    t = np.ceil(rng.exponential(600 * np.where(x > 300, 0.75, 1.0)))
    c = np.ceil(rng.uniform(60, 1500, n))
    return pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int), "x": x})


def ours(frame: pd.DataFrame, pmethod: str, repeats: int) -> tuple[float, float]:
    best, p = float("inf"), float("nan")
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = maxstat(frame["time"], frame["event"], frame["x"], pmethod=pmethod)
        best = min(best, time.perf_counter() - t0)
        p = res.p
    return best, p


R_CODE = """
suppressPackageStartupMessages({library(survival); library(maxstat); library(jsonlite)})
d <- read.csv("%(csv)s"); out <- list()
for (pm in c("Lau94", "exactGauss")) {
  best <- Inf; p <- NA; err <- NULL
  for (i in seq_len(%(repeats)d)) {
    tm <- system.time(r <- tryCatch(maxstat.test(Surv(time, event) ~ x, data = d, smethod = "LogRank",
                                                 pmethod = pm), error = function(e) e))[["elapsed"]]
    if (inherits(r, "error")) { err <- conditionMessage(r); break }
    best <- min(best, tm); p <- unname(r$p.value)
  }
  out[[pm]] <- list(time = if (is.null(err)) best else NULL, p = p, error = err)
}
cat(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null"))
"""


def r_times(frame: pd.DataFrame, repeats: int) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        frame.to_csv(csv, index=False)
        script = Path(tmp) / "b.R"
        script.write_text(R_CODE % {"csv": csv, "repeats": repeats})
        run = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, timeout=1800, check=False)
    if run.returncode != 0:
        return None
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = []
    for n in (500, 10_000):
        frame = synthetic(n)
        peer = r_times(frame, args.repeats if n <= 500 else 2)
        for pm in ("Lau94", "exactGauss"):
            ours_s, ours_p = ours(frame, pm, args.repeats if pm == "Lau94" else 1)
            name = f"cutpoint_n{n}_{pm}"
            r = (peer or {}).get(pm, {})
            if r.get("time") is not None:
                ratio = r["time"] / ours_s
                print(f"{name}: ours {ours_s:.4f} s, peer {r['time']:.4f} s, ratio {ratio:.2f} "
                      f"(p ours {ours_p:.6g}, R {r['p']:.6g})")
            else:
                why = r.get("error") or "R not available"
                print(f"{name}: ours {ours_s:.4f} s, peer failed ({why}), ratio n/a (p ours {ours_p:.6g})")
                ratio = None
            results.append({"name": name, "ours_s": ours_s, "peer_s": r.get("time"), "ratio": ratio})
    return results


if __name__ == "__main__":
    main()
