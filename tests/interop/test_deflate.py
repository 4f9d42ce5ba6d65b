"""permessage-deflate end to end: greenws's ``ws.connect(..., {"compression": "deflate"})``
against the ``websockets`` library's server with its default compression."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from greenws_runner import RunResult, run_greenws
from servers import ROOT, TIMEOUT, ScriptServer
from websockets.sync.client import connect

from greenws.net.dial import ConnectParams

PAYLOAD_SIZE = 100 * 1024

SCRIPT = """
import json, os
from greenws import ws

TEXT = ("All work and no play makes Jack a dull boy. " * 3000)[:102400]
DATA = TEXT.encode()
LOG = []

def default():
    def session(socket):
        def text(message):
            if not LOG:
                LOG.append(["extensions", message])
                socket.send(TEXT)
            else:
                LOG.append(["text", len(message), message == TEXT])
                socket.send_binary(DATA)
        def binary(data):
            LOG.append(["binary", len(data), data == DATA])
            socket.close(1000)
        socket.on("message", text)
        socket.on("binaryMessage", binary)
        socket.on("close", lambda code: LOG.append(["close", code]))
        socket.on("error", lambda e: LOG.append(["error", e.error()]))
    params = json.loads(os.environ["PARAMS"])
    ws.connect(os.environ["TARGET"], params, session)
    with open(os.environ["EVENTS_FILE"], "w") as handle:
        json.dump(LOG, handle)
"""


@pytest.fixture(scope="module")
def deflate_server() -> Iterator[ScriptServer]:
    server = ScriptServer(ROOT / "tests" / "interop" / "deflate_server.py")
    try:
        yield server
    finally:
        server.stop()


def _run(
    tmp_path: Path, url: str, params: dict[str, object]
) -> tuple[RunResult, list[list[object]]]:
    env = {
        "EVENTS_FILE": str(tmp_path / "events.json"),
        "TARGET": url,
        "PARAMS": json.dumps(params),
    }
    result = run_greenws(tmp_path, SCRIPT, env=env)
    assert result.returncode == 0, result.stderr
    return result, json.loads((tmp_path / "events.json").read_text())


def test_server_compresses_for_websockets_own_client(deflate_server: ScriptServer) -> None:
    with connect(deflate_server.url + "/extensions", open_timeout=TIMEOUT) as ws:
        assert ws.recv(timeout=TIMEOUT).startswith("permessage-deflate")


def test_compressed_round_trip(tmp_path: Path, deflate_server: ScriptServer) -> None:
    result, log = _run(tmp_path, deflate_server.url + "/extensions", {"compression": "deflate"})
    extensions = str(log[0][1])
    assert log[0][0] == "extensions" and extensions.startswith("permessage-deflate"), log
    assert log[1:] == [
        ["text", PAYLOAD_SIZE, True],
        ["binary", PAYLOAD_SIZE, True],
        ["close", 1000],
    ]
    assert result.metric("ws_msgs_sent")["count"] == 2
    assert result.metric("ws_msgs_received")["count"] == 3
    # 200 KiB each way, highly repetitive: compressed on the wire, handshake included.
    assert result.metric("data_sent")["count"] < 5_000
    assert result.metric("data_received")["count"] < 5_000


def test_not_asking_means_uncompressed(tmp_path: Path, deflate_server: ScriptServer) -> None:
    result, log = _run(tmp_path, deflate_server.url + "/extensions", {})
    assert log[0] == ["extensions", ""]
    assert log[1:] == [
        ["text", PAYLOAD_SIZE, True],
        ["binary", PAYLOAD_SIZE, True],
        ["close", 1000],
    ]
    assert result.metric("data_received")["count"] > 2 * PAYLOAD_SIZE


def test_server_declining_compression_is_fine(
    tmp_path: Path, websockets_server: ScriptServer
) -> None:
    # websockets_server.py runs with compression=None: it ignores the offer. Its /headers route
    # sends the request headers first, which shows what greenws offered.
    result, log = _run(tmp_path, websockets_server.url + "/headers", {"compression": "deflate"})
    headers = json.loads(str(log[0][1]))
    assert headers["sec-websocket-extensions"] == "permessage-deflate; client_max_window_bits"
    assert log[1:] == [
        ["text", PAYLOAD_SIZE, True],
        ["binary", PAYLOAD_SIZE, True],
        ["close", 1000],
    ]
    assert result.metric("data_sent")["count"] > 2 * PAYLOAD_SIZE


@pytest.mark.parametrize("value", ["gzip", "Deflate", 1])
def test_unknown_compression_is_refused_by_name(value: object) -> None:
    with pytest.raises(ValueError, match=f"ws.connect: unsupported compression {value!r}"):
        ConnectParams("ws://127.0.0.1:1/", {"compression": value}, insecure_default=False)


def test_invalid_parameter_is_refused_on_one_line() -> None:
    with pytest.raises(ValueError) as info:
        ConnectParams(
            "ws://127.0.0.1:1/", {"compression": "deflate; window=9"}, insecure_default=False
        )
    assert str(info.value).startswith(
        "ws.connect: invalid compression 'deflate; window=9': unknown parameter 'window'"
    )


@pytest.mark.parametrize(
    ("value", "offered"),
    [
        ("deflate", ["permessage-deflate; client_max_window_bits"]),
        ("", []),
        (
            {"server_no_context_takeover": True},
            ["permessage-deflate; server_no_context_takeover; client_max_window_bits"],
        ),
    ],
)
def test_compression_param(value: object, offered: list[str]) -> None:
    target = ConnectParams("ws://127.0.0.1:1/", {"compression": value}, insecure_default=False)
    assert [offer.header() for offer in target.extensions] == offered


@pytest.mark.parametrize(
    ("compression", "answered"),
    [
        (
            "deflate; server_no_context_takeover; client_no_context_takeover",
            # websockets adds its memory-saving windows (12 bits) to whatever it accepts.
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=12; client_max_window_bits=12",
        ),
        (
            {"server_max_window_bits": 10, "client_max_window_bits": 9},
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
        ),
    ],
)
def test_offer_parameters_are_negotiated_and_honoured(
    tmp_path: Path, deflate_server: ScriptServer, compression: object, answered: str
) -> None:
    # websockets' server honours what greenws asks for: the answer shows it, and the
    # 100 KiB messages still round-trip with the negotiated windows and resets.
    result, log = _run(tmp_path, deflate_server.url + "/extensions", {"compression": compression})
    assert log[0] == ["extensions", answered], log
    assert log[1:] == [
        ["text", PAYLOAD_SIZE, True],
        ["binary", PAYLOAD_SIZE, True],
        ["close", 1000],
    ]
    assert result.metric("data_sent")["count"] < 20_000
