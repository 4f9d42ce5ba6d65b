"""What the live dashboard costs the VUs, in instructions: figures that do not move with load.

Wall-clock throughput on this shared 2-core box swings ±20 %, more than the 2 % the dashboard may
cost (issue 17). Instructions counted by valgrind's callgrind do not swing. Three figures:

0. **Per sample, in the flusher** (``scripts/dashboard_samples.py``): the engine's aggregation
   of a ping-pong's batches alone, then with the dashboard's share, B and 2B batches. Exact to
   a few instructions, and what the dashboard adds to every round trip.
0b. **Per sample in a ``--workers`` worker** (``scripts/worker_forwarding.py``): what feeding the
   coordinator's page costs a worker on top of its aggregation, forwarding every sample (as
   before) or feeding its own report builder and sending its data with each status (now).
1. **Per round trip**, for one VU's ping-pong (``scripts/dashboard_counted.py``) with the
   dashboard off, on with nobody watching, and on with one client reading ``/events`` (run here,
   outside valgrind, connected before the first round trip). Each mode runs N and 2N round trips;
   the difference divided by N is one more round trip, start-up and the end cancelled out. The
   run's clock-driven work (flusher, gauges, timers, the dashboard's push loop) is taken out:
   two idle runs of each mode give its instructions per second of test time, and each count is
   corrected by that rate times its two runs' difference in duration (under valgrind Python runs
   ~50 times slower, so the same traffic lasts ~50 times as long). In these runs the period is
   an hour, so a watched page is not redrawn by the clock here: redrawing is the second figure.
2. **Per update**: what drawing and sending one update to a watching tab costs after 1 minute,
   10 minutes and an hour of test (``scripts/dashboard_update.py``, K and 2K updates), since the
   page grows with the test: one point per second per line.

An update's share of the VUs' loop is its CPU time per period; that is measured natively (a
median of 3), the one wall-clock figure here, next to the instruction count that compares
before and after without noise. "Round trips' worth" is the update's instructions over one
round trip's (user-space instructions both).

    python benchmarks/dashboard_instructions.py                  # N=2000, 3 rounds, every part
    python benchmarks/dashboard_instructions.py --parts samples --source /work/main
    python benchmarks/dashboard_instructions.py --parts workers     # a --workers worker's share
    python benchmarks/dashboard_instructions.py --parts update --seconds 60,3600
    python benchmarks/dashboard_instructions.py --parts roundtrip --source ../other-checkout

Needs valgrind (Debian: ``apt-get install valgrind``). The default run takes ~30-40 minutes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

from instructions import callgrind_costs, free_port

ROOT = Path(__file__).resolve().parents[1]
COUNTED = ROOT / "benchmarks" / "scripts" / "dashboard_counted.py"
UPDATE = ROOT / "benchmarks" / "scripts" / "dashboard_update.py"
SAMPLES = ROOT / "benchmarks" / "scripts" / "dashboard_samples.py"
WORKER = ROOT / "benchmarks" / "scripts" / "worker_forwarding.py"
#: The greenws measured: this checkout, or ``--source DIR`` (another checkout, to compare).
SOURCE = {"root": ROOT}
#: (distinct TagSets, round trips) of a batch: one URL (ws.connect interns a session's tags, so
#: any number of sessions to it share one set) or fifty; 300 round trips is a 0.2 s flush under
#: valgrind, 3,000 a native one at 15,000 round trips/s, where a batch's fixed costs weigh less.
SAMPLE_SHAPES = ((1, 300), (50, 300), (1, 3000), (50, 3000))


def _env(**extra: str) -> dict[str, str]:
    """A child's environment: the measured greenws first on the path, and one hash seed, so
    two runs lay out their dicts alike (a random seed moved a figure by thousands)."""
    return {**os.environ, "PYTHONPATH": str(SOURCE["root"]), "PYTHONHASHSEED": "0", **extra}


MODES = ("off", "unwatched", "watched")
IDLE_SECONDS = 10  # the idle runs sleep this and twice this


def follow(url: str, gate: Path, stop: threading.Event) -> None:
    """A browser tab's part: read ``url``'s event stream; create ``gate`` once connected."""
    deadline = time.monotonic() + 1800
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3600) as stream:
                for line in stream:
                    gate.touch()
                    if stop.is_set() or line.startswith(b"event: end"):
                        return
        except OSError:
            time.sleep(0.05)


def run_counted(
    mode: str, workload: str, count: int, url: str, scratch: Path
) -> tuple[Counter[str], float]:
    """One counted run under callgrind: instructions per object group and the elapsed seconds."""
    out, elapsed = scratch / f"cg.{mode}.{workload}.{count}", scratch / "elapsed"
    gate = scratch / "gate"
    gate.unlink(missing_ok=True)
    elapsed.unlink(missing_ok=True)
    env = _env(
        GREENWS_DISABLE_PLUGIN_AUTOLOAD="1",
        BENCH_WORKLOAD=workload,
        BENCH_COUNT=str(count),
        BENCH_URL=url,
        BENCH_ELAPSED_FILE=str(elapsed),
    )
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
               "-m", "greenws", "run", "-q", "--no-summary", str(COUNTED)]  # fmt: skip
    port = free_port()
    if mode != "off":
        command += ["--dashboard", "--dashboard-port", str(port), "--dashboard-period", "1h"]
    stop = threading.Event()
    watcher = None
    if mode == "watched":
        env["BENCH_GATE_FILE"] = str(gate)
        watcher = threading.Thread(
            target=follow, args=(f"http://127.0.0.1:{port}/events", gate, stop), daemon=True
        )
        watcher.start()
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    finally:
        stop.set()
    if watcher is not None:
        watcher.join(10)
    if result.returncode != 0:
        raise SystemExit(f"{mode} {workload} failed ({result.returncode}): {result.stderr[-2000:]}")
    return callgrind_costs(out), float(elapsed.read_text())


def pair(mode: str, workload: str, n: int, url: str, scratch: Path) -> tuple[float, float]:
    """(instructions, seconds) of the 2N run minus the N run."""
    (i1, d1), (i2, d2) = (run_counted(mode, workload, k, url, scratch) for k in (n, 2 * n))
    return float(sum(i2.values()) - sum(i1.values())), d2 - d1


def per_round_trip(count: int, url: str, scratch: Path, repeat: int) -> dict[str, dict[str, float]]:
    """Per mode: the median over ``repeat`` rounds (modes interleaved) of instructions per round
    trip, each corrected by the mode's background rate (measured once, from two idle runs)."""
    rates = {}
    for mode in MODES:
        idle_ir, idle_s = pair(mode, "idle", IDLE_SECONDS, url, scratch)
        rates[mode] = idle_ir / idle_s
    runs: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(repeat):
        for mode in MODES:
            ir, seconds = pair(mode, "pingpong", count, url, scratch)
            runs[mode].append((ir - rates[mode] * seconds) / count)
            print(f"{mode}: {runs[mode][-1]:,.0f} ({seconds:.2f} s apart)", file=sys.stderr)
    return {
        mode: {
            "per round trip": statistics.median(runs[mode]),
            "background per s": rates[mode],
            "spread": max(runs[mode]) - min(runs[mode]),
        }
        for mode in MODES
    }


