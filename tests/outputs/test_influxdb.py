"""The InfluxDB output (``plugins/greenws-influxdb``) against real servers on 127.0.0.1.

InfluxDB 1.6.7 takes the v1 ``/write`` (k6's built-in output); VictoriaMetrics 1.79 takes the v2
write API. Every run also writes the built-in JSON output, which the core's tests already hold
equal to the summary: the database must hold one point per JSON point, per metric, and those counts
are compared with the summary's own (Trend counts, Rate passes + fails, Counter sums).
The fault tests check that what was written plus what the summary reports as dropped is every
sample, that the exit code is the normal one, and that a server that never answers delays
neither the start nor the exit. No test here measures speed: what an output costs the VUs is
measured by ``benchmarks/outputs.py``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from greenws_influxdb.lines import LineSerializer
from greenws_influxdb.settings import parse_settings
from greenws_runner import ROOT, RunResult, run_greenws, write_script
from influx_servers import InfluxDB, VictoriaMetrics
from servers import ScriptServer, free_port

from greenws.metrics.tags import TagSet

# 4 VUs x 50 sessions x 40 messages each way: about 4,450 samples.
SESSIONS = """
import os
from greenws import ws, check

options = {"vus": 4, "iterations": 50}

def default():
    def session(socket):
        received = []
        def on_message(message):
            received.append(message)
            if len(received) < 40:
                socket.send("m")
            else:
                socket.close(1000)
        socket.on("open", lambda: (socket.send("m"), socket.ping()))
        socket.on("message", on_message)
        socket.set_timeout(lambda: socket.close(1000), 20000)
    res = ws.connect(os.environ["TARGET"], {"tags": {"room": "lobby", "empty": ""}}, session)
    check(res, {"status is 101": lambda r: r.status == 101})
"""

# Runs for a fixed time so that its iteration count measures VU throughput.
TIMED = """
import os
from greenws import ws

options = {"vus": 4, "duration": os.environ.get("DURATION", "3s")}

def default():
    def session(socket):
        received = []
        def on_message(message):
            received.append(message)
            if len(received) < 20:
                socket.send("m")
            else:
                socket.close(1000)
        socket.on("open", lambda: socket.send("m"))
        socket.on("message", on_message)
        socket.set_timeout(lambda: socket.close(1000), 20000)
    ws.connect(os.environ["TARGET"], None, session)
"""

FAST_FAIL = {"GREENWS_INFLUXDB_FINAL_FLUSH_TIMEOUT": "3s", "GREENWS_INFLUXDB_TIMEOUT": "2s"}
# The plugin of this tree, not an installed copy (an editable install may point elsewhere).
PYTHONPATH = os.pathsep.join([str(ROOT), str(ROOT / "plugins" / "greenws-influxdb")])


def child_env(echo_server: Any, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: the echo server as TARGET, this tree's plugin, ``extra``."""
    return {"TARGET": echo_server.url, "PYTHONPATH": PYTHONPATH, **(extra or {})}


def json_counts(result: RunResult) -> Counter[str]:
    return Counter(point["metric"] for point in result.points)


def dropped(result: RunResult, prefix: str = "influxdb") -> int:
    """What the console summary says the output lost (0 when it says nothing)."""
    found = re.findall(rf"WARNING: output ({prefix}\S*) lost (\d+) samples", result.stdout)
    assert len(found) <= 1, found
    return int(found[0][1]) if found else 0


def assert_counts_match_summary(stored: dict[str, int], result: RunResult) -> None:
    assert stored == dict(json_counts(result))
    for name, values in result.summary["metrics"].items():
        if "avg" in values:  # a Trend
            assert stored[name] == values["count"], name
        elif "passes" in values:  # a Rate
            assert stored[name] == values["passes"] + values["fails"], name


# -- pure parts -------------------------------------------------------------------------------


def test_settings_follow_k6_names_and_defaults() -> None:
    settings = parse_settings(
        "influxdb", "http://me:s%40cret@127.0.0.1:8086/k6?insecure=true", environ={}
    )
    assert (settings.version, settings.base_url, settings.database) == (
        1,
        "http://127.0.0.1:8086",
        "k6",
    )
    assert (settings.username, settings.password, settings.insecure) == ("me", "s@cret", True)
    assert settings.push_interval == 1.0 and settings.concurrent_writes == 4
    assert settings.tags_as_fields == {"vu": "int", "iter": "int", "url": "string"}
    env = {
        "K6_INFLUXDB_PUSH_INTERVAL": "5s",
        "GREENWS_INFLUXDB_PUSH_INTERVAL": "2s",
        "K6_INFLUXDB_CONCURRENT_WRITES": "8",
        "K6_INFLUXDB_TAGS_AS_FIELDS": "vu:int,url",
        "GREENWS_INFLUXDB_ORGANIZATION": "org",
        "GREENWS_INFLUXDB_TOKEN": "tok",
    }
    v2 = parse_settings("influxdb2", "http://127.0.0.1:8428/bucket", environ=env)
    assert (v2.version, v2.database, v2.organization, v2.token) == (2, "bucket", "org", "tok")
    assert (v2.push_interval, v2.concurrent_writes) == (2.0, 8)
    assert v2.tags_as_fields == {"vu": "int", "url": "string"}
    for bad in ("127.0.0.1:8086/k6", "http://127.0.0.1:8086/", "http://h/k6?precision=h"):
        with pytest.raises(ValueError):
            parse_settings("influxdb", bad, environ={})


