"""Run one client process on core 0 and measure it, and the server, while it runs.

Two kinds of numbers come out of one run:

* whole-process: the client's CPU (user + system) and peak RSS from ``os.wait4`` — the same
  accounting as ``getrusage(RUSAGE_CHILDREN)`` deltas, but for exactly this child;
* steady-state window: /proc and the echo server's counters sampled every ``interval`` seconds;
  the window is the span during which the server saw all VUs connected, less one sample at each end
  (so connection set-up and shutdown are outside it). CPU per round trip and round trips per second
  come from this window, so interpreter start-up (Locust imports Flask and more) does not count as
  per-message cost. Whole-process figures are kept too, in the JSON.
"""

from __future__ import annotations

import itertools
import os
import signal
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.procfs import child_setup, cpu_seconds, machine_busy_seconds, memory_bytes
from harness.server import EchoServer
from harness.tools import ClientCommand, Workload

CLIENT_CPU = 0
INTERVAL = 0.2


@dataclass
class Sample:
    """One look at the client and the server at time ``t`` (seconds since the client started)."""

    t: float
    client_cpu: float
    rss: int
    server_cpu: float
    open: int
    messages: int
    pings: int
    machine_busy: float
    closes: int = 0


def run_client(
    cmd: ClientCommand, server: EchoServer, workload: Workload, log: Path
) -> dict[str, Any]:
    """Start ``cmd`` pinned to core 0, sample until it exits (or is stopped at a hard deadline)."""
    leftover = server.wait_idle()
    before, server_cpu_before = server.stats(), server.cpu_seconds()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            cmd.argv,
            env=cmd.env,
            cwd=cmd.cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=child_setup(CLIENT_CPU),
        )
    # the hard deadline only guards against a hung tool: every tool stops itself at duration_s
    deadline = t0 + workload.duration_s + 30 + workload.vus / 100
    samples: list[Sample] = []
    stopped_by_harness = ""
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = time.monotonic()
            sample = _sample(proc.pid, server, now - t0)
            if sample is not None:
                samples.append(sample)
            if now > deadline and not stopped_by_harness:
                stopped_by_harness = "SIGINT at the hard deadline"
                proc.send_signal(signal.SIGINT)
                deadline = now + 15
            elif now > deadline:
                stopped_by_harness = "SIGKILL after SIGINT was ignored for 15 s"
                proc.kill()
            time.sleep(max(0.0, INTERVAL - (time.monotonic() - now)))
    except BaseException:  # Ctrl+C or a harness bug: never leave a load generator running
        proc.kill()
        proc.wait()
        raise
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    after, server_cpu_after = server.stats(), server.cpu_seconds()
    try:
        totals = cmd.read_totals()
    except (OSError, ValueError) as exc:
        totals = {"error": f"could not read the tool's totals: {exc}"}
    result: dict[str, Any] = {
        "tool": cmd.tool,
        "workload": workload.name,
        "vus": workload.vus,
        "duration_s": workload.duration_s,
        "argv": cmd.argv,
        "exit_code": proc.returncode,
        "stopped_by_harness": stopped_by_harness,
        "connections_left_from_previous_run": leftover,
        "wall_s": wall,
        "gross_cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_bytes": usage.ru_maxrss * 1024,  # Linux reports KiB
        "server_total": {
            k: after[k] - before[k] for k in ("accepted", "messages", "pings", "closes")
        },
        "server_cpu_s": server_cpu_after - server_cpu_before,
        "tool_totals": totals,
        "log": str(log),
        "samples": [asdict(s) for s in samples],
    }
    if workload.name == "churn":
        result["window"] = churn_window(samples)
    else:
        result["window"] = steady_window(samples, workload.vus)
    result["derived"] = derive(result, workload)
    if proc.returncode != 0 or stopped_by_harness:
        result["log_tail"] = log.read_text(errors="replace").splitlines()[-25:]
    return result


def _sample(pid: int, server: EchoServer, t: float) -> Sample | None:
    cpu = cpu_seconds(pid)
    mem = memory_bytes(pid)
    if cpu is None or mem is None:
        return None
    try:
        stats = server.stats()
        server_cpu = server.cpu_seconds()
    except OSError:
        return None
    busy = machine_busy_seconds()
    return Sample(
        t,
        cpu,
        mem[0],
        server_cpu,
        stats["open"],
        stats["messages"],
        stats["pings"],
        busy,
        stats.get("closes", 0),
    )


