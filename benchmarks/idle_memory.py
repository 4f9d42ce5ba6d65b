"""What one parked VU keeps alive: RSS per idle VU, and tracemalloc's bytes per VU by source line.

Runs ``scripts/idle_probe.py`` (``ws.connect`` sessions that ping every 5 s, as the idle
workload of ``run.py``) with N and then 2N VUs against ``greenws echo``; a probe VU waits until
every session is open, collects garbage and reads the process's RSS (and, in the traced runs,
a tracemalloc snapshot). Everything that does not grow with the VUs (modules, the script, the
engine) cancels out in the difference; what is left, divided by N, is one VU:

    python benchmarks/idle_memory.py                 # N = 2000 and 4000
    python benchmarks/idle_memory.py --vus 5000 --top 40

RSS comes from runs without tracemalloc (it adds ~60 bytes to each traced block). The traced
lines are where the memory was allocated; the greenlet's saved C stack is allocated by greenlet
when it parks, so it shows at the line the VU is parked on.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "scripts" / "idle_probe.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(vus: int, url: str, traced: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "GREENWS_DISABLE_PLUGIN_AUTOLOAD": "1",
            "BENCH_URL": url,
            "MEM_VUS": str(vus),
            "MEM_REPORT": str(report),
        }
        if traced:
            env["PYTHONTRACEMALLOC"] = "1"
        command = [sys.executable, "-m", "greenws", "run", "-q", "--no-summary", str(SCRIPT)]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0 or not report.exists():
            raise SystemExit(f"run failed ({result.returncode}): {result.stderr[-2000:]}")
        loaded: dict[str, object] = json.loads(report.read_text())
        return loaded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--vus", type=int, default=2000, help="N (the runs have N and 2N VUs)")
    parser.add_argument("--top", type=int, default=25, help="source lines to list")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "greenws", "echo", "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the echo server did not start") from None
                time.sleep(0.1)
        url = f"ws://127.0.0.1:{port}/"
        n = args.vus
        plain = {vus: run(vus, url, traced=False) for vus in (n, 2 * n)}
        traced = {vus: run(vus, url, traced=True) for vus in (n, 2 * n)}
    finally:
        server.terminate()
        server.wait(10)
    rss = (float(plain[2 * n]["rss"]) - float(plain[n]["rss"])) / n  # type: ignore[arg-type]
    lines_n: dict[str, list[float]] = traced[n]["lines"]  # type: ignore[assignment]
    lines_2n: dict[str, list[float]] = traced[2 * n]["lines"]  # type: ignore[assignment]
    total = (float(traced[2 * n]["traced"]) - float(traced[n]["traced"])) / n  # type: ignore[arg-type]
    print(f"N = {n} and {2 * n} idle VUs (ws.connect, a ping every 5 s)\n")
    print(f"RSS per idle VU: {rss:,.0f} bytes ({rss / 1024:.2f} KiB)")
    print(f"traced by tracemalloc per idle VU: {total:,.0f} bytes\n")
    print("| bytes per VU | blocks per VU | where it was allocated |")
    print("|---|---|---|")
    rows = []
    for where in set(lines_n) | set(lines_2n):
        size_n, count_n = lines_n.get(where, [0.0, 0.0])
        size_2n, count_2n = lines_2n.get(where, [0.0, 0.0])
        rows.append(((size_2n - size_n) / n, (count_2n - count_n) / n, where))
    for size, count, where in sorted(rows, reverse=True)[: args.top]:
        print(f"| {size:,.0f} | {count:.2f} | `{where.replace(str(ROOT) + '/', '')}` |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
