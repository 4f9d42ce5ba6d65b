"""Misbehaving servers end to end: each fault of ``fault_server.py`` against a real ``greenws run``.

Every run has two scenarios: ``fault`` talks to the fault server, ``echo`` keeps a second VU busy
with short echo sessions against the echo server, so each test also proves that one broken
session neither hangs the run nor disturbs another VU. Events are appended to a JSON-lines file
as they happen (a VU cut off at the end of the test still leaves its record).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import RunResult, run_greenws
from servers import ROOT, ScriptServer, free_port, self_signed_certificate

ECHO_ITERATIONS = 20

SCRIPT = """
import json, os
from greenws import ws

FAULT = os.environ["FAULT_URL"]
ECHO = os.environ["ECHO_URL"]

def record(*item):
    with open(os.environ["EVENTS_FILE"], "a") as handle:
        handle.write(json.dumps(list(item)) + "\\n")

def listen(socket):
    socket.on("open", lambda: record("open"))
    socket.on("error", lambda e: record("error", e.error()))
    socket.on("close", lambda code: record("close", code))
    socket.on("pong", lambda: record("pong"))

def echo():
    def session(socket):
        socket.on("open", lambda: socket.send("hi"))
        socket.on("message", lambda m: socket.close(1000))
    ws.connect(ECHO, None, session)

FAULT_SCENARIO = {OPTIONS} or {
    "executor": "per-vu-iterations", "vus": 1, "iterations": 1, "maxDuration": "30s"
}
options = {
    "maxMessageSize": 1000,
    "scenarios": {
        "fault": {"exec": "fault", **FAULT_SCENARIO},
        "echo": {"executor": "per-vu-iterations", "vus": 1, "iterations": ECHO_ITERATIONS,
                 "exec": "echo", "maxDuration": "30s"},
    },
}

def fault():
{BODY}
"""

CONNECT = """\
    res = ws.connect(FAULT + {path!r}, {params}, listen)
    record("response", res.status, res.error, res.error_code, res.body)
"""


class FaultServer(ScriptServer):
    """The fault server with its extra listeners: ``tls_url`` (untrusted certificate) and
    ``tls_stall_url`` (a TLS handshake that never completes), both ``wss://``."""

    def __init__(self, cert: Path, key: Path) -> None:
        script = ROOT / "tests" / "faults" / "fault_server.py"
        super().__init__(script, "--cert", str(cert), "--key", str(key))
        assert self.proc.stdout is not None
        addresses = {}
        for _ in range(2):  # printed right after the first line, before serving
            kind, _, address = self.proc.stdout.readline().decode().strip().partition(" on ")
            addresses[kind] = address
        self.tls_url = f"wss://{addresses['tls']}"
        self.tls_stall_url = f"wss://{addresses['tls-stall']}"


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultServer]:
    server = FaultServer(*self_signed_certificate(tmp_path_factory.mktemp("fault-tls")))
    try:
        yield server
    finally:
        server.stop()


def run_fault(
    tmp_path: Path,
    base_url: str,
    echo_url: str,
    body: str,
    options: dict[str, Any] | None = None,
) -> tuple[RunResult, list[list[Any]]]:
    script = (
        SCRIPT.replace("{OPTIONS}", repr(options or {}))
        .replace("ECHO_ITERATIONS", str(ECHO_ITERATIONS))
        .replace("{BODY}", body)
    )
    events_file = tmp_path / "events.ndjson"
    env = {"FAULT_URL": base_url, "ECHO_URL": echo_url, "EVENTS_FILE": str(events_file)}
    result = run_greenws(tmp_path, script, env=env, timeout=60)  # a hang fails here
    assert result.returncode == 0, result.stderr
    lines = events_file.read_text().splitlines() if events_file.exists() else []
    # The other VU is unaffected: every echo iteration completed, with no error tags.
    echo_iterations = [
        p for p in result.points_of("iterations") if p["data"]["tags"].get("scenario") == "echo"
    ]
    assert len(echo_iterations) == ECHO_ITERATIONS
    echo_sessions = [
        p for p in result.points_of("ws_sessions") if p["data"]["tags"]["url"] == echo_url
    ]
    assert len(echo_sessions) == ECHO_ITERATIONS
    assert not [p for p in echo_sessions if "error" in p["data"]["tags"]]
    return result, [json.loads(line) for line in lines]


def fault_tags(result: RunResult, metric: str, url_prefix: str) -> list[dict[str, str]]:
    return [
        p["data"]["tags"]
        for p in result.points_of(metric)
        if p["data"]["tags"]["url"].startswith(url_prefix)
    ]


