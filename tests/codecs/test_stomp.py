"""The STOMP 1.2 codec with plain values: frames, escaping, content-length, streams, heart-beats."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenws.codecs.stomp import (
    Frame,
    FrameError,
    FrameParser,
    encode_frame,
    escape,
    format_heartbeat,
    negotiate_heartbeat,
    parse_heartbeat,
    unescape,
)

header_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
names = header_text.filter(lambda name: name != "content-length" and name != "")
commands = st.sampled_from(["SEND", "MESSAGE", "SUBSCRIBE", "ERROR", "RECEIPT", "ACK"])


def test_a_frame_is_encoded_as_the_specification_writes_it() -> None:
    assert encode_frame("SEND", {"destination": "/queue/a"}, "hi") == (
        b"SEND\ndestination:/queue/a\ncontent-length:2\n\nhi\x00"
    )
    assert encode_frame("DISCONNECT", [("receipt", "7")]) == b"DISCONNECT\nreceipt:7\n\n\x00"


def test_headers_are_escaped_except_in_connect_frames() -> None:
    assert encode_frame("SEND", {"a:b": "c\\d\ne\rf"}) == b"SEND\na\\cb:c\\\\d\\ne\\rf\n\n\x00"
    assert encode_frame("CONNECT", {"login": "a\\b"}) == b"CONNECT\nlogin:a\\b\n\n\x00"
    with pytest.raises(ValueError, match="CONNECT headers cannot hold"):
        encode_frame("CONNECT", {"passcode": "x\ny"})
    parsed = FrameParser().feed(b"CONNECTED\nserver:a\\c\n\n\x00")
    assert parsed[0].headers == {"server": "a\\c"}  # not unescaped: 1.0 compatibility


def test_undefined_escapes_are_errors() -> None:
    with pytest.raises(FrameError, match="undefined escape"):
        unescape("a\\tb")
    with pytest.raises(FrameError, match="undefined escape"):
        FrameParser().feed(b"MESSAGE\nx:a\\\n\n\x00")


@given(header_text)
def test_escape_round_trips(value: str) -> None:
    assert unescape(escape(value)) == value
    assert "\n" not in escape(value) and ":" not in escape(value)


@given(commands, st.dictionaries(names, header_text, max_size=5), st.binary(max_size=200))
def test_frames_round_trip_whatever_the_body(
    command: str, headers: dict[str, str], body: bytes
) -> None:
    (frame,) = FrameParser().feed(encode_frame(command, headers, body))
    assert frame.command == command and frame.body == body
    expected = dict(headers, **({"content-length": str(len(body))} if body else {}))
    assert frame.headers == expected


@given(
    st.lists(st.tuples(commands, st.binary(max_size=50)), min_size=1, max_size=6),
    st.integers(min_value=1, max_value=17),
)
def test_a_stream_cut_anywhere_gives_the_same_frames(
    frames: list[tuple[str, bytes]], chunk: int
) -> None:
    stream = (
        b"\n".join(
            encode_frame(command, {"n": str(i)}, body) for i, (command, body) in enumerate(frames)
        )
        + b"\r\n\n"
    )
    parser = FrameParser()
    out: list[Frame] = []
    for start in range(0, len(stream), chunk):
        out.extend(parser.feed(stream[start : start + chunk]))
    assert [(f.command, f.body, f.get("n")) for f in out] == [
        (command, body, str(i)) for i, (command, body) in enumerate(frames)
    ]
    assert parser.pending == 0
    assert parser.heartbeats == len(frames) - 1 + 2


def test_a_body_without_content_length_ends_at_the_first_nul() -> None:
    parser = FrameParser()
    frames = parser.feed("MESSAGE\r\ndestination:/topic/é\r\nx:1\r\nx:2\r\n\r\nhello\x00\n\nRECEI")
    assert frames == [Frame("MESSAGE", {"destination": "/topic/é", "x": "1"}, b"hello")]
    assert parser.heartbeats == 2 and parser.pending == 5
    assert parser.feed(b"PT\nreceipt-id:9\n\n\x00") == [Frame("RECEIPT", {"receipt-id": "9"})]


def test_content_length_carries_nuls_and_must_be_followed_by_one() -> None:
    assert FrameParser().feed(b"MESSAGE\ncontent-length:3\n\na\x00b\x00")[0].body == b"a\x00b"
    with pytest.raises(FrameError, match="no NUL after"):
        FrameParser().feed(b"MESSAGE\ncontent-length:1\n\nab\x00")
    with pytest.raises(FrameError, match="not a number"):
        FrameParser().feed(b"MESSAGE\ncontent-length:-1\n\n\x00")
    with pytest.raises(ValueError, match="content-length 5"):
        encode_frame("SEND", {"content-length": "5"}, b"ab")


def test_what_is_not_stomp_is_refused() -> None:
    with pytest.raises(FrameError, match="not a STOMP command"):
        FrameParser().feed(b"HTTP/1.1 200 OK\n\n\x00")
    with pytest.raises(FrameError, match="without ':'"):
        FrameParser().feed(b"SEND\nnocolon\n\n\x00")
    with pytest.raises(FrameError, match="no end of headers"):
        FrameParser().feed(b"SEND\n" + b"a" * 70_000)
    with pytest.raises(ValueError, match="upper-case"):
        encode_frame("send")


def test_heartbeats_are_negotiated_as_the_specification_says() -> None:
    assert parse_heartbeat("500,1000") == (500, 1000)
    assert parse_heartbeat(None) == (0, 0) and parse_heartbeat("") == (0, 0)
    assert format_heartbeat((10000, 0)) == "10000,0"
    with pytest.raises(FrameError):
        parse_heartbeat("fast")
    with pytest.raises(ValueError):
        format_heartbeat((-1, 0))
    # (client sends every, client expects every): the larger of "can" and "wants", 0 if either is 0
    assert negotiate_heartbeat((500, 500), (1000, 200)) == (500, 1000)
    assert negotiate_heartbeat((0, 500), (1000, 200)) == (0, 1000)
    assert negotiate_heartbeat((500, 0), (1000, 0)) == (0, 0)
