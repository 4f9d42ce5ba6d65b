"""The opening handshake: request bytes, response parsing and validation, as plain values."""

from __future__ import annotations

import base64
import sys
import types

import pytest

from greenws.protocol import handshake
from greenws.protocol.errors import HandshakeError
from greenws.protocol.handshake import accept_key, build_request, generate_key, validate_response
from greenws.protocol.http_response import (
    MAX_BODY_BYTES,
    HandshakeResponse,
    ResponseParser,
    canonical_header_name,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3's example
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

GOOD_101 = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: " + ACCEPT.encode() + b"\r\n"
    b"\r\n"
)


def request_lines(**kwargs: object) -> list[str]:
    arguments: dict[str, object] = {
        "host": "example.com",
        "port": 80,
        "resource": "/chat",
        "secure": False,
        "key": KEY,
        "user_agent": "ua/1",
        **kwargs,
    }
    raw = build_request(**arguments)  # type: ignore[arg-type]
    assert raw.endswith(b"\r\n\r\n")
    return raw.decode().split("\r\n")[:-2]


def parse(data: bytes) -> HandshakeResponse:
    parser = ResponseParser()
    response = parser.feed(data)
    assert response is not None
    return response


# -- keys ------------------------------------------------------------------------------


def test_accept_key_rfc_example() -> None:
    assert accept_key(KEY) == ACCEPT


def test_generate_key_is_16_random_bytes() -> None:
    keys = {generate_key() for _ in range(300)}  # several batches of the key pool
    assert len(keys) == 300
    assert all(len(base64.b64decode(key)) == 16 for key in keys)


def test_canonical_header_name() -> None:
    assert canonical_header_name("sec-websocket-ACCEPT") == "Sec-Websocket-Accept"
    assert canonical_header_name("x-request-id") == "X-Request-Id"
    assert canonical_header_name("content-length") == "Content-Length"


# -- request ---------------------------------------------------------------------------


def test_basic_request_bytes() -> None:
    raw = build_request(
        host="example.com", port=80, resource="/chat?a=1", secure=False, key=KEY, user_agent="x/1"
    )
    assert raw == (
        b"GET /chat?a=1 HTTP/1.1\r\n"
        b"Host: example.com\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n"
        b"User-Agent: x/1\r\n"
        b"\r\n"
    )


@pytest.mark.parametrize(
    ("host", "port", "secure", "expected"),
    [
        ("example.com", 80, False, "Host: example.com"),
        ("example.com", 443, True, "Host: example.com"),
        ("example.com", 443, False, "Host: example.com:443"),
        ("example.com", 80, True, "Host: example.com:80"),
        ("127.0.0.1", 8080, False, "Host: 127.0.0.1:8080"),
        ("::1", 8080, False, "Host: [::1]:8080"),
        ("::1", 80, False, "Host: [::1]"),
        ("[::1]", 9000, False, "Host: [::1]:9000"),
    ],
)
def test_host_header(host: str, port: int, secure: bool, expected: str) -> None:
    assert request_lines(host=host, port=port, secure=secure)[1] == expected


def test_subprotocols_and_user_headers() -> None:
    lines = request_lines(
        subprotocols=["chat", "superchat"],
        headers=[("Origin", "http://example.com"), ("Cookie", "a=1"), ("Cookie", "b=2")],
    )
    assert "Sec-WebSocket-Protocol: chat, superchat" in lines
    assert lines[-4:] == [
        "Origin: http://example.com",
        "Cookie: a=1",
        "Cookie: b=2",
        "User-Agent: ua/1",
    ]


def test_user_host_and_user_agent_override_in_place() -> None:
    lines = request_lines(headers=[("host", "virtual.example"), ("User-Agent", "k6/0.50")])
    assert lines[1] == "host: virtual.example"
    assert "User-Agent: k6/0.50" in lines
    assert sum(line.lower().startswith(("host:", "user-agent:")) for line in lines) == 2


