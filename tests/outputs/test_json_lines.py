"""``--out json=FILE``: k6's NDJSON lines, plain and gzip, from a real run against the echo server."""

from __future__ import annotations

import calendar
import gzip
import json
import re
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import ROOT, RunResult, run_greenws

SCRIPT = """
import os
from greenws import ws, check, group

options = OPTIONS

def default():
    def session(socket):
        sent = []
        def on_message(message):
            if len(sent) < 3:
                sent.append(1)
                socket.send("ping")
            else:
                socket.close(1000)
        socket.on("open", lambda: socket.send("ping"))
        socket.on("message", on_message)
        socket.set_timeout(lambda: socket.close(1000), 10000)
    def inner():
        res = ws.connect(os.environ["TARGET"], {"tags": {"my_tag": "hello"}}, session)
        check(res, {"status is 101": lambda r: r.status == 101})
    group("chat", inner)
"""

THRESHOLDS = {
    "ws_connecting": ["p(95)<60000", "max<60000"],
    "checks": [{"threshold": "rate>=0", "abortOnFail": False}],
    "iterations": ["count>0"],
}

TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{9})Z$")


def script(options: dict[str, Any]) -> str:
    return SCRIPT.replace("OPTIONS", repr(options))


def ordered(line: str) -> Any:
    """A JSON line with its objects as OrderedDicts, so key order can be compared."""
    return json.loads(line, object_pairs_hook=OrderedDict)


def read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        return handle.read().splitlines()


def epoch(text: str) -> float:
    match = TIME.match(text)
    assert match, f"time {text!r} is not RFC 3339 UTC with 9 fractional digits"
    whole = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
    return whole + int(match.group(2)) / 1e9


def run(tmp_path: Path, echo_server, options: dict[str, Any], *args: str) -> RunResult:
    return run_greenws(tmp_path, script(options), *args, env={"TARGET": echo_server.url})


def test_gzip_output_holds_the_same_lines_as_plain(tmp_path: Path, echo_server) -> None:
    plain, packed = tmp_path / "plain.json", tmp_path / "packed.json.gz"
    result = run(
        tmp_path,
        echo_server,
        {"vus": 2, "iterations": 6},
        "--out",
        f"json={plain}",
        "--out",
        f"json={packed}",
    )
    assert result.returncode == 0, result.stderr
    assert packed.read_bytes()[:2] == b"\x1f\x8b", "not gzip"
    assert plain.read_bytes()[:1] == b"{", "the plain file must not be compressed"
    plain_lines, packed_lines = read_lines(plain), read_lines(packed)
    assert len(plain_lines) > 50
    assert packed_lines == plain_lines
    # And both equal the third JSON output of the same run (the runner's).
    runner_lines = read_lines(tmp_path / "samples.ndjson")
    assert runner_lines == plain_lines
    # Every line is one JSON object; the file ends with a newline and has no blank lines.
    assert plain.read_text(encoding="utf-8").endswith("\n")
    assert all(line.strip() and isinstance(json.loads(line), dict) for line in plain_lines)
    assert len(result.points_of("ws_msgs_sent")) == 6 * 4


def test_each_metric_is_declared_once_before_its_first_point(tmp_path: Path, echo_server) -> None:
    result = run(tmp_path, echo_server, {"vus": 3, "iterations": 9})
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in read_lines(tmp_path / "samples.ndjson")]
    declared_at: dict[str, int] = {}
    for index, line in enumerate(lines):
        assert line["type"] in ("Metric", "Point"), line
        name = line["metric"]
        if line["type"] == "Metric":
            assert name not in declared_at, f"{name} declared twice"
            declared_at[name] = index
        else:
            assert name in declared_at, f"Point of {name} at line {index} before its Metric line"
    points = {line["metric"] for line in lines if line["type"] == "Point"}
    assert set(declared_at) == points  # no Metric line without points either
    assert set(points) == set(result.summary["metrics"])


def test_field_names_order_and_time_format_are_k6s(tmp_path: Path, echo_server) -> None:
    before = time.time()
    result = run(tmp_path, echo_server, {"vus": 2, "iterations": 4, "thresholds": THRESHOLDS})
    after = time.time()
    assert result.returncode == 0, result.stderr
    lines = [ordered(line) for line in read_lines(tmp_path / "samples.ndjson")]
    metric_lines = [line for line in lines if line["type"] == "Metric"]
    points = [line for line in lines if line["type"] == "Point"]
    assert metric_lines and points
    for line in points:
        assert list(line) == ["metric", "type", "data"], line  # k6 v2.2.0's order
        assert list(line["data"]) == ["time", "value", "tags"], line
        assert isinstance(line["data"]["value"], (int, float)), line
        assert not isinstance(line["data"]["value"], bool), line
        tags = line["data"]["tags"]
        assert isinstance(tags, dict) and all(isinstance(v, str) for v in tags.values()), line
        # RFC 3339, UTC, nanosecond digits, and a moment inside the run.
        assert before - 1 <= epoch(line["data"]["time"]) <= after + 1, line["data"]["time"]
    for line in metric_lines:
        assert list(line) == ["type", "data", "metric"], line
        assert list(line["data"]) == ["name", "type", "contains", "thresholds", "submetrics"]
        assert line["data"]["name"] == line["metric"]
    declared = {line["metric"]: line["data"] for line in metric_lines}
    assert declared["ws_sessions"]["type"] == "counter"
    assert declared["ws_sessions"]["contains"] == "default"
    assert declared["ws_connecting"]["type"] == "trend"
    assert declared["ws_connecting"]["contains"] == "time"
    assert declared["data_sent"]["contains"] == "data"
    # Counter increments are written as k6 writes them: 1, not 1.0.
    first_sent = next(
        line
        for line in read_lines(tmp_path / "samples.ndjson")
        if line.startswith('{"metric":"ws_msgs_sent","type":"Point"')
    )
    assert '"value":1,' in first_sent, first_sent
    sent = [line for line in points if line["metric"] == "ws_msgs_sent"]
    assert sent[0]["data"]["tags"]["my_tag"] == "hello"
    assert sent[0]["data"]["tags"]["group"] == "::chat"


