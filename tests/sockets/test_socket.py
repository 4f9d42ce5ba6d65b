"""The k6 Socket end to end: every method and event, against our echo server and `websockets`."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from greenws_runner import run_greenws

EVENT_LOG = """
import json, os
from greenws import ws, check

LOG = []

def record(*item):
    LOG.append(list(item))

def dump():
    with open(os.environ["EVENTS_FILE"], "w") as handle:
        json.dump(LOG, handle)
"""


def events(directory: Path) -> list[list[object]]:
    return json.loads((directory / "events.json").read_text())  # type: ignore[no-any-return]


def run_events(tmp_path: Path, body: str, url: str, *args: str):
    env = {"EVENTS_FILE": str(tmp_path / "events.json"), "TARGET": url}
    return run_greenws(tmp_path, EVENT_LOG + body, *args, env=env)


def test_every_event_and_method_against_the_echo_server(tmp_path: Path, echo_server) -> None:
    result = run_events(
        tmp_path,
        """
def default():
    def session(socket):
        @socket.on("open")
        def opened():
            record("open")
            socket.send("hello")
            socket.send_binary(b"\\x00\\x01\\x02")
            socket.sendBinary(bytearray(b"ab"))
            socket.ping()
        socket.on("message", lambda m: record("message", m))
        socket.on("binaryMessage", lambda b: record("binary", list(b)))
        socket.on("pong", lambda: record("pong"))
        socket.on("pong", lambda: record("pong2"))
        socket.on("close", lambda code: record("close", code))
        socket.on("error", lambda e: record("error", e.error()))
        socket.setTimeout(lambda: socket.close(4000), 300)
    res = ws.connect(os.environ["TARGET"] + "/echo", {"tags": {"my_tag": "hello"}}, session)
    record("status", res.status, res.error)
    dump()
""",
        echo_server.url,
    )
    assert result.returncode == 0, result.stderr
    log = events(tmp_path)
    assert log[0] == ["open"]
    assert ["message", "hello"] in log
    assert ["binary", [0, 1, 2]] in log
    assert ["binary", [97, 98]] in log
    assert log.index(["pong"]) + 1 == log.index(["pong2"])  # several handlers, in order
    assert log[-2] == ["close", 4000]  # the echo server answers our close code exactly
    assert log[-1] == ["status", 101, ""]
    assert not [item for item in log if item[0] == "error"]
    assert result.metric("ws_msgs_sent")["count"] == 3
    assert result.metric("ws_msgs_received")["count"] == 3
    assert result.metric("ws_sessions")["count"] == 1
    assert result.metric("ws_ping")["count"] == 1
    assert result.metric("ws_ping")["max"] > 0
    assert result.metric("ws_session_duration")["min"] >= 300


def test_close_without_code_uses_1001_like_k6(tmp_path: Path, websockets_server) -> None:
    result = run_events(
        tmp_path,
        """
def default():
    def session(socket):
        socket.on("open", lambda: socket.close())
        socket.on("close", lambda code: record("close", code))
        socket.on("error", lambda e: record("error", e.error()))
    ws.connect(os.environ["TARGET"] + "/echo", session)   # params may be left out, as in k6
    dump()
""",
        websockets_server.url,
    )
    assert result.returncode == 0, result.stderr
    assert events(tmp_path) == [["close", 1001]]


@pytest.mark.parametrize(("code", "expect_error"), [(1000, False), (4001, True), (1011, True)])
def test_server_initiated_close(
    tmp_path: Path, websockets_server, code: int, expect_error: bool
) -> None:
    result = run_events(
        tmp_path,
        f"""
def default():
    def session(socket):
        socket.on("close", lambda code: record("close", code))
        socket.on("error", lambda e: record("error", e.error()))
    ws.connect(os.environ["TARGET"] + "/close?code={code}&reason=bye", None, session)
    dump()
""",
        websockets_server.url,
    )
    assert result.returncode == 0, result.stderr
    log = events(tmp_path)
    if expect_error:
        assert log[0][0] == "error" and str(code) in log[0][1] and "bye" in log[0][1]
        assert log[1] == ["close", code]
    else:
        assert log == [["close", 1000]]


def test_server_ping_fires_ping_and_is_answered(tmp_path: Path, websockets_server) -> None:
    result = run_events(
        tmp_path,
        """
def default():
    def session(socket):
        socket.on("ping", lambda: record("ping"))
        socket.on("ping", lambda: socket.close(1000))
        socket.on("close", lambda code: record("close", code))
    ws.connect(os.environ["TARGET"] + "/ping", None, session)
    dump()
""",
        websockets_server.url,
    )
    assert result.returncode == 0, result.stderr
    assert events(tmp_path) == [["ping"], ["close", 1000]]


def test_one_mebibyte_messages_round_trip(tmp_path: Path, echo_server) -> None:
    result = run_events(
        tmp_path,
        """
