"""``ws.open``: recv, request with matching, timeouts, closes, and ``ws_request_duration``."""

from __future__ import annotations

from pathlib import Path

from websocket_scripts import run_logged, tag_values


def test_recv_and_request_against_the_echo_server(tmp_path: Path, echo_server) -> None:
    result, log = run_logged(
        tmp_path,
        """
def default():
    with ws.open(TARGET + "/echo?user=1", {"tags": {"name": "echo"}}) as sock:
        sock.send("a")
        sock.send(b"\\x00b")
        record("recv", sock.recv(timeout=5))
        record("recv binary", list(sock.recv(timeout=5)))
        sock.send("unrelated")                 # arrives before the reply: queued for recv
        reply = sock.request("42:get", timeout=5, match=lambda m: m.startswith("42:"), name="get")
        record("reply", reply)
        record("queued", sock.recv(timeout=5))
        record("any reply", sock.request(b"bin", timeout=5).decode())  # no match: the first
        sock.ping()
        try:
            sock.recv(timeout=0.2)
        except ReceiveTimeout as error:
            record("recv timeout", isinstance(error, TimeoutError))
        try:
            sock.request("7:x", timeout=0.2, match=lambda m: m == "never")
        except ReceiveTimeout:
            record("request timeout")
        record("unmatched kept", sock.recv(timeout=5))
        record("closed inside", sock.closed)
    record("closed after", sock.closed, sock.close_code)
    try:
        sock.send("late")
    except ConnectionClosed as error:
        record("send after close", error.code)

""",
        echo_server.url,
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert log == [
        ["recv", "a"],
        ["recv binary", [0, 98]],
        ["reply", "42:get"],
        ["queued", "unrelated"],
        ["any reply", "bin"],
        ["recv timeout", True],
        ["request timeout"],
        ["unmatched kept", "7:x"],
        ["closed inside", False],
        ["closed after", True, 1000],
        ["send after close", 1000],
    ]
    assert result.metric("ws_request_duration")["count"] == 2  # timed-out requests record none
    assert result.metric("ws_request_duration")["min"] > 0
    assert tag_values(result, "ws_request_duration", "name") == {"get", "echo"}
    assert tag_values(result, "ws_request_duration", "status") == {"101"}
    assert result.metric("ws_ping")["count"] == 1  # the pong was read while recv waited
    assert result.metric("ws_msgs_sent")["count"] == 6
    assert result.metric("ws_msgs_received")["count"] == 6
    assert result.metric("ws_sessions")["count"] == 1
    assert tag_values(result, "ws_sessions", "name") == {"echo"}
    assert "WEBSOCKET" in result.stdout and "ws_request_duration" in result.stdout


def test_closes_errors_and_pings_against_the_websockets_server(
    tmp_path: Path, websockets_server
) -> None:
    result, log = run_logged(
        tmp_path,
        """
def default():
    with ws.open(TARGET + "/close-after?n=2&code=4002&reason=enough") as sock:
        record("echo", sock.request("one", timeout=5), sock.request("two", timeout=5))
        try:
            sock.recv(timeout=5)
        except ConnectionClosed as error:
            record("closed", error.code, error.reason, isinstance(error, ConnectionError))
    with ws.open(TARGET + "/ping") as sock:       # the server pings; we answer while waiting
        record("after ping", sock.request("still here", timeout=5))
    with ws.open(TARGET + "/subprotocol", {"subprotocols": ["chat.v2"]}) as sock:
        record("subprotocol", sock.protocol, sock.recv(timeout=5))
    with ws.open(TARGET + "/close-after?n=1") as sock:
        sock.send("x")
        record("iterated", [message for message in sock])   # until the server closes
    try:
        ws.open(TARGET + "/reject?status=403")
    except ConnectError as error:
        record("rejected", error.response.status)
    try:
        ws.open(TARGET, {"bogus": 1})
    except ValueError as error:
        record("bad param", "bogus" in str(error))
    left_open = ws.open(TARGET + "/echo")           # closed at the end of the iteration

""",
        websockets_server.url,
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert log == [
        ["echo", "one", "two"],
        ["closed", 4002, "enough", True],
        ["after ping", "still here"],
        ["subprotocol", "chat.v2", "chat.v2"],
        ["iterated", ["x"]],
        ["rejected", 403],
        ["bad param", True],
    ]
    assert result.metric("ws_sessions")["count"] == 6
    assert tag_values(result, "ws_sessions", "status") == {"101", "403"}
    assert "1403" in tag_values(result, "ws_sessions", "error_code")
    assert "1000" in tag_values(result, "ws_sessions", "error_code")  # the server's 4002 close


def test_leaving_the_block_or_the_iteration_closes_with_1000(
    tmp_path: Path, websockets_server
) -> None:
    result, log = run_logged(
        tmp_path,
        f"""
def default():
    with ws.open(TARGET + "/record?id=with-{tmp_path.name}") as sock:
        sock.send("x")
    ws.open(TARGET + "/record?id=left-{tmp_path.name}")

def teardown():
    with ws.open(TARGET + "/closes?id=with-{tmp_path.name}") as sock:
        record("with", json.loads(sock.recv(timeout=5)))
    with ws.open(TARGET + "/closes?id=left-{tmp_path.name}") as sock:
        record("left", json.loads(sock.recv(timeout=5)))
""",
        websockets_server.url,
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert log == [["with", [1000]], ["left", [1000]]]
    assert result.metric("ws_sessions")["count"] == 4
