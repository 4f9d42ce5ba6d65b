"""The Socket.IO kit against two independent servers, python-socketio and Node's socket.io,
both with 300 ms / 200 ms heartbeats: every feature once, counts checked against what the
server counted, heartbeats through ``sleep()``, broadcasts across VUs, reconnection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import ROOT, RunResult, run_greenws, run_recorded
from servers import ScriptServer

SERVERS = {
    "python-socketio": ROOT / "tests" / "kits" / "socketio_server.py",
    "node-socket.io": ROOT / "tests" / "kits" / "socketio_server.js",
}

#: Prepended to every script: ``record(...)`` appends a JSON line to the events file, and
#: ``stats()`` asks the server what it counted (with a session of its own).
PRELUDE = """
import json, os
from greenws import sleep, check
from greenws.kits import socketio
from greenws.kits.session import ProtocolError, ConnectionClosed, ReceiveTimeout

TARGET = os.environ["TARGET"]


def stats():
    with socketio.connect(TARGET, {"tags": {"name": "stats"}}) as sio:
        return sio.call("stats", timeout=5)

def plain(value):
    if isinstance(value, bytes):
        return "bytes:" + value.hex()
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value
"""


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of one of the two servers."""
    process = ScriptServer(SERVERS[request.param])
    try:
        yield f"http://{process.host}:{process.port}"
    finally:
        process.stop()


def run(tmp_path: Path, body: str, url: str, *args: str) -> tuple[RunResult, list[Any]]:
    return run_recorded(tmp_path, PRELUDE + body, *args, env={"TARGET": url})


def points(result: RunResult, metric: str, **tags: str) -> list[dict[str, Any]]:
    """The JSON-output points of ``metric`` whose tags include ``tags``, stats sessions left out."""
    return [
        point
        for point in result.points_of(metric)
        if point["data"]["tags"].get("name") != "stats"
        and all(point["data"]["tags"].get(key) == value for key, value in tags.items())
    ]


def delta(before: dict[str, Any], after: dict[str, Any], key: str) -> Any:
    if isinstance(after.get(key), dict):
        return {
            k: v - before.get(key, {}).get(k, 0)
            for k, v in after[key].items()
            if v != before.get(key, {}).get(k, 0)
        }
    return after.get(key, 0) - before.get(key, 0)


