"""A ``--workers`` worker's side of the coordinator's dashboard, counted: what it spends per
sample on top of its own aggregation. Used by ``benchmarks/dashboard_instructions.py`` under
callgrind (``--parts workers``).

``BENCH_MODE=forward``: as before the workers' report data, every batch forwarded to the
coordinator (``WorkerLink.greenws_output_samples``: a row per sample, pickled, written to a pipe;
here ``/dev/null``). ``BENCH_MODE=report``: the worker's own report builder fed by its
aggregator's observers, and one ``export_worker_report`` per five batches (a status a second at
a flush every 0.2 s). ``BENCH_MODE=engine``: the aggregation alone. Same batches as
``dashboard_samples.py``: one TagSet, ``BENCH_ROUND_TRIPS`` round trips a batch.
"""

from __future__ import annotations

import gc
import json
import os

from greenws.execution.workers import WorkerLink
from greenws.metrics.aggregator import Aggregator
from greenws.metrics.builtin import register_builtin
from greenws.metrics.metric import Registry
from greenws.metrics.tags import TagSet
from greenws.outputs.html_report.plugin import ReportBuilder

MODE = os.environ["BENCH_MODE"]
BATCHES = int(os.environ["BENCH_BATCHES"])
ROUND_TRIPS = int(os.environ.get("BENCH_ROUND_TRIPS", "3000"))
START = 1_700_000_000.0


def main() -> None:
    registry = Registry()
    register_builtin(registry)
    sent, received = registry.get("ws_msgs_sent"), registry.get("ws_msgs_received")
    tags = TagSet({"scenario": "default", "group": "", "url": "ws://127.0.0.1:8765/"})
    batches = []
    for index in range(20):
        batch = []
        for step in range(ROUND_TRIPS):
            when = START + index * 0.2 + step * 0.2 / ROUND_TRIPS
            batch.append((sent, when, 1.0, tags))
            batch.append((received, when, 1.0, tags))
        batches.append(batch)
    aggregator = Aggregator(registry)
    builder = ReportBuilder()
    builder.start(START)
    link = WorkerLink(os.open(os.devnull, os.O_WRONLY))
    if MODE == "report":
        aggregator.observers.append(builder.add_metric)
    gc.collect()
    gc.freeze()
    for index in range(BATCHES):
        batch = batches[index % len(batches)]
        aggregator.add_batch(batch)
        if MODE == "forward":
            link.greenws_output_samples(batch)
        elif MODE == "report" and index % 5 == 4:
            json.dumps(builder.export_worker_report())


if __name__ == "__main__":
    main()