def assert_tagged(
    result: RunResult, url_prefix: str, status: str, error: str, error_code: int
) -> None:
    """ws_sessions and ws_session_duration (and ws_connecting for a failed dial) carry the tags."""
    for metric in ("ws_sessions", "ws_session_duration"):
        [tags] = fault_tags(result, metric, url_prefix)
        # k6 tags status only when there was an HTTP response
        assert tags.get("status", "no status tag") == (status if status != "0" else "no status tag")
        assert tags["error"] == error
        assert tags["error_code"] == str(error_code)


@pytest.fixture
def echo_url(echo_server) -> str:
    return echo_server.url + "/"


# -- before the WebSocket is up: the Response carries the error ------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status", "error_code", "error_tag", "message"),
    [
        ("/stall-handshake", {"timeout": "1s"}, 0, 1050, "request timeout", "timed out"),
        ("/reject?status=403&body=nope", None, 403, 1403, "HTTP 403 Fault", "HTTP 403"),
        ("/reject?status=503&body=later", None, 503, 1503, "HTTP 503 Fault", "HTTP 503"),
        ("/bad-accept", None, 101, 1000, None, "Sec-WebSocket-Accept mismatch"),
    ],
)
def test_failed_handshake_is_a_tagged_error_response(
    tmp_path: Path,
    fault_server: ScriptServer,
    echo_url: str,
    path: str,
    params: Any,
    status: int,
    error_code: int,
    error_tag: str | None,
    message: str,
) -> None:
    body = CONNECT.format(path=path, params=params)
    result, log = run_fault(tmp_path, fault_server.url, echo_url, body)
    [[kind, got_status, error, got_code, response_body]] = log  # the handler never ran
    assert kind == "response" and got_status == status and got_code == error_code
    assert message in error
    if status >= 400:
        assert response_body == path.rsplit("=", 1)[1]
    tag = error_tag or error
    assert_tagged(result, fault_server.url + path.split("?")[0], str(status), tag, error_code)
    [connecting] = fault_tags(result, "ws_connecting", fault_server.url)
    assert connecting["error_code"] == str(error_code)


def test_refused_port_is_tagged_1212(tmp_path: Path, echo_url: str) -> None:
    body = CONNECT.format(path="/", params=None)
    dead = f"ws://127.0.0.1:{free_port()}"
    result, log = run_fault(tmp_path, dead, echo_url, body)
    [[_, status, error, code, _]] = log
    assert (status, code) == (0, 1212) and "refused" in error.lower()
    assert_tagged(result, dead, "0", "dial: connection refused", 1212)


# -- after the WebSocket is up: error and close events, tags on the session's end ------------


@pytest.mark.parametrize(
    ("path", "message", "close_code", "error_tag", "error_code"),
    [
        ("/bad-utf8", "invalid UTF-8", 1007, "websocket: close 1007 (invalid payload data)", 1000),
        (
            "/too-big?size=5000",
            "protocol error",
            1009,
            "websocket: close 1009 (message too big)",
            1000,
        ),
        (
            "/bad-close?code=1005",
            "invalid close code 1005",
            1002,
            "websocket: close 1002 (protocol error)",
            1000,
        ),
        (
            "/bad-close?code=999",
            "invalid close code 999",
            1002,
            "websocket: close 1002 (protocol error)",
            1000,
        ),
        ("/reset", "connection reset", 1006, "read: connection reset by peer", 1220),
    ],
)
def test_session_failure_fires_error_then_close_and_tags_the_session(
    tmp_path: Path,
    fault_server: ScriptServer,
    echo_url: str,
    path: str,
    message: str,
    close_code: int,
    error_tag: str,
    error_code: int,
) -> None:
    body = CONNECT.format(path=path, params=None)
    result, log = run_fault(tmp_path, fault_server.url, echo_url, body)
    assert log[0] == ["open"]
    assert log[1][0] == "error" and message.lower() in log[1][1].lower(), log
    assert log[2] == ["close", close_code]
    assert log[3][:4] == ["response", 101, "", 0]  # the handshake itself succeeded
    assert len(log) == 4
    assert_tagged(result, fault_server.url + path.split("?")[0], "101", error_tag, error_code)
    [connecting] = fault_tags(result, "ws_connecting", fault_server.url)
    assert "error" not in connecting  # the dial was fine


