"""Instructions and syscalls per round trip and per session: figures that do not move with load.

Time-based figures move ±20 % on these shared machines. Instructions counted by valgrind's
callgrind, and syscalls counted by strace, do not: the other core may be busy, the count stays.
Each workload (``scripts/counted.py``: one VU, a fixed count of round trips or sessions, per
socket API) runs twice, with N and 2N; the difference divided by N is what one more round trip
or session costs, start-up and teardown cancelled out. Instructions are split by where they ran:
the interpreter (CPython executing greenws's, gevent's and the script's Python code), gevent's and
greenlet's compiled parts, libc, and the rest.

    python benchmarks/instructions.py                      # 3000 round trips, 300 sessions
    python benchmarks/instructions.py --pingpong-count 5000 --apis connect --workloads pingpong

Needs valgrind and strace (Debian: ``apt-get install valgrind strace``). Under callgrind Python
runs ~50x slower: the default run takes a few minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "scripts" / "counted.py"
UNIT = {"pingpong": "round trip", "churn": "session"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def object_group(path: str) -> str:
    """Where instructions ran, by the ELF object callgrind names."""
    name = Path(path).name
    if name.startswith(("python", "libpython")):
        return "interpreter"
    if "gevent" in path or "greenlet" in path or name.startswith("libev"):
        return "gevent+greenlet C"
    if name.startswith(("libc.", "libc-", "ld-linux")):
        return "libc"
    return "other"


def callgrind_costs(out_file: Path) -> Counter[str]:
    """Self instructions (Ir) per object group, read from a callgrind output file.

    Objects are numbered, and an object's name is given once, where it first appears (an
    ``ob=`` or a ``cob=`` line), so the names are read in a first pass.
    """
    lines = out_file.read_text(errors="replace").splitlines()
    names: dict[str, str] = {}
    for line in lines:
        match = re.match(r"c?ob=\((\d+)\) (.+)", line)
        if match:
            names[match.group(1)] = match.group(2)
    costs: Counter[str] = Counter()
    current = "other"
    skip_next = False
    for line in lines:
        if line.startswith("ob="):
            match = re.match(r"ob=\((\d+)\)", line)
            current = object_group(names.get(match.group(1), "") if match else line[3:])
        elif line.startswith("calls="):
            skip_next = True  # the next cost line is the call's inclusive cost
        elif line[:1].isdigit() or line[:1] in "+-*":
            if skip_next:
                skip_next = False
                continue
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                costs[current] += int(fields[1])
    return costs


def strace_counts(out_file: Path) -> Counter[str]:
    """Calls per syscall from ``strace -c``'s table."""
    counts: Counter[str] = Counter()
    for line in out_file.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[-1] not in ("syscall", "total") and fields[3].isdigit():
            counts[fields[-1]] += int(fields[3])
    return counts


def run_client(prefix: list[str], env: dict[str, str], elapsed: Path) -> float:
    """Run the counted script once; return its test run's duration in seconds."""
    command = [*prefix, sys.executable, "-m", "greenws", "run", "-q", "--no-summary", str(SCRIPT)]
    env = {**env, "BENCH_ELAPSED_FILE": str(elapsed)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"client failed ({result.returncode}): {result.stderr[-2000:]}")
    return float(elapsed.read_text())


def counted_runs(
    workload: str, api: str, count: int, url: str, tools: set[str]
) -> dict[int, tuple[Counter[str], Counter[str], float, float]]:
    """Instructions, syscalls and the two runs' durations, for N = ``count`` and 2N."""
    runs = {}
    with tempfile.TemporaryDirectory() as scratch:
        for n in (count, 2 * count):
            env = {
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "GREENWS_DISABLE_PLUGIN_AUTOLOAD": "1",
                # Start-up is ~1.3 G instructions and moved by ~1 M between runs with random
                # str hashes (dict and set layouts), ±4 k per round trip at N=300; with a fixed
                # seed two runs agree within ~10 k instructions in all.
                "PYTHONHASHSEED": "0",
                "BENCH_WORKLOAD": workload,
                "BENCH_API": api,
                "BENCH_COUNT": str(n),
                "BENCH_URL": url,
            }
            instructions: Counter[str] = Counter()
            syscalls: Counter[str] = Counter()
            callgrind_s = strace_s = 0.0
            elapsed = Path(scratch) / f"elapsed.{n}"
            if "callgrind" in tools:
                out = Path(scratch) / f"callgrind.{n}"
                callgrind_s = run_client(
                    ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"], env, elapsed
                )
                instructions = callgrind_costs(out)
            if "strace" in tools:
                out = Path(scratch) / f"strace.{n}"
                strace_s = run_client(["strace", "-f", "-c", "-o", str(out)], env, elapsed)
                syscalls = strace_counts(out)
            runs[n] = (instructions, syscalls, callgrind_s, strace_s)
    return runs


#: Seconds the first idle run sleeps (the second sleeps twice as long): their difference gives
#: the per-second cost of the run's timers.
IDLE_SECONDS = 10


