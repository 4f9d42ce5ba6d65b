"""Property-based fuzzing of the sans-I/O core: arbitrary bytes never escape as a crash.

The frame parser and the handshake parser may only raise their own errors (ProtocolError,
HandshakeError); ClientProtocol.receive_data/receive_eof must never raise at all (a misbehaving
peer is reported as a ProtocolFailure event). Bounded: a few hundred examples each, no deadline.
The coverage-guided variant is ``fuzzing/fuzz_protocol.py`` (atheris, run by hand).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenws.protocol import ClientProtocol, HandshakeError, ProtocolFailure, ResponseParser
from greenws.protocol.errors import ProtocolError
from greenws.protocol.frames import FrameParser

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Chunks biased towards frame-shaped bytes: a valid-looking header byte then anything.
header = st.sampled_from([0x00, 0x01, 0x02, 0x08, 0x09, 0x0A, 0x81, 0x82, 0x88, 0x89, 0x8A, 0xC1])
frame_like = st.builds(
    lambda first, second, rest: bytes((first, second)) + rest,
    header,
    st.integers(0, 255),
    st.binary(max_size=300),
)
chunk = st.one_of(st.binary(max_size=300), frame_like)
chunks = st.lists(chunk, max_size=8)


@FUZZ
@given(chunks, st.sampled_from([None, 0, 1, 125, 1000]))
def test_frame_parser_raises_only_protocol_errors(parts: list[bytes], limit: int | None) -> None:
    parser = FrameParser(max_size=limit)
    try:
        for part in parts:
            for frame in parser.feed(part):
                # The limit is for data; control frames have their own 125-byte cap.
                assert limit is None or frame.opcode >= 8 or len(frame.payload) <= limit
                assert len(frame.payload) <= 125 or frame.opcode < 8
    except ProtocolError as error:
        assert error.code in (1002, 1007, 1009)


@FUZZ
@given(chunks, st.sampled_from([None, 0, 125, 1000]), st.booleans())
def test_client_protocol_never_raises(parts: list[bytes], limit: int | None, eof: bool) -> None:
    protocol = ClientProtocol(max_message_size=limit)
    failures = 0
    for part in parts:
        events = protocol.receive_data(part)
        failures += sum(type(event) is ProtocolFailure for event in events)
        assert all(type(event) is not ProtocolFailure for event in events[:-1])  # failure is last
        protocol.data_to_send()
    if eof:
        failures += sum(type(event) is ProtocolFailure for event in protocol.receive_eof())
    assert failures <= 1  # a connection fails once; later data is ignored


@FUZZ
@given(chunks)
def test_client_protocol_accepts_any_chunking_of_the_same_bytes(parts: list[bytes]) -> None:
    whole = ClientProtocol(max_message_size=1000).receive_data(b"".join(parts))
    split = ClientProtocol(max_message_size=1000)
    pieces = [event for part in parts for event in split.receive_data(part)]
    if not any(type(event) is ProtocolFailure for event in whole + pieces):
        assert pieces == whole


response_head = st.builds(
    lambda status, lines, body: (
        (f"HTTP/1.1 {status} X\r\n".encode() + b"".join(line + b"\r\n" for line in lines) + b"\r\n")
        + body
    ),
    st.integers(0, 999),
    st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.sampled_from(
                [
                    b"Content-Length: 5",
                    b"Content-Length: -1",
                    b"Content-Length: x",
                    b"Content-Length: 99999999999999999999",
                    b"Transfer-Encoding: chunked",
                    b"Upgrade: websocket",
                    b"Content-Length: \xff",
                ]
            ),
        ),
        max_size=5,
    ),
    st.binary(max_size=100),
)


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=200), response_head), max_size=4), st.booleans())
def test_response_parser_raises_only_handshake_errors(parts: list[bytes], eof: bool) -> None:
    parser = ResponseParser()
    try:
        for part in parts:
            if parser.feed(part) is not None:
                return
        if eof:
            parser.feed_eof()
    except HandshakeError:
        pass


def test_chunk_sizes_are_hex_digits_only() -> None:
    """Found while fuzzing: int(..., 16) accepted a negative chunk size."""
    for size in (b"-5", b"+5", b"0x5", b"1_0", b""):
        parser = ResponseParser()
        head = b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n"
        try:
            parser.feed(head + size + b"\r\nabcde\r\n0\r\n\r\n")
        except HandshakeError as error:
            assert "invalid chunk size" in str(error)
        else:
            raise AssertionError(f"chunk size {size!r} accepted")
