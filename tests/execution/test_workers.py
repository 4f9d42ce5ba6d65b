"""``greenws run --workers N`` against the real echo server: the workers add up to one process.

Each executor runs the same script once in one process and once in two worker processes; the
totals that do not depend on timing (iterations, sessions, messages, checks) must be equal
exactly, and the one JSON output must hold every sample once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from greenws_runner import RunResult, run_greenws

SCRIPT = """
import os
from greenws import check, ws, sleep

def default():
    def session(socket):
        socket.on("open", lambda: socket.send("x"))
        socket.on("message", lambda m: socket.close(1000))
    response = ws.connect(os.environ["TARGET"], None, session)
    check(response, {"status is 101": lambda r: r.status == 101})
    sleep(float(os.environ.get("PAUSE", "0")))

options = OPTIONS
"""

# Time-based executors are given iterations that end well inside a slot (0.4 s pause in a 1 s
# scenario: every VU starts exactly three iterations), so their counts do not depend on timing.
EXECUTORS = {
    "shared-iterations": ('{"executor": "shared-iterations", "vus": 3, "iterations": 17}', 0.0),
    "per-vu-iterations": ('{"executor": "per-vu-iterations", "vus": 5, "iterations": 3}', 0.0),
    "constant-vus": ('{"executor": "constant-vus", "vus": 5, "duration": "1s"}', 0.4),
    "ramping-vus": (
        '{"executor": "ramping-vus", "startVUs": 4, "stages": [{"duration": "1s", "target": 4}],'
        ' "gracefulRampDown": "5s"}',
        0.4,
    ),
    "constant-arrival-rate": (
        '{"executor": "constant-arrival-rate", "rate": 30, "timeUnit": "1s", "duration": "1s",'
        ' "preAllocatedVUs": 10}',
        0.0,
    ),
    "ramping-arrival-rate": (
        '{"executor": "ramping-arrival-rate", "startRate": 10, "timeUnit": "1s",'
        ' "preAllocatedVUs": 10, "stages": [{"duration": "1s", "target": 40},'
        ' {"duration": "500ms", "target": 0}]}',
        0.0,
    ),
}

TOTALS = ("iterations", "ws_sessions", "ws_msgs_sent", "ws_msgs_received")


def script_for(scenario: str) -> str:
    return SCRIPT.replace("OPTIONS", '{"scenarios": {"s": ' + scenario + "}}")


def totals(result: RunResult) -> dict[str, float]:
    counts = {name: result.metric(name)["count"] for name in TOTALS}
    counts["checks passed"] = result.metric("checks")["passes"]
    counts["checks failed"] = result.metric("checks")["fails"]
    return counts


def run(tmp_path: Path, echo_server, script: str, *args: str, pause: float = 0.0) -> RunResult:
    tmp_path.mkdir(exist_ok=True)
    return run_greenws(
        tmp_path, script, *args, env={"TARGET": echo_server.url, "PAUSE": str(pause)}
    )


@pytest.mark.parametrize("executor", sorted(EXECUTORS))
def test_two_workers_add_up_to_one_process(tmp_path: Path, echo_server, executor: str) -> None:
    scenario, pause = EXECUTORS[executor]
    single = run(tmp_path / "one", echo_server, script_for(scenario), pause=pause)
    assert single.returncode == 0, single.stderr
    split = run(tmp_path / "two", echo_server, script_for(scenario), "--workers", "2", pause=pause)
    assert split.returncode == 0, split.stderr
    assert totals(split) == totals(single)
    assert totals(single)["iterations"] > 0
    # One JSON file holding each sample once: its points add up to the summary's counts.
    for name in TOTALS:
        assert len(split.points_of(name)) == split.metric(name)["count"], name


def test_trend_histograms_merge_into_one_summary(tmp_path: Path, echo_server) -> None:
    scenario, _ = EXECUTORS["shared-iterations"]
    result = run(tmp_path, echo_server, script_for(scenario), "--workers", "2")
    assert result.returncode == 0, result.stderr
    connecting = result.metric("ws_connecting")
    # every session's connect time is in the merged Trend, and its statistics are ordered
    assert connecting["count"] == result.metric("ws_sessions")["count"] == 17
    assert connecting["min"] <= connecting["med"] <= connecting["p(95)"] <= connecting["max"]


def test_thresholds_are_judged_on_the_merged_data(tmp_path: Path, echo_server) -> None:
    """17 iterations: each worker alone stays under 10, the whole test does not."""
    script = script_for(EXECUTORS["shared-iterations"][0])
    script += '\noptions["thresholds"] = {"iterations": ["count<10"]}\n'
    result = run(tmp_path, echo_server, script, "--workers", "2")
    assert result.metric("iterations")["count"] == 17
    assert result.returncode == 99, result.stderr
    # k6's export marks a threshold true when it was crossed
    assert result.metric("iterations")["thresholds"] == {"count<10": True}


def test_setup_runs_once_and_its_data_reaches_every_worker(tmp_path: Path, echo_server) -> None:
    script = """