import hashlib
BIG = bytes(range(256)) * 4096
TEXT = "é" * (512 * 1024)
def default():
    def session(socket):
        socket.on("open", lambda: (socket.send_binary(BIG), socket.send(TEXT)))
        socket.on("binaryMessage", lambda b: record("binary", len(b), b == BIG))
        def text(m):
            record("text", len(m), m == TEXT)
            socket.close(1000)
        socket.on("message", text)
    ws.connect(os.environ["TARGET"], None, session)
    dump()
""",
        echo_server.url,
    )
    assert result.returncode == 0, result.stderr
    assert events(tmp_path) == [["binary", 1048576, True], ["text", 524288, True]]
    assert result.metric("data_received")["count"] > 2 * 1048576


def test_timers_fire_in_deadline_order_and_stop_with_the_socket(
    tmp_path: Path, echo_server
) -> None:
    result = run_events(
        tmp_path,
        """
def default():
    def session(socket):
        socket.set_timeout(lambda: record("t30"), 30)
        socket.set_timeout(lambda: record("t10"), 10)
        socket.set_timeout(lambda: record("t10b"), 10)
        ticks = []
        def tick():
            ticks.append(1)
            record("tick", len(ticks))
            if len(ticks) == 3:
                socket.close(1000)
        socket.setInterval(tick, 25)
        socket.set_timeout(lambda: record("never"), 5000)
        socket.on("close", lambda: record("close"))
    ws.connect(os.environ["TARGET"], None, session)
    dump()
""",
        echo_server.url,
    )
    assert result.returncode == 0, result.stderr
    log = [item[0] if item[0] != "tick" else f"tick{item[1]}" for item in events(tmp_path)]
    assert log == ["t10", "t10b", "tick1", "t30", "tick2", "tick3", "close"]


def test_a_first_timer_set_by_a_message_handler_fires(tmp_path: Path, echo_server) -> None:
    """A session starts with no timers of its own; one set later, from a handler, must still be
    waited for by the loop (it once kept looking at the shared empty queue it started with)."""
    result = run_events(
        tmp_path,
        """
def default():
    def session(socket):
        socket.on("open", lambda: socket.send("first"))
        def on_message(message):
            record("message", message)
            socket.set_timeout(lambda: (record("timer"), socket.close(1000)), 50)
        socket.on("message", on_message)
        socket.on("close", lambda: record("close"))
    ws.connect(os.environ["TARGET"], None, session)
    dump()
""",
        echo_server.url,
    )
    assert result.returncode == 0, result.stderr
    assert events(tmp_path)[:3] == [["message", "first"], ["timer"], ["close"]]


def test_subprotocol_and_headers_reach_the_server(tmp_path: Path, websockets_server) -> None:
    result = run_events(
        tmp_path,
        """
def default():
    def session(socket):
        socket.on("message", lambda m: (record("message", m), socket.close(1000)))
    res = ws.connect(os.environ["TARGET"] + "/subprotocol", {"subprotocols": ["chat.v1"]}, session)
    record("status", res.status)
    def headers(socket):
        socket.on("message", lambda m: (record("headers", json.loads(m).get("x-test")), socket.close(1000)))
    ws.connect(os.environ["TARGET"] + "/headers", {"headers": {"X-Test": "yes"}}, headers)
    dump()
""",
        websockets_server.url,
    )
    assert result.returncode == 0, result.stderr
    assert events(tmp_path) == [["message", "chat.v1"], ["status", 101], ["headers", "yes"]]
    tagged = [
        point
        for point in result.points_of("ws_connecting")
        if point["data"]["tags"].get("subproto")
    ]
    assert [point["data"]["tags"]["subproto"] for point in tagged] == ["chat.v1"]


def test_refused_handshake_returns_status_body_and_still_emits_session_metrics(
    tmp_path: Path, websockets_server
) -> None:
    result = run_events(
        tmp_path,
        """
def default():
    called = []
    res = ws.connect(os.environ["TARGET"] + "/reject?status=429&body=slow+down", None, lambda s: called.append(1))
    record("res", res.status, res.body, bool(res.error), called)
    check(res, {"status is 101": lambda r: r.status == 101})
    dump()
""",
        websockets_server.url,
    )
    assert result.returncode == 0, result.stderr
    assert events(tmp_path) == [["res", 429, "slow down", True, []]]
    assert "429" in result.stderr  # logged once, in one line
    assert result.metric("ws_sessions")["count"] == 1
    assert result.metric("ws_connecting")["count"] == 1
    assert result.metric("ws_session_duration")["count"] == 1
    assert result.metric("checks")["fails"] == 1
    [point] = result.points_of("ws_sessions")
    assert point["data"]["tags"]["status"] == "429"


def test_refused_port_is_an_error_response_not_a_crash(tmp_path: Path) -> None:
    from servers import free_port

    result = run_events(
        tmp_path,
        """
def default():
    res = ws.connect(os.environ["TARGET"], None, lambda s: None)
    record("res", res.status, res.error)
    dump()
