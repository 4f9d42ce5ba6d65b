"""ClientProtocol: feed server bytes, assert events and the bytes the client must send."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenws.protocol import (
    BinaryMessage,
    ClientProtocol,
    CloseReceived,
    Event,
    InvalidStateError,
    PingReceived,
    PongReceived,
    ProtocolFailure,
    State,
    TextMessage,
)
from greenws.protocol.frames import Frame, FrameParser, Opcode, serialize_frame

MASK = b"\x01\x02\x03\x04"


def fixed_masks(n: int) -> bytes:
    return MASK * (n // 4)


def client(**kwargs: object) -> ClientProtocol:
    return ClientProtocol(mask_source=fixed_masks, **kwargs)  # type: ignore[arg-type]


def server_frame(opcode: int, payload: bytes = b"", fin: bool = True) -> bytes:
    return serialize_frame(opcode, payload, fin=fin)


def sent(data: bytes) -> list[Frame]:
    """What a server would parse out of the client's bytes (masking checked)."""
    parser = FrameParser(max_size=None, expect_masked=True)
    frames = parser.feed(data)
    assert parser.buffered == 0
    return frames


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return code.to_bytes(2, "big") + reason


def feed_bytewise(proto: ClientProtocol, data: bytes) -> list[Event]:
    events: list[Event] = []
    for i in range(len(data)):
        events += proto.receive_data(data[i : i + 1])
    return events


# -- messages --------------------------------------------------------------------------