def test_user_subprotocol_header_is_sent_as_given() -> None:
    lines = request_lines(headers=[("Sec-WebSocket-Protocol", "chat")])
    assert "Sec-WebSocket-Protocol: chat" in lines
    with pytest.raises(ValueError, match="not both"):
        request_lines(subprotocols=["a"], headers=[("Sec-WebSocket-Protocol", "b")])


def test_default_user_agent() -> None:
    raw = build_request(host="h", port=80, resource="/", secure=False, key=KEY)
    assert b"\r\nUser-Agent: greenws/" in raw


def test_an_empty_user_agent_sends_no_user_agent_header() -> None:
    request = build_request(
        host="example.com", port=80, resource="/", secure=False, key=KEY, user_agent=""
    )
    assert b"user-agent" not in request.lower()
    assert request.endswith(b"\r\n\r\n")


def test_default_user_agent_without_package_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "greenws", types.ModuleType("greenws"))
    handshake._default_user_agent.cache_clear()
    try:
        agent = handshake._default_user_agent()
    finally:
        handshake._default_user_agent.cache_clear()
    assert agent.startswith("greenws/")
    assert len(agent) > len("greenws/")


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Evil", "a\r\nInjected: 1")],
        [("X-Evil", "a\nb")],
        [("X-Evil", "a\rb")],
        [("X-Evil\r\nInjected", "1")],
        [("X Evil", "1")],
        [("X-Evil:", "1")],
        [("", "1")],
    ],
)
def test_header_injection_rejected(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError):
        request_lines(headers=headers)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"resource": "/a\r\nX: 1"},
        {"resource": "/a b"},
        {"resource": "nope"},
        {"host": "h\r\nX: 1"},
        {"user_agent": "ua\r\nX: 1"},
        {"subprotocols": ["chat\r\nX: 1"]},
    ],
)
def test_injection_elsewhere_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        request_lines(**kwargs)


@pytest.mark.parametrize(
    "name", ["Upgrade", "connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version"]
)
def test_reserved_headers_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="set by the WebSocket handshake"):
        request_lines(headers=[(name, "x")])


# -- response parsing ------------------------------------------------------------------


def test_good_101_byte_by_byte() -> None:
    parser = ResponseParser()
    results = [parser.feed(GOOD_101[i : i + 1]) for i in range(len(GOOD_101))]
    assert results[:-1] == [None] * (len(GOOD_101) - 1)
    response = results[-1]
    assert response is not None
    assert (response.status, response.reason, response.body) == (101, "Switching Protocols", b"")
    assert response.headers == {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-Websocket-Accept": ACCEPT,
    }
    assert response.header("sec-websocket-accept") == ACCEPT
    assert response.header("X-Missing") is None
    assert parser.leftover == b""
    assert parser.feed(b"more") is response  # complete: further bytes are not ours


def test_leftover_after_101() -> None:
    parser = ResponseParser()
    assert parser.feed(GOOD_101[:-3]) is None
    frames = b"\x81\x02hi\x89\x00"
    assert parser.feed(GOOD_101[-3:] + frames) is not None
    assert parser.leftover == frames


def test_duplicate_headers_joined_and_folded_lines() -> None:
    response = parse(
        b"HTTP/1.1 101 Switching Protocols\r\n"
        b"set-cookie: a=1\r\n"
        b"Set-Cookie: b=2\r\n"
        b"X-Long: first\r\n"
        b"  second\r\n"
        b"x-empty:\r\n"
        b"\r\n"
    )
    assert response.headers == {"Set-Cookie": "a=1, b=2", "X-Long": "first second", "X-Empty": ""}


