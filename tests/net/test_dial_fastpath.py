"""The short-session fast path: cached targets, the request template, dialling onto a transport.

These exist for speed (see benchmarks/RESULTS.md, connection churn); the tests pin down that each
shortcut gives exactly what the long way gave.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import gevent
import pytest
from servers import free_port

from greenws.net.dial import ConnectParams, _upgrade_request, connect_params, dial
from greenws.net.transport import PlainTransport, make_transport, open_plain
from greenws.protocol import build_request
from greenws.protocol.http_response import canonical_header_name

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def test_connect_params_are_reused_for_the_same_url_and_plain_params() -> None:
    a = connect_params("ws://127.0.0.1:9/a", None, insecure_default=False)
    assert connect_params("ws://127.0.0.1:9/a", None, insecure_default=False) is a
    assert connect_params("ws://127.0.0.1:9/b", None, insecure_default=False) is not a
    assert connect_params("ws://127.0.0.1:9/a", None, insecure_default=True) is not a
    params = {"headers": {"X-A": "1"}, "tags": {"k": 2}}
    b = connect_params("ws://127.0.0.1:9/a", params, insecure_default=False)
    assert b is not a and b.headers == [("X-A", "1")] and b.tags == {"k": "2"}
    params["headers"]["X-A"] = "2"  # changed params are a different target
    assert connect_params("ws://127.0.0.1:9/a", params, insecure_default=False).headers == [
        ("X-A", "2")
    ]


def test_params_whose_repr_is_not_their_content_are_not_cached() -> None:
    class Tag:
        value = "one"

        def __str__(self) -> str:
            return self.value

    tag = Tag()
    first = connect_params("ws://127.0.0.1:9/", {"tags": {"t": tag}}, insecure_default=False)
    tag.value = "two"
    second = connect_params("ws://127.0.0.1:9/", {"tags": {"t": tag}}, insecure_default=False)
    assert (first.tags, second.tags) == ({"t": "one"}, {"t": "two"})


def test_invalid_params_raise_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match="unknown param"):
            connect_params("ws://127.0.0.1:9/", {"nope": 1}, insecure_default=False)
        with pytest.raises(ValueError, match="must start with ws"):
            connect_params("http://127.0.0.1:9/", None, insecure_default=False)


@pytest.mark.parametrize(
    "params",
    [
        None,
        {"headers": {"Authorization": "Bearer x", "Host": "example.test"}},
        {"subprotocols": ["chat", "superchat"]},
        {"compression": "deflate"},
        {"headers": {"X-Key-Lookalike": "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=="}},
    ],
)
def test_the_request_template_gives_build_requests_bytes(params: Any) -> None:
    target = ConnectParams("ws://[::1]:8080/chat?room=1", params, insecure_default=False)
    expected = build_request(
        host=target.host,
        port=target.port,
        resource=target.resource,
        secure=target.secure,
        key=KEY,
        headers=target.headers,
        subprotocols=target.subprotocols,
        extensions=target.extensions,
    )
    assert _upgrade_request(target, KEY) == expected
    assert _upgrade_request(target, KEY) == expected  # from the template this time
    other = "x3JJHMbDL1EzLkh9GBhXDw=="
    assert _upgrade_request(target, other) == expected.replace(KEY.encode(), other.encode())


def test_canonical_header_names_are_unchanged_by_the_cache() -> None:
    for _ in range(2):
        assert canonical_header_name("sec-websocket-accept") == "Sec-Websocket-Accept"
        assert canonical_header_name("X-FOO-bar") == "X-Foo-Bar"
        assert canonical_header_name("-a--b") == "-A--B"


def test_open_plain_connects_onto_a_transport(echo_server: Any) -> None:
    parts = urlsplit(echo_server.url)

    def dial() -> PlainTransport:
        return open_plain(2, (parts.hostname, parts.port))  # AF_INET

    transport = gevent.spawn(dial).get(timeout=10)
    try:
        assert isinstance(transport, PlainTransport)
        assert make_transport(transport) is transport
        assert transport._raw.getblocking() is False
    finally:
        transport.close()


def test_a_refused_connect_raises_what_gevent_raised_from_the_first_write() -> None:
    """open_plain does not wait for the connect (on loopback it is done already); the first write
    finishes it, and a refused one raises there while ``connecting`` says it was the connect."""
    port = free_port()

    def dial_and_write() -> None:
        transport = open_plain(2, ("127.0.0.1", port))
        try:
            assert transport.connecting
            transport.write(b"GET / HTTP/1.1\r\n\r\n")
        finally:
            assert transport.connecting
            transport.close()

    with pytest.raises(ConnectionRefusedError) as caught:
        gevent.spawn(dial_and_write).get(timeout=10)
    assert caught.value.strerror == "Connection refused"


def test_the_first_write_completes_the_connect(echo_server: Any) -> None:
    parts = urlsplit(echo_server.url)

    def dial_and_write() -> bool:
        transport = open_plain(2, (parts.hostname, parts.port))
        try:
            transport.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = transport.read(10)
            assert answer is not None and answer.startswith(b"HTTP/1.1 ")
            return bool(transport.connecting)
        finally:
            transport.close()

    assert gevent.spawn(dial_and_write).get(timeout=10) is False


def test_a_refused_dial_is_tagged_as_a_dial_error() -> None:
    target = ConnectParams(f"ws://127.0.0.1:{free_port()}/", None, insecure_default=False)
    dialled = gevent.spawn(dial, target, lambda _insecure: None).get(timeout=10)
    assert dialled.response.error_code == 1212
    assert dialled.error_tag == "dial: connection refused"
    assert dialled.response.status == 0
