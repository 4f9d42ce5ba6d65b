"""Whole runs through the CLI: exit codes, thresholds, signals, outputs agreeing with the summary."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from greenws_runner import ROOT, run_greenws, write_script

ECHO_LOOP = """
import os
from greenws import ws, check, group, Counter, Trend, Rate, Gauge, vu

options = {OPTIONS}
messages = Counter("my_messages")
latency = Trend("my_latency", True)
ok_rate = Rate("my_ok")
level = Gauge("my_level")

def default():
    def session(socket):
        sent = []
        def on_message(message):
            messages.add(1, {"kind": "echo"})
            latency.add(1.5)
            ok_rate.add(message == "ping")
            level.add(vu.id)
            if len(sent) < 5:
                sent.append(1)
                socket.send("ping")
            else:
                socket.close(1000)
        socket.on("open", lambda: socket.send("ping"))
        socket.on("message", on_message)
    def inner():
        res = ws.connect(os.environ["TARGET"], {"tags": {"my_tag": "hello"}}, session)
        check(res, {"status is 101": lambda r: r.status == 101})
    group("chat", inner)
"""


def loop_script(options: str) -> str:
    return ECHO_LOOP.replace("{OPTIONS}", options)


def test_json_output_holds_exactly_the_samples_the_summary_counted(
    tmp_path: Path, echo_server
) -> None:
    result = run_greenws(
        tmp_path, loop_script('{"vus": 5, "iterations": 40}'), env={"TARGET": echo_server.url}
    )
    assert result.returncode == 0, result.stderr
    metrics = result.summary["metrics"]
    assert metrics["iterations"]["count"] == 40
    assert metrics["ws_sessions"]["count"] == 40
    assert metrics["ws_msgs_sent"]["count"] == 40 * 6
    assert metrics["ws_msgs_received"]["count"] == 40 * 6
    for name, values in metrics.items():
        points = result.points_of(name)
        assert points, f"no JSON points for {name}"
        if "count" in values and "avg" not in values:  # counter: the summary's count is the sum
            assert sum(point["data"]["value"] for point in points) == pytest.approx(
                values["count"]
            ), name
        elif "avg" in values:  # trend
            assert len(points) == values["count"], name
        elif "passes" in values:  # rate
            assert len(points) == values["passes"] + values["fails"], name
    assert result.metric("my_messages")["count"] == 40 * 6


def test_metric_types_and_tags_are_k6s(tmp_path: Path, echo_server) -> None:
    result = run_greenws(
        tmp_path,
        loop_script('{"iterations": 2}'),
        "--tag",
        "run=ci",
        env={"TARGET": echo_server.url},
    )
    assert result.returncode == 0, result.stderr
    declared = {
        line["metric"]: (line["data"]["type"], line["data"]["contains"])
        for line in result.metric_lines
    }
    assert declared["ws_connecting"] == ("trend", "time")
    assert declared["ws_session_duration"] == ("trend", "time")
    assert declared["ws_sessions"] == ("counter", "default")
    assert declared["ws_msgs_sent"] == ("counter", "default")
    assert declared["ws_msgs_received"] == ("counter", "default")
    assert declared["data_sent"] == ("counter", "data")
    assert declared["data_received"] == ("counter", "data")
    assert declared["checks"] == ("rate", "default")
    assert declared["iterations"] == ("counter", "default")
    assert declared["iteration_duration"] == ("trend", "time")
    assert declared["group_duration"] == ("trend", "time")
    assert declared["vus"] == ("gauge", "default")
    assert declared["my_latency"] == ("trend", "time")
    tags = result.points_of("ws_msgs_sent")[0]["data"]["tags"]
    assert tags == {
        "group": "::chat",
        "scenario": "default",
        "url": echo_server.url,
        "status": "101",
        "subproto": "",  # k6/ws tags it from the response, empty when none was chosen
        "my_tag": "hello",
        "run": "ci",
    }
    check_tags = result.points_of("checks")[0]["data"]["tags"]
    assert check_tags["check"] == "status is 101" and check_tags["group"] == "::chat"
    assert result.points_of("iterations")[0]["data"]["tags"] == {
        "group": "",
        "scenario": "default",
        "run": "ci",
    }
    assert result.points_of("my_messages")[0]["data"]["tags"]["kind"] == "echo"
    point = result.points_of("ws_connecting")[0]
    assert point["type"] == "Point" and point["data"]["time"].endswith("Z")
    assert result.summary["root_group"]["groups"]["chat"]["checks"]["status is 101"]["passes"] == 2


@pytest.mark.parametrize(
    ("threshold", "exit_code"),
    [('"p(95)<10000"', 0), ('"p(95)<0.0001"', 99), ('"count>=10"', 0), ('"count>1000000"', 99)],
)
def test_thresholds_decide_the_exit_code(
    tmp_path: Path, echo_server, threshold: str, exit_code: int
) -> None:
    metric = "ws_connecting" if threshold.startswith('"p') else "ws_msgs_sent"
    options = (
        f'{{"iterations": 3, "thresholds": {{"{metric}": [{threshold}], "checks": ["rate==1"]}}}}'
    )
    result = run_greenws(tmp_path, loop_script(options), env={"TARGET": echo_server.url})
    assert result.returncode == exit_code, result.stderr
    assert result.metric(metric)["thresholds"] == {threshold.strip('"'): exit_code == 99}
    assert "THRESHOLDS" in result.stdout
    assert ("✗" in result.stdout) == (exit_code == 99)


def test_submetric_threshold_and_no_thresholds_flag(tmp_path: Path, echo_server) -> None:
    options = '{"iterations": 2, "thresholds": {"ws_msgs_sent{my_tag:hello}": ["count>100"]}}'
    failing = run_greenws(tmp_path, loop_script(options), env={"TARGET": echo_server.url})
    assert failing.returncode == 99, failing.stderr
    assert failing.metric("ws_msgs_sent{my_tag:hello}")["count"] == 12
    skipped = run_greenws(
        tmp_path, loop_script(options), "--no-thresholds", env={"TARGET": echo_server.url}
    )
    assert skipped.returncode == 0, skipped.stderr


def test_abort_on_fail_stops_the_test_early(tmp_path: Path, echo_server) -> None:
    options = (
        '{"vus": 2, "duration": "20s", "thresholds": {"ws_msgs_sent": '
        '[{"threshold": "count<10", "abortOnFail": True}]}}'
    )
    result = run_greenws(tmp_path, loop_script(options), env={"TARGET": echo_server.url})
    assert result.returncode == 99, result.stderr
    assert "abortOnFail failed: stopping the test" in result.stderr
    # Stopped before the scenario's own end (what abortOnFail means): fewer than the 20 points
    # the once-a-second vus gauge gives a full 20 s run.
    assert len(result.points_of("vus")) < 15, len(result.points_of("vus"))
    assert result.metric("ws_msgs_sent")["count"] >= 10


def test_sigint_stops_gracefully_prints_the_summary_and_exits_105(
    tmp_path: Path, echo_server
) -> None:
    script = write_script(tmp_path, loop_script('{"vus": 3, "duration": "60s"}'))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "greenws",
            "run",
            str(script),
            "--summary-export",
            str(tmp_path / "s.json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TARGET": echo_server.url},
    )
    time.sleep(2.5)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 105, stderr
    assert "TOTAL RESULTS" in stdout
    assert (tmp_path / "s.json").exists()


def test_abort_from_the_script_exits_108_after_teardown(tmp_path: Path) -> None:
    result = run_greenws(
        tmp_path,
        """
