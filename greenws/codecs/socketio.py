"""Socket.IO v5 packets inside Engine.IO v4 packets, over WebSocket and its long-polling start.

Two layers share one WebSocket message (https://socket.io/docs/v4/engine-io-protocol/ and
https://socket.io/docs/v4/socket-io-protocol/):

- Engine.IO: the first character of a text message is the packet type (``0`` open with the
  session's ``sid``, ``pingInterval``, ``pingTimeout`` and ``maxPayload``; ``1`` close; ``2``
  ping; ``3`` pong; ``4`` message; ``6`` noop). A binary WebSocket message is one binary
  Engine.IO message, with no type byte: on WebSocket the frame says it already.
- Long polling (the HTTP start of a session, before its upgrade to WebSocket) carries the
  same packets, several to a body separated by ``\\x1e``, a binary one as ``b`` + base64.
- Socket.IO, in the text of a ``4`` message: ``<type>[<attachments>-][<nsp>,][<id>][<json>]``
  (``0`` CONNECT, ``1`` DISCONNECT, ``2`` EVENT, ``3`` ACK, ``4`` CONNECT_ERROR, ``5``
  BINARY_EVENT, ``6`` BINARY_ACK). The namespace is written only when it is not ``/``.

Binary arguments travel as attachments: the JSON holds ``{"_placeholder": true, "num": i}``
where the i-th ``bytes`` was, and the attachments follow as that many binary messages.
:class:`Reassembler` puts them back, so the kit sees the arguments as they were sent.

Pure: strings and bytes in, dataclasses and strings and bytes out.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = [
    "EngineOpen",
    "EnginePacket",
    "EngineType",
    "Packet",
    "PacketType",
    "Reassembler",
    "decode_engine",
    "decode_packet",
    "decode_payload",
    "deconstruct",
    "encode_packet",
    "encode_payload",
    "engine_url",
    "payload_key",
    "reconstruct",
]


class EngineType(IntEnum):
    """Engine.IO v4 packet types."""

    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


class PacketType(IntEnum):
    """Socket.IO v5 packet types."""

    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


@dataclass(frozen=True)
class EnginePacket:
    """One Engine.IO packet: its type and its payload (text, or bytes for a binary message)."""

    type: EngineType
    data: str | bytes = ""


@dataclass(frozen=True)
class EngineOpen:
    """The open packet's handshake: the session id, the heartbeat and the size limit.

    Times are in seconds (the wire says milliseconds): the server pings every
    ``ping_interval`` and drops a client whose pong is ``ping_timeout`` late.
    """

    sid: str
    ping_interval: float
    ping_timeout: float
    max_payload: int
    upgrades: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> EngineOpen:
        """The open packet's JSON; ValueError if it lacks what a client needs."""
        try:
            document = json.loads(text)
        except ValueError as error:
            raise ValueError(f"Engine.IO open packet is not JSON: {error}") from None
        if not isinstance(document, dict) or not isinstance(document.get("sid"), str):
            raise ValueError(f"Engine.IO open packet without a sid: {text[:200]!r}")
        return cls(
            sid=document["sid"],
            ping_interval=float(document.get("pingInterval", 25000)) / 1000.0,
            ping_timeout=float(document.get("pingTimeout", 20000)) / 1000.0,
            max_payload=int(document.get("maxPayload", 1_000_000)),
            upgrades=tuple(document.get("upgrades") or ()),
        )


@dataclass(frozen=True)
class Packet:
    """One Socket.IO packet.

    ``data`` is the JSON part as decoded: the auth object of a CONNECT, ``{"sid": ...}`` of its
    acknowledgement, ``{"message": ...}`` of a CONNECT_ERROR, ``[event, *args]`` of an EVENT and
    the argument list of an ACK (with attachments' placeholders until reassembled). ``id`` is
    the acknowledgement id (None when no ack is asked); ``attachments`` how many binary
    messages follow a BINARY_EVENT or BINARY_ACK.
    """

    type: PacketType
    namespace: str = "/"
    data: Any = None
    id: int | None = None
    attachments: int = 0

    @property
    def event(self) -> str:
        """An EVENT's name (its first element)."""
        if isinstance(self.data, list) and self.data and isinstance(self.data[0], str):
            return self.data[0]
        raise ValueError(f"Socket.IO packet has no event name: {self.data!r}")

    @property
    def args(self) -> list[Any]:
        """An EVENT's arguments, or an ACK's."""
        if self.type in (PacketType.EVENT, PacketType.BINARY_EVENT):
            return list(self.data[1:])
        return list(self.data) if isinstance(self.data, list) else []