def counted(script: Path, out: Path, **settings: str) -> int:
    """Instructions of one run of ``script`` under callgrind, with ``BENCH_*`` ``settings``."""
    env = _env(**{f"BENCH_{key.upper()}": value for key, value in settings.items()})
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               sys.executable, str(script)]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"{script.name} failed: {result.stderr[-2000:]}")
    return sum(callgrind_costs(out).values())


def per_sample(mode: str, tagsets: int, round_trips: int, scratch: Path) -> float:
    """Instructions the flusher spends per sample (``scripts/dashboard_samples.py``): B and 2B
    batches of ``2 × round_trips`` samples (B: 60,000 samples' worth), the difference over the
    extra samples."""
    batches = max(1, 30_000 // round_trips)
    counts = [
        counted(
            SAMPLES,
            scratch / f"cg.samples.{mode}.{tagsets}.{round_trips}.{b}",
            mode=mode,
            batches=str(b),
            tagsets=str(tagsets),
            round_trips=str(round_trips),
        )
        for b in (batches, 2 * batches)
    ]
    return (counts[1] - counts[0]) / (batches * 2 * round_trips)


def per_worker_sample(mode: str, round_trips: int, scratch: Path) -> float:
    """Instructions per sample in a ``--workers`` worker (``scripts/worker_forwarding.py``):
    the aggregation alone, forwarding every sample, or the report builder; B and 2B batches."""
    batches = 10
    counts = [
        counted(
            WORKER,
            scratch / f"cg.workers.{mode}.{b}",
            mode=mode,
            batches=str(b),
            round_trips=str(round_trips),
        )
        for b in (batches, 2 * batches)
    ]
    return (counts[1] - counts[0]) / (batches * 2 * round_trips)


def per_update(seconds: int, updates: int, scratch: Path) -> float:
    counts = [
        counted(UPDATE, scratch / f"cg.update.{seconds}.{k}", seconds=str(seconds), updates=str(k))
        for k in (updates, 2 * updates)
    ]
    return (counts[1] - counts[0]) / updates


def native_update_ms(seconds: int, repeat: int = 3, updates: int = 5) -> float:
    """CPU milliseconds one update takes natively (median of ``repeat`` runs of ``updates``):
    the one wall-clock-dependent figure, only to turn instructions into a share of a core."""
    found = []
    for _ in range(repeat):
        env = _env(BENCH_SECONDS=str(seconds), BENCH_UPDATES=str(updates))
        result = subprocess.run([sys.executable, str(UPDATE)], env=env, capture_output=True,
                                text=True, check=True, timeout=1800)  # fmt: skip
        found.append(float(result.stdout.split(" kB, ")[1].split(" ms")[0]))
    return statistics.median(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=2000, help="N (the runs do N and 2N)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the per-round-trip runs")
    parser.add_argument("--source", help="measure the greenws of another checkout")
    parser.add_argument("--seconds", default="60,600,3600", help="test lengths for the update cost")
    parser.add_argument("--updates", type=int, default=1, help="K (the runs do K and 2K)")
    parser.add_argument("--period", type=float, default=1.0, help="seconds between updates")
    parser.add_argument("--parts", default="samples,workers,roundtrip,update")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if args.source:
        SOURCE["root"] = Path(args.source).resolve()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(SOURCE["root"] / "greenws")],
                   check=True, timeout=600)  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "greenws", "echo", "--port", str(port)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"ws://127.0.0.1:{port}/"
    try:
        time.sleep(2)
        with tempfile.TemporaryDirectory() as directory:
            scratch = Path(directory)
            rows = (
                per_round_trip(args.count, url, scratch, args.repeat)
                if "roundtrip" in parts
                else {}
            )
            samples = {}
            if "samples" in parts:
                for shape in SAMPLE_SHAPES:
                    for mode in ("engine", "dashboard"):
                        samples[(mode, shape)] = per_sample(mode, *shape, scratch)
                        print(f"{mode} {shape}: {samples[(mode, shape)]:,.0f}", file=sys.stderr)
            workers = {}
            if "workers" in parts:
                for mode in ("engine", "forward", "report"):
                    workers[mode] = per_worker_sample(mode, 3000, scratch)
                    print(f"worker {mode}: {workers[mode]:,.0f}", file=sys.stderr)
            updates: dict[int, tuple[float, float]] = {}
            if "update" in parts:
                for seconds in (int(s) for s in args.seconds.split(",")):
                    updates[seconds] = (
                        per_update(seconds, args.updates, scratch),
                        native_update_ms(seconds),
                    )
                    print(f"update at {seconds} s: {updates[seconds]}", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(10)
    if samples:
        print("Per sample, in the flusher (the engine's aggregation, and the dashboard's share)\n")
        print(
            "| round trips a batch | distinct TagSets | engine | dashboard's share "
            "| per round trip (2 samples) |"
        )
        print("|---|---|---|---|---|")
        for shape in SAMPLE_SHAPES:
            engine, both = samples[("engine", shape)], samples[("dashboard", shape)]
            share = both - engine
            print(
                f"| {shape[1]:,} | {shape[0]} | {engine:,.0f} | {share:,.0f} | {2 * share:,.0f} |"
            )
        print()
    if workers:
        print("Per sample in a --workers worker, 3,000 round trips a batch, one TagSet\n")
        print("| the coordinator's page fed by | the worker's aggregation | on top of it |")
        print("|---|---|---|")
        engine = workers["engine"]
        for mode, label in (("forward", "every sample, forwarded"), ("report", "report data")):
            print(f"| {label} | {engine:,.0f} | {workers[mode] - engine:,.0f} |")
        print()
    if rows:
        print(
            f"Per round trip, N = {args.count} and {2 * args.count}, median of {args.repeat}, "
            "clock-driven work taken out\n"
        )
        print(
            "| dashboard | instructions per round trip | ratio to off | spread of the rounds "
            "| background, instructions per s of test |"
        )
        print("|---|---|---|---|---|")
        for mode, figures in rows.items():
            print(
                f"| {mode} | {figures['per round trip']:,.0f} | "
                f"{figures['per round trip'] / rows['off']['per round trip']:.3f} | "
                f"{figures['spread']:,.0f} | {figures['background per s']:,.0f} |"
            )
    if updates:
        print(f"\nOne update to one watching tab (K = {args.updates} and {2 * args.updates})\n")
        print(
            "| test so far | instructions per update | round trips' worth | CPU ms per update "
            f"(native, median of 3) | share of the loop at one update per {args.period:g} s |"
        )
        print("|---|---|---|---|---|")
        off = rows.get("off", {}).get("per round trip")
        for seconds, (cost, ms) in updates.items():
            worth = f"{cost / off:,.0f}" if off else "-"
            print(
                f"| {seconds} s | {cost:,.0f} | {worth} | {ms:.1f} | "
                f"{100 * ms / 1000 / args.period:.1f} % |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