def test_single_frames_fast_path() -> None:
    proto = client()
    assert proto.receive_data(b"\x81\x05hello") == [TextMessage("hello")]
    assert proto.receive_data(b"\x82\x03\x00\x01\x02") == [BinaryMessage(b"\x00\x01\x02")]
    assert proto.receive_data(b"\x81\x00") == [TextMessage("")]
    assert proto.receive_data(bytearray(b"\x81\x02hi")) == [TextMessage("hi")]
    assert type(proto.receive_data(bytearray(b"\x82\x01x"))[0].data) is bytes  # type: ignore[attr-defined]
    assert proto.data_to_send() == b""
    assert not proto.outgoing


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 300_000])
def test_messages_of_every_length_encoding(size: int) -> None:
    proto = client()
    text = "é" * (size // 2) + "x" * (size % 2)
    data = server_frame(Opcode.TEXT, text.encode()) + server_frame(Opcode.BINARY, bytes(size))
    assert proto.receive_data(data) == [TextMessage(text), BinaryMessage(bytes(size))]


def test_several_frames_byte_by_byte() -> None:
    proto = client()
    data = (
        server_frame(Opcode.TEXT, "héllo".encode())
        + server_frame(Opcode.PONG, b"p")
        + server_frame(Opcode.BINARY, bytes(200))
    )
    assert feed_bytewise(proto, data) == [
        TextMessage("héllo"),
        PongReceived(b"p"),
        BinaryMessage(bytes(200)),
    ]
    # Back to an idle connection: the fast path serves the next frame.
    assert proto.receive_data(b"\x81\x01a") == [TextMessage("a")]


def test_fragmented_text_with_interleaved_ping() -> None:
    proto = client()
    data = (
        server_frame(Opcode.TEXT, b"Hel", fin=False)
        + server_frame(Opcode.PING, b"are you there")
        + server_frame(Opcode.CONT, b"lo, ", fin=False)
        + server_frame(Opcode.CONT, "wörld".encode())
    )
    assert proto.receive_data(data) == [PingReceived(b"are you there"), TextMessage("Hello, wörld")]
    assert sent(proto.data_to_send()) == [Frame(Opcode.PONG, b"are you there")]


def test_fragmented_binary_across_calls() -> None:
    proto = client()
    assert proto.receive_data(server_frame(Opcode.BINARY, b"\x00\x01", fin=False)) == []
    assert proto.receive_data(server_frame(Opcode.CONT, b"", fin=False)) == []
    assert proto.receive_data(server_frame(Opcode.CONT, b"\x02")) == [
        BinaryMessage(b"\x00\x01\x02")
    ]
    # A complete single frame afterwards, alone in its chunk.
    assert proto.receive_data(b"\x82\x01z") == [BinaryMessage(b"z")]


def test_multibyte_character_split_across_fragments_is_valid() -> None:
    proto = client()
    snowman = "☃".encode()  # three bytes
    data = (
        server_frame(Opcode.TEXT, b"a" + snowman[:1], fin=False)
        + server_frame(Opcode.CONT, snowman[1:2], fin=False)
        + server_frame(Opcode.CONT, snowman[2:] + b"b")
    )
    assert feed_bytewise(proto, data) == [TextMessage("a☃b")]


# -- invalid UTF-8 ---------------------------------------------------------------------


def assert_failed(proto: ClientProtocol, code: int) -> None:
    assert proto.state is State.CLOSING
    assert proto.close_sent
    (frame,) = sent(proto.data_to_send())
    assert frame.opcode == Opcode.CLOSE
    assert frame.payload[:2] == close_payload(code)


def test_invalid_utf8_single_frame() -> None:
    proto = client()
    (event,) = proto.receive_data(b"\x81\x02\xc3\x28")
    assert event == ProtocolFailure(1007, "invalid UTF-8 in text message")
    assert_failed(proto, 1007)


def test_invalid_utf8_in_a_chunk_of_several_frames() -> None:
    proto = client()
    data = server_frame(Opcode.TEXT, b"ok") + server_frame(Opcode.TEXT, b"\xff")
    assert proto.receive_data(data) == [
        TextMessage("ok"),
        ProtocolFailure(1007, "invalid UTF-8 in text message"),
    ]


def test_invalid_utf8_fails_at_the_first_bad_fragment() -> None:
    proto = client()
    assert proto.receive_data(server_frame(Opcode.TEXT, b"fine", fin=False)) == []
    events = proto.receive_data(
        server_frame(Opcode.CONT, b"\xce\xba\xe1\xbd\xb9\xed\xa0\x80", fin=False)
    )
    assert events == [ProtocolFailure(1007, "invalid UTF-8 in text message")]
    assert_failed(proto, 1007)


def test_truncated_utf8_fails_at_the_final_fragment() -> None:
    proto = client()
    assert proto.receive_data(server_frame(Opcode.TEXT, b"ok\xe2\x98", fin=False)) == []
    assert proto.receive_data(server_frame(Opcode.CONT, b"")) == [
        ProtocolFailure(1007, "invalid UTF-8 in text message")
    ]


# -- fragmentation rules ---------------------------------------------------------------


def test_continuation_without_start() -> None:
    proto = client()
    events = proto.receive_data(server_frame(Opcode.CONT, b"x"))
    assert events == [ProtocolFailure(1002, "continuation frame without a message to continue")]
    assert_failed(proto, 1002)


@pytest.mark.parametrize("opcode", [Opcode.TEXT, Opcode.BINARY])
def test_new_data_frame_inside_fragmented_message(opcode: Opcode) -> None:
    proto = client()
    data = server_frame(Opcode.TEXT, b"a", fin=False) + server_frame(opcode, b"b")
    (event,) = proto.receive_data(data)
    assert event == ProtocolFailure(1002, "new data frame while a fragmented message is incomplete")


# -- frame-level violations ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89\x7e" + bytes(128), "control frame too long (payload over 125 bytes)"),
        (b"\x09\x00", "fragmented control frame"),
        (serialize_frame(Opcode.TEXT, b"hi", mask=MASK), "masked frame from server"),
        (b"\xc1\x00", "reserved bits set (0x40)"),
        (b"\xa1\x00", "reserved bits set (0x20)"),
        (b"\x91\x00", "reserved bits set (0x10)"),
        (b"\x83\x00", "unknown opcode 3"),
        (b"\x8b\x00", "unknown opcode 11"),
        (b"\x82\x7f\xff" + bytes(7), "frame length has its most significant bit set"),
    ],
)
def test_frame_violations(data: bytes, message: str) -> None:
    proto = client()
    assert proto.receive_data(data) == [ProtocolFailure(1002, message)]
    assert_failed(proto, 1002)