def steady_window(samples: list[Sample], vus: int) -> dict[str, Any]:
    """Deltas between the 2nd and the next-to-last sample that saw all ``vus`` connected."""
    full = [s for s in samples if s.open >= vus]
    if len(full) < 2:
        most = max((s.open for s in samples), default=0)
        return {"error": f"never held all {vus} VUs for two samples (most open at once: {most})"}
    a, b = (full[1], full[-2]) if len(full) >= 4 else (full[0], full[-1])
    inside = [s for s in samples if a.t <= s.t <= b.t]
    return {
        "start_s": a.t,
        "end_s": b.t,
        "wall_s": b.t - a.t,
        "all_connected_at_s": full[0].t,
        "client_cpu_s": b.client_cpu - a.client_cpu,
        "server_cpu_s": b.server_cpu - a.server_cpu,
        # whatever else ran: the harness itself (~1 % of a core) and anything not ours
        "other_cpu_s": (b.machine_busy - a.machine_busy)
        - (b.client_cpu - a.client_cpu)
        - (b.server_cpu - a.server_cpu),
        "messages": b.messages - a.messages,
        "pings": b.pings - a.pings,
        "rss_median_bytes": statistics.median(s.rss for s in inside),
        "rss_max_bytes": max(s.rss for s in inside),
    }


def churn_window(samples: list[Sample]) -> dict[str, Any]:
    """Deltas between the 2nd and the next-to-last sample during which sessions completed.

    Churn never holds all VUs open at once, so the window is where the server's count of
    completed close handshakes grows: that leaves out start-up and shutdown just as
    `steady_window` does.
    """
    busy = [b for a, b in itertools.pairwise(samples) if b.closes > a.closes]
    if len(busy) < 2:
        return {"error": "fewer than two samples saw sessions complete"}
    a, b = (busy[1], busy[-2]) if len(busy) >= 4 else (busy[0], busy[-1])
    inside = [s for s in samples if a.t <= s.t <= b.t]
    return {
        "start_s": a.t,
        "end_s": b.t,
        "wall_s": b.t - a.t,
        "all_connected_at_s": None,
        "client_cpu_s": b.client_cpu - a.client_cpu,
        "server_cpu_s": b.server_cpu - a.server_cpu,
        "other_cpu_s": (b.machine_busy - a.machine_busy)
        - (b.client_cpu - a.client_cpu)
        - (b.server_cpu - a.server_cpu),
        "messages": b.messages - a.messages,
        "pings": b.pings - a.pings,
        "sessions": b.closes - a.closes,
        "rss_median_bytes": statistics.median(s.rss for s in inside),
        "rss_max_bytes": max(s.rss for s in inside),
    }


def derive(result: dict[str, Any], workload: Workload) -> dict[str, float | None]:
    """The figures the table shows, from one run's raw numbers (None where not measurable)."""
    window = result["window"]
    out: dict[str, float | None] = {
        "client_cpu_share": None,
        "server_cpu_share": None,
        "other_cpu_share": None,
        "cpu_us_per_rt": None,
        "rt_per_s": None,
        "rss_steady_bytes": None,
        "connect_s": None,
    }
    sessions = result["tool_totals"].get("sessions")
    out["gross_cpu_us_per_session"] = result["gross_cpu_s"] / sessions * 1e6 if sessions else None
    server_closes = result["server_total"]["closes"]
    out["tool_sessions_vs_server"] = (
        sessions / server_closes if sessions and server_closes else None
    )
    rts = result["tool_totals"].get("round_trips")
    out["tool_rt_per_s"] = rts / workload.duration_s if rts else None
    out["gross_cpu_us_per_rt"] = result["gross_cpu_s"] / rts * 1e6 if rts else None
    server_msgs = result["server_total"]["messages"]
    out["tool_count_vs_server"] = rts / server_msgs if rts and server_msgs else None
    if "error" in window or window["wall_s"] <= 0:
        return out
    wall = window["wall_s"]
    out["client_cpu_share"] = window["client_cpu_s"] / wall
    out["server_cpu_share"] = window["server_cpu_s"] / wall
    out["other_cpu_share"] = window["other_cpu_s"] / wall
    out["rss_steady_bytes"] = window["rss_median_bytes"]
    out["connect_s"] = window["all_connected_at_s"]
    out["hold_s"] = wall
    if workload.name == "churn" and window["sessions"] > 0 and window["client_cpu_s"] > 0:
        out["sessions_per_s"] = window["sessions"] / wall
        # per core: sessions over the client's own CPU seconds (utime + stime, the rusage
        # accounting), so a client that is not CPU-bound is not penalised for waiting
        out["sessions_per_core_s"] = window["sessions"] / window["client_cpu_s"]
        out["cpu_us_per_session"] = window["client_cpu_s"] / window["sessions"] * 1e6
        out["server_cpu_us_per_session"] = window["server_cpu_s"] / window["sessions"] * 1e6
    if workload.name == "pingpong" and window["messages"] > 0:
        out["cpu_us_per_rt"] = window["client_cpu_s"] / window["messages"] * 1e6
        out["rt_per_s"] = window["messages"] / wall
    return out
