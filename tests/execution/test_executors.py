"""Every executor against the real echo server: counts from the summary export and the JSON output."""

from __future__ import annotations

from collections import Counter as Tally
from pathlib import Path

import pytest
from greenws_runner import run_greenws

ITERATION = """
import os
from greenws import ws, sleep, vu, Counter

per_vu = Counter("per_vu")

def echo_once():
    def session(socket):
        socket.on("open", lambda: socket.send("x"))
        socket.on("message", lambda m: socket.close(1000))
    ws.connect(os.environ["TARGET"], None, session)

def default():
    echo_once()
    per_vu.add(1, {"vu": str(vu.id)})
    sleep(float(os.environ.get("PAUSE", "0")))

def other():
    echo_once()
    per_vu.add(1, {"vu": str(vu.id), "fn": "other"})

options = OPTIONS
"""


def run(tmp_path: Path, echo_server, options: str, pause: float = 0.0, *args: str):
    script = ITERATION.replace("OPTIONS", options)
    result = run_greenws(
        tmp_path, script, *args, env={"TARGET": echo_server.url, "PAUSE": str(pause)}
    )
    assert result.returncode == 0, result.stderr
    return result


def per_vu_counts(result) -> Tally[str]:
    tally: Tally[str] = Tally()
    for point in result.points_of("per_vu"):
        tally[point["data"]["tags"]["vu"]] += int(point["data"]["value"])
    return tally


def gauge_values(result, name: str) -> list[float]:
    return [point["data"]["value"] for point in result.points_of(name)]


def test_shared_iterations(tmp_path: Path, echo_server) -> None:
    result = run(
        tmp_path,
        echo_server,
        '{"scenarios": {"s": {"executor": "shared-iterations", "vus": 3, "iterations": 10}}}',
    )
    assert result.metric("iterations")["count"] == 10
    assert result.metric("ws_sessions")["count"] == 10
    assert sum(per_vu_counts(result).values()) == 10
    assert result.metric("vus_max")["max"] == 3


def test_per_vu_iterations(tmp_path: Path, echo_server) -> None:
    result = run(
        tmp_path,
        echo_server,
        '{"scenarios": {"p": {"executor": "per-vu-iterations", "vus": 3, "iterations": 4}}}',
    )
    assert result.metric("iterations")["count"] == 12
    assert sorted(per_vu_counts(result).values()) == [4, 4, 4]


def test_constant_vus_keeps_every_vu_busy_for_the_duration(tmp_path: Path, echo_server) -> None:
    result = run(tmp_path, echo_server, '{"vus": 3, "duration": "2s"}', 0.2)
    iterations = result.metric("iterations")["count"]
    # sleep(0.2) is honoured: at most 2 s / 0.2 s + 1 per VU. (How many fewer a loaded machine
    # manages is a matter of speed, which tests do not judge.)
    assert 3 <= iterations <= 33
    assert len(per_vu_counts(result)) == 3
    assert set(gauge_values(result, "vus")) == {3}


def test_ramping_vus_follows_its_stages(tmp_path: Path, echo_server) -> None:
    result = run(
        tmp_path,
        echo_server,
        '{"stages": [{"duration": "2s", "target": 4}, {"duration": "2s", "target": 0}], "gracefulStop": "1s"}',
        0.1,
    )
    vus = gauge_values(result, "vus")
    assert max(vus) <= 4 and max(vus) >= 2
    assert vus[0] <= 2  # starts low: one VU plus a tick of ramp-up
    assert result.metric("vus_max")["max"] == 4
    assert len(per_vu_counts(result)) >= 3


def test_constant_arrival_rate_starts_exactly_the_scheduled_iterations(
    tmp_path: Path, echo_server
) -> None:
    result = run(
        tmp_path,
        echo_server,
        '{"scenarios": {"c": {"executor": "constant-arrival-rate", "rate": 20, "duration": "2s", '
        '"preAllocatedVUs": 2, "maxVUs": 10}}}',
    )
    assert result.metric("iterations")["count"] == 40
    assert "dropped_iterations" not in result.summary["metrics"]