def test_events_before_a_violation_are_kept_and_later_data_ignored() -> None:
    proto = client()
    data = server_frame(Opcode.TEXT, b"first") + b"\x83\x00" + server_frame(Opcode.TEXT, b"never")
    assert proto.receive_data(data) == [
        TextMessage("first"),
        ProtocolFailure(1002, "unknown opcode 3"),
    ]
    assert proto.receive_data(server_frame(Opcode.TEXT, b"later")) == []
    assert proto.receive_data(b"\x81\x01x") == []
    assert_failed(proto, 1002)
    assert proto.receive_eof() == []  # the failure was already reported
    assert (proto.state, proto.close_code) == (State.CLOSED, 1006)


def test_message_too_big() -> None:
    proto = client(max_message_size=1000)
    events = proto.receive_data(server_frame(Opcode.BINARY, bytes(1001))[:4])
    assert events == [ProtocolFailure(1009, "message too big (1001 bytes, limit 1000)")]
    assert_failed(proto, 1009)


def test_message_too_big_across_fragments() -> None:
    proto = client(max_message_size=1000)
    assert proto.receive_data(server_frame(Opcode.TEXT, b"a" * 600, fin=False)) == []
    (event,) = proto.receive_data(server_frame(Opcode.CONT, b"a" * 401))
    assert event == ProtocolFailure(1009, "message too big (1001 bytes, limit 1000)")


def test_small_limit_also_applies_to_the_fast_path() -> None:
    proto = client(max_message_size=4)
    assert proto.receive_data(b"\x81\x04abcd") == [TextMessage("abcd")]
    assert proto.receive_data(b"\x81\x05abcde")[0].code == 1009  # type: ignore[attr-defined]


def test_no_limit() -> None:
    proto = client(max_message_size=None)
    big = bytes(11 * 1024 * 1024)
    assert proto.receive_data(server_frame(Opcode.BINARY, big)) == [BinaryMessage(big)]


# -- ping / pong -----------------------------------------------------------------------


def test_auto_pong_bytes() -> None:
    proto = client()
    assert proto.receive_data(b"\x89\x04ping") == [PingReceived(b"ping")]
    masked = bytes(b ^ MASK[i % 4] for i, b in enumerate(b"ping"))
    assert proto.outgoing
    assert proto.data_to_send() == b"\x8a\x84" + MASK + masked
    assert proto.data_to_send() == b""


def test_no_pong_once_closing() -> None:
    proto = client()
    proto.send_close()
    assert proto.receive_data(b"\x89\x00") == [PingReceived(b"")]
    assert proto.data_to_send() == b""


def test_sending_control_frames() -> None:
    proto = client()
    assert sent(proto.send_ping(b"x" * 125)) == [Frame(Opcode.PING, b"x" * 125)]
    assert sent(proto.send_ping()) == [Frame(Opcode.PING, b"")]
    assert sent(proto.send_pong(b"hb")) == [Frame(Opcode.PONG, b"hb")]
    with pytest.raises(ValueError, match="125"):
        proto.send_ping(b"x" * 126)


