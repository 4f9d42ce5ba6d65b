"""Frames: masking, serialisation and the incremental parser, fed plain bytes."""

from __future__ import annotations

import importlib.util
import random
import sys

import pytest

from greenws.protocol import frames
from greenws.protocol.errors import ProtocolError
from greenws.protocol.frames import (
    Frame,
    FrameParser,
    Opcode,
    RawFrame,
    apply_mask,
    apply_mask_python,
    serialize_frame,
)

MASK = b"\x37\xfa\x21\x3d"  # the masking key of RFC 6455 section 5.7's examples


def parse_all(data: bytes, *, max_size: int | None = None, masked: bool = False) -> list[Frame]:
    return FrameParser(max_size=max_size, expect_masked=masked).feed(data)


def parse_in_chunks(data: bytes, sizes: list[int], **kwargs: object) -> list[Frame]:
    parser = FrameParser(max_size=None, **kwargs)  # type: ignore[arg-type]
    result: list[Frame] = []
    pos = 0
    for size in sizes:
        result += parser.feed(data[pos : pos + size])
        pos += size
    result += parser.feed(data[pos:])
    assert parser.buffered == 0
    return result


def test_opcode_values() -> None:
    assert [int(op) for op in Opcode] == [0, 1, 2, 8, 9, 10]
    assert Opcode.CLOSE.name == "CLOSE"


# -- masking -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [*range(0, 20), 125, 126, 1000, 65536, 100_003])
def test_mask_python_and_speedup_agree(size: int) -> None:
    data = random.Random(size).randbytes(size)
    masked = apply_mask_python(data, MASK)
    assert apply_mask_python(masked, MASK) == data  # masking is its own inverse
    assert apply_mask(data, MASK) == masked
    if frames.apply_mask_speedup is not None:
        assert frames.apply_mask_speedup(data, MASK) == masked


def test_mask_matches_websockets_and_byte_loop() -> None:
    speedups = pytest.importorskip("websockets.speedups")
    data = bytes(range(256)) * 3 + b"tail"
    by_loop = bytes(b ^ MASK[i % 4] for i, b in enumerate(data))
    assert apply_mask_python(data, MASK) == by_loop
    assert speedups.apply_mask(data, MASK) == by_loop
    assert apply_mask(data, MASK) == by_loop


def test_speedup_loaded_when_websockets_is_installed() -> None:
    pytest.importorskip("websockets.speedups")
    assert frames.apply_mask_speedup is not None
    assert apply_mask is frames.apply_mask_speedup


def test_speedup_loader_leaves_no_module_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("websockets.speedups")
    monkeypatch.delitem(sys.modules, "websockets.speedups")
    function = frames._load_speedup()
    assert function is not None
    assert function(b"Hello", MASK) == apply_mask_python(b"Hello", MASK)
    assert "websockets.speedups" not in sys.modules


def test_speedup_loader_without_websockets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "websockets.speedups", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert frames._load_speedup() is None


def test_mask_accepts_buffers_and_rejects_bad_keys() -> None:
    data = b"Hello"
    expected = bytes.fromhex("7f9f4d5158")
    assert apply_mask_python(bytearray(data), MASK) == expected
    assert apply_mask_python(memoryview(data), MASK) == expected
    assert apply_mask(memoryview(data), MASK) == expected
    with pytest.raises(ValueError):
        apply_mask_python(data, b"abc")


# -- serialisation: RFC 6455 section 5.7 examples -------------------------------------


def test_rfc_examples() -> None:
    assert serialize_frame(Opcode.TEXT, b"Hello") == bytes.fromhex("810548656c6c6f")
    assert serialize_frame(Opcode.TEXT, b"Hello", mask=MASK) == bytes.fromhex(
        "818537fa213d7f9f4d5158"
    )
    assert serialize_frame(Opcode.TEXT, b"Hel", fin=False) == bytes.fromhex("010348656c")
    assert serialize_frame(Opcode.CONT, b"lo") == bytes.fromhex("80026c6f")
    assert serialize_frame(Opcode.PING, b"Hello") == bytes.fromhex("890548656c6c6f")
    assert serialize_frame(Opcode.PONG, b"Hello", mask=MASK) == bytes.fromhex(
        "8a8537fa213d7f9f4d5158"
    )
    assert serialize_frame(Opcode.BINARY, bytes(256))[:4] == bytes.fromhex("827e0100")
    assert serialize_frame(Opcode.BINARY, bytes(65536))[:10] == bytes.fromhex(
        "827f0000000000010000"
    )