def test_thresholds_are_listed_in_the_metric_line(tmp_path: Path, echo_server) -> None:
    result = run(tmp_path, echo_server, {"iterations": 2, "thresholds": THRESHOLDS})
    assert result.returncode == 0, result.stderr
    declared = {line["metric"]: line["data"] for line in result.metric_lines}
    assert declared["ws_connecting"]["thresholds"] == ["p(95)<60000", "max<60000"]
    assert declared["checks"]["thresholds"] == ["rate>=0"]  # the dict form, by its expression
    assert declared["iterations"]["thresholds"] == ["count>0"]
    assert declared["ws_sessions"]["thresholds"] == []
    assert declared["ws_msgs_sent"]["thresholds"] == []


def test_a_submetric_threshold_does_not_hide_the_parents(tmp_path: Path, echo_server) -> None:
    thresholds = {"ws_msgs_sent": ["count>0"], "ws_msgs_sent{my_tag:hello}": ["count>=0"]}
    result = run(tmp_path, echo_server, {"iterations": 2, "thresholds": thresholds})
    assert result.returncode == 0, result.stderr
    assert result.metric("ws_msgs_sent{my_tag:hello}")["count"] == 8  # the submetric exists
    declared = {line["metric"]: line["data"] for line in result.metric_lines}
    assert "count>0" in declared["ws_msgs_sent"]["thresholds"], declared["ws_msgs_sent"]


@pytest.mark.parametrize("argument", ["json", "json="])
def test_json_output_without_a_file_name_is_a_config_error(tmp_path: Path, argument: str) -> None:
    result = run_greenws(tmp_path, "def default():\n    pass\n", "--out", argument, outputs=False)
    assert result.returncode == 104, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--out json" in lines[0], result.stderr


def test_unwritable_file_is_not_silently_ignored(tmp_path: Path, echo_server) -> None:
    """A JSON file that cannot be opened must not look like a successful run with no warning.

    Either the run refuses to start (k6 fails at start-up, exit 104), or, as greenws's hookspec
    describes it, the output is switched off and the summary reports the samples it lost.
    """
    target = tmp_path / "no-such-directory" / "results.json"
    result = run(tmp_path, echo_server, {"iterations": 2}, "--out", f"json={target}")
    assert not target.exists()
    if result.returncode == 104:
        assert str(target) in result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert sum(1 for line in result.stderr.splitlines() if str(target) in line) == 1
    total = len(result.points)  # the runner's own JSON output got every sample
    assert f"WARNING: output json={target} lost {total} samples" in result.stdout, result.stdout


def _shape(path: Path) -> tuple[set[tuple[str, ...]], dict[str, tuple[str, str]], dict[str, set]]:
    """Key orders per line type, metric declarations, and tag keys per metric of an NDJSON file."""
    orders: set[tuple[str, ...]] = set()
    declared: dict[str, tuple[str, str]] = {}
    tag_keys: dict[str, set[tuple[str, ...]]] = {}
    for text in path.read_text(encoding="utf-8").splitlines():
        line = ordered(text)
        orders.add((line["type"], *line))
        if line["type"] == "Metric":
            declared[line["metric"]] = (line["data"]["type"], line["data"]["contains"])
        else:
            tag_keys.setdefault(line["metric"], set()).add(tuple(line["data"]["tags"]))
    return orders, declared, tag_keys


def test_the_k6_example_writes_what_k6_v2_2_0_wrote(tmp_path: Path) -> None:
    """k6's own `--out json` of its documented k6/ws example (shared/k6-reference): the same key
    order on both line types, the same metric declarations, the same tag keys (sorted, as k6
    writes them) on every metric, ``subproto`` included. Values differ by run; shapes may not."""
    reference = ROOT.parent / "shared" / "k6-reference" / "ws-example.out.ndjson"
    result = run_greenws(
        tmp_path,
        ROOT / "examples" / "k6_ws_example.py",
        "--echo-server",
        "--echo-port",
        "8765",  # the example's own url (as in tests/test_examples.py)
        "-d",
        "3s",
    )
    assert result.returncode == 0, result.stderr
    ours = _shape(tmp_path / "samples.ndjson")
    theirs = _shape(reference)
    # greenws's one metric k6 lacks (open_connections, a gauge like vus) is the only extra
    greenws_only = {"open_connections": ("gauge", "default")}
    assert ours[0] == theirs[0]
    assert ours[1] == {**theirs[1], **greenws_only}
    assert {k: v for k, v in ours[2].items() if k not in greenws_only} == theirs[2]
    assert ours[2]["open_connections"] == theirs[2]["vus"]  # the run's tags, as vus