def test_silent_server_is_ended_by_a_timer_and_the_close_timeout(
    tmp_path: Path, fault_server: ScriptServer, echo_url: str
) -> None:
    body = """\
    def session(socket):
        listen(socket)
        socket.set_timeout(lambda: socket.close(), 300)
    res = ws.connect(FAULT + "/stall", None, session)
    record("response", res.status, res.error, res.error_code, res.body)
"""
    result, log = run_fault(tmp_path, fault_server.url, echo_url, body)
    assert log[0] == ["open"]
    assert log[1][0] == "error" and "did not answer the close frame" in log[1][1]
    assert log[2] == ["close", 1006]
    assert_tagged(
        result, fault_server.url + "/stall", "101", "websocket: close handshake timed out", 1050
    )


def test_standard_websocket_unanswered_close_ends_after_the_close_timeout(
    tmp_path: Path, fault_server: ScriptServer, echo_url: str
) -> None:
    body = """\
    from greenws.websockets import WebSocket
    sock = WebSocket(FAULT + "/stall")
    sock.onopen = lambda: sock.close(1000)
    sock.onerror = lambda e: record("error", e.error)
    sock.onclose = lambda e: record("close", e.code, e.was_clean, sock.ready_state)
"""
    result, log = run_fault(tmp_path, fault_server.url, echo_url, body)
    assert log[0][0] == "error" and "did not answer the close frame" in log[0][1], log
    assert log[1] == ["close", 1006, False, 3]
    assert len(log) == 2
    assert_tagged(
        result, fault_server.url + "/stall", "101", "websocket: close handshake timed out", 1050
    )


def test_standard_websocket_interrupted_while_dialling_runs_no_handler(
    tmp_path: Path, fault_server: ScriptServer, echo_url: str
) -> None:
    # A lone socket is dialled on the VU's own greenlet: the end of the test interrupts the
    # VU inside that dial, which ends like a dial greenlet killed by it (nothing was dialled,
    # so no session samples and no handler).
    body = """\
    from greenws.websockets import WebSocket
    sock = WebSocket(FAULT + "/stall-handshake")
    sock.onopen = lambda: record("open")
    sock.onerror = lambda e: record("error", e.error)
    sock.onclose = lambda e: record("close", e.code)
"""
    options = {"executor": "constant-vus", "vus": 1, "duration": "1s", "gracefulStop": "0s"}
    result, log = run_fault(tmp_path, fault_server.url, echo_url, body, options)
    assert log == []
    assert fault_tags(result, "ws_sessions", fault_server.url) == []
    assert fault_tags(result, "ws_connecting", fault_server.url) == []


def test_unanswered_ping_records_no_ping_time_and_the_session_closes_normally(
    tmp_path: Path, fault_server: ScriptServer, echo_url: str
) -> None:
    body = """\
    def session(socket):
        listen(socket)
        socket.on("open", socket.ping)
        socket.set_timeout(lambda: socket.close(), 300)
    res = ws.connect(FAULT + "/no-pong", None, session)
    record("response", res.status, res.error, res.error_code, res.body)
"""
    result, log = run_fault(tmp_path, fault_server.url, echo_url, body)
    assert log[:2] == [["open"], ["close", 1001]]
    assert "ws_ping" not in result.summary["metrics"]
    for metric in ("ws_sessions", "ws_session_duration"):
        [tags] = fault_tags(result, metric, fault_server.url)
        assert "error" not in tags and "error_code" not in tags


def test_server_that_stops_reading_blocks_send_until_the_test_ends(
    tmp_path: Path, fault_server: ScriptServer, echo_url: str
) -> None:
    body = """\
    def session(socket):
        listen(socket)
        def flood():
            for i in range(2000):  # bounded: 2000 x 256 KiB; the buffers fill long before
                socket.send_binary(bytes(256 * 1024))
                record("sent", i)
        socket.on("open", flood)
    ws.connect(FAULT + "/no-read", None, session)
    record("returned")
"""
    options = {"executor": "constant-vus", "vus": 1, "duration": "2s", "gracefulStop": "0s"}
    _, log = run_fault(tmp_path, fault_server.url, echo_url, body, options)
    sent = [item for item in log if item[0] == "sent"]
    assert log[0] == ["open"]
    assert 0 < len(sent) < 2000  # the send blocked once the buffers were full
    assert ["returned"] not in log  # the iteration was interrupted, not finished


# -- TLS that fails: before the WebSocket is up, a tagged error and nothing that hangs --------


