"""``ws.connect`` and the k6-style ``Socket``: one WebSocket session driven by its VU's own greenlet.

The VU's greenlet is the event loop: it waits on the socket with a timeout equal to the next timer's
deadline, so handlers and timers of one VU never run concurrently and no reader greenlet is spent
per connection. The connection's core (protocol, transport, writes, events, session samples) is
:class:`~greenws.sockets.connection.Connection`; this module keeps k6/ws's surface: handlers,
per-socket timers, the loop that waits, and what an event means to a k6 script.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from time import time as now
from typing import TYPE_CHECKING, Any

from greenws.metrics.tags import TagSet
from greenws.net.dial import Response, connect_params, dial
from greenws.protocol import InvalidStateError, State, TextMessage
from greenws.runtime.timers import TimerQueue
from greenws.runtime.vu import IterationInterrupted, VirtualUser, accepted_arguments
from greenws.sockets.connection import Connection, cookie_jar

if TYPE_CHECKING:
    from greenws.runtime.context import RunContext

__all__ = ["Response", "Socket", "SocketError", "connect"]

EVENTS = ("open", "message", "binaryMessage", "ping", "pong", "close", "error")
_EVENT_ALIASES = {"binary_message": "binaryMessage", "binarymessage": "binaryMessage"}
_OPEN = State.OPEN
#: Every Socket's timers until it sets one (`Socket._own_timers`): never added to, so it stays
#: empty, and clearing or asking it for deadlines is what an own empty queue would answer.
_NO_TIMERS = TimerQueue()


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


#: Every Socket's handlers until it has one; never mutated (see ``Socket.on``).
_NO_HANDLERS: dict[str, list[_Handler]] = {}


class Socket(Connection):
    """A live WebSocket session as a k6 script sees it (``k6/ws`` Socket).

    Python names are snake_case; k6's camelCase names are aliases so ported scripts read the same.
    """

    _API = "ws.connect"
    _NAME_TAG = False  # k6/ws tags a session by url only
    _EMPTY_SUBPROTO_TAG = True  # "subproto":"" on every sample of a session without one, as k6

    __slots__ = ("_handlers", "_timers", "_vu")

    def _data_tags(self, session_tags: TagSet) -> TagSet:
        # k6/ws counts a session's bytes on its dialer, tagged as the VU is (group, scenario and
        # the test's tags), not with the session's url and status.
        return self._vu.tags

    def __init__(self, vu: VirtualUser, context: RunContext) -> None:
        super().__init__(context)
        self._vu = vu
        # Shared and empty until the script adds a handler: an idle session with none kept its
        # own empty dict (64 bytes a VU, benchmarks/idle_memory.py).
        self._handlers: dict[str, list[_Handler]] = _NO_HANDLERS
        # The shared empty queue until a timer is set: most short sessions never set one.
        self._timers = _NO_TIMERS

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
        handlers = self._handlers
        if handlers is _NO_HANDLERS:
            handlers = self._handlers = {}
        handlers.setdefault(name, []).append(_Handler(handler))
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

    def send(self, message: Any) -> None:
        """Send a text message (``ws_msgs_sent``).

        As k6's ``socket.send(Date.now())``, any value that is not text is sent as its text
        (``str(value)``); bytes are refused, since their text would be ``b'…'``: use
        :meth:`send_binary`.
        """
        if type(message) is not str:
            if isinstance(message, (bytes, bytearray, memoryview)):
                raise TypeError(
                    f"send() takes text, not {type(message).__name__}: use send_binary()"
                )
            message = str(message)
        protocol = self._protocol
        if protocol.state is not _OPEN:
            self._fire("error", SocketError("send on a closed or closing socket"))
            return
        # Connection._send_message and _write, inline: a ping-pong's every message comes
        # through here, and each Python call is ~250 instructions (benchmarks/RESULTS.md).
        frame = protocol.send_text(message)
        try:
            self._transport.write(frame)
        except OSError as error:
            self._write_failed(error)
            return
        self.bytes_sent += len(frame)
        self._push((self._msgs_sent, now(), 1.0, self._tags))

    def send_binary(self, data: bytes | bytearray | memoryview) -> None:
        """Send a binary message (``ws_msgs_sent``)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"send_binary() takes bytes, not {type(data).__name__}")
        protocol = self._protocol
        if protocol.state is not _OPEN:
            self._fire("error", SocketError("send on a closed or closing socket"))
            return
        self._send_message(protocol.send_binary(data))

    def ping(self) -> None:
        """Send a ping; the matching pong records ``ws_ping`` (milliseconds)."""
        if self._protocol.state is not _OPEN:
            self._fire("error", SocketError("ping on a closed or closing socket"))
            return
        self._send_ping()

    def close(self, code: int = 1001, reason: str = "") -> None:
        """Start the closing handshake; the ``close`` event fires when the server answers."""
        if self._protocol.state is not _OPEN:
            return
        try:
            frame = self._start_close(code, reason)
        except InvalidStateError as error:
            raise ValueError(str(error)) from None
        # As in k6, a closed socket runs no more timers: only the server's close answer is awaited.
        self._timers.clear()
        self._write(frame)

    # -- timers ------------------------------------------------------------------------------

    def _own_timers(self) -> TimerQueue:
        timers = self._timers
        if timers is _NO_TIMERS:
            timers = self._timers = TimerQueue()
        return timers

    def set_timeout(self, callback: Callable[[], Any], delay_ms: float) -> int:
        """Run ``callback`` once after ``delay_ms`` milliseconds (k6 ``setTimeout``)."""
        return self._own_timers().add(time.monotonic(), float(delay_ms) / 1000.0, callback)

    def set_interval(self, callback: Callable[[], Any], interval_ms: float) -> int:
        """Run ``callback`` every ``interval_ms`` milliseconds while the socket lives."""
        if interval_ms <= 0:
            raise ValueError(f"set_interval: interval must be positive, got {interval_ms!r}")
        return self._own_timers().add(
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

    def run(self, initial: bytes) -> None:
        """Fire ``open`` and serve events until the session is over."""
        self._fire("open")
        if initial:
            self._receive(initial)
        # Not a local ``read = self._transport.read``: that bound method lived as long as the
        # session, 64 bytes a parked VU.
        transport = self._transport
        protocol = self._protocol
        push = self._push
        msgs_received = self._msgs_received
        monotonic = time.monotonic
        while self._close_code is None:
            # Read each turn: a handler's first set_timeout swaps the shared empty queue for one
            # of the session's own. Its heap is looked at first, so a session without timers
            # (most) asks for no deadline with a Python call per message.
            timers = self._timers
            deadline = timers.next_deadline() if timers._heap else None
            closing = self._close_deadline
            if closing is not None and (deadline is None or closing < deadline):
                deadline = closing
            wait = None
            if deadline is not None:
                wait = deadline - monotonic()
                if wait <= 0:
                    self._on_deadline()
                    continue
            try:
                data = transport.read(wait)
            except OSError as error:
                self._read_failed(error)
                break
            if data is None:
                continue  # the deadline passed: the next turn runs the due timers
            if not data:
                self._receive_eof()
                break
            # Connection._receive's common case, inline: one text message and nothing for the
            # protocol to answer. Two Python calls (_receive, _on_text) fewer per message.
            self.bytes_received += len(data)
            events = protocol.receive_data(data)
            if len(events) == 1 and not protocol.outgoing:
                event = events[0]
                if type(event) is TextMessage:
                    push((msgs_received, now(), 1.0, self._tags))
                    handlers = self._handlers.get("message")
                    if handlers:
                        text = event.data
                        for handler in handlers:
                            if handler.arity:
                                handler.function(text)
                            else:
                                handler.function()
                    continue
            self._receive(data, events)

    def _on_deadline(self) -> None:
        now = time.monotonic()
        if self._close_deadline is not None and now >= self._close_deadline:
            self._close_timed_out()
            return
        for callback in self._timers.due(now):
            callback()
            if self._close_code is not None:
                return

    # -- what the connection's events mean to a k6 script ------------------------------------

    def _on_text(self, data: str) -> None:
        handlers = self._handlers.get("message")
        if handlers:
            for handler in handlers:
                if handler.arity:
                    handler.function(data)
                else:
                    handler.function()

    def _on_binary(self, data: bytes) -> None:
        self._fire("binaryMessage", data)

    def _on_ping(self) -> None:
        self._fire("ping")

    def _on_pong(self) -> None:
        self._fire("pong")

    def _closed_unexpectedly(self, code: int, reason: str) -> None:
        # k6/ws reports a server's error close as an error, then the close.
        self._fail(f"websocket: close {code}{f' {reason}' if reason else ''}", code)

    def _on_finished(self, code: int, reason: str) -> None:
        self._fire("close", code)

    def _on_failed(self, message: str, code: int) -> None:
        self._fire("error", SocketError(message))
        self._fire("close", code)

    def shutdown(self, code: int = 1001) -> None:
        """The test is ending: say goodbye with ``code`` (best effort) and end the session."""
        self._goodbye(code)
        self._timers.clear()
        self._close_code = code

    def close_transport(self) -> None:
        """Release the connection (the session is over)."""
        self._release_transport()

    @property
    def close_code(self) -> int:
        """The code the session closed with (1006 if it ended without a close handshake)."""
        code = self._close_code
        return 1006 if code is None else code


def connect(
    context: RunContext,
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
    options = context.options
    target = connect_params(
        url,
        params,
        insecure_default=options.insecure_skip_tls_verify,
        user_agent=options.user_agent,
    )
    socket_obj = Socket(vu, context)  # the session's clock starts here, before the dial
    try:
        dialled = dial(target, context.tls_context, cookie_jar(params, vu), vu.local_ip)
        response = dialled.response
        if not socket_obj._connected(vu, target, dialled, vu.tags):
            return response
        initial = socket_obj._open(dialled)
        del dialled, target  # nothing of the handshake stays alive while the session runs
        try:
            if handler is not None:
                handler(socket_obj)
            socket_obj.run(initial)
        except IterationInterrupted:
            socket_obj.shutdown(1001)
            raise
        finally:
            # Not contextlib.suppress: it is three Python calls, every session.
            try:  # noqa: SIM105
                socket_obj.close_transport()
            except OSError:
                pass
        return response
    finally:
        socket_obj._finish_session()