def test_serialize_rsv1_and_errors() -> None:
    assert serialize_frame(Opcode.TEXT, b"", rsv1=True) == b"\xc1\x00"
    with pytest.raises(ValueError, match="control frame"):
        serialize_frame(Opcode.PING, bytes(126))
    with pytest.raises(ValueError, match="mask"):
        serialize_frame(Opcode.TEXT, b"x", mask=b"12345")


@pytest.mark.parametrize(
    ("size", "header_size"),
    [(0, 2), (1, 2), (125, 2), (126, 4), (65535, 4), (65536, 10), (200_000, 10)],
)
@pytest.mark.parametrize("mask", [None, MASK])
def test_length_encodings_round_trip(size: int, header_size: int, mask: bytes | None) -> None:
    payload = random.Random(size).randbytes(size)
    data = serialize_frame(Opcode.BINARY, payload, mask=mask)
    assert len(data) == header_size + (4 if mask else 0) + size
    assert parse_all(data, masked=mask is not None) == [Frame(Opcode.BINARY, payload)]


@pytest.mark.parametrize("opcode", list(Opcode))
def test_every_opcode_parses(opcode: Opcode) -> None:
    data = serialize_frame(opcode, b"abc")
    (frame,) = parse_all(data)
    assert (frame.opcode, frame.payload, frame.fin, frame.rsv1) == (opcode, b"abc", True, False)


def test_non_final_data_frame_and_repr() -> None:
    (frame,) = parse_all(serialize_frame(Opcode.TEXT, b"ab", fin=False))
    assert frame == Frame(Opcode.TEXT, b"ab", fin=False)
    assert frame != Frame(Opcode.TEXT, b"ab")
    assert repr(frame) == "Frame(TEXT, b'ab', fin=False)"
    assert repr(Frame(Opcode.BINARY, b"", rsv1=True)) == "Frame(BINARY, b'', rsv1=True)"
    assert Frame(Opcode.PING, b"") != "not a frame"


# -- incremental parsing --------------------------------------------------------------


def stream() -> tuple[bytes, list[Frame]]:
    parts = [
        (Opcode.TEXT, b"Hel", False),
        (Opcode.PING, b"p", True),
        (Opcode.CONT, b"lo", True),
        (Opcode.BINARY, bytes(300), True),
        (Opcode.BINARY, bytes(70_000), True),
        (Opcode.PONG, b"", True),
        (Opcode.CLOSE, b"\x03\xe8bye", True),
    ]
    data = b"".join(serialize_frame(op, p, fin=fin) for op, p, fin in parts)
    return data, [Frame(op, p, fin) for op, p, fin in parts]


def test_byte_by_byte() -> None:
    data, expected = stream()
    parser = FrameParser(max_size=None)
    result: list[Frame] = []
    for i in range(len(data)):
        result += parser.feed(data[i : i + 1])
    assert result == expected
    assert parser.buffered == 0


@pytest.mark.parametrize("seed", range(20))
def test_random_chunkings(seed: int) -> None:
    data, expected = stream()
    rng = random.Random(seed)
    sizes = [rng.choice([1, 2, 3, 7, 100, 5000, 40_000]) for _ in range(30)]
    assert parse_in_chunks(data, sizes) == expected


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_accepts_any_buffer(kind: type) -> None:
    data, expected = stream()
    parser = FrameParser(max_size=None)
    result = parser.feed(kind(data[:1000])) + parser.feed(kind(data[1000:]))
    assert result == expected
    assert all(type(frame.payload) is bytes for frame in result)


def test_masked_stream_in_chunks() -> None:
    data = b"".join(serialize_frame(Opcode.TEXT, b"x" * n, mask=MASK) for n in (0, 5, 200))
    result = parse_in_chunks(data, [1, 1, 1, 1, 3, 50], expect_masked=True)
    assert [f.payload for f in result] == [b"", b"x" * 5, b"x" * 200]


