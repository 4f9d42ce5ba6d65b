"""CPU per sample of the InfluxDB output, in-process: line serialisation alone and the whole path.

    PYTHONPATH=TREE:TREE/plugins/greenws-influxdb python benchmarks/influx_lines.py [LABEL]

100,000 ping-pong samples (``ws_msgs_sent``/``ws_msgs_received``, value 1, 100 VUs' tag sets,
k6's default tags-as-fields) go through ``LineSerializer.lines`` and through the output's own
path (``greenws_output_samples`` in 2,000-sample slices, then the pusher's batches to a transport
that only encodes the body). Process CPU time, median and min of 5 rounds. Run it once per tree,
alternating, for a before/after on a shared machine.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from greenws_influxdb.lines import LineSerializer
from greenws_influxdb.output import InfluxDBOutput
from greenws_influxdb.settings import parse_settings

from greenws.metrics.metric import Metric, MetricType
from greenws.metrics.tags import TagSet

N = 100_000


class NullTransport:
    """Accepts every write; encodes the body as the real one does."""

    def create_database(self) -> None:
        pass

    def write(self, body: str) -> None:
        body.encode("utf-8")

    def close(self) -> None:
        pass


class Run:
    start_time = time.time()


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else ""
    sent = Metric("ws_msgs_sent", MetricType("counter"))
    received = Metric("ws_msgs_received", MetricType("counter"))
    tags = [
        TagSet(vu=str(v), iter="0", url="ws://127.0.0.1:9001/", scenario="pingpong", group="")
        for v in range(1, 101)
    ]
    start = time.time()
    samples: list[Any] = [
        ((sent, received)[i % 2], start + i * 1e-6, 1, tags[i % 100]) for i in range(N)
    ]
    settings = parse_settings("influxdb", "http://127.0.0.1:8086/k6", environ={})
    whole, alone = [], []
    for _ in range(5):
        output = InfluxDBOutput("bench", settings, NullTransport())  # type: ignore[arg-type]
        output.greenws_output_start(Run)
        began = time.process_time()
        for at in range(0, N, 2000):
            output.greenws_output_samples(samples[at : at + 2000])
        output._dispatch()
        output._pool.join()
        whole.append((time.process_time() - began) / N * 1e6)
        serializer = LineSerializer(settings.tags_as_fields)
        began = time.process_time()
        serializer.lines(samples)
        alone.append((time.process_time() - began) / N * 1e6)
    print(
        f"{label}: lines() {statistics.median(alone):.2f} µs a sample (min {min(alone):.2f}); "
        f"whole output path {statistics.median(whole):.2f} (min {min(whole):.2f})"
    )


if __name__ == "__main__":
    main()