from greenws import abort
options = {"iterations": 5}
def default():
    abort("enough")
def teardown(data):
    print("teardown ran")
""",
        outputs=False,
    )
    assert result.returncode == 108, result.stderr
    assert "enough" in result.stderr
    assert "teardown ran" in result.stderr  # print() goes to stderr, as k6's console.log


def test_setup_data_reaches_every_iteration_as_a_copy(tmp_path: Path) -> None:
    result = run_greenws(
        tmp_path,
        """
from greenws import Counter, check
seen = Counter("seen")
options = {"vus": 2, "iterations": 4}
def setup():
    return {"token": "abc", "items": [1, 2]}
def default(data):
    check(data, {"token": lambda d: d["token"] == "abc", "fresh copy": lambda d: d["items"] == [1, 2]})
    data["items"].append(3)
def teardown(data):
    print("teardown", data)
""",
    )
    assert result.returncode == 0, result.stderr
    assert result.metric("checks")["passes"] == 8 and result.metric("checks")["fails"] == 0
    assert "teardown {'token': 'abc', 'items': [1, 2]}" in result.stderr


def test_setup_exception_exits_107_without_teardown(tmp_path: Path) -> None:
    result = run_greenws(
        tmp_path,
        """
def setup():
    raise ValueError("no token")
def default():
    pass
def teardown(data):
    print("teardown ran")
""",
        outputs=False,
    )
    assert result.returncode == 107
    assert "no token" in result.stderr
    assert "teardown ran" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("body", "exit_code", "message"),
    [
        ("def default(:\n    pass\n", 107, "syntax error in"),
        ("import not_a_module_anywhere\ndef default():\n    pass\n", 107, "not_a_module_anywhere"),
        ("options = {'duration': '5x'}\ndef default():\n    pass\n", 104, "'5x'"),
        ("options = {'duraton': '5s'}\ndef default():\n    pass\n", 104, "did you mean 'duration'"),
        (
            "options = {'thresholds': {'nope': ['p(95)<1']}}\ndef default():\n    pass\n",
            104,
            "nope",
        ),
        (
            "options = {'thresholds': {'ws_connecting': ['p(95)<<1']}}\ndef default():\n    pass\n",
            104,
            "p(95)<<1",
        ),
        ("def setup():\n    pass\n", 107, "default()"),
    ],
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path, body: str, exit_code: int, message: str
) -> None:
    result = run_greenws(tmp_path, body, outputs=False)
    assert result.returncode == exit_code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert message in lines[0]


def test_missing_script_and_unknown_output(tmp_path: Path) -> None:
    missing = run_greenws(tmp_path, tmp_path / "absent.py", outputs=False)
    assert missing.returncode == 107 and "script not found" in missing.stderr
    unknown = run_greenws(
        tmp_path, "def default():\n    pass\n", "--out", "nosuch=x", outputs=False
    )
    assert unknown.returncode == 104 and "unknown output 'nosuch'" in unknown.stderr


def test_shortcut_shapes(tmp_path: Path) -> None:
    body = "from greenws import sleep\ndef default():\n    sleep(0.01)\n"
    nothing = run_greenws(tmp_path, body)
    assert nothing.metric("iterations")["count"] == 1
    shared = run_greenws(tmp_path, body, "-u", "3", "-i", "7")
    assert shared.metric("iterations")["count"] == 7
    assert shared.metric("vus_max")["max"] == 3
    ramp = run_greenws(tmp_path, body, "-s", "1s:4", "-s", "1s:0")
    assert ramp.returncode == 0, ramp.stderr
    assert ramp.metric("vus_max")["max"] == 4
    assert 1 <= ramp.metric("vus")["max"] <= 4