def test_untrusted_certificate_is_tagged_1310(
    tmp_path: Path, fault_server: FaultServer, echo_url: str
) -> None:
    body = """\
    res = ws.connect(FAULT + "/reject?status=403&body=tls", None, listen)
    record("response", res.status, res.error, res.error_code, res.body)
    res = ws.connect(FAULT + "/reject?status=403&body=tls", {"insecureSkipTLSVerify": True}, listen)
    record("response", res.status, res.error, res.error_code, res.body)
"""
    result, log = run_fault(tmp_path, fault_server.tls_url, echo_url, body)
    [refused, skipped] = log  # the handler never ran
    assert refused[:2] == ["response", 0] and refused[3:] == [1310, None]
    assert "CERTIFICATE_VERIFY_FAILED" in refused[2] and "\n" not in refused[2]
    # The same server without verification: TLS works, the route answers; the refusal above
    # was the certificate's doing.
    assert skipped == ["response", 403, "handshake refused: HTTP 403 Fault", 1403, "tls"]
    tags = fault_tags(result, "ws_sessions", fault_server.tls_url)
    assert [(t["error_code"], t["error"]) for t in tags] == [
        ("1310", "x509: unknown authority"),
        ("1403", "HTTP 403 Fault"),
    ]


def test_plaintext_server_addressed_with_wss_is_a_tls_error(
    tmp_path: Path, fault_server: FaultServer, echo_url: str
) -> None:
    # The plain port answers the ClientHello with an HTTP 400, as a plain HTTP server does.
    plain_as_tls = fault_server.url.replace("ws://", "wss://")
    body = CONNECT.format(path="/", params={"timeout": "5s"})
    result, log = run_fault(tmp_path, plain_as_tls, echo_url, body)
    [[kind, status, error, code, response_body]] = log
    assert (kind, status, code, response_body) == ("response", 0, 1300, None)
    assert error.startswith(f"dial 127.0.0.1:{fault_server.port} failed: TLS error: "), error
    [tags] = fault_tags(result, "ws_sessions", plain_as_tls)
    assert tags["error_code"] == "1300" and tags["error"].startswith("tls: ")


def test_stalled_tls_handshake_ends_at_the_timeout(
    tmp_path: Path, fault_server: FaultServer, echo_url: str
) -> None:
    body = CONNECT.format(path="/", params={"timeout": "1s"})
    result, log = run_fault(tmp_path, fault_server.tls_stall_url, echo_url, body)
    address = fault_server.tls_stall_url.removeprefix("wss://")
    expected = f"dial {address} failed: handshake timed out after 1s"
    assert log == [["response", 0, expected, 1050, None]]
    assert_tagged(result, fault_server.tls_stall_url, "0", "request timeout", 1050)


# -- a handshake response without end: bounded reads, a clear error --------------------------


def test_endless_response_headers_stop_at_64_kib(
    tmp_path: Path, fault_server: FaultServer, echo_url: str
) -> None:
    body = CONNECT.format(path="/huge-headers", params=None)
    result, log = run_fault(tmp_path, fault_server.url, echo_url, body)
    expected = "handshake failed: response header block over 64 KiB"
    assert log == [["response", 0, expected, 1000, None]]
    assert_tagged(result, fault_server.url + "/huge-headers", "0", expected, 1000)
    # It stopped reading at the cap (one 64 KiB read past it at most), not at the server's end.
    [received] = fault_scenario_values(result, "data_received")
    assert 64 * 1024 < received <= 3 * 64 * 1024


@pytest.mark.parametrize("route", ["/huge-body", "/huge-chunk"])
def test_endless_refusal_body_is_kept_up_to_1_mib(
    tmp_path: Path, fault_server: FaultServer, echo_url: str, route: str
) -> None:
    body = f"""\
    res = ws.connect(FAULT + "{route}?status=403", None, listen)
    record("response", res.status, res.error, res.error_code, len(res.body), sorted(set(res.body)))
"""
    result, log = run_fault(tmp_path, fault_server.url, echo_url, body)
    filler = "y" if route == "/huge-body" else "z"
    assert log == [
        ["response", 403, "handshake refused: HTTP 403 Fault", 1403, 1024 * 1024, [filler]]
    ]
    assert_tagged(result, fault_server.url + route, "403", "HTTP 403 Fault", 1403)
    [received] = fault_scenario_values(result, "data_received")
    assert 1024 * 1024 < received <= 1024 * 1024 + 3 * 64 * 1024


def fault_scenario_values(result: RunResult, metric: str) -> list[float]:
    """The values of ``metric``'s points from the ``fault`` scenario's VU (``data_received`` is
    tagged as the VU is, as in k6, not with the session's url)."""
    return [
        p["data"]["value"]
        for p in result.points_of(metric)
        if p["data"]["tags"].get("scenario") == "fault"
    ]
