"""greenws's echo target, checked with independent clients: websockets' sync client and raw bytes.

RawClient (tests/servers.py) is used where websockets hides what we need to see (the exact frames a
server sends: pings, Close payloads) or refuses to send what we want to provoke (unmasked frames,
reserved close codes, bad UTF-8).
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from servers import ROOT, TIMEOUT, RawClient, free_port
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from greenws.cli.echo_server import EchoServerProcess, EchoServerStartError

MiB = 1024 * 1024


@pytest.fixture
def client(echo_server: EchoServerProcess) -> Iterator[ClientConnection]:
    with connect(echo_server.url + "/echo", max_size=64 * MiB, open_timeout=TIMEOUT) as ws:
        yield ws


@pytest.fixture
def raw(echo_server: EchoServerProcess) -> Iterator[RawClient]:
    raw = RawClient(echo_server.url)
    yield raw
    raw.close()


def test_echoes_text_as_text(client: ClientConnection) -> None:
    client.send("héllo ✓")
    assert client.recv(timeout=TIMEOUT) == "héllo ✓"


def test_echoes_binary_as_binary(client: ClientConnection) -> None:
    client.send(b"\x00\xffbin")
    assert client.recv(timeout=TIMEOUT) == b"\x00\xffbin"


@pytest.mark.parametrize("size", [1 * MiB, 32 * MiB])
def test_echoes_large_binary(client: ClientConnection, size: int) -> None:
    data = os.urandom(size)
    client.send(data)
    assert client.recv(timeout=30) == data


def test_echoes_many_messages_in_order(client: ClientConnection) -> None:
    for i in range(200):
        client.send(f"m{i}")
    assert [client.recv(timeout=TIMEOUT) for _ in range(200)] == [f"m{i}" for i in range(200)]


def test_pongs_with_the_ping_payload(client: ClientConnection, raw: RawClient) -> None:
    # websockets only resolves the waiter for a pong carrying this exact payload
    assert client.ping(b"payload-42").wait(TIMEOUT)
    raw.send(0x9, b"\x00raw\xff")
    assert raw.recv() == (0xA, b"\x00raw\xff")


@pytest.mark.parametrize(("code", "reason"), [(4000, "done"), (1001, ""), (1000, "bye ✓")])
def test_echoes_close_code_and_reason(
    echo_server: EchoServerProcess, code: int, reason: str
) -> None:
    with connect(echo_server.url, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
        ws.close(code, reason)
        assert ws.protocol.close_rcvd is not None
        assert (ws.protocol.close_rcvd.code, ws.protocol.close_rcvd.reason) == (code, reason)


def test_close_reply_is_byte_exact_then_tcp_closes(raw: RawClient) -> None:
    raw.send(0x8, struct.pack("!H", 4000) + b"done")
    assert raw.recv() == (0x8, b"\x0f\xa0done")
    raw.assert_tcp_closed()


def test_empty_close_gets_empty_close(raw: RawClient) -> None:
    raw.send(0x8, b"")
    assert raw.recv() == (0x8, b"")
    raw.assert_tcp_closed()


def test_close_route_sends_code_and_reason(echo_server: EchoServerProcess) -> None:
    url = echo_server.url + "/close?code=4001&reason=bye"
    with connect(url, open_timeout=TIMEOUT) as ws, pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=TIMEOUT)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4001, "bye")


def test_close_route_waits_for_the_reply_then_closes_tcp(echo_server: EchoServerProcess) -> None:
    raw = RawClient(echo_server.url, "/close?code=4001&reason=bye")
    try:
        assert raw.recv() == (0x8, b"\x0f\xa1bye")
        raw.send(0x8, b"\x0f\xa1bye")
        raw.assert_tcp_closed()
    finally:
        raw.close()


@pytest.mark.parametrize(
    ("query", "payload"),
    [("", b""), ("?code=1005", b"\x03\xed"), ("?code=x", b"\x03\xf0bad /close query")],
)
def test_close_route_edge_cases(echo_server: EchoServerProcess, query: str, payload: bytes) -> None:
    raw = RawClient(echo_server.url, "/close" + query)
    try:
        assert raw.recv() == (0x8, payload)  # sent verbatim, even a code a client must reject
    finally:
        raw.close()


def test_ping_route_pings_first_then_echoes(echo_server: EchoServerProcess) -> None:
    raw = RawClient(echo_server.url, "/ping")
    try:
        assert raw.recv() == (0x9, b"greenws")
        raw.send(0xA, b"greenws")
        raw.send(0x1, b"after")
        assert raw.recv() == (0x1, b"after")
    finally:
        raw.close()


def test_reassembles_fragmented_message(raw: RawClient) -> None:
    raw.send(0x1, "h€".encode()[:2], fin=False)  # the split falls inside the euro sign
    raw.send(0x9, b"mid")  # a control frame may come between fragments
    raw.send(0x0, "h€".encode()[2:])
    assert raw.recv() == (0xA, b"mid")
    assert raw.recv() == (0x1, "h€".encode())


@pytest.mark.parametrize(
    ("opcode", "payload", "mask", "code"),
    [
        (0x8, b"\x03\xed", True, 1002),  # 1005 must never be sent
        (0x8, b"\x13\x88", True, 1002),  # 5000 is not a close code
        (0x8, b"\x03", True, 1002),  # one-byte close payload
        (0x8, b"\x03\xe8\xff", True, 1007),  # reason is not UTF-8
        (0x1, b"\xff\xfe", True, 1007),  # text is not UTF-8
        (0x1, b"unmasked", False, 1002),  # clients must mask
        (0x3, b"", True, 1002),  # reserved opcode
    ],
)
def test_protocol_errors_close_with_the_right_code(
    raw: RawClient, opcode: int, payload: bytes, mask: bool, code: int
) -> None:
    raw.send(opcode, payload, mask=mask)
    kind, reply = raw.recv()
    assert (kind, struct.unpack("!H", reply[:2])[0]) == (0x8, code)
    raw.assert_tcp_closed()


def test_accepts_1012_to_1014(raw: RawClient) -> None:
    raw.send(0x8, struct.pack("!H", 1013))  # gevent-websocket rejects these valid codes
    assert raw.recv() == (0x8, struct.pack("!H", 1013))


def test_frame_over_the_limit_gets_1009(raw: RawClient) -> None:
    # only the header: the server must refuse before reading 64 MiB + 1 of payload
    raw.sock.sendall(b"\x82\xff" + struct.pack("!Q", 64 * MiB + 1) + b"mask")
    kind, reply = raw.recv()
    assert (kind, reply[:2]) == (0x8, struct.pack("!H", 1009))


def test_plain_http_gets_426(echo_server: EchoServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", echo_server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 426")


def test_survives_a_client_that_vanishes(echo_server: EchoServerProcess) -> None:
    for path in ("/", "/ping", "/close?code=4000"):
        RawClient(echo_server.url, path).close()
    vanisher = RawClient(echo_server.url)
    vanisher.sock.sendall(b"\x81\x85")  # half a frame header, then gone
    vanisher.close()
    with connect(echo_server.url, open_timeout=TIMEOUT) as ws:
        ws.send("still here")
        assert ws.recv(timeout=TIMEOUT) == "still here"


def _start_child(
    preexec_fn: Callable[[], None] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "greenws", "echo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=preexec_fn,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()  # bounded: the child prints it or exits
    assert line.startswith("listening on 127.0.0.1:"), (line, proc.stderr)
    return proc, "ws://" + line.split()[-1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_with_1001_and_no_noise(sig: signal.Signals) -> None:
    proc, url = _start_child()
    try:
        RawClient(url).close()  # a vanished client must not leave a traceback either
        with connect(url, open_timeout=TIMEOUT) as ws:
            ws.send("x")
            assert ws.recv(timeout=TIMEOUT) == "x"
            proc.send_signal(sig)
            with pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=TIMEOUT)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1001
        _, stderr = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0
        assert stderr == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=TIMEOUT)


def _open_files_limit(pid: int) -> tuple[str, str]:
    for line in open(f"/proc/{pid}/limits", encoding="ascii"):  # noqa: SIM115 - read at once
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return soft, hard
    raise AssertionError(f"no open-files line in /proc/{pid}/limits")


def test_raises_its_soft_open_files_limit_to_the_hard_one() -> None:
    """A scale test's target holds as many sockets as its clients: the echo server raises its
    soft limit as ``greenws run`` does, so it is not the first to run out of descriptors."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = 256 if hard == resource.RLIM_INFINITY else min(256, hard)
    proc, _ = _start_child(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard)))
    try:
        soft_now, hard_now = _open_files_limit(proc.pid)
        assert soft_now == hard_now
        assert hard_now == ("unlimited" if hard == resource.RLIM_INFINITY else str(hard))
    finally:
        proc.terminate()
        proc.communicate(timeout=TIMEOUT)


def test_process_reports_a_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(EchoServerStartError, match="in use"):
            EchoServerProcess("127.0.0.1", busy.getsockname()[1])


def test_process_on_a_fixed_port() -> None:
    port = free_port()
    with EchoServerProcess("127.0.0.1", port) as server:
        assert server.url == f"ws://127.0.0.1:{port}"
        with connect(server.url, open_timeout=TIMEOUT) as ws:
            ws.send(b"fixed")
            assert ws.recv(timeout=TIMEOUT) == b"fixed"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()


def test_importing_does_not_monkey_patch() -> None:
    code = "import gevent.monkey, greenws.cli.echo_server;assert not gevent.monkey.is_anything_patched()"
    subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        check=True,
        timeout=30,
    )