def test_line_layout_is_k6s() -> None:
    class Metric:
        name = "ws_msgs_sent"

    tags = TagSet(vu="3", iter="7", url="ws://h/x y", scenario="default", group="")
    lines = LineSerializer(parse_settings("influxdb", "http://h/k6", environ={}).tags_as_fields)
    first, second = lines.lines([(Metric, 1.5, 1.0, tags), (Metric, 1.5, 1.0, tags)])
    assert (
        first == 'ws_msgs_sent,scenario=default iter=7i,url="ws://h/x y",value=1,vu=3i 1500000000'
    )
    assert second.endswith(" 1500000001")  # same series, same instant: kept apart by 1 ns


# -- real servers -----------------------------------------------------------------------------


def test_v1_influxdb_holds_every_sample_in_k6s_layout(tmp_path: Path, echo_server) -> None:
    with InfluxDB(tmp_path / "influx") as influx:
        result = run_greenws(
            tmp_path,
            SESSIONS,
            "--out",
            f"influxdb={influx.url}/k6",
            env=child_env(echo_server),
        )
        assert result.returncode == 0, result.stderr
        assert dropped(result) == 0, result.stdout
        stored = influx.counts("k6")
        assert sum(stored.values()) >= 4000
        assert_counts_match_summary(stored, result)
        assert influx.query("k6", "SELECT sum(value) FROM ws_msgs_sent")[0]["values"][0][1] == 2000
        tag_keys = {s["name"]: s["values"] for s in influx.query("k6", "SHOW TAG KEYS")}
        field_keys = {s["name"]: s["values"] for s in influx.query("k6", "SHOW FIELD KEYS")}
    for metric in ("ws_connecting", "ws_msgs_sent", "ws_msgs_received", "ws_ping", "ws_sessions"):
        keys = {key for (key,) in tag_keys[metric]}
        assert {"room", "scenario", "status"} <= keys, (metric, keys)
        assert not keys & {"url", "vu", "iter", "empty"}, (metric, keys)  # fields or dropped
        assert {tuple(f) for f in field_keys[metric]} == {("url", "string"), ("value", "float")}
    assert "WARN" not in result.stderr, result.stderr


def test_v2_write_api_into_victoriametrics(tmp_path: Path, echo_server) -> None:
    env = {
        **child_env(echo_server),
        "GREENWS_INFLUXDB_ORGANIZATION": "greenws",
        "GREENWS_INFLUXDB_TOKEN": "unused-by-victoriametrics",
    }
    with VictoriaMetrics(tmp_path / "vm") as vm:
        result = run_greenws(tmp_path, SESSIONS, "--out", f"influxdb2={vm.url}/k6", env=env)
        assert result.returncode == 0, result.stderr
        assert dropped(result) == 0, result.stdout
        series = vm.export(len(result.points))
        series += vm.export(1, '{__name__="ws_msgs_sent_url"}')
    stored: Counter[str] = Counter()
    for item in series:
        name = item["metric"]["__name__"]
        if name.endswith("_value"):
            stored[name.removesuffix("_value")] += len(item["values"])
    assert_counts_match_summary(dict(stored), result)
    sent = [s for s in series if s["metric"]["__name__"] == "ws_msgs_sent_value"]
    assert sum(sum(s["values"]) for s in sent) == 2000
    labels = sent[0]["metric"]
    assert labels["room"] == "lobby" and labels["scenario"] == "default"
    assert not {"url", "vu", "iter", "empty"} & set(labels)
    assert {s["metric"]["__name__"] for s in series} >= {"ws_msgs_sent_url", "ws_ping_value"}


# -- faults -----------------------------------------------------------------------------------


