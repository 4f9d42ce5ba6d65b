"""``--workers 2`` with JSON, CSV and InfluxDB outputs at full rate: every output holds the summary.

The workers ship their sample batches to the coordinator over a pipe while they also send their
status there. When two writers shared the pipe unguarded a status frame could land inside a batch
frame, the coordinator lost its place in the stream, the run ended early with 105 and the summary
undercounted what the files held. Here every count must agree, per metric, across the summary,
the JSON lines and the CSV rows; the points stored in a real InfluxDB 1.6 plus what that output
reports as lost (a loaded box can outrun the server) must be every sample.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from greenws_runner import run_greenws
from influx_servers import InfluxDB

# Each VU keeps one message in flight and pings now and then: as many samples a second as the
# box gives, in several metrics. Its sessions end by themselves, so the counts do not depend on
# where the duration cuts.
FLOOD = """
import os
from greenws import ws

options = {"vus": 40, "duration": os.environ["DURATION"], "gracefulStop": "10s"}

def default():
    def session(socket):
        def on_message(message):
            socket.send("m")
        socket.on("open", lambda: socket.send("m"))
        socket.on("message", on_message)
        socket.set_interval(lambda: socket.ping(), 100)
        socket.set_timeout(lambda: socket.close(1000), 1500)
    ws.connect(os.environ["TARGET"], None, session)
"""


def counted_by_summary(summary: dict) -> Counter[str]:
    """Samples per metric as the summary counted them (Trend counts, Rate and Counter totals)."""
    counts: Counter[str] = Counter()
    for name, values in summary["metrics"].items():
        if "count" in values and "avg" in values:  # a Trend
            counts[name] = values["count"]
        elif "passes" in values:  # a Rate
            counts[name] = values["passes"] + values["fails"]
    return counts


def test_two_workers_every_output_holds_what_the_summary_counted(
    tmp_path: Path, echo_server
) -> None:
    csv_path = tmp_path / "samples.csv"
    with InfluxDB(tmp_path / "influx") as influx:
        result = run_greenws(
            tmp_path,
            FLOOD,
            "--workers",
            "2",
            "--out",
            f"csv={csv_path}",
            "--out",
            f"influxdb={influx.url}/k6",
            env={"TARGET": echo_server.url, "DURATION": "20s"},
            timeout=120,
        )
        stored = influx.counts("k6")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "worker" not in result.stderr, result.stderr[-3000:]
    in_json = Counter(point["metric"] for point in result.points)
    with csv_path.open(newline="", encoding="utf-8") as file:
        in_csv = Counter(row["metric_name"] for row in csv.DictReader(file))
    assert in_json["ws_msgs_sent"] > 10_000  # a real load, not a trickle
    # The files are the whole run: nothing lost on the pipe, nothing lost on the way to them.
    dropped = result.summary["greenws"]["dropped_samples"]
    assert not any(name.startswith(("json=", "csv=")) or "worker" in name for name in dropped)
    assert dict(in_csv) == dict(in_json)
    for name, count in counted_by_summary(result.summary).items():
        assert in_json[name] == count, name
    messages = result.metric("ws_msgs_sent")["count"]
    assert messages == sum(
        point["data"]["value"] for point in result.points if point["metric"] == "ws_msgs_sent"
    )
    # InfluxDB is a real server that a loaded box can outrun: whatever it could not take is
    # counted, never silently missing. When it took everything, it holds the same per metric.
    [influx_lost] = [count for name, count in dropped.items() if name.startswith("influxdb=")] or [
        0
    ]
    assert sum(stored.values()) + influx_lost == sum(in_json.values())
    if influx_lost == 0:
        assert stored == dict(in_json)
        assert "lost" not in result.stdout, result.stdout
