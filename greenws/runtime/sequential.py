"""``ws.open``: a WebSocket read and written in sequence, because a greenlet can block.

Callbacks exist in k6 because JavaScript cannot wait; a greenlet can. ``ws.open`` dials at once
and returns a socket whose ``recv`` parks the VU until a message (or the deadline, or a close)
arrives, and whose ``request`` sends, waits for the reply a ``match`` function accepts and
records the time between the two in the ``ws_request_duration`` Trend: the per-message latency
that k6, Locust and Artillery leave scripts to measure by hand. While the VU waits, the protocol
core still answers the server's pings and our pongs still record ``ws_ping``.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import gevent

from greenws.protocol import (
    BinaryMessage,
    ClientProtocol,
    CloseReceived,
    InvalidStateError,
    PerMessageDeflate,
    PongReceived,
    ProtocolFailure,
    TextMessage,
)
from greenws.runtime.connection import UNEXPECTED_EOF, SessionRecord, check_target
from greenws.runtime.dial import (
    REQUEST_TIMEOUT,
    Response,
    dial,
    error_code_for,
    os_error_text,
)
from greenws.runtime.event_loop import loop_of
from greenws.runtime.transport import make_transport
from greenws.runtime.vu import VirtualUser

__all__ = ["ConnectError", "ConnectionClosed", "ReceiveTimeout", "SequentialSocket", "open_socket"]

CLOSE_TIMEOUT = 3.0
_PARAMS = (
    "headers",
    "tags",
    "subprotocols",
    "timeout",
    "insecureSkipTLSVerify",
    "insecure_skip_tls_verify",
    "compression",
)
Message = str | bytes


class ReceiveTimeout(TimeoutError):
    """``recv``/``request`` waited ``timeout`` seconds and no (matching) message came."""


class ConnectionClosed(ConnectionError):
    """The connection is closed: ``code`` and ``reason`` say how (1006: without a handshake)."""

    def __init__(self, code: int, reason: str = "", message: str = "") -> None:
        text = message or f"the WebSocket is closed (code {code}{', ' + reason if reason else ''})"
        super().__init__(text)
        self.code = code
        self.reason = reason


class ConnectError(ConnectionError):
    """``ws.open`` could not connect: ``response`` is what ``ws.connect`` would have returned."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"ws.open {response.url}: {response.error}")
        self.response = response


