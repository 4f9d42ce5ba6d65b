"""The MQTT codec with plain values: known bytes, round trips, streaming, malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenws.codecs.mqtt import (
    PUBACK,
    PUBCOMP,
    PUBREC,
    PUBREL,
    Ack,
    Auth,
    Connack,
    Connect,
    Disconnect,
    PacketReader,
    Pingreq,
    Pingresp,
    Publish,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
    Will,
    encode,
    reason_text,
)
from greenws.codecs.mqtt_properties import decode_varint, encode_varint
from greenws.codecs.mqtt_topics import topic_matches


def decode_one(data: bytes, version: int = 4):
    packets = PacketReader(version).feed(data)
    assert len(packets) == 1
    return packets[0]


def test_known_bytes_from_the_specification() -> None:
    # MQTT 3.1.1: CONNECT "MQTT" level 4, clean session, keepalive 60, client id "a".
    assert encode(Connect("a")) == bytes.fromhex("100d00044d5154540402003c000161")
    assert encode(Pingreq()) == b"\xc0\x00"
    assert encode(Disconnect()) == b"\xe0\x00"
    assert encode(Publish("t", b"x")) == b"\x30\x04\x00\x01tx"
    assert encode(Publish("t", b"x", qos=1, packet_id=10)) == b"\x32\x06\x00\x01t\x00\x0ax"
    assert encode(Ack(PUBREL, 7)) == b"\x62\x02\x00\x07"  # PUBREL's reserved flags are 0010
    assert encode(Subscribe(1, (("a/+", 1),))) == b"\x82\x08\x00\x01\x00\x03a/+\x01"
    assert decode_one(b"\x20\x02\x00\x05") == Connack(5, False)
    assert decode_one(b"\xd0\x00") == Pingresp()
    # MQTT 5: the same PUBACK with a reason code and a reason string.
    ack = Ack(PUBACK, 3, 0x87, {"reason_string": "no"})
    assert encode(ack, 5) == b"\x40\x09\x00\x03\x87\x05\x1f\x00\x02no"
    assert decode_one(encode(ack, 5), 5) == ack


@pytest.mark.parametrize(
    ("value", "raw"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (16_383, b"\xff\x7f"),
        (16_384, b"\x80\x80\x01"),
        (268_435_455, b"\xff\xff\xff\x7f"),
    ],
)
def test_varint_boundaries(value: int, raw: bytes) -> None:
    assert encode_varint(value) == raw
    assert decode_varint(raw, 0) == (value, len(raw))
    assert decode_varint(raw[:-1], 0) is None  # not all there yet


def test_varint_limits() -> None:
    with pytest.raises(ValueError):
        encode_varint(268_435_456)
    with pytest.raises(ValueError):
        decode_varint(b"\xff\xff\xff\xff\x01", 0)


SAMPLES_V4 = [
    Connect("c1", 4, 30, False, "user", b"secret", Will("w/t", b"gone", 1, True)),
    Connack(0, True),
    Publish("a/b", b"\x00\x01", 2, True, True, 65535),
    Ack(PUBACK, 1),
    Ack(PUBREC, 2),
    Ack(PUBREL, 3),
    Ack(PUBCOMP, 4),
    Subscribe(9, (("a/#", 0), ("b/+/c", 2))),
    Suback(9, (0, 2, 0x80)),
    Unsubscribe(10, ("a/#", "b")),
    Unsuback(10),
    Pingreq(),
    Pingresp(),
    Disconnect(),
]
SAMPLES_V5 = [
    Connect(
        "c5",
        5,
        0,
        True,
        None,
        None,
        Will("w", b"", 0, False, {"will_delay_interval": 2}),
        {"session_expiry_interval": 60, "user_property": [("k", "v"), ("k", "w")]},
    ),
    Connack(0x86, False, {"reason_string": "bad", "server_keep_alive": 5}),
    Publish(
        "x",
        b"p",
        1,
        False,
        False,
        5,
        {"content_type": "text/plain", "subscription_identifier": [1, 300]},
    ),
    Ack(PUBREC, 5, 0x10),
    Ack(PUBCOMP, 5, 0x92, {"reason_string": "gone"}),
    Subscribe(2, (("s", 0b101110),), {"subscription_identifier": [7]}),
    Suback(2, (1, 0x87), {"user_property": [("a", "b")]}),
    Unsuback(3, (0, 0x11)),
    Disconnect(0x04, {"session_expiry_interval": 0}),
    Auth(0x18, {"authentication_method": "m", "authentication_data": b"\x01"}),
]


@pytest.mark.parametrize("packet", SAMPLES_V4, ids=lambda p: type(p).__name__)
def test_round_trip_3_1_1(packet) -> None:
    assert decode_one(encode(packet, 4), 4) == packet


@pytest.mark.parametrize("packet", SAMPLES_V5, ids=lambda p: type(p).__name__)
def test_round_trip_5(packet) -> None:
    assert decode_one(encode(packet, 5), 5) == packet


def test_a_decoded_connect_sets_the_readers_level() -> None:
    reader = PacketReader(4)
    reader.feed(encode(SAMPLES_V5[0]))
    assert reader.version == 5


topics = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
publishes = st.builds(
    Publish,
    topic=topics,
    payload=st.binary(max_size=300),
    qos=st.sampled_from([0, 1, 2]),
    retain=st.booleans(),
    dup=st.booleans(),
    packet_id=st.integers(1, 65535),
).map(lambda p: p if p.qos else Publish(p.topic, p.payload, 0, p.retain, p.dup, None))


@given(st.lists(publishes, min_size=1, max_size=8), st.data(), st.sampled_from([4, 5]))
def test_streamed_in_any_chunks_gives_the_same_packets(packets, data, version) -> None:
    """MQTT packets may span WebSocket frames or share one: any split decodes the same."""
    wire = b"".join(encode(p, version) for p in packets)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=6)))
    reader, out, last = PacketReader(version), [], 0
    for cut in [*cuts, len(wire)]:
        out += reader.feed(wire[last:cut])
        last = cut
    assert out == packets
    assert reader.buffered == 0


@given(
    st.dictionaries(st.sampled_from(["content_type", "response_topic"]), topics, max_size=2),
    st.binary(max_size=20),
    st.integers(0, 2**32 - 1),
)
def test_v5_properties_round_trip(strings, correlation, expiry) -> None:
    props = {**strings, "correlation_data": correlation, "message_expiry_interval": expiry}
    packet = Publish("t", b"", 0, properties=props)
    assert decode_one(encode(packet, 5), 5) == packet


def test_errors_are_values_errors() -> None:
    with pytest.raises(ValueError, match="QoS"):
        encode(Publish("t", b"", 3, packet_id=1))
    with pytest.raises(ValueError, match="packet identifier"):
        encode(Publish("t", b"", 1))
    with pytest.raises(ValueError, match=r"3\.1\.1 has no properties"):
        encode(Publish("t", b"", properties={"content_type": "x"}), 4)
    with pytest.raises(ValueError, match="unknown MQTT 5 property"):
        encode(Publish("t", b"", properties={"colour": 1}), 5)
    with pytest.raises(ValueError, match="protocol level"):
        encode(Connect("c", version=3))
    with pytest.raises(ValueError, match="malformed"):
        PacketReader(4).feed(b"\x32\x03\x00\x05a")  # topic length past the end
    with pytest.raises(ValueError, match="unknown type"):
        PacketReader(4).feed(b"\x00\x00")
    with pytest.raises(ValueError, match="over"):
        PacketReader(4, max_size=10).feed(b"\x30\x7f")


def test_reason_texts() -> None:
    assert reason_text(5, 4, connack=True) == "not authorized"
    assert reason_text(4, 4, connack=True) == "bad user name or password"
    assert reason_text(0x86) == "Bad User Name or Password"
    assert reason_text(0x80, 4) == "Failure"
    assert "unknown" in reason_text(0xFE)


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("a/b", "a/b", True),
        ("a/+", "a/b", True),
        ("a/+", "a/b/c", False),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("#", "$SYS/x", False),
        ("+/b", "$x/b", False),
        ("a/+/c", "a//c", True),
        ("b/#", "a/b", False),
        ("a/b", "a/b/c", False),
    ],
)
def test_topic_matches(pattern: str, topic: str, expected: bool) -> None:
    assert topic_matches(pattern, topic) is expected
