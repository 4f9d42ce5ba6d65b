"""The VU's loop: when an iteration ends, k6's global timers, and what is closed at the end."""

from __future__ import annotations

import json
from pathlib import Path

from websocket_scripts import run_logged

# Two iterations of one VU, one after the other: the order of the log says whether the first
# iteration waited for its sockets and timers before the second one started.
SEQUENTIAL_ITERATIONS = """
options = {"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 1, "iterations": 2}}}
"""


def test_iteration_waits_for_sockets_and_timers(tmp_path: Path, echo_server) -> None:
    result, log = run_logged(
        tmp_path,
        SEQUENTIAL_ITERATIONS
        + """
def default():
    iteration = len([item for item in LOG if item[0] == "start"])
    record("start", iteration)
    sock = WebSocket(TARGET)
    sock.onopen = lambda: set_timeout(lambda: sock.close(), 100)   # closes later, from a timer
    sock.onclose = lambda e: record("socket closed", iteration, e.code)
    set_timeout(lambda label, n: record(label, n), 150, "timer", iteration)  # arguments passed on
    record("returned", iteration)

""",
        echo_server.url,
    )
    assert result.returncode == 0, result.stderr
    events = log
    assert events[0] == ["start", 0]
    assert events[1] == ["returned", 0]  # default() returned; the iteration went on
    assert set(map(tuple, events[2:4])) == {("socket closed", 0, 1000), ("timer", 0)}
    assert events[4] == ["start", 1]
    assert set(map(tuple, events[6:8])) == {("socket closed", 1, 1000), ("timer", 1)}
    assert result.metric("iterations")["count"] == 2
    assert result.metric("ws_sessions")["count"] == 2


