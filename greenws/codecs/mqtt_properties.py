"""MQTT 5 properties and the reason codes of MQTT 3.1.1 and 5, as plain values.

A property travels as an identifier byte and a value whose encoding the identifier decides
(MQTT 5.0 §2.2.2.2). The kit and scripts see them as a dict keyed by the specification's names
in snake case (``message_expiry_interval``, ``user_property``), so a script never handles
identifiers. ``user_property`` and ``subscription_identifier`` may appear more than once in
one packet: they decode to lists (user properties as ``(name, value)`` pairs) and encode from
a list or a single value.

Split from :mod:`greenws.codecs.mqtt` because it is a table, not a packet layout.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CONNACK_V3",
    "REASON_CODES",
    "decode_properties",
    "decode_varint",
    "encode_properties",
    "encode_varint",
    "reason_text",
]

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")

#: The largest Remaining Length (and Variable Byte Integer) MQTT can express.
MAX_VARINT = 268_435_455

# value kinds
_BYTE, _U16K, _U32K, _VARINT, _STR, _BIN, _PAIR = range(7)

#: identifier -> (name, kind), MQTT 5.0 §2.2.2.2.
_PROPERTIES: dict[int, tuple[str, int]] = {
    0x01: ("payload_format_indicator", _BYTE),
    0x02: ("message_expiry_interval", _U32K),
    0x03: ("content_type", _STR),
    0x08: ("response_topic", _STR),
    0x09: ("correlation_data", _BIN),
    0x0B: ("subscription_identifier", _VARINT),
    0x11: ("session_expiry_interval", _U32K),
    0x12: ("assigned_client_identifier", _STR),
    0x13: ("server_keep_alive", _U16K),
    0x15: ("authentication_method", _STR),
    0x16: ("authentication_data", _BIN),
    0x17: ("request_problem_information", _BYTE),
    0x18: ("will_delay_interval", _U32K),
    0x19: ("request_response_information", _BYTE),
    0x1A: ("response_information", _STR),
    0x1C: ("server_reference", _STR),
    0x1F: ("reason_string", _STR),
    0x21: ("receive_maximum", _U16K),
    0x22: ("topic_alias_maximum", _U16K),
    0x23: ("topic_alias", _U16K),
    0x24: ("maximum_qos", _BYTE),
    0x25: ("retain_available", _BYTE),
    0x26: ("user_property", _PAIR),
    0x27: ("maximum_packet_size", _U32K),
    0x28: ("wildcard_subscription_available", _BYTE),
    0x29: ("subscription_identifier_available", _BYTE),
    0x2A: ("shared_subscription_available", _BYTE),
}
_BY_NAME = {name: (ident, kind) for ident, (name, kind) in _PROPERTIES.items()}
#: Properties a packet may carry more than once: always lists once decoded.
_REPEATABLE = frozenset({"user_property", "subscription_identifier"})

#: MQTT 3.1.1 CONNACK return codes (§3.2.2.3).
CONNACK_V3 = {
    0: "Connection Accepted",
    1: "unacceptable protocol version",
    2: "identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorized",
}

#: MQTT 5 reason codes (§2.4) and what they mean; 0x80 and above are failures.
REASON_CODES = {
    0x00: "Success",
    0x01: "Granted QoS 1",
    0x02: "Granted QoS 2",
    0x04: "Disconnect with Will Message",
    0x10: "No matching subscribers",
    0x11: "No subscription existed",
    0x18: "Continue authentication",
    0x19: "Re-authenticate",
    0x80: "Unspecified error",
    0x81: "Malformed Packet",
    0x82: "Protocol Error",
    0x83: "Implementation specific error",
    0x84: "Unsupported Protocol Version",
    0x85: "Client Identifier not valid",
    0x86: "Bad User Name or Password",
    0x87: "Not authorized",
    0x88: "Server unavailable",
    0x89: "Server busy",
    0x8A: "Banned",
    0x8B: "Server shutting down",
    0x8C: "Bad authentication method",
    0x8D: "Keep Alive timeout",
    0x8E: "Session taken over",
    0x8F: "Topic Filter invalid",
    0x90: "Topic Name invalid",
    0x91: "Packet Identifier in use",
    0x92: "Packet Identifier not found",
    0x93: "Receive Maximum exceeded",
    0x94: "Topic Alias invalid",
    0x95: "Packet too large",
    0x96: "Message rate too high",
    0x97: "Quota exceeded",
    0x98: "Administrative action",
    0x99: "Payload format invalid",
    0x9A: "Retain not supported",
    0x9B: "QoS not supported",
    0x9C: "Use another server",
    0x9D: "Server moved",
    0x9E: "Shared Subscriptions not supported",
    0x9F: "Connection rate exceeded",
    0xA0: "Maximum connect time",
    0xA1: "Subscription Identifiers not supported",
    0xA2: "Wildcard Subscriptions not supported",
}


def reason_text(code: int, version: int = 5, connack: bool = False) -> str:
    """What ``code`` means, in the specification's words (3.1.1's CONNACK codes differ)."""
    if version < 5:
        if connack:
            return CONNACK_V3.get(code, f"unknown return code {code}")
        return "Failure" if code == 0x80 else REASON_CODES.get(code, f"return code {code}")
    return REASON_CODES.get(code, f"unknown reason code 0x{code:02X}")


def encode_varint(value: int) -> bytes:
    """A Variable Byte Integer: 7 bits a byte, low first, the high bit saying "more"."""
    if not 0 <= value <= MAX_VARINT:
        raise ValueError(f"a variable byte integer must be in 0..{MAX_VARINT}, not {value}")
    if value < 128:
        return bytes((value,))
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes | bytearray | memoryview, offset: int) -> tuple[int, int] | None:
    """(value, offset after it), or None if ``data`` ends before the integer does.

    Raises:
        ValueError: more than four bytes (a malformed packet).
    """
    value, shift = 0, 0
    for index in range(offset, min(offset + 4, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index + 1
        shift += 7
    if len(data) - offset >= 4:
        raise ValueError("malformed variable byte integer (more than 4 bytes)")
    return None


def string_field(value: str) -> bytes:
    """A UTF-8 string as MQTT sends it: two bytes of length, then the bytes."""
    return binary_field(value.encode("utf-8"))


def binary_field(value: bytes) -> bytes:
    """Bytes as MQTT sends them: two bytes of length, then the bytes."""
    if len(value) > 0xFFFF:
        raise ValueError(
            f"an MQTT string or binary field holds at most 65535 bytes, not {len(value)}"
        )
    return _U16.pack(len(value)) + value


def _encode_value(kind: int, value: Any) -> bytes:
    if kind == _BYTE:
        return bytes((int(value),))
    if kind == _U16K:
        return _U16.pack(int(value))
    if kind == _U32K:
        return _U32.pack(int(value))
    if kind == _VARINT:
        return encode_varint(int(value))
    if kind == _STR:
        return string_field(str(value))
    if kind == _BIN:
        return binary_field(bytes(value))
    name, text = value
    return string_field(str(name)) + string_field(str(text))


def encode_properties(properties: Mapping[str, Any] | None) -> bytes:
    """The property block: its length as a Variable Byte Integer, then each property.

    Raises:
        ValueError: a name MQTT 5 does not define.
    """
    if not properties:
        return b"\x00"
    body = bytearray()
    for name, value in properties.items():
        known = _BY_NAME.get(name)
        if known is None:
            raise ValueError(f"unknown MQTT 5 property {name!r}")
        ident, kind = known
        values = value if name in _REPEATABLE and isinstance(value, list) else [value]
        for item in values:
            body.append(ident)
            body += _encode_value(kind, item)
    return encode_varint(len(body)) + bytes(body)


def read_string(data: bytes | memoryview, offset: int) -> tuple[str, int]:
    """A length-prefixed UTF-8 string at ``offset`` and the offset after it."""
    raw, offset = read_binary(data, offset)
    return raw.decode("utf-8"), offset


def read_binary(data: bytes | memoryview, offset: int) -> tuple[bytes, int]:
    """Length-prefixed bytes at ``offset`` and the offset after them."""
    if offset + 2 > len(data):
        raise ValueError("malformed packet: a length field runs past its end")
    (length,) = _U16.unpack_from(data, offset)
    end = offset + 2 + length
    if end > len(data):
        raise ValueError("malformed packet: a string or binary field runs past its end")
    return bytes(data[offset + 2 : end]), end


def decode_properties(data: bytes | memoryview, offset: int) -> tuple[dict[str, Any], int]:
    """The property block at ``offset`` and the offset after it.

    Raises:
        ValueError: an unknown identifier, a block running past the packet, a repeated property
            that may appear only once.
    """
    found = decode_varint(data, offset)
    if found is None:
        raise ValueError("malformed packet: the property length runs past its end")
    length, offset = found
    end = offset + length
    if end > len(data):
        raise ValueError("malformed packet: the properties run past its end")
    properties: dict[str, Any] = {}
    while offset < end:
        ident = data[offset]
        known = _PROPERTIES.get(ident)
        if known is None:
            raise ValueError(f"malformed packet: unknown property identifier 0x{ident:02X}")
        name, kind = known
        offset += 1
        value: Any
        if kind == _BYTE:
            value, offset = data[offset], offset + 1
        elif kind == _U16K:
            value, offset = _U16.unpack_from(data, offset)[0], offset + 2
        elif kind == _U32K:
            value, offset = _U32.unpack_from(data, offset)[0], offset + 4
        elif kind == _VARINT:
            varint = decode_varint(data, offset)
            if varint is None:
                raise ValueError("malformed packet: a property runs past its end")
            value, offset = varint
        elif kind == _STR:
            value, offset = read_string(data, offset)
        elif kind == _BIN:
            value, offset = read_binary(data, offset)
        else:
            key, offset = read_string(data, offset)
            text, offset = read_string(data, offset)
            value = (key, text)
        if name in _REPEATABLE:
            properties.setdefault(name, []).append(value)
        elif name in properties:
            raise ValueError(f"protocol error: property {name} appears twice")
        else:
            properties[name] = value
    if offset != end:
        raise ValueError("malformed packet: a property runs past the property block")
    return properties, end
