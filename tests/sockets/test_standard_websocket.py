"""``greenws.websockets.WebSocket`` (k6's ``k6/websockets``) end to end, against real servers."""

from __future__ import annotations

from pathlib import Path

from servers import ROOT, ScriptServer
from websocket_scripts import run_logged, tag_values


def test_event_order_handlers_and_listeners(tmp_path: Path, echo_server) -> None:
    result, log = run_logged(
        tmp_path,
        """
def default():
    sock = WebSocket(TARGET + "/echo?session=1")
    record("created", sock.ready_state, sock.readyState == WebSocket.CONNECTING)
    try:
        sock.send("too early")
    except InvalidStateError as error:
        record("early send", error.name)
    sock.onmessage = lambda event: record("replaced handler")
    sock.onmessage = lambda event: record(
        "onmessage", event.type, event.data if isinstance(event.data, str) else
        [type(event.data).__name__, *event.data])
    sock.add_event_listener("message", lambda event: record("listener 1", str(event.data)))
    sock.addEventListener("message", lambda: record("listener 2"))   # no-argument handlers too
    sock.binaryType = "arraybuffer"

    def opened(event):
        record("open", event.type, event.target is sock, event.timestamp > 0, sock.ready_state)
        sock.send("hello")
        sock.send(memoryview(b"\\x00\\x01"))
        sock.ping()

    def ponged(event):
        record("pong", event.type)
        sock.close(4000, "done")
        record("closing", sock.ready_state)

    sock.onopen = opened
    sock.onpong = ponged
    sock.onclose = lambda e: record("close", e.code, e.reason, e.was_clean, e.wasClean, sock.ready_state)
    sock.onerror = lambda e: record("error", e.error)

""",
        echo_server.url,
    )
    assert result.returncode == 0, result.stderr
    assert log[0] == ["created", 0, True]
    assert log[1] == ["early send", "InvalidStateError"]
    assert log[2] == ["open", "open", True, True, 1]
    # the on* handler runs first, then the listeners in the order they were added; the first
    # onmessage was replaced, not added
    assert log[3:6] == [
        ["onmessage", "message", "hello"],
        ["listener 1", "hello"],
        ["listener 2"],
    ]
    assert log[6] == ["onmessage", "message", ["bytearray", 0, 1]]  # arraybuffer: a bytearray
    assert ["replaced handler"] not in log
    assert log[-3] == ["pong", "pong"]
    assert log[-1] == ["close", 4000, "done", True, True, 3]
    assert log[-2] == ["closing", 2]
    assert not [item for item in log if item[0] == "error"]
    assert result.metric("ws_sessions")["count"] == 1
    assert result.metric("ws_msgs_sent")["count"] == 2
    assert result.metric("ws_msgs_received")["count"] == 2
    assert result.metric("ws_ping")["count"] == 1
    assert result.metric("iterations")["count"] == 1
    url = echo_server.url + "/echo?session=1"
    for metric in ("ws_connecting", "ws_sessions", "ws_msgs_sent", "ws_session_duration"):
        assert tag_values(result, metric, "name") == {url}  # name defaults to the url
        assert tag_values(result, metric, "url") == {url}
    assert tag_values(result, "ws_sessions", "status") == {"101"}


def test_close_and_constructor_validation(tmp_path: Path, echo_server) -> None:
    result, log = run_logged(
        tmp_path,
        """
def attempt(label, function):
    try:
        function()
        record(label, "ok")
    except Exception as error:
        record(label, type(error).__name__, getattr(error, "name", ""))

def default():
    attempt("fragment", lambda: WebSocket(TARGET + "/#top"))
    attempt("http", lambda: WebSocket("http://127.0.0.1:1/"))
    attempt("unknown param", lambda: WebSocket(TARGET, params={"timeout": 1}))
    sock = WebSocket(TARGET, None, {"tags": {"name": "checks"}, "headers": {"X-A": "1"}})
    attempt("unknown event", lambda: sock.add_event_listener("bogus", print))
    attempt("binary type", lambda: setattr(sock, "binary_type", "text"))

    def opened():
        for code in (999, 1001, 2999, 5000, True, "1000"):
            attempt(f"code {code!r}", lambda: sock.close(code))
        attempt("reason 124 bytes", lambda: sock.close(1000, "é" * 62))
        record("still open", sock.ready_state)
        attempt("reason 123 bytes", lambda: sock.close(3000, "é" * 61 + "a"))
        attempt("close twice", lambda: sock.close(1000))
        attempt("send while closing", lambda: sock.send("x"))

    sock.onopen = opened
    sock.onclose = lambda event: record("close", event.code, len(event.reason.encode()))
    early = WebSocket(TARGET)
    early.close()                              # before the connection is up
    record("early state", early.ready_state, early.bufferedAmount)
    early.onopen = lambda: record("early open")
    early.onerror = lambda event: record("early error")
    early.onclose = lambda event: record("early close", event.code, event.was_clean)

""",
        echo_server.url,
    )
    assert result.returncode == 0, result.stderr
    outcomes = {item[0]: item[1:] for item in log}
    assert outcomes["fragment"][0] == "ValueError"
    assert outcomes["http"][0] == "ValueError"
    assert outcomes["unknown param"][0] == "ValueError"
    assert outcomes["unknown event"][0] == "ValueError"
    assert outcomes["binary type"][0] == "ValueError"
    for code in ("999", "1001", "2999", "5000", "True", "'1000'"):
        assert outcomes[f"code {code}"] == ["InvalidAccessError", "InvalidAccessError"], code
    assert outcomes["reason 124 bytes"] == ["DOMSyntaxError", "SyntaxError"]
    assert outcomes["still open"] == [1]
    assert outcomes["reason 123 bytes"] == ["ok"]
    assert outcomes["close twice"] == ["ok"]
    assert outcomes["send while closing"] == ["InvalidStateError", "InvalidStateError"]
    assert outcomes["close"] == [3000, 123]
    assert outcomes["early state"] == [2, 0]
    assert "early open" not in outcomes
    assert outcomes["early close"] == [1006, False]
    assert [item[0] for item in log].index("early error") < [item[0] for item in log].index(
        "early close"
    )
    assert tag_values(result, "ws_sessions", "name") == {"checks", echo_server.url}


