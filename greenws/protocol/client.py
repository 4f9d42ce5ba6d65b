"""The client side of an open WebSocket connection, sans I/O.

:class:`ClientProtocol` turns received bytes into events and user actions into bytes to
write; it never reads a socket or a clock. The runtime owns one per connection, after the
handshake (see :mod:`greenws.protocol.handshake`), and runs this loop::

    for event in proto.receive_data(chunk):   # or receive_eof() when recv returns b""
        dispatch(event)
    if proto.outgoing:                       # auto-pongs, close echoes, failure closes
        sock.sendall(proto.data_to_send())

Peer misbehaviour never raises: it ends the event list with a :class:`ProtocolFailure`
and queues the Close frame to send. Only caller mistakes raise (:class:`InvalidStateError`).

Speed matters here: a load test spends most of its CPU in this module. A complete small
unfragmented data frame received on an idle connection skips the general parser; text
frames under 126 bytes are framed from a precomputed header table; masks are drawn from the
random source in batches because one ``os.urandom(4)`` system call costs more than the rest
of framing a small message.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .compression import PerMessageDeflate
from .errors import InvalidStateError, ProtocolError
from .events import (
    BinaryMessage,
    CloseReceived,
    Event,
    PingReceived,
    PongReceived,
    ProtocolFailure,
    State,
    TextMessage,
)
from .frames import Buffer, FrameParser, Opcode, RawFrame, apply_mask, serialize_frame

__all__ = [
    "BinaryMessage",
    "ClientProtocol",
    "CloseReceived",
    "Event",
    "PingReceived",
    "PongReceived",
    "ProtocolFailure",
    "State",
    "TextMessage",
]


_OPEN, _CLOSING, _CLOSED = State.OPEN, State.CLOSING, State.CLOSED
_TEXT, _BINARY, _CONT = Opcode.TEXT.value, Opcode.BINARY.value, Opcode.CONT.value
_CLOSE, _PING, _PONG = Opcode.CLOSE.value, Opcode.PING.value, Opcode.PONG.value

# First two header bytes of every masked FIN text/binary frame with a 7-bit length.
_TEXT_HEADERS = [bytes((0x81, 0x80 | size)) for size in range(126)]
_BINARY_HEADERS = [bytes((0x82, 0x80 | size)) for size in range(126)]
# Masks drawn per call to mask_source: a batch amortises os.urandom (0.46 us a call). With the
# default source every connection pops from one shared pool, so an idle connection holds no masks
# (a private batch of 256 was 11.5 KB per idle VU, measured with tracemalloc); a custom source
# (tests) gets a private batch of 16.
_MASK_BATCH = 16
_SHARED_MASK_BATCH = 256
_SHARED_MASKS: list[bytes] = []


def _valid_received_close_code(code: int) -> bool:
    """Close codes a peer may send (RFC 6455 section 7.4 and the IANA registry)."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