def background_rates(url: str, tools: set[str]) -> dict[str, float]:
    """What the run costs per second of test time when its VU does nothing.

    The flusher (every 0.2 s), the ``vus`` gauges (every second) and the hub's timers run by the
    clock, not by the traffic, and under valgrind a run takes ~50 times as long as natively and
    more on a loaded machine, so the longer of two runs does more of it (~150-300 k
    instructions per second of test time here). Each count is corrected by this rate times the
    difference between its two runs' durations (usually well under a second: a small term).
    """
    runs = counted_runs("idle", "connect", IDLE_SECONDS, url, tools)
    (i1, s1, c1, t1), (i2, s2, c2, t2) = runs[IDLE_SECONDS], runs[2 * IDLE_SECONDS]
    rates: dict[str, float] = {}
    if "callgrind" in tools and c2 > c1:
        for group in set(i1) | set(i2):
            rates[f"Ir {group}"] = (i2[group] - i1[group]) / (c2 - c1)
    if "strace" in tools and t2 > t1:
        for name in set(s1) | set(s2):
            rates[f"sys {name}"] = (s2[name] - s1[name]) / (t2 - t1)
    return rates


def measure(
    workload: str, api: str, count: int, url: str, tools: set[str], rates: dict[str, float]
) -> dict[str, float]:
    """Per round trip or session: (2N run − N run − background rate × their extra seconds) / N."""
    runs = counted_runs(workload, api, count, url, tools)
    (i1, s1, c1, t1), (i2, s2, c2, t2) = runs[count], runs[2 * count]
    figures: dict[str, float] = {"callgrind seconds": c2 - c1, "strace seconds": t2 - t1}
    for group in sorted(set(i1) | set(i2)):
        key = f"Ir {group}"
        figures[key] = (i2[group] - i1[group] - rates.get(key, 0.0) * (c2 - c1)) / count
    figures["Ir total"] = sum(v for k, v in figures.items() if k.startswith("Ir "))
    for name in sorted(set(s1) | set(s2)):
        key = f"sys {name}"
        figures[key] = (s2[name] - s1[name] - rates.get(key, 0.0) * (t2 - t1)) / count
    figures["sys total"] = sum(v for k, v in figures.items() if k.startswith("sys "))
    return figures


def fmt_rates(rates: dict[str, float]) -> str:
    total = sum(v for k, v in rates.items() if k.startswith("Ir "))
    calls = sum(v for k, v in rates.items() if k.startswith("sys "))
    return f"{total:,.0f} instructions/s, {calls:.1f} syscalls/s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--count", type=int, default=300, help="N sessions for churn (the runs do N and 2N)"
    )
    parser.add_argument(
        "--pingpong-count", type=int, default=3000, help="N round trips for ping-pong"
    )
    parser.add_argument("--apis", default="connect,websocket,open")
    parser.add_argument("--workloads", default="pingpong,churn")
    parser.add_argument("--tools", default="callgrind,strace")
    args = parser.parse_args()
    tools = set(args.tools.split(","))
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
        # Bytecode first: in a fresh tree the first run compiled every module to .pyc (the
        # parser under valgrind: billions of instructions), which made the first count negative.
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(ROOT / "greenws")],
            check=True,
            timeout=600,
        )
        rows = []
        rates = background_rates(f"ws://127.0.0.1:{port}/", tools)
        print(f"background: {fmt_rates(rates)}", file=sys.stderr, flush=True)
        for workload in args.workloads.split(","):
            for api in args.apis.split(","):
                started = time.monotonic()
                count = args.pingpong_count if workload == "pingpong" else args.count
                figures = measure(workload, api, count, f"ws://127.0.0.1:{port}/", tools, rates)
                took = time.monotonic() - started
                print(f"{workload} {api}: {took:.0f} s", file=sys.stderr, flush=True)
                rows.append((workload, api, figures))
    finally:
        server.terminate()
        server.wait(10)
    print(
        f"N = {args.pingpong_count} round trips and {args.count} sessions, then twice as many; "
        f"per {' / '.join(UNIT.values())}"
    )
    print(
        f"Background per second of test time, taken out (idle runs of {IDLE_SECONDS} and "
        f"{2 * IDLE_SECONDS} s): {fmt_rates(rates)}\n"
    )
    print(
        "| workload | API | instructions | interpreter | gevent+greenlet C | libc | other "
        "| syscalls | top syscalls | 2N − N run, s (callgrind / strace) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for workload, api, figures in rows:
        top = sorted(
            ((v, k[4:]) for k, v in figures.items() if k.startswith("sys ") and k != "sys total"),
            reverse=True,
        )[:4]
        print(
            f"| {workload} (per {UNIT[workload]}) | {api} | {figures.get('Ir total', 0):,.0f} "
            f"| {figures.get('Ir interpreter', 0):,.0f} | {figures.get('Ir gevent+greenlet C', 0):,.0f} "
            f"| {figures.get('Ir libc', 0):,.0f} | {figures.get('Ir other', 0):,.0f} "
            f"| {figures.get('sys total', 0):.1f} | {', '.join(f'{n} {v:.1f}' for v, n in top)} "
            f"| {figures['callgrind seconds']:.0f} / {figures['strace seconds']:.1f} |"
        )
    print("\nEvery syscall, per " + " / ".join(UNIT.values()) + ":\n")
    for workload, api, figures in rows:
        calls = sorted(
            ((v, k[4:]) for k, v in figures.items() if k.startswith("sys ") and k != "sys total"),
            reverse=True,
        )
        listed = ", ".join(f"{n} {v:.2f}" for v, n in calls if abs(v) >= 0.005)
        print(f"- {workload} {api}: {listed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
