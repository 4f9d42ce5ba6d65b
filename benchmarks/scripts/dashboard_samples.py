"""The flusher's side of one batch, counted: the engine's aggregation alone, or with the live
dashboard's share. Used by ``benchmarks/dashboard_instructions.py`` under callgrind.

A ping-pong run's batches (``ws_msgs_sent`` and ``ws_msgs_received`` in turn,
``BENCH_ROUND_TRIPS`` round trips a batch: 300 is a 0.2 s flush's worth under valgrind, 3,000 a
native one's at 15,000 round trips/s; samples from ``BENCH_TAGSETS`` distinct TagSets: 1 for any
number of sessions to one URL, whose tags greenws interns, 50 for sessions to fifty URLs) are
built first and frozen out of the collector, then ``BENCH_BATCHES`` of
them are folded by the engine's :class:`Aggregator` and, with ``BENCH_MODE=dashboard``, by the
dashboard's report builder the way the measured greenws feeds it: through the aggregator's
observers where it has them, else (an older greenws) as an output, whole batches. Run with B and
2B batches, the difference divided by the samples is what one more sample costs.
"""

from __future__ import annotations

import gc
import os

from greenws.metrics.aggregator import Aggregator
from greenws.metrics.builtin import register_builtin
from greenws.metrics.metric import Registry
from greenws.metrics.tags import TagSet
from greenws.outputs.html_report.plugin import ReportBuilder

START = 1_700_000_000.0


def ping_pong_batches(
    registry: Registry, count: int, round_trips: int, tagsets: int = 1
) -> list[list[tuple[object, float, float, TagSet]]]:
    """``count`` flushes of a ping-pong (0.2 s each): a sent and a received sample per round trip,
    from ``tagsets`` distinct TagSets in turn."""
    sent, received = registry.get("ws_msgs_sent"), registry.get("ws_msgs_received")
    sessions = [
        TagSet({"scenario": "default", "group": "", "url": f"ws://127.0.0.1:8765/{index}"})
        for index in range(tagsets)
    ]
    batches = []
    for index in range(count):
        batch = []
        for step in range(round_trips):
            when = START + index * 0.2 + step * 0.2 / round_trips
            tags = sessions[step % tagsets]
            batch.append((sent, when, 1.0, tags))
            batch.append((received, when, 1.0, tags))
        batches.append(batch)
    return batches


def main() -> None:
    mode = os.environ["BENCH_MODE"]
    count = int(os.environ["BENCH_BATCHES"])
    tagsets = int(os.environ.get("BENCH_TAGSETS", "1"))
    round_trips = int(os.environ.get("BENCH_ROUND_TRIPS", "300"))
    registry = Registry()
    register_builtin(registry)
    batches = ping_pong_batches(registry, 80, round_trips, tagsets)
    aggregator = Aggregator(registry)
    builder = ReportBuilder()
    builder.start(START)
    as_output = False
    if mode == "dashboard":
        if hasattr(aggregator, "observers"):
            aggregator.observers.append(builder.add_metric)
        else:
            as_output = True
    gc.collect()
    gc.freeze()
    for index in range(count):
        batch = batches[index % len(batches)]
        aggregator.add_batch(batch)
        if as_output:
            builder.add_batch(batch)


if __name__ == "__main__":
    main()