def test_events_acks_binary_namespaces_refusals_and_kick(tmp_path: Path, server: str) -> None:
    result, log = run(
        tmp_path,
        """
def default():
    before = stats()
    with socketio.connect(TARGET, auth={"token": "secret"}) as sio:
        # python-socketio sends this before the CONNECT ack, Node after it: recv has it either way
        event, args = sio.recv(timeout=5, event="welcome")
        # (python-engineio advertises int(seconds) * 1000: 0 for 0.3 s, so not checked here)
        record("welcome", event, args[0]["sid"] == sio.sid, sio.engine.max_payload > 0)
        record("add", sio.call("add", 1, 2))
        record("ack=True", sio.emit("add", 2, 3, ack=True))
        record("echo", plain(sio.call("echo", "a", b"\\x00\\x01", {"k": [b"z"]})))
        sio.emit("binary", b"\\xff" * 3, {"nested": b"\\x01"})
        record("binary", plain(sio.recv(timeout=5, event="binary")))
        sio.on("question", lambda question: "yes to " + question)
        sio.emit("ask", "ready?")
        record("answer", sio.recv(timeout=5, event="answer"))
        admin = sio.namespace("/admin", auth={"token": "admin"})
        record("whoami", admin.call("whoami"), admin.connected, admin.sid is not None)
        try:
            sio.recv(timeout=0.2)
        except ReceiveTimeout:
            record("nothing else queued")
    record("closed", sio.closed, sio.close_code)
    for kwargs in ({"auth": {"token": "bad"}}, {"namespace": "/admin"}):
        try:
            socketio.connect(TARGET, **kwargs)
        except ProtocolError as error:
            record("refused", str(error))
    with socketio.connect(TARGET) as sio:
        reasons = []
        sio.on("disconnect", reasons.append)
        sio.emit("kick")
        try:
            sio.recv(timeout=5, event="never sent")
        except ConnectionClosed as error:
            record("kicked", error.reason, reasons)
    after = stats()
    record("stats", before, after)
""",
        server,
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    stats = log.pop()
    assert log == [
        ["welcome", "welcome", True, True],
        ["add", 3],
        ["ack=True", 5],
        ["echo", ["a", "bytes:0001", {"k": ["bytes:7a"]}]],
        ["binary", ["binary", ["bytes:ffffff", {"nested": "bytes:01"}]]],
        ["answer", ["answer", ["yes to ready?"]]],
        ["whoami", "admin", True, True],
        ["nothing else queued"],
        ["closed", True, 1000],
        ["refused", "socketio connect_error on /: bad token"],
        ["refused", "socketio connect_error on /admin: admins only"],
        ["kicked", "io server disconnect", ["io server disconnect"]],
    ]
    _, before, after = stats
    # what the client counted is what the server counted
    sent: dict[str, int] = {}
    for point in points(result, "socketio_events_sent"):
        event = point["data"]["tags"]["event"]
        sent[event] = sent.get(event, 0) + 1
    assert sent == delta(before, after, "events")
    assert sent == {"add": 2, "echo": 1, "binary": 1, "ask": 1, "whoami": 1, "kick": 1}
    assert delta(before, after, "connects") == 2 + 1  # the second stats() session's own
    assert delta(before, after, "admin_connects") == 1
    assert delta(before, after, "refused") == 2
    assert delta(before, after, "answers") == 1
    assert delta(before, after, "kicks") == 1
    connects = points(result, "socketio_connect_duration")
    assert sorted(p["data"]["tags"]["namespace"] for p in connects) == ["/", "/", "/admin"]
    assert all(p["data"]["value"] > 0 for p in connects)
    acks = points(result, "socketio_ack_duration")
    assert sorted(p["data"]["tags"]["event"] for p in acks) == ["add", "add", "echo", "whoami"]
    assert all(p["data"]["value"] > 0 for p in acks)
    received = sorted(
        p["data"]["tags"]["event"] for p in points(result, "socketio_events_received")
    )
    assert received == ["answer", "binary", "question", "welcome", "welcome"]
    assert "socketio_reconnects" not in result.summary["metrics"]
    assert "socketio_ack_duration" in result.stdout


def test_heartbeats_keep_a_sleeping_session_and_a_raw_socket_is_dropped(
    tmp_path: Path, server: str
) -> None:
    result, log = run(
        tmp_path,
        """
from greenws import ws

def default():
    before = stats()
    with socketio.connect(TARGET) as sio:
        sleep(2.0)                       # ~6 ping intervals of 0.3 s, pong timeout 0.2 s
        record("kit after sleep", sio.call("add", 20, 22, timeout=5), sio.closed)
    url = TARGET.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    with ws.open(url) as sock:           # the bug the kit fixes: nobody answers the pings
        sock.send("40")
        sleep(2.0)
        seen = []
        for _ in range(20):
            try:
                seen.append(sock.recv(timeout=5)[:1])
            except ConnectionClosed:
                record("raw dropped", "2" in seen)
                break
    after = stats()
    record("reasons", delta_reasons(before, after))

def delta_reasons(before, after):
    was = before.get("reasons", {})
    return {k: v - was.get(k, 0) for k, v in after.get("reasons", {}).items() if v != was.get(k, 0)}
""",
        server,
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert log[:2] == [["kit after sleep", 42, False], ["raw dropped", True]]
    reasons = log[2][1]
    # the raw socket went for its unanswered pings (Node says "ping timeout"; python-engineio's
    # WebSocket loop gives up first and says "transport close"); the kit's session and the first
    # stats() session left saying so themselves (a DISCONNECT: "client ...")
    dropped = {reason: n for reason, n in reasons.items() if "client" not in reason}
    assert dropped in ({"ping timeout": 1}, {"transport close": 1}), reasons
    assert sum(reasons.values()) - 1 == 2, reasons
    assert "socketio_reconnects" not in result.summary["metrics"]
    assert len(points(result, "socketio_events_received", event="welcome")) == 1


def test_broadcasts_reach_the_other_vus_with_their_latency(tmp_path: Path, server: str) -> None:
    result, log = run(
        tmp_path,
        """
import uuid

options = {"scenarios": {"chat": {"executor": "per-vu-iterations", "vus": 3, "iterations": 1}}}

def setup():
    return stats()

def default():
    with socketio.connect(TARGET) as sio:
        got = []
        sio.on("chat", lambda room, text: got.append(text))
        record("joined", sio.call("join", "room-b", timeout=5))
        sleep(1.5)                                   # the others have joined too
        record("acked", sio.call("chat", "room-b", "hello " + uuid.uuid4().hex, timeout=5))
        for _ in range(100):
            if len(got) >= 2:
                break
            sleep(0.05)
        record("got", len(got))

def teardown(before):
    record("stats", before, stats())
""",
        server,
    )
    assert result.returncode == 0, result.stderr
    _, before, after = log.pop()
    assert (
        sorted(map(tuple, log))
        == [("acked", True)] * 3 + [("got", 2)] * 3 + [("joined", "joined")] * 3
    )
    assert delta(before, after, "events") == {"join": 3, "chat": 3}
    latency = points(result, "socketio_broadcast_latency")
    assert len(latency) == 6  # each VU's message reached the two others, each timed
    assert all(p["data"]["value"] > 0 and p["data"]["tags"]["event"] == "chat" for p in latency)
    assert len(points(result, "socketio_events_received", event="chat")) == 6
    assert result.metric("socketio_broadcast_latency")["count"] == 6


def test_reconnects_after_an_unexpected_drop(tmp_path: Path, server: str) -> None:
    result, log = run(
        tmp_path,
        """
def default():
    before = stats()
    with socketio.connect(TARGET, reconnect=True, reconnect_delay=0.1) as sio:
        events = []
        sio.on("disconnect", lambda reason: events.append(["disconnect", reason]))
        sio.on("reconnect", lambda: events.append(["reconnect"]))
        sio.emit("drop")
        for _ in range(100):
            if ["reconnect"] in events:
                break
            sleep(0.05)
        record("after", sio.call("add", 2, 3, timeout=5), events)
    with socketio.connect(TARGET) as sio:          # without reconnect=True, a drop ends it
        sio.emit("drop")
        try:
            sio.recv(timeout=5, event="never sent")
        except ConnectionClosed:
            record("ended", sio.closed)
    record("stats", before, stats())
""",
        server,
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    _, before, after = log.pop()
    assert log == [
        ["after", 5, [["disconnect", "transport close"], ["reconnect"]]],
        ["ended", True],
    ]
    assert result.metric("socketio_reconnects")["count"] == 1
    assert delta(before, after, "drops") == 2
    assert delta(before, after, "connects") == 3 + 1  # the second stats() session's own
    assert len(points(result, "socketio_connect_duration")) == 3


def test_the_chat_example_runs_and_passes_its_thresholds(tmp_path: Path, server: str) -> None:
    example = ROOT / "examples" / "protocols" / "socketio_chat.py"
    env = {"SOCKETIO_URL": server}
    result = run_greenws(tmp_path, example, "--vus", "2", "-d", "3s", env=env)
    assert result.returncode == 0, result.stderr
    assert result.metric("checks")["fails"] == 0
    assert result.metric("checks")["passes"] >= 2 * 6  # each VU: a join and five lines
    assert result.metric("socketio_ack_duration")["min"] > 0
    assert result.metric("socketio_broadcast_latency")["count"] >= 1
    assert result.metric("chat_lines_heard")["count"] >= 1
    assert "socketio_broadcast_latency" in result.stdout


def test_a_session_started_on_long_polling_upgrades_to_websocket(
    tmp_path: Path, server: str
) -> None:
    result, log = run(
        tmp_path,
        """
def default():
    before = stats()
    with socketio.connect(TARGET, transport="polling-then-websocket", auth={"token": "s"}) as sio:
        # the welcome and the CONNECT ack came in a long-polling GET, the rest on the WebSocket
        event, args = sio.recv(timeout=5, event="welcome")
        record("welcome", event, args[0]["sid"] == sio.sid)
        record("transport", sio.call("transport", timeout=5))
        record("echo", plain(sio.call("echo", "a", b"\\x00\\x01", timeout=5)))
        sleep(1.5)                       # 5 ping intervals, answered on the WebSocket
        record("after sleep", sio.call("add", 1, 2, timeout=5), sio.closed)
    try:
        socketio.connect(TARGET, transport="polling-then-websocket", auth={"token": "bad"})
    except ProtocolError as error:
        record("refused", str(error))
    try:
        socketio.connect(TARGET, transport="long-polling")
    except ValueError as error:
        record("bad transport", str(error))
    record("stats", before, stats())
""".replace('"token": "s"', '"token": "secret"'),
        server,
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    _, before, after = log.pop()
    assert log == [
        ["welcome", "welcome", True],
        ["transport", "websocket"],
        ["echo", ["a", "bytes:0001"]],
        ["after sleep", 3, False],
        ["refused", "socketio connect_error on /: bad token"],
        [
            "bad transport",
            "socketio.connect: transport must be one of ('websocket', "
            "'polling-then-websocket'), not 'long-polling'",
        ],
    ]
    # the server saw the session start on polling (the second stats() session on WebSocket)
    assert delta(before, after, "starts") == {"polling": 1, "websocket": 1}
    assert delta(before, after, "events") == {"transport": 1, "echo": 1, "add": 1}
    assert delta(before, after, "refused") == 1
    upgrades = points(result, "socketio_upgrade_duration")
    assert len(upgrades) == 1 and upgrades[0]["data"]["value"] > 0
    # samples taken before the WebSocket existed carry its tags all the same
    connects = points(result, "socketio_connect_duration")
    assert [p["data"]["tags"]["status"] for p in connects] == ["101"]
    assert "sid=" in connects[0]["data"]["tags"]["url"]
    welcomes = points(result, "socketio_events_received", event="welcome")
    assert [p["data"]["tags"]["status"] for p in welcomes] == ["101"]


def test_a_server_that_stops_pinging_is_taken_for_dead(tmp_path: Path) -> None:
    silent = ScriptServer(ROOT / "tests" / "kits" / "socketio_silent_server.py", "2")
    try:
        result, log = run(
            tmp_path,
            """
def default():
    with socketio.connect(TARGET) as sio:
        reasons = []
        sio.on("disconnect", reasons.append)
        try:
            sio.recv(timeout=10)         # 2 pings, then silence: over in about 0.6 + 0.5 s
        except ConnectionClosed as error:
            record("ended", error.code, error.reason, reasons)
    with socketio.connect(TARGET, reconnect=True, reconnect_delay=0.1) as sio:
        events = []
        sio.on("disconnect", lambda reason: events.append(reason))
        sio.on("reconnect", lambda: events.append("reconnect"))
        for _ in range(100):
            if "reconnect" in events:
                break
            sleep(0.05)
        record("reconnected", events, sio.call("stats", timeout=5)["sessions"])
    with socketio.connect(TARGET, ping_watchdog=False) as sio:
        sleep(2.0)
        record("kept without the watchdog", sio.closed)
    try:                                 # a WebSocket-only server refuses polling: 426
        socketio.connect(TARGET, transport="polling-then-websocket")
    except socketio.PollingError as error:
        record("polling refused", error.response.status, str(error).split(": ")[1][:8])
""",
            f"http://{silent.host}:{silent.port}",
            "--iterations",
            "1",
        )
    finally:
        silent.stop()
    assert result.returncode == 0, result.stderr
    assert log == [
        ["ended", 4000, "ping timeout", ["ping timeout"]],
        ["reconnected", ["ping timeout", "reconnect"], 3],
        ["kept without the watchdog", False],
        ["polling refused", 426, "HTTP 426"],
    ]
    assert result.metric("socketio_reconnects")["count"] == 1
    assert "no ping from the server in" in result.stderr
