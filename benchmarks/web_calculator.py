"""web_calculator: 50 concurrent clients for 10 s against the CAR-HEMATOTOX API endpoint, compared with a bare
FastAPI endpoint served by the same server in the same run (spec performance.md; target p99 <= 2x bare, 0 errors).

    python benchmarks/web_calculator.py [--clients 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import uvicorn

from cartlens.store import Store, sqlite_url
from cartlens.web.app import WebConfig, create_app

BODY = {"anc": 1.2, "hb": "90 g/L", "plt": 110, "crp": "45 mg/L", "ferritin": 800}


async def _load(url: str, method: str, clients: int, seconds: float) -> tuple[np.ndarray, int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                r = await (client.post(url, json=BODY) if method == "POST" else client.get(url))
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - t0)
            errors += not ok

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))
    return np.asarray(latencies), errors


def _serve(port: int, url: str) -> None:
    """Server process: the cartlens app plus the bare peer endpoint."""
    app = create_app(WebConfig(db_url=url))

    @app.post("/bench/bare")
    def bare(body: dict) -> dict:  # the peer: same server and middleware, same JSON parsing, no work
        return {"ok": True}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(int(args.serve[0]), args.serve[1])
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = sqlite_url(Path(tmp) / "bench.db")
        Store(url).migrate()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), url])
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(base + "/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        results = {}
        try:
            for name, path in (("bare", "/bench/bare"), ("car-hematotox", "/api/v1/scores/car-hematotox")):
                lat, err = asyncio.run(_load(base + path, "POST", args.clients, args.seconds))
                results[name] = (np.percentile(lat, 99), np.percentile(lat, 50), len(lat), err)
                print(f"{name}: {len(lat)} requests, p50 {results[name][1] * 1e3:.1f} ms, "
                      f"p99 {results[name][0] * 1e3:.1f} ms, errors {err}")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        ours, peer = results["car-hematotox"][0], results["bare"][0]
        print(f"web_calculator: ours {ours:.4f} s, peer {peer:.4f} s, ratio {peer / ours:.2f} "
              f"(p99 latency; target ours <= 2x peer, i.e. ratio >= 0.5; errors {results['car-hematotox'][3]})")


if __name__ == "__main__":
    main()