class SequentialSocket:
    """An open WebSocket driven by plain calls; use it as a context manager.

    Leaving the ``with`` block closes it with 1000 and emits the session's samples, as does the
    end of the iteration for a socket the script left open.
    """

    __slots__ = (
        "_held",
        "_incoming",
        "_loop",
        "_metrics",
        "_name_tags",
        "_ping_counter",
        "_ping_sent",
        "_protocol",
        "_record",
        "_transport",
        "close_code",
        "close_reason",
        "protocol",
        "response",
        "url",
    )

    def __init__(
        self, engine: Any, loop: Any, url: str, dialled: Any, record: SessionRecord
    ) -> None:
        self.url = url
        self.response: Response = dialled.response
        #: The subprotocol the server chose ("" for none).
        self.protocol = dialled.subprotocol or ""
        #: Set once closed: the code and reason the session ended with.
        self.close_code: int | None = None
        self.close_reason = ""
        self._record = record
        self._metrics = engine.metrics
        self._loop = loop
        self._protocol = ClientProtocol(
            max_message_size=engine.options.max_message_size,
            compression=None if dialled.deflate is None else PerMessageDeflate(dialled.deflate),
        )
        self._transport: Any = make_transport(dialled.connection)
        #: Messages parsed off the wire, not yet looked at; and messages ``request`` skipped.
        self._incoming: deque[Message] = deque()
        self._held: deque[Message] = deque()
        self._name_tags: dict[str, Any] = {}
        self._ping_sent: dict[bytes, float] = {}
        self._ping_counter = 0
        if dialled.leftover:
            self._receive(dialled.leftover)

    def __enter__(self) -> SequentialSocket:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if kind is not None and not issubclass(kind, Exception):
            self.abort(1000)  # interrupted: no time to wait for the server's answer
        else:
            self.close(1000)

    def __repr__(self) -> str:
        state = "open" if self.close_code is None else f"closed {self.close_code}"
        return f"<SequentialSocket {self.url} {state}>"

    @property
    def closed(self) -> bool:
        """Whether the session is over."""
        return self.close_code is not None

    # -- sending -------------------------------------------------------------------------------

    def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send a text (``str``) or binary (bytes-like) message (``ws_msgs_sent``)."""
        self._check_open()
        if isinstance(data, str):
            frame = self._protocol.send_text(data)
        elif isinstance(data, (bytes, bytearray, memoryview)):
            frame = self._protocol.send_binary(data)
        else:
            raise TypeError(f"send() takes str or bytes-like data, not {type(data).__name__}")
        self._write(frame)
        self._record.push((self._metrics.ws_msgs_sent, time.time(), 1.0, self._record.tags))

    def ping(self) -> None:
        """Send a ping; its pong records ``ws_ping`` whenever it is read (in recv or request)."""
        self._check_open()
        self._ping_counter += 1
        payload = str(self._ping_counter).encode()
        self._ping_sent[payload] = time.perf_counter()
        self._write(self._protocol.send_ping(payload))

    # -- receiving -----------------------------------------------------------------------------

    def recv(self, timeout: float | None = None) -> Message:
        """The next message: ``str`` for text, ``bytes`` for binary.

        Raises:
            ReceiveTimeout: Nothing arrived within ``timeout`` seconds (None waits until the
                server sends or closes, or the iteration is interrupted).
            ConnectionClosed: The connection is closed and no message is left to read.
        """
        if self._held:
            return self._held.popleft()
        return self._next(None if timeout is None else time.monotonic() + timeout)

    def request(
        self,
        message: str | bytes | bytearray | memoryview,
        timeout: float | None = None,
        match: Callable[[Message], Any] | None = None,
        name: str | None = None,
    ) -> Message:
        """Send ``message`` and return the first later message ``match`` accepts (any, without
        ``match``); the others stay queued for ``recv``. The time from send to that reply is a
        ``ws_request_duration`` sample (milliseconds), tagged like the session and with
        ``name`` (default: the session's own ``name`` tag, the url unless ``tags.name``).

        Raises:
            ReceiveTimeout: No accepted reply within ``timeout`` seconds.
            ConnectionClosed: The connection closed before the reply came.
        """
        self._held.extend(self._incoming)  # they came before the request: not its reply
        self._incoming.clear()
        deadline = None if timeout is None else time.monotonic() + timeout
        started = time.perf_counter()  # the send is part of the latency a user waits through
        self.send(message)
        while True:
            reply = self._next(deadline)
            if match is None or match(reply):
                elapsed_ms = (time.perf_counter() - started) * 1000.0
                tags = self._tags_named(name)
                metric = self._metrics.ws_request_duration
                self._record.push((metric, time.time(), elapsed_ms, tags))
                return reply
            self._held.append(reply)

    def _tags_named(self, name: str | None) -> Any:
        tags = self._record.tags
        if name is None:
            return tags
        named = self._name_tags.get(name)
        if named is None:
            named = self._record.engine.intern_tags({**(tags or {}), "name": str(name)})
            self._name_tags[name] = named
        return named

    def _next(self, deadline: float | None) -> Message:
        """The next message off the wire, parking the VU until it comes."""
        incoming = self._incoming
        read = self._transport.read if self._transport is not None else None
        while not incoming:
            if read is None or self.close_code is not None:
                raise ConnectionClosed(self.close_code or 1006, self.close_reason)
            wait = None
            if deadline is not None:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise ReceiveTimeout(f"no message from {self.url} in time")
            try:
                data = read(wait)
            except OSError as error:
                self._fail(f"read failed: {os_error_text(error)}", error_code_for(error, "read"))
                continue
            if data is None:
                continue
            if not data:
                self._on_eof()
                continue
            self._receive(data)
        return incoming.popleft()

    def _receive(self, data: bytes) -> None:
        record = self._record
        record.bytes_received += len(data)
        protocol = self._protocol
        closing = protocol.close_sent  # we asked to close: the server's answer is no error
        events = protocol.receive_data(data)
        if protocol.outgoing:  # pongs to the server's pings, the echo of its close
            self._write(protocol.data_to_send())
        for event in events:
            kind = type(event)
            if kind is TextMessage or kind is BinaryMessage:
                record.push((self._metrics.ws_msgs_received, time.time(), 1.0, record.tags))
                self._incoming.append(event.data)
            elif kind is PongReceived:
                sent = self._ping_sent.pop(event.payload, None)
                if sent is not None:
                    elapsed_ms = (time.perf_counter() - sent) * 1000.0
                    record.push((self._metrics.ws_ping, time.time(), elapsed_ms, record.tags))
            elif kind is CloseReceived:
                if not closing and event.code not in (1000, 1001, 1005):
                    record.fail(event.code)
                self._release(event.code, event.reason)
                return
            elif kind is ProtocolFailure:
                self._record.fail(event.code)
                self._release(event.code, event.message)
                return

    def _on_eof(self) -> None:
        for event in self._protocol.receive_eof():
            if type(event) is ProtocolFailure:
                self._fail(
                    "connection closed by the server without a close frame",
                    UNEXPECTED_EOF,
                )
                return
        self._release(self._protocol.close_code or 1006, self._protocol.close_reason)

    # -- closing -------------------------------------------------------------------------------

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code`` and ``reason``; waits up to 3 s for the server's close frame.

        Messages still unread are dropped. Raises ValueError for a code other than 1000, 1001
        or 3000-4999 or a reason over 123 bytes.
        """
        if self.close_code is not None:
            return
        try:
            frame = self._protocol.send_close(code, reason)
        except InvalidStateError as error:
            raise ValueError(str(error)) from None
        self._write(frame)
        deadline = time.monotonic() + CLOSE_TIMEOUT
        while self.close_code is None:
            try:
                self._next(deadline)
            except ConnectionClosed:
                break
            except ReceiveTimeout:
                self._fail(
                    "the server did not answer the close frame in time",
                    (REQUEST_TIMEOUT, "websocket: close handshake timed out"),
                )

    def abort(self, code: int) -> None:
        """End now (iteration over): a close frame with ``code``, best effort, and no waiting."""
        if self.close_code is not None:
            return
        with contextlib.suppress(Exception):
            frame = self._protocol.send_close(code, "")
            with gevent.Timeout(1.0):
                self._transport.write(frame)
            self._record.bytes_sent += len(frame)
        self._release(code, "")

    def _check_open(self) -> None:
        if self.close_code is not None or self._protocol.close_sent:
            raise ConnectionClosed(self.close_code or 1006, self.close_reason)

    def _write(self, data: bytes) -> None:
        try:
            self._transport.write(data)
        except OSError as error:
            self._fail(f"write failed: {os_error_text(error)}", error_code_for(error, "write"))
            raise ConnectionClosed(1006, "", f"write to {self.url} failed: {error}") from None
        self._record.bytes_sent += len(data)

    def _fail(self, message: str, tag: tuple[int, str]) -> None:
        self._record.fail(1006, tag)
        self._release(1006, message)

    def _release(self, code: int, reason: str) -> None:
        if self.close_code is not None:
            return
        self.close_code, self.close_reason = code, reason
        transport, self._transport = self._transport, None
        if transport is not None:
            with contextlib.suppress(OSError):
                transport.close()
        self._loop.remove(self)
        self._record.finish()

    # Iterating yields messages until the server closes: ``for message in sock: ...``.
    def __iter__(self) -> SequentialSocket:
        return self

    def __next__(self) -> Message:
        try:
            return self.recv()
        except ConnectionClosed:
            raise StopIteration from None


def open_socket(
    engine: Any, vu: VirtualUser, url: str, params: Mapping[str, Any] | None = None
) -> SequentialSocket:
    """Dial now (the VU waits) and return the open socket; raise :class:`ConnectError` if the
    dial or handshake failed (its samples are emitted all the same, as ``ws.connect`` does)."""
    target = check_target("ws.open", engine, url, params, _PARAMS)
    record = SessionRecord(engine, None)  # ConnectError tells the script
    dialled = dial(engine, target)
    record.connected(vu, target, dialled, vu.tags)
    if dialled.response.error:
        record.finish()
        raise ConnectError(dialled.response)
    loop = loop_of(vu)
    sock = SequentialSocket(engine, loop, url, dialled, record)
    if sock.close_code is None:
        loop.own(sock)
    return sock