def test_absent_server_drops_exactly_and_warns_once(tmp_path: Path, echo_server) -> None:
    """Counts only; what a dead server costs the VUs is measured by benchmarks/outputs.py."""
    url = f"http://127.0.0.1:{free_port()}/k6"  # nothing listens there
    result = run_greenws(
        tmp_path, TIMED, "--out", f"influxdb={url}", env=child_env(echo_server, FAST_FAIL)
    )
    assert result.returncode == 0, result.stderr
    assert len(result.points) > 0
    assert dropped(result) == len(result.points)
    warnings = [line for line in result.stderr.splitlines() if "influxdb=" in line]
    assert len(warnings) == 1, result.stderr
    assert "cannot write" in warnings[0]


def test_server_that_never_answers_delays_neither_start_nor_exit(
    tmp_path: Path, echo_server
) -> None:
    """``CREATE DATABASE`` and every write hang; requests time out only after 600 s.

    The start used to wait for ``CREATE DATABASE`` (a whole request timeout, counted in the
    test's duration); now neither it nor the final flush (2 s here) may hold the run: had either
    waited for the request timeout, the run would outlive run_greenws's own 90 s limit.
    """
    server = ScriptServer(Path(__file__).parent / "fake_influx_server.py", "hang")
    settings = {"GREENWS_INFLUXDB_TIMEOUT": "600s", "GREENWS_INFLUXDB_FINAL_FLUSH_TIMEOUT": "2s"}
    try:
        result = run_greenws(
            tmp_path,
            SESSIONS,
            "--out",
            f"influxdb=http://127.0.0.1:{server.port}/k6",
            env=child_env(echo_server, settings),
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    # 4 VUs x 50 short sessions: far below the 600 s the start used to wait for.
    assert result.summary["greenws_state"]["testRunDurationMs"] < 30_000
    assert len(result.points) > 4000
    assert dropped(result) == len(result.points)  # written: none; dropped: every sample
    warnings = [line for line in result.stderr.splitlines() if "influxdb=" in line]
    assert len(warnings) == 1, result.stderr
    assert "final flush timeout (2s)" in warnings[0]


@pytest.mark.parametrize("mode", ["500", "slow"])
def test_failing_or_slow_server(tmp_path: Path, echo_server, mode: str) -> None:
    args = ["500"] if mode == "500" else ["slow", "0.3"]
    server = ScriptServer(Path(__file__).parent / "fake_influx_server.py", *args)
    try:
        result = run_greenws(
            tmp_path,
            SESSIONS,
            "--out",
            f"influxdb=http://127.0.0.1:{server.port}/k6",
            env=child_env(echo_server, {"GREENWS_INFLUXDB_RETRIES": "1", **FAST_FAIL}),
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/count", timeout=5) as r:
            accepted = int(r.read())
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    lost = dropped(result)
    print(f"{mode}: accepted {accepted}, dropped {lost}, samples {len(result.points)}")
    assert accepted + lost == len(result.points)
    if mode == "500":
        assert accepted == 0
        assert len([line for line in result.stderr.splitlines() if "HTTP 500" in line]) == 1
    else:
        assert lost == 0


def test_server_killed_and_restarted_mid_run(tmp_path: Path, echo_server) -> None:
    path = write_script(tmp_path, TIMED)
    export, lines = tmp_path / "summary.json", tmp_path / "samples.ndjson"
    with InfluxDB(tmp_path / "influx") as influx:
        command = [sys.executable, "-m", "greenws", "run", str(path), "-q", "--no-color"]
        command += ["--summary-export", str(export), "--out", f"json={lines}"]
        command += ["--out", f"influxdb={influx.url}/k6"]
        env = {**os.environ, **child_env(echo_server), "DURATION": "6s"}
        child = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)  # fmt: skip
        outputs: list[str] = []
        reader = threading.Thread(target=lambda: outputs.extend(child.communicate(timeout=90)))
        reader.start()
        time.sleep(2.0)
        assert child.poll() is None
        influx.proc.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
        influx.kill()
        time.sleep(1.5)
        influx.start()
        reader.join(95)
        stored = influx.counts("k6")
    result = run_result(child.returncode, outputs, export, lines)
    assert result.returncode == 0, result.stderr
    lost = dropped(result)
    print(
        f"killed mid-run: stored {sum(stored.values())}, dropped {lost}, samples {len(result.points)}"
    )
    assert sum(stored.values()) + lost == len(result.points)
    assert sum(stored.values()) > 0
    # The outage was seen (one warning) and survived (writing resumed).
    assert len([line for line in result.stderr.splitlines() if "cannot write" in line]) == 1
    assert "again" in result.stderr, result.stderr


def run_result(code: int | None, outputs: list[str], export: Path, lines: Path) -> RunResult:
    import json

    result = RunResult(code if code is not None else -1, *outputs)
    result.summary = json.loads(export.read_text(encoding="utf-8"))
    for line in lines.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        (result.points if record["type"] == "Point" else result.metric_lines).append(record)
    return result
