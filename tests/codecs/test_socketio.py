"""The Socket.IO / Engine.IO codec with plain values: the wire texts the servers send and
expect, binary attachments both ways, and round trips of arbitrary arguments."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenws.codecs.socketio import (
    EngineOpen,
    EnginePacket,
    EngineType,
    Packet,
    PacketType,
    Reassembler,
    decode_engine,
    decode_packet,
    decode_payload,
    deconstruct,
    encode_packet,
    encode_payload,
    engine_url,
    payload_key,
    reconstruct,
)


def test_engine_packets_and_the_open_handshake() -> None:
    opened = decode_engine(
        '0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}'
    )
    assert opened.type is EngineType.OPEN
    assert isinstance(opened.data, str)
    info = EngineOpen.parse(opened.data)
    assert (info.sid, info.ping_interval, info.ping_timeout, info.max_payload) == (
        "abc",
        0.3,
        0.2,
        1_000_000,
    )
    assert decode_engine("2") == EnginePacket(EngineType.PING, "")
    assert decode_engine("3probe") == EnginePacket(EngineType.PONG, "probe")
    assert decode_engine(b"\x00\x01") == EnginePacket(EngineType.MESSAGE, b"\x00\x01")
    for bad in ("", "9", "x1"):
        with pytest.raises(ValueError):
            decode_engine(bad)
    with pytest.raises(ValueError, match="sid"):
        EngineOpen.parse('{"pingInterval":1}')


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://h:1", "ws://h:1/socket.io/?EIO=4&transport=websocket"),
        ("https://h", "wss://h/socket.io/?EIO=4&transport=websocket"),
        ("ws://h:2/ignored?a=b", "ws://h:2/socket.io/?a=b&EIO=4&transport=websocket"),
    ],
)
def test_engine_url(base: str, expected: str) -> None:
    assert engine_url(base) == expected


def test_engine_url_path_and_bad_scheme() -> None:
    assert engine_url("wss://h", "io") == "wss://h/io?EIO=4&transport=websocket"
    with pytest.raises(ValueError, match="ftp"):
        engine_url("ftp://h")


def test_engine_url_for_the_polling_start() -> None:
    assert (
        engine_url("http://h:1/?x=1", transport="polling", query={"sid": "a b"})
        == "ws://h:1/socket.io/?x=1&EIO=4&transport=polling&sid=a+b"
    )


def test_polling_payloads_as_the_protocol_documents_them() -> None:
    # the Engine.IO v4 spec's example: "4hello", a binary packet, "4world", one body
    body = b"4hello\x1ebAQIDBA==\x1e4world"
    assert decode_payload(body) == ["4hello", b"\x01\x02\x03\x04", "4world"]
    assert encode_payload(["4hello", b"\x01\x02\x03\x04", "4world"]) == body
    assert decode_payload(b"") == []
    assert decode_payload('40{"sid":"x"}') == ['40{"sid":"x"}']  # one packet, no separator
    assert encode_payload(["4é"]) == "4é".encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"4a\x1e\x1e4b", "empty packet"), (b"b!!", "broken base64")],
)
def test_bad_polling_payloads_are_named(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_payload(body)


@given(
    st.lists(st.one_of(st.binary(), st.text(min_size=1).map(lambda t: "4" + t.replace("\x1e", ""))))
)
def test_polling_payload_round_trip(messages: list[str | bytes]) -> None:
    assert decode_payload(encode_payload(messages)) == messages


def test_encoding_matches_the_protocol_examples() -> None:
    assert encode_packet(Packet(PacketType.CONNECT)) == ["40"]
    assert encode_packet(Packet(PacketType.CONNECT, "/admin", {"token": "t"})) == [
        '40/admin,{"token":"t"}'
    ]
    assert encode_packet(Packet(PacketType.DISCONNECT, "/admin")) == ["41/admin,"]
    assert encode_packet(Packet(PacketType.EVENT, "/", ["hello", 1], 12)) == ['4212["hello",1]']
    assert encode_packet(Packet(PacketType.ACK, "/x", ["ok"], 3)) == ['43/x,3["ok"]']
    assert encode_packet(Packet(PacketType.EVENT, "/", ["up", b"\x01", {"b": b"\x02"}])) == [
        '452-["up",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1}}]',
        b"\x01",
        b"\x02",
    ]
    assert encode_packet(Packet(PacketType.ACK, "/", [b"z"], 7)) == [
        '461-7[{"_placeholder":true,"num":0}]',
        b"z",
    ]
    with pytest.raises(ValueError):
        encode_packet(Packet(PacketType.EVENT, "admin", ["x"]))


def test_decoding_what_servers_send() -> None:
    assert decode_packet('0{"sid":"s1"}') == Packet(PacketType.CONNECT, "/", {"sid": "s1"})
    assert decode_packet('0/admin,{"sid":"s2"}') == Packet(
        PacketType.CONNECT, "/admin", {"sid": "s2"}
    )
    assert decode_packet('4{"message":"no"}').data == {"message": "no"}
    assert decode_packet("1") == Packet(PacketType.DISCONNECT)
    assert decode_packet("1/admin,") == Packet(PacketType.DISCONNECT, "/admin")
    event = decode_packet('2/chat,5["msg","hi",{"a":1}]')
    assert (event.namespace, event.id, event.event, event.args) == (
        "/chat",
        5,
        "msg",
        ["hi", {"a": 1}],
    )
    ack = decode_packet("312[]")
    assert (ack.type, ack.id, ack.args) == (PacketType.ACK, 12, [])
    binary = decode_packet('52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
    assert binary.attachments == 2
    for bad in ("", "9", "2{}", "2[]", "3[1]", '5["x"]', "2[oops"):
        with pytest.raises(ValueError):
            decode_packet(bad)


def test_reassembler_puts_attachments_back_in_order() -> None:
    parts = Reassembler()
    assert parts.feed('2["plain"]') == Packet(PacketType.EVENT, "/", ["plain"])
    assert (
        parts.feed('52-/b,9["bin",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]')
        is None
    )
    assert parts.feed(b"first") is None
    whole = parts.feed(b"second")
    assert whole == Packet(PacketType.EVENT, "/b", ["bin", b"second", b"first"], 9)
    assert parts.feed('61-4[{"_placeholder":true,"num":0}]') is None
    assert parts.feed(b"\x00") == Packet(PacketType.ACK, "/", [b"\x00"], 4)
    with pytest.raises(ValueError, match="no binary packet"):
        parts.feed(b"stray")
    with pytest.raises(ValueError):
        reconstruct({"_placeholder": True, "num": 3}, [b"a"])


def test_payload_key_is_canonical() -> None:
    assert payload_key([{"b": 1, "a": 2}]) == payload_key(({"a": 2, "b": 1},))
    assert payload_key([b"x"]) != payload_key(["x"])
    assert payload_key([1]) != payload_key([1, None])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.binary(max_size=16),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=5).filter(lambda k: k != "_placeholder"), children, max_size=4
        )
    ),
    max_leaves=12,
)


@given(
    namespace=st.sampled_from(["/", "/admin", "/a-b_c"]),
    event=st.text(min_size=1),
    args=st.lists(json_values, max_size=4),
    ack_id=st.none() | st.integers(min_value=0, max_value=2**31),
)
def test_event_round_trip(namespace: str, event: str, args: list[Any], ack_id: int | None) -> None:
    messages = encode_packet(Packet(PacketType.EVENT, namespace, [event, *args], ack_id))
    text = messages[0]
    assert isinstance(text, str) and text[0] == "4"
    parts = Reassembler()
    result = parts.feed(text[1:])
    for attachment in messages[1:]:
        assert result is None
        assert isinstance(attachment, bytes)
        result = parts.feed(attachment)
    assert result == Packet(PacketType.EVENT, namespace, [event, *args], ack_id)


@given(json_values)
def test_deconstruct_reconstruct(value: Any) -> None:
    data, buffers = deconstruct(value)
    json.dumps(data)  # no bytes left: the JSON part is plain JSON
    assert len(buffers) == _count_bytes(value)
    assert reconstruct(data, buffers) == value


def _count_bytes(value: Any) -> int:
    if isinstance(value, bytes):
        return 1
    if isinstance(value, list):
        return sum(_count_bytes(item) for item in value)
    if isinstance(value, dict):
        return sum(_count_bytes(item) for item in value.values())
    return 0
