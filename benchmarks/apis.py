"""What each socket API costs, before and after a change: greenws against itself.

    python benchmarks/apis.py [--before REF] [--repeat 3] [--duration 4] [--apis connect,websocket,open]

The same ping-pong and churn traffic (see ``README.md``) through ``ws.connect``, the standard
``WebSocket`` and ``ws.open`` (``scripts/<workload>[_websocket|_open].py``), each run by two
copies of greenws: ``before`` (``git archive`` of REF, default the merge base with ``main``) and
``after`` (this work tree), against one picows echo server. Runs are interleaved (repeat, then
workload, then API, then before/after, that order swapped every other repeat), so another load
on the machine and what one run leaves to the next (TIME_WAIT sockets) hit both sides alike;
the table gives client CPU per round trip and per session, median of the repeats with the
min-max spread, and after / before. Nothing but 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import procfs, venvs
from harness.runner import run_client
from harness.server import EchoServer
from harness.tools import BENCH_DIR, REPO_ROOT, ClientCommand, Greenws, Workload, snapshot_greenws
from run import SERVER_REQUIREMENTS, hold_lock  # type: ignore[attr-defined]

RESULTS = BENCH_DIR / "results"
SCRIPT_SUFFIX = {"connect": "", "websocket": "_websocket", "open": "_open"}
#: A run during which another load took more of a core than this is left out of the second
#: table ("quiet runs only").
QUIET = 0.15
#: The headline number of each workload, as ``harness.runner.derive`` names it.
HEADLINE = {"pingpong": "cpu_us_per_rt", "churn": "cpu_us_per_session"}


class GreenwsAPI(Greenws):
    """greenws from ``source`` running the workload's script for one socket API."""

    def __init__(self, source: Path, side: str, api: str) -> None:
        super().__init__(source)
        self.side, self.api = side, api

    def command(self, workload: Workload, url: str, workdir: Path) -> ClientCommand:
        cmd = super().command(workload, url, workdir)
        cmd.argv[-1] = str(BENCH_DIR / "scripts" / f"{workload.name}{SCRIPT_SUFFIX[self.api]}.py")
        return cmd


def archive(ref: str, dest: Path) -> Path:
    """The ``greenws`` package as committed at ``ref``, unpacked under ``dest``."""
    data = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", ref, "greenws"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def table(
    results: dict[tuple[str, str, str], list[float]],
    names: list[str],
    apis: list[str],
    counts: bool = False,
) -> str:
    """A Markdown table: per workload and API, before and after (median [min-max]), ratio."""
    lines = [
        "| workload | API | before (µs) | after (µs) | after / before |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        unit = "per round trip" if name == "pingpong" else "per session"
        for api in apis:
            cells = []
            for side in ("before", "after"):
                values = results.get((name, api, side), [])
                cell = "n/a"
                if values:
                    cell = f"{statistics.median(values):.1f} [{min(values):.1f}-{max(values):.1f}]"
                    if counts:
                        cell += f" n={len(values)}"
                cells.append(cell)
            b, a = results.get((name, api, "before")), results.get((name, api, "after"))
            ratio = f"{statistics.median(a) / statistics.median(b):.2f}" if a and b else "n/a"
            lines.append(f"| {name} ({unit}) | {api} | {cells[0]} | {cells[1]} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, save the raw numbers; exit 1 if a run failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default=None, help="git ref (default: merge base with main)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", type=int, default=4, help="seconds per run")
    parser.add_argument("--apis", default="connect,websocket,open")
    parser.add_argument("--workloads", default="pingpong,churn")
    args = parser.parse_args(argv)
    ref = (
        args.before
        or subprocess.run(
            ["git", "-C", str(REPO_ROOT), "merge-base", "HEAD", "main"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    workdir = RESULTS / f"apis-{stamp}"
    lock = hold_lock(RESULTS / ".lock")
    workdir.mkdir(parents=True, exist_ok=True)
    procfs.raise_nofile()
    server_python = venvs.ensure_venv(
        BENCH_DIR / ".venv-server", SERVER_REQUIREMENTS, workdir / "pip.log"
    )
    before = archive(ref, workdir / "before")
    after, digest = snapshot_greenws(workdir / "after")
    shapes = {
        "pingpong": Workload("pingpong", vus=100, duration_s=args.duration),
        "churn": Workload("churn", vus=50, duration_s=args.duration),
    }
    apis = args.apis.split(",")
    results: dict[tuple[str, str, str], list[float]] = {}
    quiet: dict[tuple[str, str, str], list[float]] = {}
    runs: list[dict[str, Any]] = []
    failed = 0
    with EchoServer(
        server_python, BENCH_DIR / "echo_server_picows.py", workdir / "server.log"
    ) as srv:
        for repeat in range(1, args.repeat + 1):
            for name in args.workloads.split(","):
                for api in apis:
                    # ABBA: a churn run leaves thousands of TIME_WAIT sockets that slow the
                    # next run's connects, so the side that runs second alternates.
                    sides = [("before", before), ("after", after)]
                    for side, source in sides if repeat % 2 else sides[::-1]:
                        tool = GreenwsAPI(source, side, api)
                        cmd = tool.command(shapes[name], srv.url, workdir)
                        log = workdir / f"{name}-{api}-{side}-r{repeat}.log"
                        result = run_client(cmd, srv, shapes[name], log)
                        value = result["derived"].get(HEADLINE[name])
                        other = (result["derived"].get("other_cpu_share") or 0) * 100
                        ok = result["exit_code"] == 0 and not result["stopped_by_harness"]
                        failed += not ok
                        print(
                            f"[{repeat}] {name:8} {api:9} {side:6} "
                            f"{f'{value:.1f} µs' if value else 'n/a'}, another load {other:.0f}% of a core"
                            f"{'' if ok else ' FAILED, log ' + str(log)}",
                            flush=True,
                        )
                        if value and ok:
                            results.setdefault((name, api, side), []).append(value)
                            if other < QUIET * 100:
                                quiet.setdefault((name, api, side), []).append(value)
                        runs.append({"workload": name, "api": api, "side": side, **result})
    lock.close()
    print(
        f"\nbefore = {ref[:12]}, after = work tree (sha256 {digest}); client CPU, median [min-max]"
    )
    print(table(results, args.workloads.split(","), apis))
    print(f"\nquiet runs only (another load under {QUIET:.0%} of a core), n = runs per cell:")
    print(table(quiet, args.workloads.split(","), apis, counts=True))
    out = workdir / "apis.json"
    out.write_text(json.dumps({"before": ref, "after": digest, "runs": runs}, indent=1))
    print(f"raw runs: {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
