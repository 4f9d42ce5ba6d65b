"""Execution segments end to end: the segments of a sequence, each its own ``greenws run``
process, together run exactly what one process runs.

For every executor the same script runs once whole, then as the 2 segments of ``0,1/2,1`` and
the 3 segments of ``0,1/3,2/3,1`` (all at the same time, against the embedded echo server), and
the totals of iterations, WebSocket sessions and messages summed over the segments must equal the
whole run's. The load shapes are chosen so that the whole run's counts are exact, not a matter of
timing: iteration-bounded executors count themselves; time-bounded ones start one iteration per
VU that outlasts the duration (finishing within gracefulStop); arrival-rate ones start a fixed
number of arrivals with enough VUs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from greenws_runner import RunResult, run_greenws

from greenws.options.segments import even_sequence

SCRIPT = """
import os
from greenws import ws, sleep

def default():
    def session(socket):
        socket.on("open", lambda: socket.send("x"))
        socket.on("message", lambda m: socket.close(1000))
    ws.connect(os.environ["TARGET"], None, session)
    sleep(float(os.environ.get("PAUSE", "0")))

options = {"scenarios": {"s": SCENARIO}}
"""

# (scenario, pause after the echo, iterations the whole run makes)
CASES = {
    "shared-iterations": ('{"executor": "shared-iterations", "vus": 3, "iterations": 11}', 0, 11),
    "per-vu-iterations": ('{"executor": "per-vu-iterations", "vus": 5, "iterations": 2}', 0, 10),
    # one iteration per VU: it outlasts the 1 s duration and ends within gracefulStop
    "constant-vus": (
        '{"executor": "constant-vus", "vus": 5, "duration": "1s", "gracefulStop": "5s"}',
        1.5,
        5,
    ),
    # VUs join during the first second; each runs one iteration that outlasts the 2 s stages
    "ramping-vus": (
        '{"executor": "ramping-vus", "startVUs": 0, "gracefulStop": "5s", "stages": '
        '[{"duration": "1s", "target": 6}, {"duration": "1s", "target": 6}]}',
        2.5,
        6,
    ),
    "constant-arrival-rate": (
        '{"executor": "constant-arrival-rate", "rate": 5, "duration": "2s", '
        '"preAllocatedVUs": 5, "maxVUs": 10}',
        0,
        10,
    ),
    # 0→6/s, 6/s, 6→0/s, one second each: 3 + 6 + 3 arrivals
    "ramping-arrival-rate": (
        '{"executor": "ramping-arrival-rate", "startRate": 0, "preAllocatedVUs": 4, '
        '"maxVUs": 9, "stages": [{"duration": "1s", "target": 6}, {"duration": "1s", '
        '"target": 6}, {"duration": "1s", "target": 0}]}',
        0,
        12,
    ),
}

TOTALS = ("iterations", "ws_sessions", "ws_msgs_sent", "ws_msgs_received")


def count(result: RunResult, metric: str) -> int:
    """A counter's total in the summary export (0 when the run never emitted it)."""
    assert result.returncode == 0, result.stderr
    data = result.summary["metrics"].get(metric)
    return int(data["count"]) if data else 0


@pytest.mark.parametrize("executor", list(CASES))
def test_segments_add_up_to_the_whole_run(tmp_path: Path, echo_server, executor: str) -> None:
    scenario, pause, expected = CASES[executor]
    script = SCRIPT.replace("SCENARIO", scenario)
    env = {"TARGET": echo_server.url, "PAUSE": str(pause)}
    runs: dict[str, tuple[str, ...]] = {"whole": ()}
    for parts in (2, 3):
        points = even_sequence(parts)
        for index in range(parts):
            runs[f"{index + 1}of{parts}"] = (
                "--execution-segment",
                f"{points[index]}:{points[index + 1]}",
                "--execution-segment-sequence",
                ",".join(points),
            )

    def run(name: str) -> RunResult:
        directory = tmp_path / name
        directory.mkdir()
        return run_greenws(directory, script, *runs[name], env=env)

    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        results = dict(zip(runs, pool.map(run, runs), strict=True))

    whole = results["whole"]
    assert count(whole, "iterations") == expected
    assert count(whole, "dropped_iterations") == 0
    for parts in (2, 3):
        segments = [results[f"{index + 1}of{parts}"] for index in range(parts)]
        for metric in TOTALS:
            shares = [count(segment, metric) for segment in segments]
            assert sum(shares) == count(whole, metric), (parts, metric, shares)
        # each segment did its share, not the whole (a segment ignored would double the sum)
        assert all(count(segment, "iterations") < expected for segment in segments)


def test_segment_on_the_command_line_overrides_the_script_and_can_have_no_work(
    tmp_path: Path, echo_server
) -> None:
    script = SCRIPT.replace(
        "SCENARIO", '{"executor": "per-vu-iterations", "vus": 1, "iterations": 3}'
    ).replace(
        "options = {",
        'options = {"executionSegment": "0:1/2", "executionSegmentSequence": "0,1/2,1", ',
    )
    env = {"TARGET": echo_server.url}
    first = run_greenws(tmp_path, script, env=env)
    assert count(first, "iterations") == 3  # the script's 0:1/2 holds the only VU
    second = run_greenws(tmp_path, script, "--execution-segment", "1/2:1", env=env)
    assert count(second, "iterations") == 0  # the flag wins: 1/2:1 has no VU, so no work
    bad = run_greenws(tmp_path, script, "--execution-segment", "0:1/3", env=env)
    assert bad.returncode == 104
    assert "0:1/3 is not one of the segments of sequence 0,1/2,1" in bad.stderr