# -- sending data ----------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 100_000])
def test_send_text_and_binary(size: int) -> None:
    proto = ClientProtocol()
    text = "ü" * (size // 2) + "x" * (size % 2)
    assert sent(proto.send_text(text)) == [Frame(Opcode.TEXT, text.encode())]
    payload = random.Random(size).randbytes(size)
    for data in (payload, bytearray(payload), memoryview(payload)):
        assert sent(proto.send_binary(data)) == [Frame(Opcode.BINARY, payload)]


def test_send_text_exact_bytes() -> None:
    masked = bytes(b ^ MASK[i % 4] for i, b in enumerate(b"Hello"))
    assert client().send_text("Hello") == b"\x81\x85" + MASK + masked


def test_masks_drawn_in_batches() -> None:
    calls: list[int] = []

    def source(n: int) -> bytes:
        calls.append(n)
        return random.randbytes(n)

    proto = ClientProtocol(mask_source=source)
    masks = {proto.send_binary(b"x")[2:6] for _ in range(300)}
    assert calls == [64] * 19  # 16 masks per call: 300 frames need 19 calls
    assert len(masks) > 250  # fresh keys, not one reused
    broken = ClientProtocol(mask_source=lambda n: b"1234")
    with pytest.raises(ValueError, match="mask_source"):
        broken.send_text("x")


# -- closing ---------------------------------------------------------------------------


def test_close_received_while_open_is_echoed() -> None:
    proto = client()
    events = proto.receive_data(server_frame(Opcode.CLOSE, close_payload(1000, b"bye")))
    assert events == [CloseReceived(1000, "bye")]
    assert (proto.state, proto.close_code, proto.close_reason) == (State.CLOSED, 1000, "bye")
    assert proto.close_sent
    assert sent(proto.data_to_send()) == [Frame(Opcode.CLOSE, close_payload(1000))]


def test_empty_close_is_1005_and_echoed_empty() -> None:
    proto = client()
    assert proto.receive_data(b"\x88\x00") == [CloseReceived(1005, "")]
    assert sent(proto.data_to_send()) == [Frame(Opcode.CLOSE, b"")]
    assert proto.close_code == 1005


def test_close_handshake_we_started() -> None:
    proto = client()
    assert sent(proto.send_close(1001, "going")) == [
        Frame(Opcode.CLOSE, close_payload(1001, b"going"))
    ]
    assert (proto.state, proto.close_sent) == (State.CLOSING, True)
    # Messages still arrive until the server's Close.
    assert proto.receive_data(b"\x81\x02hi") == [TextMessage("hi")]
    assert proto.receive_data(server_frame(Opcode.CLOSE, close_payload(1001))) == [
        CloseReceived(1001, "")
    ]
    assert proto.state is State.CLOSED
    assert proto.data_to_send() == b""  # nothing echoed: our Close was the first
    assert proto.receive_eof() == []


def test_data_after_close_is_ignored() -> None:
    proto = client()
    data = server_frame(Opcode.CLOSE, close_payload(1000)) + server_frame(Opcode.TEXT, b"late")
    assert proto.receive_data(data) == [CloseReceived(1000, "")]
    assert proto.receive_data(b"\x81\x01x") == []
    assert proto.receive_data(b"\xff\xff") == []


def test_violation_after_close_in_the_same_chunk_is_ignored() -> None:
    proto = client()
    data = server_frame(Opcode.CLOSE, close_payload(1000)) + b"\x83\x00"
    assert proto.receive_data(data) == [CloseReceived(1000, "")]
    assert sent(proto.data_to_send()) == [Frame(Opcode.CLOSE, close_payload(1000))]


VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_received_close_codes(code: int) -> None:
    proto = client()
    assert proto.receive_data(server_frame(Opcode.CLOSE, close_payload(code, b"r"))) == [
        CloseReceived(code, "r")
    ]


@pytest.mark.parametrize("code", INVALID_CODES)
def test_invalid_received_close_codes(code: int) -> None:
    proto = client()
    events = proto.receive_data(server_frame(Opcode.CLOSE, close_payload(code)))
    assert events == [ProtocolFailure(1002, f"invalid close code {code}")]
    assert_failed(proto, 1002)
    assert proto.close_code is None


def test_invalid_close_payloads() -> None:
    proto = client()
    assert proto.receive_data(b"\x88\x01\x03") == [
        ProtocolFailure(1002, "close frame with a 1-byte payload")
    ]
    proto = client()
    events = proto.receive_data(server_frame(Opcode.CLOSE, close_payload(1000, b"\xff")))
    assert events == [ProtocolFailure(1007, "invalid UTF-8 in close reason")]
    assert_failed(proto, 1007)


@pytest.mark.parametrize("code", [1000, 1001, 3000, 4000, 4999])
def test_send_close_accepts_user_codes(code: int) -> None:
    proto = client()
    assert sent(proto.send_close(code)) == [Frame(Opcode.CLOSE, close_payload(code))]


@pytest.mark.parametrize("code", [0, 999, 1002, 1005, 1006, 1011, 1015, 2999, 5000])
def test_send_close_rejects_reserved_codes(code: int) -> None:
    proto = client()
    with pytest.raises(InvalidStateError, match="invalid close code"):
        proto.send_close(code)
    assert proto.state is State.OPEN


def test_send_close_reason_length() -> None:
    assert len(client().send_close(1000, "r" * 123)) == 2 + 4 + 125
    assert client().send_close(1000, "é" * 61)  # 122 bytes
    with pytest.raises(InvalidStateError, match="too long"):
        client().send_close(1000, "é" * 62)  # 124 bytes


@pytest.mark.parametrize("how", ["send_close", "receive_close", "fail", "eof"])
def test_send_after_close_raises(how: str) -> None:
    proto = client()
    if how == "send_close":
        proto.send_close()
    elif how == "receive_close":
        proto.receive_data(b"\x88\x00")
    elif how == "fail":
        proto.receive_data(b"\x83\x00")
    else:
        proto.receive_eof()
    calls: list[Callable[[], bytes]] = [
        lambda: proto.send_text("x"),
        lambda: proto.send_binary(b"x"),
        lambda: proto.send_ping(),
        lambda: proto.send_pong(),
        lambda: proto.send_close(),
    ]
    for call in calls:
        with pytest.raises(InvalidStateError, match="cannot send: the connection is clos"):
            call()


def test_eof_without_close_is_abnormal() -> None:
    proto = client()
    assert proto.receive_eof() == [
        ProtocolFailure(1006, "connection closed abnormally (no close frame)")
    ]
    assert (proto.state, proto.close_code, proto.close_reason) == (State.CLOSED, 1006, "")
    assert proto.receive_eof() == []
    assert proto.receive_data(b"\x81\x01x") == []
    assert proto.data_to_send() == b""


def test_eof_while_closing_is_abnormal_too() -> None:
    proto = client()
    proto.send_close()
    (event,) = proto.receive_eof()
    assert event.code == 1006  # type: ignore[attr-defined]


def test_runtime_can_fail_the_connection() -> None:
    proto = client()
    assert proto.fail(1011, "handler crashed") == ProtocolFailure(1011, "handler crashed")
    (frame,) = sent(proto.data_to_send())
    assert frame.payload == close_payload(1011, b"handler crashed")
    assert proto.fail(1002, "again") == ProtocolFailure(1002, "again")
    assert proto.data_to_send() == b""  # one Close only


def test_fail_truncates_reason_and_never_sends_1006() -> None:
    proto = client()
    proto.fail(1002, "é" * 100)
    (frame,) = sent(proto.data_to_send())
    assert len(frame.payload) <= 125
    frame.payload[2:].decode()
    quiet = client()
    quiet.fail(1006, "gone")
    assert quiet.data_to_send() == b""
    assert not quiet.close_sent


def test_failure_after_our_close_sends_no_second_close() -> None:
    proto = client()
    proto.send_close()
    assert proto.receive_data(b"\x83\x00") == [ProtocolFailure(1002, "unknown opcode 3")]
    assert proto.data_to_send() == b""


# -- events ----------------------------------------------------------------------------


def test_event_value_semantics() -> None:
    assert TextMessage("a") == TextMessage("a")
    assert TextMessage("a") != TextMessage("b")
    assert TextMessage("a") != PongReceived(b"a")
    assert BinaryMessage(b"a") != b"a"
    assert repr(CloseReceived(1000, "bye")) == "CloseReceived(code=1000, reason='bye')"
    assert repr(ProtocolFailure(1002, "x")) == "ProtocolFailure(code=1002, message='x')"
    assert repr(TextMessage("hi")) == "TextMessage(data='hi')"
    match PingReceived(b"p"):
        case PingReceived(payload):
            assert payload == b"p"


# -- property: chunking never changes the outcome --------------------------------------

cuts_strategy = st.lists(st.integers(0, 1000), max_size=3)
message_strategy: st.SearchStrategy[tuple[str, object, list[int]]] = st.one_of(
    st.tuples(st.just("text"), st.text(max_size=300), cuts_strategy),
    st.tuples(st.just("binary"), st.binary(max_size=300), cuts_strategy),
    st.tuples(st.just("ping"), st.binary(max_size=125), st.just([])),
    st.tuples(st.just("pong"), st.binary(max_size=125), st.just([])),
)


def build_stream(
    messages: list[tuple[str, object, list[int]]], close: bool
) -> tuple[bytes, list[Event]]:
    """Serialise messages: data ones cut into fragments at `cuts`, a ping after the first.

    Cuts fall anywhere, inside multi-byte characters too, and may leave empty fragments.
    """
    data = bytearray()
    expected: list[Event] = []
    for kind, value, cuts in messages:
        if kind in ("ping", "pong"):
            assert isinstance(value, bytes)
            data += server_frame(Opcode.PING if kind == "ping" else Opcode.PONG, value)
            expected.append(PingReceived(value) if kind == "ping" else PongReceived(value))
            continue
        raw = value.encode() if isinstance(value, str) else value
        assert isinstance(raw, bytes)
        bounds = [0, *sorted(min(cut, len(raw)) for cut in cuts), len(raw)]
        parts = len(bounds) - 1
        for i in range(parts):
            opcode = (Opcode.TEXT if kind == "text" else Opcode.BINARY) if i == 0 else Opcode.CONT
            data += server_frame(opcode, raw[bounds[i] : bounds[i + 1]], fin=i == parts - 1)
            if i == 0 and parts > 1:
                data += server_frame(Opcode.PING, b"mid")
                expected.append(PingReceived(b"mid"))
        expected.append(TextMessage(value) if kind == "text" else BinaryMessage(raw))  # type: ignore[arg-type]
    if close:
        data += server_frame(Opcode.CLOSE, close_payload(1000, "fin ☃".encode()))
        expected.append(CloseReceived(1000, "fin ☃"))
    return bytes(data), expected


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    messages=st.lists(message_strategy, max_size=8),
    close=st.booleans(),
    splits=st.lists(st.integers(min_value=0, max_value=5000), max_size=12),
)
def test_any_split_yields_the_same_events(
    messages: list[tuple[str, object, list[int]]], close: bool, splits: list[int]
) -> None:
    data, expected = build_stream(messages, close)
    whole = client()
    assert whole.receive_data(data) == expected
    chunked = client()
    events: list[Event] = []
    pos = 0
    for cut in [*sorted({min(s, len(data)) for s in splits}), len(data)]:
        events += chunked.receive_data(data[pos:cut])
        pos = cut
    assert events == expected
    assert chunked.data_to_send() == whole.data_to_send()
    assert chunked.state == whole.state == (State.CLOSED if close else State.OPEN)


def test_default_masks_come_from_one_shared_pool_without_reuse() -> None:
    """Idle connections hold no masks of their own, and no two frames share a key."""
    first, second = ClientProtocol(), ClientProtocol()
    assert first._masks is second._masks  # the shared pool
    keys = [proto.send_text("x")[2:6] for _ in range(300) for proto in (first, second)]
    assert len(set(keys)) > 590  # 600 random 32-bit keys: a collision is vanishingly rare
    custom = ClientProtocol(mask_source=fixed_masks)
    assert custom._masks is not first._masks