def test_big_message_in_64k_chunks_keeps_one_buffer() -> None:
    payload = random.Random(1).randbytes(1024 * 1024)
    data = serialize_frame(Opcode.BINARY, payload)
    parser = FrameParser(max_size=2 * 1024 * 1024)
    chunk = 64 * 1024
    for pos in range(0, len(data) - chunk, chunk):
        assert parser.feed(data[pos : pos + chunk]) == []
        assert parser.buffered == pos + chunk
    (frame,) = parser.feed(data[len(data) // chunk * chunk :])
    assert frame.payload == payload
    assert parser.buffered == 0


def test_partial_frame_after_complete_ones_is_kept() -> None:
    one = serialize_frame(Opcode.TEXT, b"one")
    two = serialize_frame(Opcode.TEXT, b"two" * 100)
    parser = FrameParser(max_size=None)
    assert parser.feed(one + two[:5]) == [Frame(Opcode.TEXT, b"one")]
    assert parser.buffered == 5
    assert parser.feed(two[5:] + one[:1]) == [Frame(Opcode.TEXT, b"two" * 100)]
    assert parser.feed(one[1:]) == [Frame(Opcode.TEXT, b"one")]


# -- violations -----------------------------------------------------------------------


def error_of(data: bytes, **kwargs: object) -> ProtocolError:
    parser = FrameParser(**{"max_size": None, **kwargs})  # type: ignore[arg-type]
    with pytest.raises(ProtocolError) as info:
        parser.feed(data)
    return info.value


@pytest.mark.parametrize("bit", [0x40, 0x20, 0x10])
def test_reserved_bits(bit: int) -> None:
    err = error_of(bytes((0x81 | bit, 0)))
    assert err.code == 1002
    assert "reserved bits" in str(err)


def test_rsv1_allowed_when_negotiated() -> None:
    parser = FrameParser(max_size=None)
    parser.allow_rsv1 = True
    (frame,) = parser.feed(b"\xc1\x01a")
    assert frame.rsv1 is True
    with pytest.raises(ProtocolError):
        parser.feed(b"\xa1\x00")  # RSV2 is never allowed


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
def test_unknown_opcode(opcode: int) -> None:
    err = error_of(bytes((0x80 | opcode, 0)))
    assert (err.code, str(err)) == (1002, f"unknown opcode {opcode}")


def test_control_frame_too_long_fails_on_header() -> None:
    err = error_of(b"\x89\x7e")  # the 2-byte header suffices to refuse it
    assert err.code == 1002
    assert "control frame too long" in str(err)


def test_fragmented_control_frame() -> None:
    assert "fragmented control frame" in str(error_of(b"\x09\x00"))


def test_masking_must_match_side() -> None:
    assert (
        str(error_of(serialize_frame(Opcode.TEXT, b"a", mask=MASK))) == "masked frame from server"
    )
    err = error_of(serialize_frame(Opcode.TEXT, b"a"), expect_masked=True)
    assert str(err) == "unmasked frame from client"


def test_64_bit_length_with_msb_set() -> None:
    err = error_of(b"\x82\x7f\x80" + bytes(7))
    assert err.code == 1002
    assert "most significant bit" in str(err)


def test_frame_over_max_size_fails_on_header() -> None:
    header = serialize_frame(Opcode.BINARY, bytes(1000))[:4]
    err = error_of(header, max_size=999)
    assert err.code == 1009
    assert str(err) == "message too big (1000 bytes, limit 999)"
    assert parse_all(serialize_frame(Opcode.BINARY, bytes(999)), max_size=999)


def test_message_over_max_size_across_fragments() -> None:
    parser = FrameParser(max_size=10)
    assert len(parser.feed(serialize_frame(Opcode.TEXT, b"x" * 6, fin=False))) == 1
    assert len(parser.feed(serialize_frame(Opcode.PING, b"y" * 100))) == 1  # controls don't count
    with pytest.raises(ProtocolError) as info:
        parser.feed(serialize_frame(Opcode.CONT, b"x" * 5))
    assert info.value.code == 1009
    assert "11 bytes" in str(info.value)


def test_max_size_resets_after_final_fragment() -> None:
    parser = FrameParser(max_size=10)
    for _ in range(3):
        parser.feed(serialize_frame(Opcode.TEXT, b"x" * 5, fin=False))
        parser.feed(serialize_frame(Opcode.CONT, b"x" * 5))


def test_feed_raw_keeps_frames_before_the_violation() -> None:
    parser = FrameParser(max_size=None)
    out: list[RawFrame] = []
    with pytest.raises(ProtocolError):
        parser.feed_raw(serialize_frame(Opcode.TEXT, b"ok") + b"\x83\x00", out)
    assert out == [(Opcode.TEXT, b"ok", True, False)]
