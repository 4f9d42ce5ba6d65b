"""``ws.connect`` and the k6-style ``Socket``: one WebSocket session driven by its VU's own greenlet.

The VU's greenlet is the event loop: it waits on the socket with a timeout equal to the next timer's
deadline, so handlers and timers of one VU never run concurrently and no reader greenlet is spent
per connection. The protocol core (:mod:`greenws.protocol`) does all framing; this module only moves
bytes, keeps time, fires handlers and emits k6's ``ws_*`` samples.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import gevent

from greenws.metrics.tags import TagSet
from greenws.protocol import (
    BinaryMessage,
    ClientProtocol,
    CloseReceived,
    InvalidStateError,
    PerMessageDeflate,
    PingReceived,
    PongReceived,
    ProtocolFailure,
    State,
    TextMessage,
)
from greenws.runtime.connection import UNEXPECTED_EOF, close_tag
from greenws.runtime.dial import (
    GENERIC_ERROR,
    REQUEST_TIMEOUT,
    Response,
    connect_params,
    dial,
    error_code_for,
    os_error_text,
)
from greenws.runtime.transport import make_transport
from greenws.runtime.vu import IterationInterrupted, VirtualUser, accepted_arguments
from greenws.timers import TimerQueue

if TYPE_CHECKING:
    from greenws.runtime.engine import Engine

__all__ = ["Response", "Socket", "SocketError", "connect"]

EVENTS = ("open", "message", "binaryMessage", "ping", "pong", "close", "error")
_EVENT_ALIASES = {"binary_message": "binaryMessage", "binarymessage": "binaryMessage"}
#: How long a closing socket waits for the server's close frame before dropping the connection.
CLOSE_TIMEOUT = 3.0


class SocketError:
    """What an ``error`` handler receives; ``.error()`` returns the message, as in k6."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def error(self) -> str:
        """The error message (k6's ``e.error()``)."""
        return self.message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"SocketError({self.message!r})"


class _Handler:
    """A registered handler and how many of the event's arguments it accepts."""

    __slots__ = ("arity", "function")

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.arity = accepted_arguments(function, 1)