class ClientProtocol:
    """RFC 6455 client state machine for an established connection.

    Args:
        max_message_size: Largest incoming message in bytes, fragments summed; a bigger one
            fails the connection with 1009. None for no limit.
        mask_source: Random bytes for the masking keys, called with a byte count (a
            multiple of 4) and returning that many bytes. Masks are drawn in batches.
        compression: The connection's ``permessage-deflate`` state when the handshake
            negotiated it: every message sent is compressed and RSV1 marks a received
            compressed message. The constructor then returns an instance of a subclass that
            does this, so a connection without compression runs exactly the plain code.

    Attributes:
        state: The :class:`State`.
        outgoing: Bytes queued by the protocol itself (pongs, close echoes, failure closes);
            truthy when :meth:`data_to_send` has something.
        close_code: Code of the Close frame received, 1005 if it had none, 1006 if the
            connection ended without one; None while open.
        close_reason: Reason of the Close frame received ("" otherwise).
        close_sent: Whether we sent (or queued) a Close frame.
    """

    __slots__ = (
        "_decoder",
        "_fast_limit",
        "_fragment_opcode",
        "_fragments",
        "_idle",
        "_mask_source",
        "_masks",
        "_parser",
        "_reading",
        "close_code",
        "close_reason",
        "close_sent",
        "max_message_size",
        "outgoing",
        "state",
    )

    def __new__(
        cls, *args: Any, compression: PerMessageDeflate | None = None, **kwargs: Any
    ) -> Any:
        if compression is not None and cls is ClientProtocol:
            # Branch once, here, not per message; through the subclass's __new__, as mypyc's
            # compiled classes refuse object.__new__(subclass) here and assigning to ``cls``.
            return _DeflateClientProtocol.__new__(_DeflateClientProtocol, compression=compression)
        return object.__new__(cls)

    def __init__(
        self,
        *,
        max_message_size: int | None = 10 * 1024 * 1024,
        mask_source: Callable[[int], bytes] = os.urandom,
        compression: PerMessageDeflate | None = None,
    ) -> None:
        self.state: State = _OPEN
        self.outgoing = bytearray()
        self.close_code: int | None = None
        self.close_reason: str = ""
        self.close_sent: bool = False
        self.max_message_size: int | None = max_message_size
        self._parser = FrameParser(max_size=max_message_size)
        self._mask_source = mask_source
        self._masks: list[bytes] = _SHARED_MASKS if mask_source is os.urandom else []
        # False once the peer's data must be ignored: after its Close, or after a failure.
        self._reading = True
        # True when a frame arriving alone in a chunk can take the fast path: reading, no
        # fragmented message in progress and no partial frame buffered.
        self._idle = True
        # Largest payload the fast path may accept: 7-bit lengths only, within the limit.
        self._fast_limit = 125 if max_message_size is None else min(125, max_message_size)
        self._fragment_opcode = 0  # TEXT or BINARY while a fragmented message is open
        self._fragments: list[bytes] | list[str] = []
        self._decoder: codecs.IncrementalDecoder | None = None

    # -- receiving -----------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray) -> list[Event]:
        """Process bytes received from the server.

        Args:
            data: A chunk as read from the socket (``bytes`` or ``bytearray``), any size.

        Returns:
            The events it completes, in order. A :class:`ProtocolFailure`, if any, is last.
            Empty once the connection is closed or failed: later data is ignored.
        """
        if self._idle:
            size = len(data) - 2
            if size >= 0 and data[1] == size <= self._fast_limit:
                first = data[0]
                if first == 0x81:
                    try:
                        return [TextMessage(data[2:].decode())]
                    except UnicodeDecodeError:
                        pass  # the general path reports it
                elif first == 0x82:
                    return [BinaryMessage(bytes(data[2:]))]
        if not self._reading:
            return []
        frames: list[RawFrame] = []
        events: list[Event] = []
        try:
            self._parser.feed_raw(data, frames)
        except ProtocolError as exc:
            self._handle_frames(frames, events)
            if self._reading:
                events.append(self.fail(exc.code, exc.message))
            return events
        self._handle_frames(frames, events)
        self._idle = self._reading and not self._fragment_opcode and not self._parser.buffered
        return events

    def receive_eof(self) -> list[Event]:
        """The server closed the TCP connection.

        Returns:
            ``[ProtocolFailure(1006, ...)]`` if the close handshake had not completed and no
            failure was reported yet, else an empty list.
        """
        previous = self.state
        already_failed = previous is _CLOSING and not self._reading
        self.state = _CLOSED
        self._reading = self._idle = False
        if previous is _CLOSED:
            return []
        if self.close_code is None:
            self.close_code, self.close_reason = 1006, ""
        if already_failed:
            return []
        return [ProtocolFailure(1006, "connection closed abnormally (no close frame)")]

    def data_to_send(self) -> bytes:
        """Return and clear the bytes the protocol queued itself (b"" when none)."""
        if not self.outgoing:
            return b""
        data = bytes(self.outgoing)
        self.outgoing.clear()
        return data

    def _handle_frames(self, frames: Iterable[RawFrame], events: list[Event]) -> None:
        for opcode, payload, fin, _rsv1 in frames:
            if not self._reading:
                return  # closed or failed by an earlier frame of this chunk
            try:
                if opcode == _CONT:
                    self._continuation(payload, fin, events)
                elif opcode < _CLOSE:  # TEXT or BINARY: the parser let no other through
                    self._data_frame(opcode, payload, fin, events)
                elif opcode == _PING:
                    if self.state is _OPEN:
                        self.outgoing += serialize_frame(_PONG, payload, mask=self._mask())
                    events.append(PingReceived(payload))
                elif opcode == _PONG:
                    events.append(PongReceived(payload))
                else:
                    self._close_frame(payload, events)
            except ProtocolError as exc:
                events.append(self.fail(exc.code, exc.message))
                return
            except UnicodeDecodeError:
                events.append(self.fail(1007, "invalid UTF-8 in text message"))
                return

    def _data_frame(self, opcode: int, payload: bytes, fin: bool, events: list[Event]) -> None:
        if self._fragment_opcode:
            raise ProtocolError("new data frame while a fragmented message is incomplete")
        if fin:
            if opcode == _TEXT:
                events.append(TextMessage(payload.decode()))
            else:
                events.append(BinaryMessage(payload))
            return
        self._fragment_opcode = opcode
        if opcode == _TEXT:
            if self._decoder is None:
                self._decoder = codecs.getincrementaldecoder("utf-8")()
            else:
                self._decoder.reset()
            # Decoding each fragment as it arrives reports invalid UTF-8 at once, and
            # the decoder carries a character split across fragments.
            self._fragments = [self._decoder.decode(payload)]
        else:
            self._fragments = [payload]

    def _continuation(self, payload: bytes, fin: bool, events: list[Event]) -> None:
        opcode = self._fragment_opcode
        if not opcode:
            raise ProtocolError("continuation frame without a message to continue")
        if opcode == _TEXT:
            assert self._decoder is not None
            texts: list[str] = self._fragments  # type: ignore[assignment]
            texts.append(self._decoder.decode(payload, fin))
            if fin:
                events.append(TextMessage("".join(texts)))
        else:
            chunks: list[bytes] = self._fragments  # type: ignore[assignment]
            chunks.append(payload)
            if fin:
                events.append(BinaryMessage(b"".join(chunks)))
        if fin:
            self._fragment_opcode = 0
            self._fragments = []

    def _close_frame(self, payload: bytes, events: list[Event]) -> None:
        if not payload:
            code, reason = 1005, ""
        elif len(payload) == 1:
            raise ProtocolError("close frame with a 1-byte payload")
        else:
            code = int.from_bytes(payload[:2], "big")
            if not _valid_received_close_code(code):
                raise ProtocolError(f"invalid close code {code}")
            try:
                reason = payload[2:].decode()
            except UnicodeDecodeError:
                raise ProtocolError("invalid UTF-8 in close reason", code=1007) from None
        self.close_code, self.close_reason = code, reason
        if self.state is _OPEN:
            # Echo the code (RFC 6455 section 5.5.1) to complete the close handshake.
            echo = b"" if code == 1005 else payload[:2]
            self.outgoing += serialize_frame(_CLOSE, echo, mask=self._mask())
            self.close_sent = True
        self.state = _CLOSED
        self._reading = self._idle = False
        events.append(CloseReceived(code, reason))

    # -- failing -------------------------------------------------------------------------

    def fail(self, code: int, message: str) -> ProtocolFailure:
        """Fail the connection (RFC 6455 section 7.1.7) and return the event describing it.

        Queues a Close frame with ``code`` (and ``message`` as reason, cut to fit) unless one
        was sent already or ``code`` may not appear on the wire (1005, 1006, 1015); stops
        reading. The runtime may call it too, e.g. for 1009 or 1011 conditions of its own.

        Args:
            code: Close code, e.g. 1002 protocol error, 1007 invalid payload, 1009 too big.
            message: One line for the user and, truncated, the close reason.
        """
        if not self.close_sent and self.state is not _CLOSED and code not in (1005, 1006, 1015):
            reason = message.encode()[:123].decode(errors="ignore").encode()
            frame = serialize_frame(_CLOSE, code.to_bytes(2, "big") + reason, mask=self._mask())
            self.outgoing += frame
            self.close_sent = True
        if self.state is _OPEN:
            self.state = _CLOSING
        self._reading = self._idle = False
        self._fragment_opcode = 0
        self._fragments = []
        return ProtocolFailure(code, message)

    # -- sending -------------------------------------------------------------------------

    def _mask(self) -> bytes:
        masks = self._masks
        if not masks:
            batch = _SHARED_MASK_BATCH if masks is _SHARED_MASKS else _MASK_BATCH
            data = self._mask_source(4 * batch)
            if len(data) != 4 * batch:
                raise ValueError(f"mask_source returned {len(data)} bytes, not {4 * batch}")
            masks.extend([data[i : i + 4] for i in range(0, len(data), 4)])
        return masks.pop()

    def _closed_error(self) -> InvalidStateError:
        if self.state is _CLOSING:
            return InvalidStateError("cannot send: the connection is closing")
        return InvalidStateError("cannot send: the connection is closed")

    def send_text(self, text: str) -> bytes:
        """Return the masked frame carrying ``text``.

        Raises:
            InvalidStateError: Unless the connection is OPEN.
        """
        if self.state is not _OPEN:
            raise self._closed_error()
        payload = text.encode()
        masks = self._masks
        mask = masks.pop() if masks else self._mask()
        size = len(payload)
        if size < 126:
            return b"".join((_TEXT_HEADERS[size], mask, apply_mask(payload, mask)))
        return serialize_frame(_TEXT, payload, mask=mask)

    def send_binary(self, data: bytes | bytearray | memoryview) -> bytes:
        """Return the masked frame carrying ``data``.

        Raises:
            InvalidStateError: Unless the connection is OPEN.
        """
        if self.state is not _OPEN:
            raise self._closed_error()
        masks = self._masks
        mask = masks.pop() if masks else self._mask()
        size = len(data)
        if size < 126:
            return b"".join((_BINARY_HEADERS[size], mask, apply_mask(data, mask)))
        return serialize_frame(_BINARY, data, mask=mask)

    def send_ping(self, payload: bytes = b"") -> bytes:
        """Return a masked Ping frame.

        Raises:
            InvalidStateError: Unless the connection is OPEN.
            ValueError: ``payload`` is over 125 bytes.
        """
        return self._control(_PING, payload)

    def send_pong(self, payload: bytes = b"") -> bytes:
        """Return a masked unsolicited Pong frame (pongs answering pings are automatic).

        Raises:
            InvalidStateError: Unless the connection is OPEN.
            ValueError: ``payload`` is over 125 bytes.
        """
        return self._control(_PONG, payload)

    def _control(self, opcode: int, payload: Buffer) -> bytes:
        if self.state is not _OPEN:
            raise self._closed_error()
        if len(payload) > 125:
            raise ValueError(f"control frame payload too long ({len(payload)} bytes, limit 125)")
        return serialize_frame(opcode, payload, mask=self._mask())

    def send_close(self, code: int = 1000, reason: str = "") -> bytes:
        """Start the closing handshake: return the masked Close frame; state becomes CLOSING.

        Args:
            code: 1000 (normal), 1001 (going away, k6's default) or 3000-4999 (registered
                and private codes); the other codes are reserved for the protocol itself.
            reason: Up to 123 bytes once UTF-8 encoded.

        Raises:
            InvalidStateError: The connection is already closing or closed, or the code or
                reason is not allowed.
        """
        if self.state is not _OPEN:
            raise self._closed_error()
        if not (code == 1000 or code == 1001 or 3000 <= code <= 4999):
            raise InvalidStateError(f"invalid close code {code}: use 1000, 1001 or 3000-4999")
        encoded = reason.encode()
        if len(encoded) > 123:
            raise InvalidStateError(f"close reason too long ({len(encoded)} bytes, limit 123)")
        self.state = _CLOSING
        self.close_sent = True
        return serialize_frame(_CLOSE, code.to_bytes(2, "big") + encoded, mask=self._mask())


