"""Run every benchmark script in this folder and collect their results (spec performance.md).

Each ``benchmarks/*.py`` (except this file and names starting with ``_``) runs as a subprocess of the same
Python with a per-script timeout.  Every output line of the form
``name: ours X s, peer [PEER] Y s, ratio R ...`` (or ``peer failed (...)``, ``ratio n/a``) becomes one entry of
``benchmarks/results.json``::

    {name: {ours_s, peer_s, ratio, target, met, detail, script, quick, script_wall_s, script_rc,
            machine: {cpu_count, loadavg_start, loadavg_end}, timestamp}}

``ratio`` is peer / ours as the script printed it; ``target`` and ``met`` come from :data:`TARGETS`
(performance.md; ``met`` is None where a line has no target or the peer was not measured).  The machines
are shared: ``os.getloadavg()`` (1, 5, 15 min) before and after each script is stored with every entry of
that script so readers can judge the numbers.  ``--quick`` passes smaller sizes (:data:`QUICK`); targets
are stated for the full sizes, so quick entries carry ``quick: true``.

Run: ``python benchmarks/run.py [--quick] [--only NAME ...] [--timeout S] [--out FILE]``.  Not run by CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: smaller sizes for ``--quick`` (each script's own argparse options)
QUICK: dict[str, list[str]] = {
    "bootstrap_validation": ["--peer-replicates", "20"],
    "cox_fit": ["--repeats", "50"],
    "cutpoint": ["--repeats", "2"],
    "dask_batch": ["--volumes", "16"],
    "km_logrank": ["--n", "20000", "--repeats", "2"],
    "pet_features": ["--lesions", "30", "--repeats", "2"],
    "response_engine": ["--patients", "20000", "--repeat", "1"],
    "web_calculator": ["--seconds", "3"],
}

#: per-script timeout (s) where the default (``--timeout``) is not right
TIMEOUTS: dict[str, float] = {"web_calculator": 120.0}


@dataclass(frozen=True)
class Target:
    """A performance.md target on one result line; ``check`` returns met (bool) or None (not measurable)."""

    text: str
    check: Callable[[dict[str, Any]], bool | None]


def _min_ratio(bound: float) -> Callable[[dict[str, Any]], bool | None]:
    return lambda e: None if e["ratio"] is None else e["ratio"] >= bound


def _bootstrap(e: dict[str, Any]) -> bool | None:
    return None if e["ratio"] is None else e["ratio"] >= 20 and e["ours_s"] < 2.0


def _web(e: dict[str, Any]) -> bool | None:
    errors = re.search(r"errors (\d+)", e["detail"])
    return None if e["ratio"] is None or errors is None else e["ratio"] >= 0.5 and int(errors.group(1)) == 0


def _dask(e: dict[str, Any]) -> bool | None:
    return None if e["ratio"] is None else e["ratio"] >= 1.7 and "tables identical" in e["detail"]


def _cutpoint(e: dict[str, Any]) -> bool | None:
    if e["ratio"] is not None:
        return e["ratio"] >= 1.0
    if "exactGauss" in e["name"] and "failed" in e["detail"]:   # ours must run where R's exactGauss fails
        return e["ours_s"] is not None
    return None


#: performance.md targets, keyed by a regular expression matched against the whole result name
TARGETS: dict[str, Target] = {
    r"cox_fit vs lifelines( \(CPU time\))?": Target(">= 10x lifelines (ratio >= 10)", _min_ratio(10.0)),
    r"cox_fit vs R( \(CPU time\))?": Target("<= 1x R's per-fit time (ratio >= 1)", _min_ratio(1.0)),
    r"bootstrap_validation": Target(">= 20x lifelines and ours < 2 s (1000 replicates)", _bootstrap),
    r"cutpoint_n\d+_(Lau94|exactGauss)": Target("<= 1x R (ratio >= 1); ours must run where R's exactGauss fails",
                                                _cutpoint),
    r"km_logrank vs lifelines": Target(">= 5x lifelines (ratio >= 5)", _min_ratio(5.0)),
    r"pet_features_\w+ vs numpy_read_pass": Target("<= 100 read passes (ratio >= 0.01)", _min_ratio(0.01)),
    r"pet_features_\w+ vs pyradiomics\w*": Target(">= 10x pyradiomics (ratio >= 10)", _min_ratio(10.0)),
    r"pet_features_\w+ peak_memory": Target("< 4x the volume's size",
                                            lambda e: None if e["ours_s"] is None else e["ours_s"] < 4.0),
    r"response_engine": Target("<= 2x the parse time (ratio >= 0.5)", _min_ratio(0.5)),
    r"web_calculator": Target("p99 <= 2x bare (ratio >= 0.5), 0 errors", _web),
    r"dask_batch": Target("speed-up >= 1.7x, results identical", _dask),
}

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
LINE = re.compile(
    rf"^(?P<name>[^#\s][^:]*?):\s+ours\s+(?P<ours>{_NUM})\s*s,\s+peer\s+"
    rf"(?:(?:(?P<peer_name>[A-Za-z_][\w.\-]*)\s+)?(?P<peer>{_NUM})\s*s|failed(?P<why>.*?))"
    rf",\s+ratio\s+(?P<ratio>{_NUM}|n/a)(?P<rest>.*)$")
#: a peer a script could not run (not installed): an entry without numbers, so the target shows as unmeasured
MISSING = re.compile(r"^(?P<name>[^#\s][^:]*?):\s+peer\s+(?:(?P<peer_name>[\w.\-]+)\s+)?not available(?P<why>.*)$")
#: pet_features prints its memory target on a line of its own
MEMORY = re.compile(r"^(?P<name>pet_features_\w+):.*peak memory (?P<x>" + _NUM + r") x volume")


def parse(output: str) -> list[dict[str, Any]]:
    """Result entries (name, ours_s, peer_s, ratio, detail) from a script's output."""
    entries = []
    for raw in output.splitlines():
        line = raw.strip()
        m = LINE.match(line)
        if m:
            name = m["name"] + (f" vs {m['peer_name']}" if m["peer_name"] else "")
            entries.append({"name": name, "ours_s": float(m["ours"]),
                            "peer_s": float(m["peer"]) if m["peer"] is not None else None,
                            "ratio": None if m["ratio"] == "n/a" else float(m["ratio"]),
                            "detail": ((f"peer failed{m['why']}; " if m["why"] is not None else "")
                                       + m["rest"].strip()).strip("; ")})
            continue
        m = MISSING.match(line)
        if m:
            name = m["name"] + (f" vs {m['peer_name']}" if m["peer_name"] else "")
            entries.append({"name": name, "ours_s": None, "peer_s": None, "ratio": None,
                            "detail": f"peer not available{m['why']}"})
            continue
        m = MEMORY.match(line)
        if m:   # the value (x volume size) goes in ours_s's place; no peer
            entries.append({"name": f"{m['name']} peak_memory", "ours_s": float(m["x"]), "peer_s": None,
                            "ratio": None, "detail": "peak memory as a multiple of the volume's size, not seconds"})
    return entries