class Socket:
    """A live WebSocket session as a k6 script sees it (``k6/ws`` Socket).

    Python names are snake_case; k6's camelCase names are aliases so ported scripts read the same.
    """

    # Slots: thousands of idle sockets live at once, and every byte of one is multiplied.
    __slots__ = (
        "_close_code",
        "_closing_deadline",
        "_done",
        "_engine",
        "_error",
        "_handlers",
        "_msgs_received",
        "_msgs_sent",
        "_ping_counter",
        "_ping_sent",
        "_protocol",
        "_push",
        "_tags",
        "_timers",
        "_transport",
        "_vu",
        "_ws_ping",
        "bytes_received",
        "bytes_sent",
    )

    def __init__(
        self,
        vu: VirtualUser,
        engine: Engine,
        connection: Any,
        protocol: ClientProtocol,
        tags: TagSet,
    ) -> None:
        self._vu = vu
        self._engine = engine
        self._transport = make_transport(connection)
        self._protocol = protocol
        self._tags = tags
        self._handlers: dict[str, list[_Handler]] = {}
        self._timers = TimerQueue()
        self._ping_sent: dict[bytes, float] | None = None  # made on the first ping
        self._ping_counter = 0
        self._closing_deadline: float | None = None
        self._done = False
        self._close_code = 1006
        self._error: tuple[int, str] | None = None  # (error_code, error) tags once failed
        self.bytes_sent = 0
        self.bytes_received = 0
        metrics = engine.metrics
        self._msgs_sent = metrics.ws_msgs_sent
        self._msgs_received = metrics.ws_msgs_received
        self._ws_ping = metrics.ws_ping
        self._push = engine.samples.append

    # -- handlers ----------------------------------------------------------------------------

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Add a handler for ``event`` (several per event run in order); a decorator without one."""
        name = _EVENT_ALIASES.get(event, event)
        if name not in EVENTS:
            raise ValueError(f"unknown socket event {event!r}: expected one of {', '.join(EVENTS)}")
        if handler is None:

            def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
                self.on(name, function)
                return function

            return decorator
        if not callable(handler):
            raise TypeError(f"handler for {event!r} must be callable, not {type(handler).__name__}")
        self._handlers.setdefault(name, []).append(_Handler(handler))
        return None

    def _fire(self, event: str, *args: Any) -> None:
        handlers = self._handlers.get(event)
        if not handlers:
            return
        for handler in handlers:
            if handler.arity:
                handler.function(*args)
            else:
                handler.function()

    # -- sending -----------------------------------------------------------------------------

    def send(self, message: str) -> None:
        """Send a text message (``ws_msgs_sent``)."""
        if not isinstance(message, str):
            raise TypeError(
                f"send() takes str, not {type(message).__name__}; use send_binary() for bytes"
            )
        self._send_frame(self._protocol.send_text, message)

    def send_binary(self, data: bytes | bytearray | memoryview) -> None:
        """Send a binary message (``ws_msgs_sent``)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"send_binary() takes bytes, not {type(data).__name__}")
        self._send_frame(self._protocol.send_binary, data)

    def _send_frame(self, encode: Callable[[Any], bytes], payload: Any) -> None:
        if self._protocol.state is not State.OPEN:
            self._fire("error", SocketError("send on a closed or closing socket"))
            return
        frame = encode(payload)
        if self._write(frame):
            self._push((self._msgs_sent, time.time(), 1.0, self._tags))

    def ping(self) -> None:
        """Send a ping; the matching pong records ``ws_ping`` (milliseconds)."""
        if self._protocol.state is not State.OPEN:
            self._fire("error", SocketError("ping on a closed or closing socket"))
            return
        self._ping_counter += 1
        payload = str(self._ping_counter).encode()
        if self._ping_sent is None:
            self._ping_sent = {}
        self._ping_sent[payload] = time.perf_counter()
        self._write(self._protocol.send_ping(payload))

    def close(self, code: int = 1001, reason: str = "") -> None:
        """Start the closing handshake; the ``close`` event fires when the server answers."""
        if self._protocol.state is not State.OPEN:
            return
        try:
            frame = self._protocol.send_close(code, reason)
        except InvalidStateError as error:
            raise ValueError(str(error)) from None
        self._closing_deadline = time.monotonic() + CLOSE_TIMEOUT
        # As in k6, a closed socket runs no more timers: only the server's close answer is awaited.
        self._timers.clear()
        self._write(frame)

    def _write(self, data: bytes) -> bool:
        try:
            self._transport.write(data)
        except OSError as error:
            self._fail(
                f"write failed: {os_error_text(error)}", 1006, error_code_for(error, "write")
            )
            return False
        self.bytes_sent += len(data)
        return True

    # -- timers ------------------------------------------------------------------------------

    def set_timeout(self, callback: Callable[[], Any], delay_ms: float) -> int:
        """Run ``callback`` once after ``delay_ms`` milliseconds (k6 ``setTimeout``)."""
        return self._timers.add(time.monotonic(), float(delay_ms) / 1000.0, callback)

    def set_interval(self, callback: Callable[[], Any], interval_ms: float) -> int:
        """Run ``callback`` every ``interval_ms`` milliseconds while the socket lives."""
        if interval_ms <= 0:
            raise ValueError(f"set_interval: interval must be positive, got {interval_ms!r}")
        return self._timers.add(
            time.monotonic(), float(interval_ms) / 1000.0, callback, repeat=True
        )

    def clear_timeout(self, timer_id: int) -> None:
        """Cancel a timeout or interval set on this socket."""
        self._timers.cancel(timer_id)

    clear_interval = clear_timeout

    # k6 spellings, so ported scripts read the same.
    sendBinary = send_binary
    setTimeout = set_timeout
    setInterval = set_interval
    clearTimeout = clear_timeout
    clearInterval = clear_interval

    # -- the loop ----------------------------------------------------------------------------

    def _fail(self, message: str, code: int, tag: tuple[int, str] | None = None) -> None:
        """A transport or protocol failure: ``error`` then ``close``, and the session ends.

        ``tag`` is the session's ``(error_code, error)`` tag pair; by default k6's generic code
        and the close code in gorilla/websocket's words.
        """
        if self._done:
            return
        self._done = True
        self._close_code = code
        self._error = tag or (GENERIC_ERROR, close_tag(code))
        self._fire("error", SocketError(message))
        self._fire("close", code)

    def _finish(self, code: int) -> None:
        if self._done:
            return
        self._done = True
        self._close_code = code
        self._fire("close", code)

    def run(self, initial: bytes) -> None:
        """Fire ``open`` and serve events until the session is over."""
        self._fire("open")
        if initial:
            self._receive(initial)
        read = self._transport.read
        timers = self._timers
        monotonic = time.monotonic
        while not self._done:
            deadline = timers.next_deadline()
            if self._closing_deadline is not None and (
                deadline is None or self._closing_deadline < deadline
            ):
                deadline = self._closing_deadline
            wait = None
            if deadline is not None:
                wait = deadline - monotonic()
                if wait <= 0:
                    self._on_deadline()
                    continue
            try:
                data = read(wait)
            except OSError as error:
                self._fail(
                    f"read failed: {os_error_text(error)}", 1006, error_code_for(error, "read")
                )
                break
            if data is None:
                continue  # the deadline passed: the next turn runs the due timers
            if not data:
                self._receive_eof()
                break
            self._receive(data)

    def _on_deadline(self) -> None:
        now = time.monotonic()
        if self._closing_deadline is not None and now >= self._closing_deadline:
            self._fail(
                "the server did not answer the close frame in time",
                1006,
                (REQUEST_TIMEOUT, "websocket: close handshake timed out"),
            )
            return
        for callback in self._timers.due(now):
            callback()
            if self._done:
                return

    def _receive(self, data: bytes) -> None:
        self.bytes_received += len(data)
        protocol = self._protocol
        events = protocol.receive_data(data)
        if protocol.outgoing:
            self._write(protocol.data_to_send())
        for event in events:
            kind = type(event)
            if kind is TextMessage:
                self._push((self._msgs_received, time.time(), 1.0, self._tags))
                self._fire("message", event.data)
            elif kind is BinaryMessage:
                self._push((self._msgs_received, time.time(), 1.0, self._tags))
                self._fire("binaryMessage", event.data)
            elif kind is PingReceived:
                self._fire("ping")
            elif kind is PongReceived:
                pings = self._ping_sent
                sent = pings.pop(event.payload, None) if pings else None
                if sent is not None:
                    elapsed_ms = (time.perf_counter() - sent) * 1000.0
                    self._push((self._ws_ping, time.time(), elapsed_ms, self._tags))
                self._fire("pong")
            elif kind is CloseReceived:
                # Our own close being answered is no error, whatever code we chose.
                if event.code in (1000, 1001, 1005) or self._closing_deadline is not None:
                    self._finish(event.code)
                else:
                    reason = f" {event.reason}" if event.reason else ""
                    self._fail(f"websocket: close {event.code}{reason}", event.code)
            elif kind is ProtocolFailure:
                self._fail(f"protocol error: {event.message}", event.code)
            if self._done:
                return

    def _receive_eof(self) -> None:
        for event in self._protocol.receive_eof():
            if type(event) is ProtocolFailure:
                self._fail(
                    "connection closed by the server without a close frame",
                    1006,
                    UNEXPECTED_EOF,
                )
                return
        self._finish(self._protocol.close_code or 1006)

    def shutdown(self, code: int = 1001) -> None:
        """The test is ending: say goodbye with ``code`` (best effort) and end the session."""
        if self._protocol.state is State.OPEN:
            try:
                frame = self._protocol.send_close(code, "")
                with gevent.Timeout(1.0):
                    self._transport.write(frame)
                self.bytes_sent += len(frame)
            except (OSError, InvalidStateError, gevent.Timeout):
                pass
        self._timers.clear()
        self._done = True
        self._close_code = code

    def close_transport(self) -> None:
        """Release the connection (the session is over)."""
        self._transport.close()

    @property
    def close_code(self) -> int:
        """The code the session closed with (1006 if it ended without a close handshake)."""
        return self._close_code


