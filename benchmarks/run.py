"""greenws benchmarks: one command, the peers measured side by side, ratios printed.

    python benchmarks/run.py [--quick] [--repeat N]

Starts a picows + uvloop echo server pinned to core 1, then runs each client tool pinned to core 0
(greenws from this tree; Locust from PyPI in ``benchmarks/.venv-locust``; k6 only if on PATH)
through three workloads, ``--repeat`` times each:

* ping-pong: 100 VUs, one 32-byte message in flight each, 10 s (``--quick``: 3 s);
* churn: 50 VUs, each iteration a whole session (connect, one 32-byte echo, close), 10 s
  (``--quick``: 3 s): new sessions per second per core of client CPU;
* idle: 1,000, 5,000 and 10,000 VUs (``--quick``: 1,000) held ~10 s, a ping every 5 s, against
  the same tool with 1 VU for the memory baseline.

Prints a Markdown table (medians, min–max, greenws/Locust ratio), writes every raw run to
``benchmarks/results/<timestamp>.json`` and cProfiles of greenws ping-pong and churn runs to
``benchmarks/results/profile_<workload>.txt``. See ``benchmarks/README.md`` for what each number
means. Everything talks to 127.0.0.1 only, and every run stops itself (with a hard deadline).
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import procfs, report, venvs
from harness.profiling import profile_greenws
from harness.runner import run_client
from harness.server import SERVER_CPU, EchoServer
from harness.tools import BENCH_DIR, K6, Greenws, Locust, Tool, Workload, snapshot_greenws

RESULTS = BENCH_DIR / "results"
SERVER_REQUIREMENTS = ["picows>=2.0", "uvloop>=0.19"]
LOCUST_REQUIREMENTS = ["locust", "websocket-client"]
IDLE_HOLD_S = 10
IDLE_SIZES = (1000, 5000, 10000)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command line; the defaults are the full benchmark the results table is made from."""
    parser = argparse.ArgumentParser(description="greenws vs Locust (and k6) on 127.0.0.1")
    parser.add_argument("--quick", action="store_true", help="3 s ping-pong, 1,000 idle VUs")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (default 3)")
    parser.add_argument("--tools", default="greenws,locust,k6", help="comma-separated subset")
    parser.add_argument("--workloads", default="pingpong,churn,idle", help="comma-separated subset")
    parser.add_argument(
        "--idle-vus",
        default=None,
        help="comma-separated idle sizes (default 1000,5000,10000; --quick: 1000)",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def idle_sizes(args: argparse.Namespace) -> list[int]:
    """The idle sizes to measure: ``--idle-vus``, else all of IDLE_SIZES (``--quick``: 1,000)."""
    if args.idle_vus:
        return [int(n) for n in args.idle_vus.split(",")]
    return [1000] if args.quick else list(IDLE_SIZES)


def connect_allowance(vus: int) -> int:
    """Seconds allowed to connect ``vus`` VUs before the hold: measured ~3 s for Locust at
    5,000, and 10,000 overflow the kernel's SYN queue, so some connects wait a SYN retry."""
    return 4 if vus <= 1000 else 7 if vus <= 5000 else 12


def workloads(quick: bool, sizes: list[int]) -> dict[str, Workload]:
    """The workload shapes; an idle run leaves time to connect everyone, then holds ~10 s.

    The 1-VU baseline runs as long as the shortest idle run: one VU's RSS does not grow with
    time (the metrics are fixed-size histograms), and the full benchmark must fit in minutes.
    """
    shapes = {
        "pingpong": Workload("pingpong", vus=100, duration_s=3 if quick else 10),
        "churn": Workload("churn", vus=50, duration_s=3 if quick else 10),
    }
    for n in sizes:
        shapes[f"idle-{n}"] = Workload("idle", vus=n, duration_s=IDLE_HOLD_S + connect_allowance(n))
    if sizes:
        hold = IDLE_HOLD_S + connect_allowance(min(sizes))
        shapes["idle-baseline"] = Workload("idle", vus=1, duration_s=hold)
    return shapes


def prepare_tools(
    selected: list[str], workdir: Path, log: Path
) -> tuple[list[Tool], list[str], dict[str, str]]:
    """Build each selected tool (creating Locust's venv on first use); report what is skipped.

    greenws is measured from a snapshot of the work tree taken now: other people edit the tree
    while a 10-minute benchmark runs, and repeats of different code would make the spread a lie.
    """
    tools: list[Tool] = []
    skipped: list[str] = []
    versions: dict[str, str] = {}
    for name in selected:
        tool: Tool
        if name == "greenws":
            source, digest = snapshot_greenws(workdir / "src")
            versions["greenws tree"] = digest
            tool = Greenws(source)
        elif name == "locust":
            try:
                python = venvs.ensure_venv(BENCH_DIR / ".venv-locust", LOCUST_REQUIREMENTS, log)
                versions.update(venvs.installed_versions(python, ["locust", "websocket-client"]))
                tool = Locust(python)
            except Exception as exc:  # a broken peer must not stop the others
                tool = Locust(None, f"could not create its venv: {exc} (see {log})")
        elif name == "k6":
            tool = K6()
        else:
            raise SystemExit(f"unknown tool {name!r}")
        why = tool.unavailable()
        if why:
            print(f"{name}: {why}", flush=True)
            skipped.append(f"{name} ({why})")
        else:
            tools.append(tool)
    return tools, skipped, versions


def greenws_version() -> str:
    """The version string of the greenws being measured (from pyproject, no import needed)."""
    for line in (BENCH_DIR.parent / "pyproject.toml").read_text().splitlines():
        if line.startswith("version"):
            return line.split("=", 1)[1].strip().strip('"')
    return "?"


def describe(result: dict[str, Any]) -> str:
    """One progress line per run, so a long benchmark shows what it is doing."""
    d = result["derived"]
    parts = [f"exit {result['exit_code']}", f"{result['wall_s']:.1f} s"]
    if d.get("cpu_us_per_rt") is not None:
        parts.append(f"{d['cpu_us_per_rt']:.1f} µs/rt, {d['rt_per_s']:,.0f} rt/s")
    if d.get("sessions_per_core_s") is not None:
        parts.append(
            f"{d['cpu_us_per_session']:.0f} µs/session, {d['sessions_per_s']:,.0f} sessions/s, "
            f"{d['sessions_per_core_s']:,.0f}/core-s"
        )
    if d.get("rss_steady_bytes") is not None:
        parts.append(f"steady RSS {d['rss_steady_bytes'] / 2**20:.1f} MiB")
    if d.get("server_cpu_share") is not None:
        parts.append(f"server {d['server_cpu_share'] * 100:.0f}% CPU")
    if (d.get("other_cpu_share") or 0) > 0.1:
        parts.append(f"WARNING: something else used {d['other_cpu_share'] * 100:.0f}% of a core")
    if "error" in result["window"]:
        parts.append(result["window"]["error"])
    if "error" in result["tool_totals"]:
        parts.append(result["tool_totals"]["error"])
    return ", ".join(parts)


def measure(
    srv: EchoServer, tools: list[Tool], shapes: dict[str, Workload], labels: list[str], args: Any
) -> list[dict[str, Any]]:
    """Every (repeat, workload, tool) run, tools interleaved so slow drift hits all of them."""
    runs: list[dict[str, Any]] = []
    for repeat in range(1, args.repeat + 1):
        for label in labels:
            shape = shapes[label]
            for tool in tools:
                print(
                    f"[{repeat}/{args.repeat}] {tool.name} {label} "
                    f"({shape.vus} VUs, {shape.duration_s} s) ... ",
                    end="",
                    flush=True,
                )
                cmd = tool.command(shape, srv.url, args.workdir)
                log = args.workdir / f"{tool.name}-{label}-r{repeat}.log"
                result = run_client(cmd, srv, shape, log)
                result.update(label=label, repeat=repeat)
                runs.append(result)
                print(describe(result), flush=True)
    return runs


def profile(
    srv: EchoServer, greenws: Greenws, shapes: dict[str, Workload], args: Any
) -> list[Path]:
    """cProfile runs of greenws ping-pong and churn; a failure is reported, not fatal."""
    written = []
    for name in ("pingpong", "churn"):
        if name not in shapes:
            continue
        print(f"profiling greenws {name} (cProfile) ...", flush=True)
        target = RESULTS / f"profile_{name}.txt"
        try:
            profile_greenws(greenws, shapes[name], srv.url, args.workdir, target)
        except Exception as exc:  # the table is still worth printing
            print(f"  profile failed: {exc}", flush=True)
            continue
        print(f"  -> {target}", flush=True)
        written.append(target)
    return written


def hold_lock(path: Path, wait_s: float = 3600) -> IO[str]:
    """Take an exclusive lock for the whole invocation, waiting for any other run to finish.

    Two benchmark runs at once share the two cores and both measure garbage; this serialises
    runs started from the same tree (by people or by scripts) instead of letting them collide.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a+")
    deadline = time.monotonic() + wait_s
    announced = False
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if not announced:
                fh.seek(0)
                print(f"waiting for another benchmark run to finish ({fh.read().strip()}) ...")
                announced = True
            if time.monotonic() > deadline:
                raise SystemExit(f"gave up after {wait_s:.0f} s waiting for {path}") from None
            time.sleep(1)
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()}, started {dt.datetime.now():%H:%M:%S}\n")
    fh.flush()
    return fh


def main(argv: list[str] | None = None) -> int:
    """Run everything, print the table, save the raw runs; exit 1 if any run failed."""
    args = parse_args(argv)
    command = "python benchmarks/run.py" + "".join(f" {shlex.quote(a)}" for a in sys.argv[1:])
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    args.workdir = RESULTS / stamp
    lock = hold_lock(RESULTS / ".lock")
    args.workdir.mkdir(parents=True, exist_ok=True)
    os.sched_setaffinity(0, {SERVER_CPU})  # the harness only samples: keep it off the client core
    procfs.raise_nofile()

    print("preparing peers ...", flush=True)
    pip_log = args.workdir / "pip.log"
    server_python = venvs.ensure_venv(BENCH_DIR / ".venv-server", SERVER_REQUIREMENTS, pip_log)
    versions = venvs.installed_versions(server_python, ["picows", "uvloop"])
    tools, skipped, tool_versions = prepare_tools(args.tools.split(","), args.workdir, pip_log)
    versions.update(tool_versions, greenws=greenws_version())
    selected = args.workloads.split(",")
    sizes = idle_sizes(args) if "idle" in selected else []
    shapes = {
        label: shape
        for label, shape in workloads(args.quick, sizes).items()
        if label.split("-")[0] in selected
    }
    labels = list(shapes)
    metrics = report.metrics_for(sizes)

    server_script = BENCH_DIR / "echo_server_picows.py"
    with EchoServer(server_python, server_script, args.workdir / "server.log") as srv:
        print(f"echo server: picows on uvloop, {srv.url}, pid {srv.pid}, core {SERVER_CPU}")
        runs = measure(srv, tools, shapes, labels, args)
        profiles: list[Path] = []
        greenws = [t for t in tools if isinstance(t, Greenws)]
        if greenws and not args.no_profile:
            profiles = profile(srv, greenws[0], shapes, args)

    names = [t.name for t in tools]
    summary = report.summarize(runs, names, metrics)
    pp = shapes.get("pingpong", Workload("pingpong", 100, 10))
    churn = shapes.get("churn", Workload("churn", 50, 10))
    meta: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "command": command,
        "machine": procfs.machine_summary(),
        "versions": versions,
        "repeat": args.repeat,
        "skipped": skipped,
        "workloads": sorted({label.split("-")[0] for label in labels}),
        "titles": [
            (
                "pingpong",
                f"Ping-pong: {pp.vus} VUs, 32-byte text, one in flight per VU, {pp.duration_s} s",
            ),
            (
                "churn",
                f"Connection churn: {churn.vus} VUs, each iteration connect + one 32-byte echo + "
                f"close, {churn.duration_s} s",
            ),
            (
                "idle",
                f"Idle: {', '.join(f'{n:,}' for n in sizes)} VUs, a ping every 5 s, held "
                f"~{IDLE_HOLD_S} s after connecting; baseline: the same tool with 1 VU",
            ),
        ],
    }
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps({"meta": meta, "summary": summary, "runs": runs}, indent=1))
    print()
    print(report.markdown(summary, names, meta, metrics))
    print(f"raw runs: {out}")
    for path in profiles:
        print(f"profile: {path}")
    failed = [r for r in runs if r["exit_code"] != 0 or r["stopped_by_harness"]]
    for r in failed:
        print(
            f"FAILED: {r['tool']} {r['label']} repeat {r['repeat']}: exit {r['exit_code']}, "
            f"log {r['log']}"
        )
    lock.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
