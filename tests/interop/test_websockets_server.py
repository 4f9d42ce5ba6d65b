"""Smoke tests of the independent websockets server: one per route, with websockets' sync client.

They prove the reference server behaves as its docstring says, so an interop failure of greenws's
client against it points at greenws, not at the test server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from servers import TIMEOUT, RawClient, ScriptServer
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

MiB = 1024 * 1024


OpenWs = Callable[..., ClientConnection]


@pytest.fixture
def open_ws(websockets_server: ScriptServer) -> OpenWs:
    """``open_ws(path, **connect_kwargs)``: a sync client connection to that route."""

    def _open(path: str, **kwargs: Any) -> ClientConnection:
        return connect(websockets_server.url + path, open_timeout=TIMEOUT, **kwargs)

    return _open


def _close_of(ws: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=TIMEOUT)
    assert info.value.rcvd is not None
    return info.value.rcvd.code, info.value.rcvd.reason


def test_listening_line_gave_a_loopback_url(websockets_server: ScriptServer) -> None:
    assert websockets_server.url.startswith("ws://127.0.0.1:")
    assert websockets_server.port > 0


@pytest.mark.parametrize("path", ["/", "/echo"])
def test_echo(open_ws: OpenWs, path: str) -> None:
    with open_ws(path) as ws:
        ws.send("text ✓")
        assert ws.recv(timeout=TIMEOUT) == "text ✓"
        ws.send(b"\x00bin")
        assert ws.recv(timeout=TIMEOUT) == b"\x00bin"


def test_close(open_ws: OpenWs) -> None:
    with open_ws("/close?code=4001&reason=bye") as ws:
        assert _close_of(ws) == (4001, "bye")


def test_close_after(open_ws: OpenWs) -> None:
    with open_ws("/close-after?n=2&code=1000") as ws:
        for message in ("one", "two"):
            ws.send(message)
            assert ws.recv(timeout=TIMEOUT) == message
        assert _close_of(ws) == (1000, "")


def test_reject(websockets_server: ScriptServer) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(websockets_server.url + "/reject?status=429&body=slow+down", open_timeout=TIMEOUT)
    assert info.value.response.status_code == 429
    assert info.value.response.body == b"slow down"


def test_ping(open_ws: OpenWs) -> None:
    # The sync client answers pings itself and never surfaces them: the next test looks at the wire.
    with open_ws("/ping") as ws:
        ws.send("after ping")
        assert ws.recv(timeout=TIMEOUT) == "after ping"


def test_ping_frame_on_the_wire(websockets_server: ScriptServer) -> None:
    raw = RawClient(websockets_server.url, "/ping")
    try:
        assert raw.recv() == (0x9, b"srv")
    finally:
        raw.close()


def test_headers(open_ws: OpenWs) -> None:
    with open_ws("/headers", additional_headers={"X-Greenws-Test": "yes"}) as ws:
        headers = json.loads(ws.recv(timeout=TIMEOUT))
    assert headers["x-greenws-test"] == "yes"
    assert headers["upgrade"] == "websocket"
    assert all(key == key.lower() for key in headers)


@pytest.mark.parametrize(
    ("offered", "selected"),
    [(["chat.v1", "chat.v2"], "chat.v1"), (["other", "chat.v2"], "chat.v2"), (["other"], "")],
)
def test_subprotocol(open_ws: OpenWs, offered: list[str], selected: str) -> None:
    with open_ws("/subprotocol", subprotocols=offered) as ws:
        assert (ws.subprotocol or "") == selected
        assert ws.recv(timeout=TIMEOUT) == selected


def test_binary(open_ws: OpenWs) -> None:
    with open_ws("/binary?size=1048576", max_size=2 * MiB) as ws:
        data = ws.recv(timeout=TIMEOUT)
        assert data == (bytes(range(256)) * 4096)
        ws.send(b"echo after binary")
        assert ws.recv(timeout=TIMEOUT) == b"echo after binary"


def test_large_message_up_to_32_mib(open_ws: OpenWs) -> None:
    with open_ws("/echo", max_size=32 * MiB) as ws:
        data = bytes(32 * MiB)
        ws.send(data)
        assert ws.recv(timeout=30) == data


def test_silent(open_ws: OpenWs) -> None:
    with open_ws("/silent") as ws:
        assert ws.ping(b"anyone?").wait(TIMEOUT)  # pongs still come, automatically
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)