class _DeflateClientProtocol(ClientProtocol):
    """:class:`ClientProtocol` with ``permessage-deflate`` (RFC 7692) negotiated.

    ``ClientProtocol(compression=...)`` builds one. RSV1 on the first frame of a data message
    marks it compressed: its frames are inflated (within ``max_message_size``) before the
    plain machinery reassembles and decodes them. RSV1 on a control or continuation frame is a
    protocol error (1002). Every message sent is compressed, RSV1 set.
    """

    __slots__ = ("_compression", "_inflating")

    def __init__(
        self,
        *,
        max_message_size: int | None = 10 * 1024 * 1024,
        mask_source: Callable[[int], bytes] = os.urandom,
        compression: PerMessageDeflate | None = None,
    ) -> None:
        super().__init__(max_message_size=max_message_size, mask_source=mask_source)
        assert compression is not None
        self._compression = compression
        self._inflating = False  # a compressed fragmented message is being received
        self._parser.allow_rsv1 = True

    def _handle_frames(self, frames: Iterable[RawFrame], events: list[Event]) -> None:
        super()._handle_frames(self._inflate(frames, events), events)

    def _inflate(self, frames: Iterable[RawFrame], events: list[Event]) -> Iterator[RawFrame]:
        """Yield ``frames`` with compressed payloads inflated; stop at the first failure."""
        compression = self._compression
        limit = self.max_message_size
        for opcode, payload, fin, rsv1 in frames:
            if not self._reading:
                return  # closed or failed by an earlier frame
            try:
                if opcode >= _CLOSE:
                    if rsv1:
                        raise ProtocolError("RSV1 set on a control frame")
                elif opcode == _CONT:
                    if rsv1:
                        raise ProtocolError("RSV1 set on a continuation frame")
                    if self._inflating:
                        payload = compression.decompress(payload, fin, limit)
                        self._inflating = not fin
                elif rsv1 and not self._fragment_opcode:  # else the plain code reports it
                    payload = compression.decompress(payload, fin, limit)
                    self._inflating = not fin
            except ProtocolError as exc:
                events.append(self.fail(exc.code, exc.message))
                return
            yield opcode, payload, fin, rsv1

    def send_text(self, text: str) -> bytes:
        """Return the masked frame carrying ``text``, compressed.

        Raises:
            InvalidStateError: Unless the connection is OPEN.
        """
        if self.state is not _OPEN:
            raise self._closed_error()
        payload = self._compression.compress(text.encode())
        return serialize_frame(_TEXT, payload, mask=self._mask(), rsv1=True)

    def send_binary(self, data: bytes | bytearray | memoryview) -> bytes:
        """Return the masked frame carrying ``data``, compressed.

        Raises:
            InvalidStateError: Unless the connection is OPEN.
        """
        if self.state is not _OPEN:
            raise self._closed_error()
        payload = self._compression.compress(data)
        return serialize_frame(_BINARY, payload, mask=self._mask(), rsv1=True)