""",
        f"ws://127.0.0.1:{free_port()}",
    )
    assert result.returncode == 0, result.stderr
    [[_, status, error]] = events(tmp_path)
    assert status == 0
    assert "refused" in error.lower()
    assert result.metric("ws_sessions")["count"] == 1


def test_handler_exception_is_logged_once_and_the_run_goes_on(tmp_path: Path, echo_server) -> None:
    result = run_greenws(
        tmp_path,
        """
import os
from greenws import ws
options = {"iterations": 4, "vus": 2}
def default():
    def session(socket):
        def boom(message):
            raise KeyError("boom")
        socket.on("open", lambda: socket.send("x"))
        socket.on("message", boom)
    ws.connect(os.environ["TARGET"], None, session)
""",
        env={"TARGET": echo_server.url},
    )
    assert result.returncode == 0, result.stderr
    # k6's error line on a pipe: logfmt, ``time="…" level=error msg="…"``
    errors = [line for line in result.stderr.splitlines() if " level=error " in line]
    assert len(errors) == 2 and "KeyError: 'boom'" in errors[0]
    assert 'msg="3 more of: KeyError' in errors[1]  # repeats are counted, not printed
    assert "vu=" in result.stderr and "script.py:" in result.stderr
    assert result.metric("iterations")["count"] == 4


def test_send_on_a_closed_socket_is_an_error_event(tmp_path: Path, echo_server) -> None:
    result = run_events(
        tmp_path,
        """
def default():
    holder = []
    def session(socket):
        holder.append(socket)
        socket.on("open", lambda: socket.close(1000))
        socket.on("error", lambda e: record("error", e.error()))
    ws.connect(os.environ["TARGET"], None, session)
    holder[0].send("late")
    dump()
""",
        echo_server.url,
    )
    assert result.returncode == 0, result.stderr
    assert events(tmp_path) == [["error", "send on a closed or closing socket"]]


def test_end_of_test_closes_open_sockets_with_1001(tmp_path: Path, websockets_server) -> None:
    """A session still open when the duration and gracefulStop are over is closed with 1001."""
    result = run_events(
        tmp_path,
        """
options = {"vus": 2, "duration": "1s", "gracefulStop": "0s"}
RUN = "RUN_ID"  # one id for the whole run: each VU runs this line itself

def default():
    ws.connect(os.environ["TARGET"] + "/record?id=" + RUN, None, lambda socket: None)

def teardown(data):
    def read(socket):
        socket.on("message", lambda m: (record("closes", json.loads(m)), socket.close(1000)))
    ws.connect(os.environ["TARGET"] + "/closes?id=" + RUN, None, read)
    dump()
""".replace("RUN_ID", uuid.uuid4().hex),
        websockets_server.url,
    )
    assert result.returncode == 0, result.stderr
    assert events(tmp_path) == [["closes", [1001, 1001]]]
    assert result.metric("ws_sessions")["count"] == 3  # two interrupted sessions and teardown's
    assert "iterations" not in result.summary["metrics"]  # interrupted iterations are not counted


def test_max_message_size_fails_the_session_with_1009(tmp_path: Path, websockets_server) -> None:
    result = run_events(
        tmp_path,
        """
options = {"maxMessageSize": 1000, "tags": {"suite": "limits"}}
def default():
    def session(socket):
        socket.on("binaryMessage", lambda b: record("binary", len(b)))
        socket.on("error", lambda e: record("error", e.error()))
        socket.on("close", lambda code: record("close", code))
    ws.connect(os.environ["TARGET"] + "/binary?size=2000", None, session)
    dump()
""",
        websockets_server.url,
    )
    assert result.returncode == 0, result.stderr
    [error, close] = events(tmp_path)
    assert error[0] == "error"
    assert "protocol error" in error[1] and "1000" in error[1]  # names the limit
    assert close == ["close", 1009]
    assert result.points_of("ws_sessions")[0]["data"]["tags"]["suite"] == "limits"  # options.tags


def test_send_sends_a_non_text_value_as_its_text_as_k6_does(tmp_path: Path, echo_server) -> None:
    """k6's ``socket.send(Date.now())`` works; so does ``send(time.time_ns() // 1_000_000)``."""
    result = run_events(
        tmp_path,
        """
def default():
    def session(socket):
        def opened():
            socket.send(1733500000000)
            socket.send(2.5)
            try:
                socket.send(b"raw")
            except TypeError as error:
                record("refused", str(error))
        socket.on("open", opened)
        socket.on("message", lambda message: record("echo", message))
        socket.set_timeout(lambda: socket.close(1000), 500)
    ws.connect(os.environ["TARGET"], None, session)
    dump()
""",
        echo_server.url,
    )
    assert result.returncode == 0, result.stderr
    assert events(tmp_path) == [
        ["refused", "send() takes text, not bytes: use send_binary()"],
        ["echo", "1733500000000"],
        ["echo", "2.5"],
    ]
    assert result.metric("ws_msgs_sent")["count"] == 2