def test_arrival_rate_drops_and_counts_iterations_when_vus_run_out(
    tmp_path: Path, echo_server
) -> None:
    result = run(
        tmp_path,
        echo_server,
        '{"scenarios": {"c": {"executor": "constant-arrival-rate", "rate": 20, "duration": "2s", '
        '"preAllocatedVUs": 1, "maxVUs": 2}}}',
        0.5,
    )
    completed = result.metric("iterations")["count"]
    dropped = result.metric("dropped_iterations")["count"]
    assert dropped > 0
    assert completed + dropped == 40  # nothing slips silently: each start happened or was dropped
    assert result.metric("vus_max")["max"] == 2
    assert result.points_of("dropped_iterations")[0]["data"]["tags"]["scenario"] == "c"


def test_ramping_arrival_rate_starts_the_integral_of_its_rate(tmp_path: Path, echo_server) -> None:
    result = run(
        tmp_path,
        echo_server,
        '{"scenarios": {"r": {"executor": "ramping-arrival-rate", "startRate": 0, "timeUnit": "1s", '
        '"stages": [{"duration": "2s", "target": 20}, {"duration": "1s", "target": 20}], '
        '"preAllocatedVUs": 2, "maxVUs": 20}}}',
    )
    assert result.metric("iterations")["count"] == 40  # 0→20/s over 2 s is 20, then 20 more


def test_parallel_scenarios_with_start_time_exec_and_tags(tmp_path: Path, echo_server) -> None:
    result = run(
        tmp_path,
        echo_server,
        '{"scenarios": {'
        '"first": {"executor": "shared-iterations", "vus": 2, "iterations": 4, "tags": {"team": "a"}},'
        '"second": {"executor": "per-vu-iterations", "vus": 1, "iterations": 3, "exec": "other", "startTime": "500ms"}'
        "}}",
    )
    assert result.metric("iterations")["count"] == 7
    by_scenario = Tally(
        point["data"]["tags"]["scenario"] for point in result.points_of("iterations")
    )
    assert by_scenario == {"first": 4, "second": 3}
    assert all(
        point["data"]["tags"].get("team") == "a"
        for point in result.points_of("ws_sessions")
        if point["data"]["tags"]["scenario"] == "first"
    )
    others = [p for p in result.points_of("per_vu") if p["data"]["tags"].get("fn") == "other"]
    assert len(others) == 3 and all(p["data"]["tags"]["scenario"] == "second" for p in others)
    first_second = min(
        p["data"]["time"]
        for p in result.points_of("iterations")
        if p["data"]["tags"]["scenario"] == "second"
    )
    first_first = min(
        p["data"]["time"]
        for p in result.points_of("iterations")
        if p["data"]["tags"]["scenario"] == "first"
    )
    assert first_second > first_first  # startTime delayed the second scenario
    assert result.metric("vus_max")["max"] == 3  # VUs of both scenarios


def test_graceful_stop_interrupts_long_iterations_and_counts_none(
    tmp_path: Path, echo_server
) -> None:
    result = run(
        tmp_path, echo_server, '{"vus": 2, "duration": "1s", "gracefulStop": "500ms"}', 5.0
    )
    assert "iterations" not in result.summary["metrics"]  # interrupted iterations emit none
    assert result.metric("ws_sessions")["count"] == 2


@pytest.mark.parametrize("executor", ["constant-vus", "ramping-vus"])
def test_cli_shortcut_overrides_script_scenarios(
    tmp_path: Path, echo_server, executor: str
) -> None:
    options = '{"scenarios": {"s": {"executor": "shared-iterations", "vus": 1, "iterations": 100}}}'
    flags = ("-u", "2", "-d", "1s") if executor == "constant-vus" else ("-s", "1s:2")
    result = run(tmp_path, echo_server, options, 0.1, *flags)
    scenarios = {p["data"]["tags"]["scenario"] for p in result.points_of("iterations")}
    assert scenarios == {"default"}