def connect(
    engine: Engine,
    vu: VirtualUser,
    url: str,
    params: Mapping[str, Any] | None,
    handler: Callable[[Socket], Any] | None,
) -> Response:
    """Open a session, run ``handler(socket)``, serve it until closed, emit k6's metrics.

    As in k6, a failed dial or refused handshake is not an exception: the Response carries the
    status (0 without one) and the error, and ``ws_sessions``/``ws_connecting``/
    ``ws_session_duration`` are emitted all the same.
    """
    # Cached per url and params: checking them again was ~3 µs a session (churn benchmark).
    target = connect_params(url, params, insecure_default=engine.options.insecure_skip_tls_verify)
    metrics = engine.metrics
    push = engine.samples.append
    started = time.perf_counter()
    dialled = dial(engine, target)
    response = dialled.response
    handshake_sent, handshake_received = dialled.bytes_sent, dialled.bytes_received
    tag_values = {**vu.tags.as_dict(), "url": url, **target.tags, "status": str(response.status)}
    if dialled.subprotocol:
        tag_values["subproto"] = dialled.subprotocol
    if response.error:
        tag_values["error"] = dialled.error_tag
        tag_values["error_code"] = str(response.error_code)
    tags = engine.intern_tags(tag_values)
    del tag_values, target
    push((metrics.ws_connecting, time.time(), dialled.connecting_ms, tags))
    socket_obj: Socket | None = None
    try:
        if response.error:
            engine.report_connect_error(vu, url, response.error)
            return response
        protocol = ClientProtocol(
            max_message_size=engine.options.max_message_size,
            compression=None if dialled.deflate is None else PerMessageDeflate(dialled.deflate),
        )
        initial = dialled.leftover
        socket_obj = Socket(vu, engine, dialled.connection, protocol, tags)
        socket_obj.bytes_sent = handshake_sent
        del dialled  # nothing of the handshake stays alive while the session runs
        try:
            if handler is not None:
                handler(socket_obj)
            socket_obj.run(initial)
        except IterationInterrupted:
            socket_obj.shutdown(1001)
            raise
        finally:
            with contextlib.suppress(OSError):
                socket_obj.close_transport()
        return response
    finally:
        ended = time.time()
        if socket_obj is None:
            bytes_sent, bytes_received = handshake_sent, handshake_received
        else:
            bytes_sent = socket_obj.bytes_sent
            bytes_received = handshake_received + socket_obj.bytes_received
            if socket_obj._error is not None:
                # The session failed: its closing samples say how, as k6's HTTP samples do.
                error_code, error = socket_obj._error
                tags = engine.intern_tags({**tags, "error": error, "error_code": str(error_code)})
        duration_ms = (time.perf_counter() - started) * 1000.0
        push((metrics.ws_sessions, ended, 1.0, tags))
        push((metrics.ws_session_duration, ended, duration_ms, tags))
        if bytes_sent:
            push((metrics.data_sent, ended, float(bytes_sent), tags))
        if bytes_received:
            push((metrics.data_received, ended, float(bytes_received), tags))