def judge(entry: dict[str, Any]) -> tuple[str | None, bool | None]:
    """(target text, met) for a result entry; (None, None) where performance.md sets no target for it."""
    for pattern, target in TARGETS.items():
        if re.fullmatch(pattern, entry["name"]):
            return target.text, target.check(entry)
    return None, None


def run_script(path: Path, quick: bool, timeout: float) -> tuple[dict[str, Any], str]:
    """Run one benchmark; returns its run record (rc, wall, load averages) and its combined output."""
    args = [sys.executable, str(path), *(QUICK.get(path.stem, []) if quick else [])]
    load0, t0 = os.getloadavg(), time.perf_counter()
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    # own session, so that a timeout ends the script's whole process group (Dask workers, web server) by id
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    rc: int | None
    try:
        out, err = proc.communicate(timeout=timeout)
        rc, output = proc.returncode, out + ("\n" + err if proc.returncode else "")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        rc, output = None, (out or "") + f"\n(timed out after {timeout:.0f} s)"
    record = {"script": path.name, "args": args[2:], "rc": rc, "wall_s": round(time.perf_counter() - t0, 1),
              "timestamp": stamp, "loadavg_start": [round(x, 2) for x in load0],
              "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
    return record, output


def collect(record: dict[str, Any], output: str, quick: bool) -> dict[str, dict[str, Any]]:
    """results.json entries of one script run (an error entry named after the script when it gave none)."""
    machine = {"cpu_count": os.cpu_count(), "loadavg_start": record["loadavg_start"],
               "loadavg_end": record["loadavg_end"]}
    entries = parse(output)
    if not entries or record["rc"] != 0:
        tail = " | ".join(output.strip().splitlines()[-3:])
        status = "timed out" if record["rc"] is None else f"exit {record['rc']}"
        entries.append({"name": f"{Path(record['script']).stem} (script)", "ours_s": None, "peer_s": None,
                        "ratio": None, "detail": f"{status}: {tail}"})
    out = {}
    for e in entries:
        target, met = judge(e)
        if e["name"].endswith("(script)"):
            met = False
        out[e["name"]] = {"ours_s": e["ours_s"], "peer_s": e["peer_s"], "ratio": e["ratio"], "target": target,
                          "met": met, "detail": e["detail"], "script": record["script"], "quick": quick,
                          "script_args": record["args"], "script_wall_s": record["wall_s"],
                          "script_rc": record["rc"], "machine": machine, "timestamp": record["timestamp"]}
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    """Plain-text table of the results (one row per entry)."""
    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.4g}"

    rows = [("benchmark", "ours s", "peer s", "ratio", "met", "load 1-min start/end", "target")]
    for name, e in results.items():
        met = {True: "yes", False: "NO", None: "n/a"}[e["met"]] + (" (quick)" if e["quick"] else "")
        load = f"{e['machine']['loadavg_start'][0]:.1f} / {e['machine']['loadavg_end'][0]:.1f}"
        rows.append((name, num(e["ours_s"]), num(e["peer_s"]), num(e["ratio"]), met, load, e["target"] or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (see QUICK); targets are for full sizes")
    parser.add_argument("--only", nargs="+", default=None,
                        help="script names (stems) to run; their entries replace those in an existing --out")
    parser.add_argument("--timeout", type=float, default=900.0, help="per-script timeout, s")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--rejudge", action="store_true",
                        help="run nothing: re-apply TARGETS to the entries of --out and print the table")
    args = parser.parse_args()
    if args.rejudge:
        stored: dict[str, dict[str, Any]] = json.loads(args.out.read_text(encoding="utf-8"))
        for name, e in stored.items():
            if not name.endswith("(script)"):
                e["target"], e["met"] = judge({"name": name, **e})
        args.out.write_text(json.dumps(stored, indent=2) + "\n", encoding="utf-8")
        print(table(stored))
        return 0 if all(e["met"] is not False for e in stored.values()) else 1
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))
    if args.only:
        unknown = set(args.only) - {p.stem for p in scripts}
        if unknown:
            parser.error(f"no benchmark script named {', '.join(sorted(unknown))}")
        scripts = [p for p in scripts if p.stem in args.only]
    results: dict[str, dict[str, Any]] = {}
    if args.only and args.out.exists():   # keep the other scripts' entries of an earlier run
        names = {p.name for p in scripts}
        earlier = json.loads(args.out.read_text(encoding="utf-8"))
        results = {k: v for k, v in earlier.items() if v.get("script") not in names}
    for path in scripts:
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        record, output = run_script(path, args.quick, TIMEOUTS.get(path.stem, args.timeout))
        print(output.rstrip(), file=sys.stderr, flush=True)
        results.update(collect(record, output, args.quick))
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")   # partial results survive
    print(table(results))
    return 0 if all(e["met"] is not False for e in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