import os
from greenws import Counter

seen = Counter("seen_token")

def setup():
    return {"token": 42}

def default(data):
    seen.add(data["token"])

def teardown(data):
    assert data["token"] == 42

options = {"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 4, "iterations": 2}}}
"""
    result = run(tmp_path, echo_server, script, "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert result.metric("seen_token")["count"] == 8 * 42
    assert result.metric("iterations")["count"] == 8


def test_abort_in_one_worker_stops_the_test(tmp_path: Path, echo_server) -> None:
    script = """
from greenws import abort, sleep, vu

def default():
    if vu.iteration == 3:
        abort("enough")
    sleep(0.05)

options = {"scenarios": {"s": {"executor": "constant-vus", "vus": 2, "duration": "30s"}}}
"""
    result = run(tmp_path, echo_server, script, "--workers", "2", "--no-color")
    assert result.returncode == 108, result.stderr
    assert "enough" in result.stderr


@pytest.mark.parametrize("value", ["0", "many"])
def test_bad_worker_count_is_a_config_error(tmp_path: Path, echo_server, value: str) -> None:
    script = script_for(EXECUTORS["shared-iterations"][0])
    result = run(tmp_path, echo_server, script, "--workers", value)
    assert result.returncode == 104
    assert "--workers" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_vu_ids_are_unique_across_workers(tmp_path: Path, echo_server) -> None:
    """As k6's idInTest: the workers' VUs are numbered as one process would number them."""
    script = """
from greenws import Counter, vu

ran = Counter("ran")

def default():
    ran.add(1, {"id": str(vu.id)})

options = {"scenarios": {
    "a": {"executor": "per-vu-iterations", "vus": 5, "iterations": 1},
    "b": {"executor": "per-vu-iterations", "vus": 3, "iterations": 1},
}}
"""
    result = run(tmp_path, echo_server, script, "--workers", "2")
    assert result.returncode == 0, result.stderr
    ids = sorted(int(point["data"]["tags"]["id"]) for point in result.points_of("ran"))
    assert ids == list(range(1, 9))


def test_a_killed_worker_is_reported_as_lost_with_its_own_exit_code(
    tmp_path: Path, echo_server
) -> None:
    """Not a Ctrl+C (105) and not a script error (107): 121, and a line that says what happened."""
    script = """
import os, signal
from greenws import Counter, sleep, vu

ran = Counter("ran")

def default():
    ran.add(1)
    if vu.id == 1 and vu.iteration == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    sleep(0.05)

options = {"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 2, "iterations": 20}}}
"""
    result = run(tmp_path, echo_server, script, "--workers", "2", "--no-color")
    assert result.returncode == 121, result.stderr
    lost = [line for line in result.stderr.splitlines() if "was lost" in line]
    assert len(lost) == 1, result.stderr
    assert "worker 0 was lost: it was killed by SIGKILL" in lost[0], lost[0]
    assert "TOTAL RESULTS" in result.stdout
    # The other worker's part is all there: its VU's 20 iterations.
    assert result.metric("ran")["count"] >= 20