def test_429_with_content_length_body() -> None:
    body = b'{"error": "slow down"}'
    head = (
        b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    parser = ResponseParser()
    assert parser.feed(head + body[:5]) is None
    response = parser.feed(body[5:])
    assert response is not None
    assert (response.status, response.reason, response.body) == (429, "Too Many Requests", body)
    with pytest.raises(HandshakeError) as info:
        validate_response(response, key=KEY, subprotocols=[])
    assert str(info.value) == "handshake refused: HTTP 429 Too Many Requests"
    assert info.value.status == 429
    assert info.value.response is response


def test_chunked_body() -> None:
    data = (
        b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n"
    )
    parser = ResponseParser()
    results = [parser.feed(data[i : i + 1]) for i in range(len(data))]
    response = next(r for r in results if r is not None)
    assert response.body == b"hello world!"
    assert response.status == 403


def test_body_to_eof() -> None:
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.0 500 Internal Server Error\r\n\r\npart one, ") is None
    assert parser.feed(b"part two") is None
    response = parser.feed_eof()
    assert (response.status, response.body) == (500, b"part one, part two")


def test_body_capped_at_1_mib() -> None:
    parser = ResponseParser()
    head = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5000000\r\n\r\n"
    assert parser.feed(head + bytes(MAX_BODY_BYTES - 1)) is None
    response = parser.feed(bytes(10))
    assert response is not None
    assert len(response.body) == MAX_BODY_BYTES
    to_eof = ResponseParser()
    assert to_eof.feed(b"HTTP/1.1 503 x\r\n\r\n" + bytes(MAX_BODY_BYTES - 1)) is None
    assert to_eof.feed(bytes(10)) is not None


def test_no_body_statuses_and_zero_length() -> None:
    assert parse(b"HTTP/1.1 204 No Content\r\n\r\n").body == b""
    assert parse(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").status == 404


def test_eof_before_headers() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 101 Switching")
    with pytest.raises(HandshakeError, match="connection closed during handshake") as info:
        parser.feed_eof()
    assert info.value.status == 0


def test_eof_with_headers_complete_returns_partial_body() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 10\r\n\r\nabc")
    assert parser.feed_eof().body == b"abc"


def test_header_block_over_64_kib() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 101 Switching Protocols\r\n")
    with pytest.raises(HandshakeError, match="over 64 KiB"):
        for _ in range(100):
            parser.feed(b"X-Filler: " + b"a" * 1000 + b"\r\n")


def test_header_block_over_64_kib_in_one_chunk() -> None:
    data = b"HTTP/1.1 101 OK\r\nX-Filler: " + b"a" * 70_000 + b"\r\n\r\n"
    with pytest.raises(HandshakeError, match="over 64 KiB"):
        ResponseParser().feed(data)


def test_chunked_body_capped_at_1_mib() -> None:
    parser = ResponseParser()
    head = b"HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"10000\r\n" + bytes(0x10000) + b"\r\n"
    assert parser.feed(head + chunk * 15) is None
    response = parser.feed(chunk * 2)
    assert response is not None
    assert len(response.body) == MAX_BODY_BYTES


def test_one_endless_chunk_is_cut_at_1_mib() -> None:
    # A declared size of 2**63-1 must not make the parser buffer the chunk until it ends.
    parser = ResponseParser()
    head = b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\n"
    assert parser.feed(head + b"a" * 0x10000) is None
    response = None
    for _ in range(16):
        response = response or parser.feed(b"a" * 0x10000)
    assert response is not None
    assert response.body == b"a" * MAX_BODY_BYTES


def test_endless_chunk_size_line_fails() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(HandshakeError, match="invalid chunk size b'fffff") as info:
        for _ in range(10):
            parser.feed(b"f" * 1000)
    assert info.value.status == 403


@pytest.mark.parametrize(
    "status_line",
    [b"HTTP/2 101 Switching", b"ICY 200 OK", b"HTTP/1.1 1O1 Switching", b"HTTP/1.1", b"garbage"],
)
def test_malformed_status_line(status_line: bytes) -> None:
    with pytest.raises(HandshakeError, match="malformed status line") as info:
        ResponseParser().feed(status_line + b"\r\n\r\n")
    assert info.value.status == 0


def test_malformed_header_line_and_content_length() -> None:
    with pytest.raises(HandshakeError, match="malformed header line"):
        ResponseParser().feed(b"HTTP/1.1 101 OK\r\nno colon here\r\n\r\n")
    with pytest.raises(HandshakeError, match="invalid Content-Length"):
        ResponseParser().feed(b"HTTP/1.1 400 Bad\r\nContent-Length: ten\r\n\r\n")
    with pytest.raises(HandshakeError, match="invalid chunk size"):
        ResponseParser().feed(b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")


def test_response_value_semantics() -> None:
    one = HandshakeResponse(101, "OK", {"A": "b"})
    assert one == HandshakeResponse(101, "OK", {"A": "b"}, b"")
    assert one != HandshakeResponse(400, "OK", {"A": "b"})
    assert one != "response"
    assert "101" in repr(one)


# -- validation ------------------------------------------------------------------------


def response_with(**changes: str | None) -> HandshakeResponse:
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-Websocket-Accept": ACCEPT}
    for name, value in changes.items():
        key = canonical_header_name(name.replace("_", "-"))
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return HandshakeResponse(101, "Switching Protocols", headers)


def test_good_101_validates() -> None:
    assert validate_response(parse(GOOD_101), key=KEY, subprotocols=[]) is None
    relaxed = response_with(upgrade="WebSocket", connection="keep-alive, UPGRADE")
    assert validate_response(relaxed, key=KEY, subprotocols=[]) is None


def test_subprotocol_selection() -> None:
    response = response_with(sec_websocket_protocol="superchat")
    assert validate_response(response, key=KEY, subprotocols=["chat", "superchat"]) == "superchat"
    with pytest.raises(HandshakeError, match="'superchat', offered: chat"):
        validate_response(response, key=KEY, subprotocols=["chat"])
    with pytest.raises(HandshakeError, match="offered: none"):
        validate_response(response, key=KEY, subprotocols=[])
    both = response_with(sec_websocket_protocol="chat, superchat")
    with pytest.raises(HandshakeError):
        validate_response(both, key=KEY, subprotocols=["chat", "superchat"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sec_websocket_accept": "d3Jvbmc="}, "handshake failed: Sec-WebSocket-Accept mismatch"),
        ({"sec_websocket_accept": None}, "handshake failed: missing Sec-WebSocket-Accept"),
        ({"upgrade": None}, "handshake failed: Upgrade header is None, expected 'websocket'"),
        ({"upgrade": "h2c"}, "handshake failed: Upgrade header is 'h2c', expected 'websocket'"),
        ({"connection": None}, "handshake failed: Connection header is None, expected 'Upgrade'"),
        (
            {"connection": "close"},
            "handshake failed: Connection header is 'close', expected 'Upgrade'",
        ),
        (
            {"sec_websocket_extensions": "permessage-deflate"},
            "handshake failed: server selected extensions that were not offered: "
            "permessage-deflate",
        ),
    ],
)
def test_invalid_101(changes: dict[str, str | None], message: str) -> None:
    with pytest.raises(HandshakeError) as info:
        validate_response(response_with(**changes), key=KEY, subprotocols=[])
    assert str(info.value) == message
    assert info.value.status == 101


def test_wrong_key() -> None:
    with pytest.raises(HandshakeError, match="mismatch"):
        validate_response(parse(GOOD_101), key=generate_key(), subprotocols=[])


def test_refusal_without_reason_uses_standard_phrase() -> None:
    for status, message in [
        (503, "handshake refused: HTTP 503 Service Unavailable"),
        (599, "handshake refused: HTTP 599"),
    ]:
        with pytest.raises(HandshakeError) as info:
            validate_response(HandshakeResponse(status, "", {}), key=KEY, subprotocols=[])
        assert str(info.value) == message