# -- Engine.IO --------------------------------------------------------------------------------


def decode_engine(message: str | bytes) -> EnginePacket:
    """One WebSocket message as an Engine.IO packet (a binary message is a binary MESSAGE)."""
    if isinstance(message, (bytes, bytearray, memoryview)):
        return EnginePacket(EngineType.MESSAGE, bytes(message))
    if not message:
        raise ValueError("empty Engine.IO packet")
    try:
        kind = EngineType(int(message[0]))
    except ValueError:
        raise ValueError(f"unknown Engine.IO packet type {message[0]!r}") from None
    return EnginePacket(kind, message[1:])


def engine_url(
    url: str,
    path: str = "/socket.io/",
    query: dict[str, str] | None = None,
    transport: str = "websocket",
) -> str:
    """The WebSocket URL of the Engine.IO endpoint for a base URL.

    ``http://h:p`` and ``ws://h:p`` (``https``/``wss`` alike) become
    ``ws://h:p/socket.io/?EIO=4&transport=websocket``; the base URL's own query is kept.
    ``transport="polling"`` names the long-polling endpoint instead (still with a ws(s)
    scheme: the caller checks it like a WebSocket target and sends HTTP to the same place).
    """
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError(f"a Socket.IO URL is http(s):// or ws(s)://, not {url!r}")
    if not path.startswith("/"):
        path = "/" + path
    pairs = [("EIO", "4"), ("transport", transport), *(query or {}).items()]
    extra = urlencode(pairs)
    full = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((scheme, parts.netloc, path, full, ""))


#: What separates packets in a long-polling body (Engine.IO v4; v3 used length prefixes).
RECORD_SEPARATOR = "\x1e"


def encode_payload(messages: Sequence[str | bytes]) -> bytes:
    """A long-polling POST body: the messages a WebSocket would carry one per frame, joined by
    the record separator; a binary message becomes ``b`` and its base64 (polling is text)."""
    parts = [
        "b" + base64.b64encode(bytes(message)).decode("ascii")
        if isinstance(message, (bytes, bytearray, memoryview))
        else message
        for message in messages
    ]
    return RECORD_SEPARATOR.join(parts).encode("utf-8")


def decode_payload(body: bytes | str) -> list[str | bytes]:
    """A long-polling GET body as the messages a WebSocket would have carried: text packets as
    ``str`` (their type character first), ``b``-prefixed base64 ones as ``bytes``.

    Raises:
        ValueError: a packet is empty or its base64 is broken.
    """
    text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    if not text:
        return []
    messages: list[str | bytes] = []
    for part in text.split(RECORD_SEPARATOR):
        if not part:
            raise ValueError("an empty packet in an Engine.IO polling payload")
        if part[0] == "b":
            try:
                messages.append(base64.b64decode(part[1:], validate=True))
            except ValueError:
                raise ValueError(
                    f"broken base64 in a binary polling packet: {part[:40]!r}"
                ) from None
        else:
            messages.append(part)
    return messages


# -- Socket.IO --------------------------------------------------------------------------------


