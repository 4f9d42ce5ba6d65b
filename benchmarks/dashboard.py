"""What the live dashboard costs the VUs: ping-pong throughput with and without a watcher.

Three modes, interleaved, each repeated: no dashboard; ``--dashboard`` with nobody watching;
``--dashboard`` with one client following ``/events`` (what a browser tab does: the server
draws and sends the page once per period). Throughput is messages received per second of the
run, from the summary export; the table prints medians and each mode's ratio to the first.

    python benchmarks/dashboard.py --repeat 5 --duration 10

The echo server is greenws's own, in its own process (``--echo-server``), on free ports.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "scripts" / "pingpong.py"
MODES = ("none", "dashboard", "dashboard+client")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def follow(url: str, stop: threading.Event, counts: list[int]) -> None:
    """Read the event stream like a tab does, until the run ends or ``stop`` is set."""
    deadline = time.monotonic() + 30
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as stream:
                for line in stream:
                    if line.startswith(b"event:"):
                        counts[0] += 1
                    if stop.is_set() or line.startswith(b"event: end"):
                        return
        except OSError:
            time.sleep(0.05)


def measure(mode: str, duration: int, vus: int, directory: Path) -> float:
    export = directory / f"{mode}.json"
    echo, port = free_port(), free_port()
    command = [
        sys.executable, "-m", "greenws", "run", str(SCRIPT), "-q", "--echo-server",
        "--echo-port", str(echo), "--summary-export", str(export),
    ]  # fmt: skip
    env_vars = {"BENCH_URL": f"ws://127.0.0.1:{echo}/", "BENCH_VUS": str(vus),
                "BENCH_DURATION": f"{duration}s"}  # fmt: skip
    for key, value in env_vars.items():
        command += ["-e", f"{key}={value}"]
    if mode != "none":
        command += ["--dashboard", "--dashboard-port", str(port)]
    stop, counts = threading.Event(), [0]
    watcher = None
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    if mode == "dashboard+client":
        watcher = threading.Thread(
            target=follow, args=(f"http://127.0.0.1:{port}/events", stop, counts), daemon=True
        )
        watcher.start()
    process.wait(timeout=duration + 120)
    stop.set()
    if watcher is not None:
        watcher.join(10)
        assert counts[0] > 0, "the client saw no update"
    data = json.loads(export.read_text())
    return float(data["metrics"]["ws_msgs_received"]["rate"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--vus", type=int, default=50)
    args = parser.parse_args(argv)
    results: dict[str, list[float]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as directory:
        for _ in range(args.repeat):
            for mode in MODES:  # interleaved: a drift in the machine's load hits every mode
                results[mode].append(measure(mode, args.duration, args.vus, Path(directory)))
    base = statistics.median(results["none"])
    print(f"{'mode':<18} {'median msgs/s':>14} {'ratio':>7}  runs")
    for mode in MODES:
        med = statistics.median(results[mode])
        runs = ", ".join(f"{v:,.0f}" for v in results[mode])
        print(f"{mode:<18} {med:>14,.0f} {med / base:>7.3f}  {runs}")
    watched = statistics.median(results["dashboard+client"])
    print(f"one client vs none watching: {watched / statistics.median(results['dashboard']):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
