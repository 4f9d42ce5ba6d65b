"""What each output costs the VUs: ping-pong at full rate with and without it, in one invocation.

    python benchmarks/outputs.py [--repeat 3] [--duration 10] [--source TREE ...] [--outputs LIST]

The ping-pong workload of ``run.py`` (100 VUs, one 32-byte message in flight each, picows echo
server pinned to core 1, greenws pinned to core 0), run once per output and repeat, interleaved:

* ``none``: no output but the summary, the baseline every ratio is taken against (same repeat);
* ``influxdb``: a real InfluxDB 1.6 (``influxd``, the Debian package), pinned to core 1;
* ``influxdb-204``: a trivial server that answers 204 at once (``tests/outputs/fake_influx_server.py
  ok``, core 1), which isolates the output's own cost from the database's;
* ``influxdb-absent``: nothing listens on the port (the dead-server case);
* ``influxdb-hang``: accepts and never answers, ``CREATE DATABASE`` included;
* ``json`` and ``csv``: the built-in file outputs, to a scratch directory.

Per run: round trips/s (server-counted, steady window, as ``run.py``), the loop lag (a greenlet in
the greenws process that sleeps 10 ms and records how late it wakes: ``scripts/pingpong_lag.py``;
p50/p99/max over the steady window), the samples the outputs reported lost (the summary's
``WARNING: output … lost N samples``), the test duration greenws reported (``testRunDurationMs``)
and the process's wall time (start-up and the final flush included). The table gives medians over
the repeats, the ratio being the median of each repeat's ratio to its own ``none`` run.

``--source TREE`` (repeatable) measures that tree's code (``greenws/`` and the InfluxDB plugin,
copied at start; default this tree): ``--source /work/main --source .`` is a before/after with
both interleaved in every repeat, each ratio taken against its own tree's ``none`` run.
Entry-point plugins stay off; the InfluxDB plugin is loaded with ``-p greenws_influxdb.plugin``
from the copy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import shlex
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import procfs, venvs
from harness.runner import run_client
from harness.server import SERVER_CPU, EchoServer
from harness.tools import BENCH_DIR, REPO_ROOT, ClientCommand, Workload
from run import SERVER_REQUIREMENTS, hold_lock

sys.path[:0] = [str(REPO_ROOT / "tests" / "outputs"), str(REPO_ROOT / "tests")]
from influx_servers import InfluxDB  # noqa: E402
from servers import ScriptServer, free_port  # noqa: E402

RESULTS = BENCH_DIR / "results"
OUTPUTS = ["none", "influxdb", "influxdb-204", "influxdb-absent", "influxdb-hang", "json", "csv"]
FAKE_SERVER = REPO_ROOT / "tests" / "outputs" / "fake_influx_server.py"
LOST = re.compile(r"WARNING: output (\S+) lost (\d+) samples")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="the cost of each output on the VUs' loop")
    parser.add_argument("--repeat", type=int, default=3, help="runs per output (default 3)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument("--vus", type=int, default=100)
    parser.add_argument(
        "--source", type=Path, action="append", help="tree whose code to run (repeatable)"
    )
    parser.add_argument("--outputs", default=",".join(OUTPUTS), help="comma-separated subset")
    args = parser.parse_args(argv)
    args.source = [path.resolve() for path in args.source or [REPO_ROOT]]
    unknown = set(args.outputs.split(",")) - set(OUTPUTS)
    if unknown or args.repeat < 1:
        parser.error(f"unknown outputs {sorted(unknown)}" if unknown else "--repeat >= 1")
    return args


def snapshot(source: Path, dest: Path) -> str:
    """Copy ``greenws`` and ``greenws_influxdb`` of ``source`` under ``dest``; a content hash."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(source / "greenws", dest / "greenws", ignore=ignore)
    plugin = source / "plugins" / "greenws-influxdb" / "greenws_influxdb"
    shutil.copytree(plugin, dest / "greenws_influxdb", ignore=ignore)
    digest = hashlib.sha256()
    for path in sorted(dest.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(dest)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


class Targets:
    """The servers the InfluxDB variants write to, each started once, pinned to core 1."""

    def __init__(self, workdir: Path, wanted: list[str]) -> None:
        self.urls: dict[str, str] = {}
        self.influx: InfluxDB | None = None
        self.fakes: list[ScriptServer] = []
        if "influxdb" in wanted:
            self.influx = InfluxDB(workdir / "influxdb")
            self.influx.start()
            assert self.influx.proc is not None
            os.sched_setaffinity(self.influx.proc.pid, {SERVER_CPU})
            self.urls["influxdb"] = f"{self.influx.url}/k6"
        for name, mode in (("influxdb-204", "ok"), ("influxdb-hang", "hang")):
            if name in wanted:
                fake = ScriptServer(FAKE_SERVER, mode)
                os.sched_setaffinity(fake.proc.pid, {SERVER_CPU})
                self.fakes.append(fake)
                self.urls[name] = f"http://127.0.0.1:{fake.port}/k6"
        self.urls["influxdb-absent"] = f"http://127.0.0.1:{free_port()}/k6"

    def close(self) -> None:
        if self.influx is not None:
            self.influx.kill()
        for fake in self.fakes:
            fake.stop()


def command(
    output: str, shape: Workload, url: str, src: Path, targets: Targets, run_dir: Path
) -> ClientCommand:
    """``greenws run`` of the lag-probing ping-pong with ``output`` switched on."""
    summary, lag = run_dir / "summary.json", run_dir / "lag.json"
    out: list[str] = []
    if output.startswith("influxdb"):
        out = ["-p", "greenws_influxdb.plugin", "--out", f"influxdb={targets.urls[output]}"]
    elif output in ("json", "csv"):
        out = ["--out", f"{output}={run_dir / ('samples.' + output)}"]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # only the snapshot: never the caller's tree
    env.update(
        PYTHONPATH=str(src),
        GREENWS_DISABLE_PLUGIN_AUTOLOAD="1",
        BENCH_URL=url,
        BENCH_VUS=str(shape.vus),
        BENCH_DURATION=f"{shape.duration_s}s",
        BENCH_LAG_FILE=str(lag),
        PYTHONUNBUFFERED="1",
    )
    script = BENCH_DIR / "scripts" / "pingpong_lag.py"
    argv = [sys.executable, "-m", "greenws", "run", "-q", "--summary-export", str(summary)]
    return ClientCommand("greenws", [*argv, *out, str(script)], env, cwd=src)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure_one(
    output: str, shape: Workload, srv: EchoServer, src: Path, targets: Targets, run_dir: Path
) -> dict[str, Any]:
    run_dir.mkdir(parents=True)
    cmd = command(output, shape, srv.url, src, targets, run_dir)
    before = time.monotonic()  # the runner's t0 is a few ms later: negligible against 10 ms
    result = run_client(cmd, srv, shape, run_dir / "greenws.log")
    row: dict[str, Any] = {
        "output": output,
        "exit_code": result["exit_code"],
        "wall_s": result["wall_s"],
        "rt_per_s": result["derived"].get("rt_per_s"),
        "cpu_us_per_rt": result["derived"].get("cpu_us_per_rt"),
        "client_cpu_share": result["derived"].get("client_cpu_share"),
        "server_cpu_share": result["derived"].get("server_cpu_share"),
        "other_cpu_share": result["derived"].get("other_cpu_share"),
        "log": result["log"],
    }
    window = result["window"]
    lag_path = run_dir / "lag.json"
    if "error" not in window and lag_path.exists():
        start, end = before + window["start_s"], before + window["end_s"]
        late = [x for t, x in json.loads(lag_path.read_text()) if start <= t <= end]
        if late:
            row["lag_ms"] = {
                "p50": percentile(late, 0.5) * 1e3,
                "p99": percentile(late, 0.99) * 1e3,
                "max": max(late) * 1e3,
            }
    summary = run_dir / "summary.json"
    if summary.exists():
        state = json.loads(summary.read_text()).get("greenws_state", {})
        row["reported_duration_s"] = state.get("testRunDurationMs", 0) / 1000
    log_text = Path(result["log"]).read_text(errors="replace")
    row["dropped"] = sum(int(n) for _, n in LOST.findall(log_text))
    return row


def numbers_at(rows: list[dict[str, Any]], *path: str) -> list[float]:
    """The numeric value at ``path`` in each row that has one."""
    values = []
    for row in rows:
        value: Any = row
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            values.append(float(value))
    return values


def median(rows: list[dict[str, Any]], *path: str) -> float | None:
    values = numbers_at(rows, *path)
    return statistics.median(values) if values else None


def spread(rows: list[dict[str, Any]], *path: str, digits: int = 1) -> str:
    values = numbers_at(rows, *path)
    if not values:
        return "—"
    mid = statistics.median(values)
    if len(values) == 1:
        return f"{mid:,.{digits}f}"
    return f"{mid:,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def table(runs: list[dict[str, Any]], outputs: list[str]) -> str:
    """Markdown: one row per output, medians (min–max) over the repeats."""
    for run in runs:  # each run's ratio to the no-output run of the same tree and repeat
        base = next(
            (
                r
                for r in runs
                if r["output"] == "none"
                and r["repeat"] == run["repeat"]
                and r["source"] == run["source"]
            ),
            None,
        )
        if base and base.get("rt_per_s") and run.get("rt_per_s"):
            run["ratio"] = run["rt_per_s"] / base["rt_per_s"]
    lines = [
        "| code | output | round trips/s | ratio to none | client CPU µs per round trip "
        "| loop lag p50 (ms) | p99 (ms) | max (ms) "
        "| samples dropped | reported duration (s) | process wall (s) | CPU % client / echo "
        "server / anything else |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    sources = list(dict.fromkeys(r["source"] for r in runs))
    for source, output in ((source, output) for source in sources for output in outputs):
        rows = [r for r in runs if r["output"] == output and r["source"] == source]
        cpu = " / ".join(
            spread([{"x": 100 * r[key]} for r in rows if r.get(key) is not None], "x", digits=0)
            for key in ("client_cpu_share", "server_cpu_share", "other_cpu_share")
        )
        lines.append(
            f"| {source} | {output} | {spread(rows, 'rt_per_s', digits=0)} | {spread(rows, 'ratio', digits=2)} "
            f"| {spread(rows, 'cpu_us_per_rt')} "
            f"| {spread(rows, 'lag_ms', 'p50')} | {spread(rows, 'lag_ms', 'p99')} "
            f"| {spread(rows, 'lag_ms', 'max')} | {spread(rows, 'dropped', digits=0)} "
            f"| {spread(rows, 'reported_duration_s')} | {spread(rows, 'wall_s')} "
            f"| {cpu} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    outputs = args.outputs.split(",")
    commandline = "python benchmarks/outputs.py" + "".join(
        f" {shlex.quote(a)}" for a in sys.argv[1:]
    )
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = RESULTS / f"outputs-{stamp}"
    lock = hold_lock(RESULTS / ".lock")
    workdir.mkdir(parents=True)
    os.sched_setaffinity(0, {SERVER_CPU})  # the harness only samples: keep it off the client core
    procfs.raise_nofile()
    trees = {}  # label -> (snapshot, digest); the label is the tree's directory name
    for index, source in enumerate(args.source):
        copy = workdir / f"src{index}"
        trees[source.name] = (copy, snapshot(source, copy))
    server_python = venvs.ensure_venv(
        BENCH_DIR / ".venv-server", SERVER_REQUIREMENTS, workdir / "pip.log"
    )
    shape = Workload("pingpong", vus=args.vus, duration_s=args.duration)
    started = dt.datetime.now(dt.timezone.utc)
    runs: list[dict[str, Any]] = []
    targets = Targets(workdir, outputs)
    try:
        with EchoServer(
            server_python, BENCH_DIR / "echo_server_picows.py", workdir / "echo.log"
        ) as srv:
            for repeat, output, label in (
                (repeat, output, label)
                for repeat in range(1, args.repeat + 1)
                for output in outputs
                for label in trees
            ):
                print(f"repeat {repeat}: {label} {output} ...", end=" ", flush=True)
                run_dir = workdir / f"r{repeat}-{label}-{output}"
                row = measure_one(output, shape, srv, trees[label][0], targets, run_dir)
                row.update(repeat=repeat, source=label)
                runs.append(row)
                lag = row.get("lag_ms", {})
                print(
                    f"{row['rt_per_s'] or 0:,.0f} rt/s, lag p99 {lag.get('p99', 0):.1f} ms, "
                    f"dropped {row['dropped']}, exit {row['exit_code']}",
                    flush=True,
                )
    finally:
        targets.close()
    ended = dt.datetime.now(dt.timezone.utc)
    m = procfs.machine_summary()
    code = ", ".join(
        f"{label}: `{source}` {trees[label][1]}"
        for label, source in zip(trees, args.source, strict=True)
    )
    heading = (
        f"### {started:%Y-%m-%d %H:%M}–{ended:%H:%M} UTC — `{commandline}`\n\n"
        f"Code (greenws + greenws_influxdb, sha256 of the copy): {code}. "
        f"Ping-pong, {shape.vus} VUs, {shape.duration_s} s, {args.repeat} repeat(s), trees and "
        f"outputs interleaved; median (min–max). Machine: {m['nproc']} CPUs ({m['cpu_model']}), "
        f"Linux {m['kernel']}, Python {m['python']}; echo server and the InfluxDB servers on "
        f"core {SERVER_CPU}, greenws on core 0.\n"
    )
    text = heading + "\n" + table(runs, outputs)
    out = RESULTS / f"outputs-{stamp}.json"
    sources = [str(source) for source in args.source]
    out.write_text(json.dumps({"command": commandline, "sources": sources, "runs": runs}))
    print()
    print(text)
    print(f"\nraw runs: {out}")
    lock.close()
    failed = [r for r in runs if r["exit_code"] != 0]
    for r in failed:
        print(
            f"FAILED: {r['source']} {r['output']} repeat {r['repeat']}: exit {r['exit_code']}, log {r['log']}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
