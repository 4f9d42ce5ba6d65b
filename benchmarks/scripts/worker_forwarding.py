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

from dashboard_samples import START, ping_pong_batches

from greenws.execution.workers import WorkerLink
from greenws.metrics.aggregator import Aggregator
from greenws.metrics.builtin import register_builtin
from greenws.metrics.metric import Registry
from greenws.outputs.html_report.plugin import ReportBuilder


def main() -> None:
    mode = os.environ["BENCH_MODE"]
    count = int(os.environ["BENCH_BATCHES"])
    round_trips = int(os.environ.get("BENCH_ROUND_TRIPS", "3000"))
    registry = Registry()
    register_builtin(registry)
    batches = ping_pong_batches(registry, 20, round_trips)
    aggregator = Aggregator(registry)
    builder = ReportBuilder()
    builder.start(START)
    link = WorkerLink(os.open(os.devnull, os.O_WRONLY))
    if mode == "report":
        aggregator.observers.append(builder.add_metric)
    gc.collect()
    gc.freeze()
    for index in range(count):
        batch = batches[index % len(batches)]
        aggregator.add_batch(batch)
        if mode == "forward":
            link.greenws_output_samples(batch)
        elif mode == "report" and index % 5 == 4:
            json.dumps(builder.export_worker_report())


if __name__ == "__main__":
    main()
