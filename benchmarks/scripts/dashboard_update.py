"""What one live-dashboard update costs after ``BENCH_SECONDS`` seconds of test: counted, not timed.

Used by ``benchmarks/dashboard_instructions.py`` under callgrind. The dashboard output is fed a
ping-pong test's metrics (seeded, so every run holds the same state: counters, gauges and five
Trends, ``BENCH_PER_SECOND`` samples of each a second, tagged with one scenario and one group),
then draws ``BENCH_UPDATES`` updates exactly as its push loop does for a watching browser: the
engine's live summary, the report, ``<main>``, the server-sent event. Run with K and 2K updates,
the difference divided by K is one update, whatever building the state cost.
"""

from __future__ import annotations

import os
import random
import time
from types import SimpleNamespace

from greenws.metrics.aggregator import Aggregator
from greenws.metrics.builtin import register_builtin
from greenws.metrics.metric import Registry
from greenws.metrics.tags import TagSet
from greenws.outputs.dashboard.plugin import DashboardOutput
from greenws.outputs.dashboard.server import sse_message
from greenws.outputs.dashboard.settings import DashboardSettings
from greenws.outputs.html_report.render import render_main

SECONDS = int(os.environ["BENCH_SECONDS"])
UPDATES = int(os.environ["BENCH_UPDATES"])
PER_SECOND = int(os.environ.get("BENCH_PER_SECOND", "20"))
START = 1_700_000_000.0
TREND_STATS = ["avg", "min", "med", "max", "p(90)", "p(95)"]
COUNTERS = ("ws_msgs_sent", "ws_msgs_received", "data_sent", "data_received", "ws_sessions",
            "iterations")  # fmt: skip
GAUGES = ("vus", "vus_max", "open_connections")
TRENDS = ("ws_connecting", "ws_ping", "ws_session_duration", "iteration_duration",
          "ws_request_duration")  # fmt: skip


def main() -> None:
    registry = Registry()
    register_builtin(registry)
    aggregator = Aggregator(registry)  # the engine's, for the live summary
    output = DashboardOutput(DashboardSettings(enabled=True, port=-1))
    output.builder.start(START)
    tags = TagSet({"scenario": "default", "group": "::chat", "url": "ws://127.0.0.1/"})
    draw = random.Random(17)
    for second in range(SECONDS):
        batch = []
        for step in range(PER_SECOND):
            when = START + second + step / PER_SECOND
            for name in COUNTERS:
                batch.append((registry.get(name), when, float(draw.randint(1, 64)), tags))
            for name in TRENDS:
                batch.append((registry.get(name), when, draw.lognormvariate(0.0, 1.0), tags))
        for name in GAUGES:
            batch.append((registry.get(name), START + second, float(draw.randint(1, 50)), tags))
        aggregator.add_batch(batch)
        output.greenws_output_samples(batch)

    def live_summary() -> dict:
        summary = aggregator.summary_data(duration_s=SECONDS, trend_stats=TREND_STATS)
        summary.setdefault("state", {})["testRunDurationMs"] = SECONDS * 1000.0
        summary["options"] = {"summaryTrendStats": TREND_STATS, "summaryTimeUnit": None}
        return summary

    output._run = SimpleNamespace(
        script="pingpong.py", start_time=START, end_time=None, exit_code=0, scenarios=[],
        dropped_samples=dict, live_summary=live_summary,
    )  # fmt: skip
    size = 0
    started = time.process_time()
    for _ in range(UPDATES):  # what DashboardOutput._push_loop does for each update
        size += len(sse_message("update", {"main": render_main(output._current())}))
    spent = time.process_time() - started
    print(f"{UPDATES} updates, {size / max(UPDATES, 1) / 1000:.0f} kB, "
          f"{spent / max(UPDATES, 1) * 1000:.2f} ms CPU each")  # fmt: skip


if __name__ == "__main__":
    main()