def test_timers_clear_and_repeat(tmp_path: Path, echo_server) -> None:
    result, log = run_logged(
        tmp_path,
        """
def default():
    ticks = []
    def tick():
        ticks.append(1)
        record("tick", len(ticks))
        if len(ticks) == 3:
            clear_interval(interval)          # cleared from its own callback
    interval = set_interval(tick, 20)
    never = set_timeout(lambda: record("never"), 30)
    clearTimeout(never)                       # k6 spelling
    clear_timeout(None)                       # ignored, as clearTimeout(undefined) is
    clear_timeout(12345)                      # unknown ids too
    other = setInterval(lambda: record("other"), 10)
    set_timeout(lambda: clearInterval(other), 35)
    set_timeout(lambda: record("zero delay"))
    try:
        set_interval(tick, 0)
    except ValueError:
        record("zero interval refused")
    record("returned")

""",
        echo_server.url,
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert log[0] == ["zero interval refused"]
    assert log[1] == ["returned"]
    assert [item for item in log if item[0] == "tick"] == [["tick", 1], ["tick", 2], ["tick", 3]]
    assert ["never"] not in log
    assert ["zero delay"] in log
    assert 1 <= log.count(["other"]) <= 4
    assert result.metric("iterations")["count"] == 1


def test_open_sockets_closed_with_1000_when_the_test_ends(
    tmp_path: Path, websockets_server
) -> None:
    record_id = f"end-{tmp_path.name}"
    result, log = run_logged(
        tmp_path,
        f"""
options = {{"scenarios": {{"s": {{"executor": "constant-vus", "vus": 1, "duration": "1s",
                               "gracefulStop": "0s"}}}}}}

def default():
    sock = WebSocket(TARGET + "/record?id={record_id}")    # never closed by the script
    sock.onopen = lambda: sock.send("hi")
    set_interval(lambda: None, 50)                         # nor is this timer

def teardown():
    with ws.open(TARGET + "/closes?id={record_id}") as sock:
        record("closes", json.loads(sock.recv(timeout=5)))
""",
        websockets_server.url,
    )
    assert result.returncode == 0, result.stderr
    assert log == [["closes", [1000]]]
    # the interrupted socket's session still counts, with its samples
    assert result.metric("ws_sessions")["count"] == 2
    assert result.metric("ws_msgs_sent")["count"] == 1
    assert "iterations" not in result.summary["metrics"]  # interrupted, never completed


def test_sockets_closed_with_1000_when_the_iteration_raises(
    tmp_path: Path, websockets_server
) -> None:
    record_id = f"raise-{tmp_path.name}"
    result, log = run_logged(
        tmp_path,
        f"""
def default():
    sock = WebSocket(TARGET + "/record?id={record_id}")
    def opened():
        raise RuntimeError("handler failed")
    sock.onopen = opened
    sock.onclose = lambda e: record("close handler ran")

def teardown():
    with ws.open(TARGET + "/closes?id={record_id}") as sock:
        record("closes", json.loads(sock.recv(timeout=5)))
""",
        websockets_server.url,
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert "handler failed" in result.stderr  # reported as a script error
    assert log == [["closes", [1000]]]  # closed by the runtime: no handler ran
    assert result.metric("iterations")["count"] == 1


def test_summary_counts_every_socket_of_many_vus(tmp_path: Path, echo_server) -> None:
    result, log = run_logged(
        tmp_path,
        """
options = {"vus": 5, "iterations": 10}

def default():
    for n in range(4):
        sock = WebSocket(TARGET + f"/room?n={n}", params={"tags": {"name": "room"}})
        def opened(event):
            event.target.send("x")
        sock.onopen = opened
        sock.onmessage = lambda event: event.target.close()
""",
        echo_server.url,
    )
    assert result.returncode == 0, result.stderr
    assert result.metric("ws_sessions")["count"] == 40
    assert result.metric("ws_msgs_received")["count"] == 40
    samples = result.points_of("ws_sessions")
    assert len(samples) == 40
    assert {point["data"]["tags"]["name"] for point in samples} == {"room"}
    assert json.dumps(log) == "[]"


def test_dial_and_messages_while_the_vu_is_busy_elsewhere(tmp_path: Path, echo_server) -> None:
    # The loop dials a lone socket on the VU's greenlet only when the VU has nothing else to do;
    # here the VU sleeps first (the dial goes on in a greenlet meanwhile), and a handler sleeps
    # while its socket's next message arrives (the loop queues it and serves it afterwards).
    result, log = run_logged(
        tmp_path,
        """
from greenws import sleep

def default():
    sock = WebSocket(TARGET)
    other = WebSocket(TARGET)                  # two dials under way at once
    record("created", sock.ready_state, other.ready_state)
    sleep(0.2)
    record("slept", sock.ready_state)          # open fires on the VU's loop, not before

    def on_message(event):
        record("message", event.data)
        if event.data == "one":
            sock.send("two")
            sleep(0.2)                         # "two" comes back while this handler sleeps
            record("woke")
        elif event.data == "two":
            sock.send("three")
        else:
            sock.close()

    def opened():
        record("open", sock.ready_state)
        sock.send("one")

    sock.onopen = opened
    sock.onmessage = on_message
    sock.onclose = lambda e: record("close", e.code, e.was_clean)
    other.onopen = lambda: other.close()
    other.onclose = lambda e: record("other close", e.code)
""",
        echo_server.url,
        "--iterations",
        "2",
    )
    assert result.returncode == 0, result.stderr
    # the other socket's close may come anywhere after "slept": set it aside
    assert log.count(["other close", 1000]) == 2
    mine = [item for item in log if item[0] != "other close"]
    one_iteration = [
        ["created", 0, 0],
        ["slept", 0],
        ["open", 1],
        ["message", "one"],
        ["woke"],
        ["message", "two"],
        ["message", "three"],
        ["close", 1000, True],
    ]
    assert mine == one_iteration * 2  # the second iteration the same, on a fresh loop
    assert result.metric("ws_sessions")["count"] == 4
    assert result.metric("ws_msgs_received")["count"] == 6