def test_several_sockets_against_the_websockets_server(tmp_path: Path, websockets_server) -> None:
    result, log = run_logged(
        tmp_path,
        """
def default():
    def watch(label, sock):
        sock.onopen = lambda e: record(label, "open", sock.protocol)
        sock.onmessage = lambda e: record(label, "message", e.data if isinstance(e.data, str) else len(e.data))
        sock.onping = lambda e: (record(label, "ping"), sock.close())
        sock.onerror = lambda e: record(label, "error")
        sock.onclose = lambda e: record(label, "close", e.code, e.reason, e.was_clean)

    sub = WebSocket(TARGET + "/subprotocol", ["chat.v1", "chat.v2"])
    watch("sub", sub)
    sub.add_event_listener("message", lambda e: sub.close())
    watch("closed", WebSocket(TARGET + "/close?code=4001&reason=bye"))
    watch("ping", WebSocket(TARGET + "/ping"))
    binary = WebSocket(TARGET + "/binary?size=1000")
    watch("binary", binary)
    binary.add_event_listener("message", lambda e: record("binary", "type", type(e.data).__name__))
    binary.add_event_listener("message", lambda e: binary.close())
    watch("refused", WebSocket("ws://127.0.0.1:1/"))
    watch("rejected", WebSocket(TARGET + "/reject?status=429"))

""",
        websockets_server.url,
    )
    assert result.returncode == 0, result.stderr
    by_socket: dict[str, list[list[object]]] = {}
    for label, *event in log:
        by_socket.setdefault(label, []).append(event)
    assert by_socket["sub"] == [
        ["open", "chat.v1"],
        ["message", "chat.v1"],
        ["close", 1000, "", True],
    ]
    # a server's close is a clean close, whatever its code: no error event
    assert by_socket["closed"] == [["open", ""], ["close", 4001, "bye", True]]
    assert by_socket["ping"] == [["open", ""], ["ping"], ["close", 1000, "", True]]
    assert by_socket["binary"][1:3] == [["message", 1000], ["type", "bytes"]]
    for failed in ("refused", "rejected"):
        assert by_socket[failed] == [["error"], ["close", 1006, "", False]]
    assert result.metric("ws_sessions")["count"] == 6
    assert result.metric("ws_connecting")["count"] == 6
    # as k6, a dial that got no HTTP response has no status tag
    assert {None, "429", "101"} == tag_values(result, "ws_sessions", "status")
    errors = tag_values(result, "ws_sessions", "error_code")
    assert "1212" in errors  # dial refused, tagged as the callback Socket tags it
    assert result.metric("iterations")["count"] == 1


def test_headers_and_tags_reach_server_and_samples(tmp_path: Path, websockets_server) -> None:
    result, log = run_logged(
        tmp_path,
        """
def default():
    params = {"headers": {"X-Greenws": "yes"}, "tags": {"name": "hdr", "room": "7"}}
    sock = WebSocket(TARGET + "/headers?token=1", params=params)
    sock.onmessage = lambda e: (record(json.loads(e.data).get("x-greenws")), sock.close())

""",
        websockets_server.url,
    )
    assert result.returncode == 0, result.stderr
    assert log == [["yes"]]
    assert tag_values(result, "ws_sessions", "name") == {"hdr"}
    assert tag_values(result, "ws_sessions", "room") == {"7"}
    assert tag_values(result, "ws_msgs_received", "url") == {
        websockets_server.url + "/headers?token=1"
    }


def test_compression_is_negotiated_and_reported(tmp_path: Path) -> None:
    server = ScriptServer(ROOT / "tests" / "interop" / "deflate_server.py")
    try:
        result, log = run_logged(
            tmp_path,
            """
def default():
    sock = WebSocket(TARGET + "/echo", params={"compression": "deflate"})
    sock.onopen = lambda: sock.send("squeeze " * 1000)
    def message(event):
        record(sock.extensions, len(event.data))
        sock.close()
    sock.onmessage = message
    with ws.open(TARGET + "/big?size=5000", {"compression": "deflate"}) as sequential:
        record("sequential", len(sequential.recv(timeout=5)))

""",
            server.url,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert log == [["sequential", 5000], ["permessage-deflate", 8000]]
    # compressed on the wire: far fewer bytes than the 8000-character message both ways
    assert result.metric("data_sent")["count"] < 8000
