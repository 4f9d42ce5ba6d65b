"""The HTTP/1.1 framing core and the body codecs of the ``http`` module, with plain bytes."""

from __future__ import annotations

import gzip
import zlib

import pytest

from greenws.protocol.http1 import HTTPParseError, HTTPResponseParser, serialize_request
from greenws.protocol.http_bodies import (
    HTTPFile,
    decode_content,
    encode_body,
    select_json,
)


def feed_in_pieces(parser: HTTPResponseParser, data: bytes, size: int) -> bool:
    done = False
    for start in range(0, len(data), size):
        done = parser.feed(data[start : start + size])
    return done


def test_request_bytes_keep_header_order_and_refuse_crlf_injection() -> None:
    data = serialize_request("POST", "/a?b=1", [("Host", "h"), ("X-A", "1")], b"body")
    assert data == b"POST /a?b=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\nbody"
    with pytest.raises(ValueError):
        serialize_request("GET", "/", [("X", "a\r\nEvil: 1")])


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_content_length_body_in_any_pieces(size: int) -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello"
    parser = HTTPResponseParser()
    assert feed_in_pieces(parser, raw, size)
    assert (parser.status, parser.reason, parser.proto) == (200, "OK", "HTTP/1.1")
    assert bytes(parser.body) == b"hello"
    assert parser.set_cookies == ["a=1", "b=2"]
    assert parser.headers["Set-Cookie"] == "a=1, b=2"
    assert parser.keep_alive and parser.leftover == b""


@pytest.mark.parametrize("size", [1, 4, 1000])
def test_chunked_body_with_extensions_and_trailers(size: int) -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    parser = HTTPResponseParser()
    assert feed_in_pieces(parser, raw, size)
    assert bytes(parser.body) == b"hello world"


def test_body_until_close_and_connection_close() -> None:
    parser = HTTPResponseParser()
    assert not parser.feed(b"HTTP/1.0 200 OK\r\n\r\npart")
    assert not parser.feed(b" two")
    assert parser.feed_eof()
    assert bytes(parser.body) == b"part two" and not parser.keep_alive
    closing = HTTPResponseParser()
    assert closing.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert not closing.keep_alive


def test_no_body_for_head_204_304_and_100_continue_is_skipped() -> None:
    head = HTTPResponseParser(head_request=True)
    assert head.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")
    assert head.body == b""
    for status in (204, 304):
        parser = HTTPResponseParser()
        assert parser.feed(f"HTTP/1.1 {status} X\r\n\r\n".encode())
    parser = HTTPResponseParser()
    assert parser.feed(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    )
    assert parser.status == 201 and bytes(parser.body) == b"ok"


def test_bytes_past_the_response_are_left_over_and_bodies_can_be_discarded() -> None:
    parser = HTTPResponseParser(keep_body=False)
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1")
    assert parser.body == b"" and parser.body_bytes == 3 and parser.leftover == b"HTTP/1.1"


def test_garbage_is_refused() -> None:
    with pytest.raises(HTTPParseError):
        HTTPResponseParser().feed(b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(HTTPParseError):
        HTTPResponseParser().feed(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")


def test_a_dict_body_is_a_sorted_form_as_go_encodes_it() -> None:
    body, content_type = encode_body({"b": "2 3", "a": "&", "t": True})
    assert body == b"a=%26&b=2+3&t=true"
    assert content_type == "application/x-www-form-urlencoded"
    assert encode_body("text") == (b"text", None)
    assert encode_body(None) == (b"", None)


def test_a_file_makes_the_form_multipart() -> None:
    body, content_type = encode_body(
        {"note": "hi", "upload": HTTPFile("data!", "a.txt", "text/plain")}
    )
    boundary = content_type.split("boundary=")[1]
    assert content_type.startswith("multipart/form-data; boundary=")
    assert f"--{boundary}--\r\n".encode() in body
    assert b'name="upload"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\ndata!' in body


def test_content_encodings_are_undone() -> None:
    assert decode_content(gzip.compress(b"gz"), "gzip") == b"gz"
    assert decode_content(zlib.compress(b"zl"), "deflate") == b"zl"
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert decode_content(raw.compress(b"raw") + raw.flush(), "deflate") == b"raw"
    with pytest.raises(ValueError):
        decode_content(b"not gzip", "gzip")
    with pytest.raises(ValueError):
        decode_content(b"x", "zstd")


def test_json_selector_covers_gjsons_common_paths() -> None:
    doc = {"a": {"b": 1}, "items": [{"id": 7}, {"id": 9}], "x.y": 2}
    assert select_json(doc, "a.b") == 1
    assert select_json(doc, "items.1.id") == 9
    assert select_json(doc, "items.#") == 2
    assert select_json(doc, "items.#.id") == [7, 9]
    assert select_json(doc, "x\\.y") == 2
    assert select_json(doc, "a.missing") is None
    assert select_json(doc, "items.5") is None
