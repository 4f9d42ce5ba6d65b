"""Turn raw runs into medians, spreads and greenws/peer ratios, as JSON and a Markdown table.

Medians, not means: on a 2-core machine one run in three can be disturbed (a page-cache flush, the
other core's neighbour), and the median ignores it; the min–max spread is printed beside it so a
noisy figure is visible as such.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Run = dict[str, Any]


@dataclass(frozen=True)
class Metric:
    """One row of the table: which runs it reads, how, and how to print it."""

    key: str
    label: str  # the run label it is computed from ("pingpong", "idle")
    title: str
    value: Callable[[Run, Run | None], float | None]  # (run, its idle baseline) -> number
    fmt: str
    better: str  # "lower", "higher", "≈1", or "info" (context, not a score)
    ratio: bool = True  # False where greenws ÷ Locust means nothing (the machine's other load)


def _derived(name: str, scale: float = 1.0) -> Callable[[Run, Run | None], float | None]:
    def get(run: Run, _baseline: Run | None) -> float | None:
        value = run["derived"].get(name)
        return None if value is None else value * scale

    return get


def _peak_rss_mib(run: Run, _baseline: Run | None) -> float | None:
    return float(run["peak_rss_bytes"]) / 2**20


def _rss_per_vu_kib(run: Run, baseline: Run | None) -> float | None:
    """(steady RSS with N VUs − steady RSS of the same tool with 1 VU) / N, in KiB."""
    if baseline is None:
        return None
    full, base = run["derived"]["rss_steady_bytes"], baseline["derived"]["rss_steady_bytes"]
    if full is None or base is None:
        return None
    return float(full - base) / int(run["vus"]) / 1024


def _pings_per_vu(run: Run, _baseline: Run | None) -> float | None:
    """A sanity check that every VU really pinged: about duration / 5 s (k6's set_interval
    first fires after one interval; Locust's first task runs at once, so it shows one more)."""
    return float(run["server_total"]["pings"]) / int(run["vus"])


MIB = 1 / 2**20
PINGPONG = [
    Metric("cpu_us_per_rt", "pingpong", "client CPU per round trip (µs)",
           _derived("cpu_us_per_rt"), "{:.1f}", "lower"),
    Metric("rt_per_s", "pingpong", "round trips/s (server-counted)",
           _derived("rt_per_s"), "{:,.0f}", "higher"),
    Metric("client_cpu_pct", "pingpong", "client CPU, % of core 0",
           _derived("client_cpu_share", 100), "{:.0f}", "info"),
    Metric("server_cpu_pct", "pingpong", "server CPU, % of core 1",
           _derived("server_cpu_share", 100), "{:.0f}", "info"),
    Metric("other_cpu_pct", "pingpong", "anything else's CPU, % of a core",
           _derived("other_cpu_share", 100), "{:.1f}", "info", ratio=False),
    Metric("gross_cpu_us_per_rt", "pingpong", "whole-process CPU per round trip (µs)",
           _derived("gross_cpu_us_per_rt"), "{:.1f}", "lower"),
    Metric("tool_count_vs_server", "pingpong", "tool's count ÷ server's count",
           _derived("tool_count_vs_server"), "{:.3f}", "≈1"),
    Metric("pingpong_peak_rss_mib", "pingpong", "peak RSS (MiB)",
           _peak_rss_mib, "{:.1f}", "lower"),
]  # fmt: skip
CHURN = [
    Metric("sessions_per_core_s", "churn", "sessions/s per core (÷ client CPU s)",
           _derived("sessions_per_core_s"), "{:,.0f}", "higher"),
    Metric("cpu_us_per_session", "churn", "client CPU per session (µs)",
           _derived("cpu_us_per_session"), "{:.0f}", "lower"),
    Metric("sessions_per_s", "churn", "sessions/s (server-counted close handshakes)",
           _derived("sessions_per_s"), "{:,.0f}", "higher"),
    Metric("churn_client_cpu_pct", "churn", "client CPU, % of core 0",
           _derived("client_cpu_share", 100), "{:.0f}", "info"),
    Metric("server_cpu_us_per_session", "churn", "server CPU per session (µs)",
           _derived("server_cpu_us_per_session"), "{:.0f}", "info"),
    Metric("churn_server_cpu_pct", "churn", "server CPU, % of core 1",
           _derived("server_cpu_share", 100), "{:.0f}", "info"),
    Metric("churn_other_cpu_pct", "churn", "anything else's CPU, % of a core",
           _derived("other_cpu_share", 100), "{:.1f}", "info", ratio=False),
    Metric("gross_cpu_us_per_session", "churn", "whole-process CPU per session (µs, rusage)",
           _derived("gross_cpu_us_per_session"), "{:.0f}", "lower"),
    Metric("tool_sessions_vs_server", "churn", "tool's count ÷ server's count",
           _derived("tool_sessions_vs_server"), "{:.3f}", "≈1"),
]  # fmt: skip
IDLE = [
    Metric("rss_per_vu_kib", "idle", "RSS per idle VU (KiB)",
           _rss_per_vu_kib, "{:.1f}", "lower"),
    Metric("idle_rss_mib", "idle", "steady RSS with all VUs (MiB)",
           _derived("rss_steady_bytes", MIB), "{:.1f}", "lower"),
    Metric("connect_s", "idle", "from process start to all VUs connected (s)",
           _derived("connect_s"), "{:.1f}", "lower"),
    Metric("idle_client_cpu_pct", "idle", "client CPU while idle, % of core 0",
           _derived("client_cpu_share", 100), "{:.1f}", "lower"),
    Metric("idle_server_cpu_pct", "idle", "server CPU while idle, % of core 1",
           _derived("server_cpu_share", 100), "{:.1f}", "info"),
    Metric("idle_other_cpu_pct", "idle", "anything else's CPU, % of a core",
           _derived("other_cpu_share", 100), "{:.1f}", "info", ratio=False),
    Metric("pings_per_vu", "idle", "pings answered per VU (whole run)",
           _pings_per_vu, "{:.1f}", "info"),
]  # fmt: skip
BASELINE = Metric("baseline_rss_mib", "idle-baseline", "steady RSS with 1 VU (MiB)",
                  _derived("rss_steady_bytes", MIB), "{:.1f}", "lower")  # fmt: skip


def metrics_for(idle_sizes: list[int]) -> list[Metric]:
    """Every row, with the idle rows repeated for each idle size (label ``idle-<N>``)."""
    rows = PINGPONG + CHURN
    for n in idle_sizes:
        rows += [
            Metric(f"{m.key}@{n}", f"idle-{n}", f"{m.title}, {n:,} VUs", m.value, m.fmt,
                   m.better, m.ratio)
            for m in IDLE
        ]  # fmt: skip
    if idle_sizes:
        rows.append(BASELINE)
    return rows


def summarize(
    runs: list[Run], tools: list[str], metrics: list[Metric]
) -> dict[str, dict[str, dict[str, Any]]]:
    """{metric key: {tool: {"values": [...], "median", "min", "max"}}} over all repeats."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for metric in metrics:
        per_tool: dict[str, dict[str, Any]] = {}
        for tool in tools:
            values = []
            for run in runs:
                if run["tool"] != tool or run["label"] != metric.label:
                    continue
                baseline = _baseline_for(runs, run)
                value = metric.value(run, baseline)
                if value is not None:
                    values.append(value)
            per_tool[tool] = {
                "values": values,
                "median": statistics.median(values) if values else None,
                "min": min(values) if values else None,
                "max": max(values) if values else None,
            }
        out[metric.key] = per_tool
    return out


def _baseline_for(runs: list[Run], run: Run) -> Run | None:
    for other in runs:
        if (
            other["label"] == "idle-baseline"
            and other["tool"] == run["tool"]
            and other["repeat"] == run["repeat"]
        ):
            return other
    return None


def _cell(stats: dict[str, Any], fmt: str) -> str:
    if stats["median"] is None:
        return "n/a"
    median = fmt.format(stats["median"])
    if len(stats["values"]) == 1:
        return median
    return f"{median} ({fmt.format(stats['min'])}–{fmt.format(stats['max'])})"


def markdown(
    summary: dict[str, Any], tools: list[str], meta: dict[str, Any], metrics: list[Metric]
) -> str:
    """The table for RESULTS.md: medians (min–max) per tool and the greenws/Locust ratio."""
    machine, versions = meta["machine"], meta["versions"]
    lines = [
        f"### {meta['date']} — `{meta['command']}`",
        "",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), "
        f"{machine['mem_total_gib']} GiB, Linux {machine['kernel']}, Python {machine['python']}. "
        f"Server: picows {meta['versions'].get('picows', '?')} on uvloop "
        f"{meta['versions'].get('uvloop', '?')}, core 1; each client on core 0. "
        f"Peers: Locust {versions.get('locust', 'n/a')} + websocket-client "
        f"{versions.get('websocket-client', 'n/a')}; greenws {versions['greenws']} "
        f"(tree sha256 {versions.get('greenws tree', 'n/a')}). "
        f"{meta['repeat']} run(s) each; median (min–max).",
        "",
    ]
    for family, heading in meta["titles"]:
        rows = [m for m in metrics if m.label.split("-")[0] == family]
        if not rows or family not in meta["workloads"]:
            continue
        lines += [f"**{heading}**", ""]
        header = "| metric | better | " + " | ".join(tools)
        rule = "|---|---|" + "---|" * len(tools)
        if "greenws" in tools and "locust" in tools:
            header += " | greenws / Locust"
            rule += "---|"
        lines += [header + " |", rule]
        for metric in rows:
            cells = [_cell(summary[metric.key][tool], metric.fmt) for tool in tools]
            row = f"| {metric.title} | {metric.better} | " + " | ".join(cells)
            if "greenws" in tools and "locust" in tools:
                row += " | " + (_ratio(summary[metric.key]) if metric.ratio else "—")
            lines.append(row + " |")
        lines.append("")
    lines += [f"Skipped: {', '.join(meta['skipped'])}" if meta["skipped"] else ""]
    return "\n".join(lines).rstrip() + "\n"


def _ratio(per_tool: dict[str, dict[str, Any]]) -> str:
    ours, theirs = per_tool["greenws"]["median"], per_tool["locust"]["median"]
    if ours is None or theirs is None or theirs == 0:
        return "n/a"
    return f"{ours / theirs:.2f}"