def encode_packet(packet: Packet) -> list[str | bytes]:
    """The WebSocket messages for ``packet``: its Engine.IO MESSAGE text, then one binary
    message per attachment. ``bytes`` anywhere in the data make an EVENT a BINARY_EVENT (an
    ACK a BINARY_ACK) with placeholders."""
    kind, data = packet.type, packet.data
    buffers: list[bytes] = []
    if data is not None and kind in (PacketType.EVENT, PacketType.ACK):
        data, buffers = deconstruct(data)
        if buffers:
            kind = PacketType.BINARY_EVENT if kind is PacketType.EVENT else PacketType.BINARY_ACK
    text = [f"{EngineType.MESSAGE:d}{kind:d}"]
    if kind in (PacketType.BINARY_EVENT, PacketType.BINARY_ACK):
        text.append(f"{len(buffers)}-")
    if packet.namespace and packet.namespace != "/":
        if not packet.namespace.startswith("/"):
            raise ValueError(f"a namespace starts with '/', not {packet.namespace!r}")
        text.append(packet.namespace + ",")
    if packet.id is not None:
        if packet.id < 0:
            raise ValueError(f"an ack id is a non-negative integer, not {packet.id}")
        text.append(str(packet.id))
    if data is not None:
        text.append(json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return ["".join(text), *buffers]


def decode_packet(text: str) -> Packet:
    """The Socket.IO packet in an Engine.IO MESSAGE's text (attachments not yet reassembled).

    Raises:
        ValueError: not a Socket.IO packet.
    """
    if not text:
        raise ValueError("empty Socket.IO packet")
    try:
        kind = PacketType(int(text[0]))
    except ValueError:
        raise ValueError(f"unknown Socket.IO packet type {text[0]!r}") from None
    at, attachments = 1, 0
    if kind in (PacketType.BINARY_EVENT, PacketType.BINARY_ACK):
        dash = text.find("-", at)
        if dash < 0 or not text[at:dash].isdigit():
            raise ValueError(f"binary Socket.IO packet without an attachment count: {text[:80]!r}")
        attachments, at = int(text[at:dash]), dash + 1
    namespace = "/"
    if text.startswith("/", at):
        comma = text.find(",", at)
        end = comma if comma >= 0 else len(text)
        namespace, at = text[at:end], end + 1
    start = at
    while at < len(text) and text[at].isdigit():
        at += 1
    packet_id = int(text[start:at]) if at > start else None
    data = None
    if at < len(text):
        try:
            data = json.loads(text[at:])
        except ValueError as error:
            raise ValueError(f"Socket.IO packet data is not JSON: {error}") from None
    if kind in (PacketType.EVENT, PacketType.BINARY_EVENT) and (
        not isinstance(data, list) or not data or not isinstance(data[0], str)
    ):
        raise ValueError(f"a Socket.IO event must be [name, ...args]: {text[:80]!r}")
    if kind in (PacketType.ACK, PacketType.BINARY_ACK) and (
        packet_id is None or not isinstance(data, list)
    ):
        raise ValueError(f"a Socket.IO ack needs an id and an argument list: {text[:80]!r}")
    return Packet(kind, namespace, data, packet_id, attachments)


def deconstruct(data: Any) -> tuple[Any, list[bytes]]:
    """``data`` with each ``bytes`` replaced by a placeholder, and those bytes in order."""
    buffers: list[bytes] = []

    def walk(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            buffers.append(bytes(value))
            return {"_placeholder": True, "num": len(buffers) - 1}
        if isinstance(value, (list, tuple)):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        return value

    return walk(data), buffers


def reconstruct(data: Any, buffers: Sequence[bytes]) -> Any:
    """``data`` with each placeholder replaced by its attachment; ValueError for a bad ``num``."""

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            if value.get("_placeholder") is True and "num" in value:
                num = value["num"]
                if not isinstance(num, int) or not 0 <= num < len(buffers):
                    raise ValueError(f"attachment placeholder {num!r} of {len(buffers)}")
                return buffers[num]
            return {key: walk(item) for key, item in value.items()}
        return value

    return walk(data)


@dataclass
class Reassembler:
    """Socket.IO packets out of a session's Engine.IO messages, attachments put back.

    Feed each MESSAGE payload (text or bytes) in arrival order; :meth:`feed` returns the
    packet once it is whole (at once for a packet without attachments), else None.
    """

    _pending: Packet | None = None
    _buffers: list[bytes] = field(default_factory=list)

    def feed(self, payload: str | bytes) -> Packet | None:
        """The next complete packet, if ``payload`` completes one."""
        if isinstance(payload, bytes):
            pending = self._pending
            if pending is None:
                raise ValueError("a binary message with no binary packet waiting for it")
            self._buffers.append(payload)
            if len(self._buffers) < pending.attachments:
                return None
            return self._complete()
        if self._pending is not None:
            raise ValueError("a text packet while a binary packet still waits for attachments")
        packet = decode_packet(payload)
        if packet.attachments == 0:
            return packet
        self._pending = packet
        return None

    def _complete(self) -> Packet:
        pending, buffers = self._pending, self._buffers
        assert pending is not None
        self._pending, self._buffers = None, []
        kind = PacketType.EVENT if pending.type is PacketType.BINARY_EVENT else PacketType.ACK
        return Packet(kind, pending.namespace, reconstruct(pending.data, buffers), pending.id)


def payload_key(args: Sequence[Any]) -> str:
    """A canonical text of an event's arguments, equal for equal arguments whoever sent them:
    what the broadcast clock matches a delivery to its publish by."""

    def default(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
        raise TypeError(f"{type(value).__name__} is not JSON")

    return json.dumps(list(args), sort_keys=True, separators=(",", ":"), default=default)
