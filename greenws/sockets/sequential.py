"""``ws.open``: a WebSocket read and written in sequence, because a greenlet can block.

Callbacks exist in k6 because JavaScript cannot wait; a greenlet can. ``ws.open`` dials at once
and returns a socket whose ``recv`` parks the VU until a message (or the deadline, or a close)
arrives, and whose ``request`` sends, waits for the reply a ``match`` function accepts and
records the time between the two in the ``ws_request_duration`` Trend: the per-message latency
that k6, Locust and Artillery leave scripts to measure by hand. While the VU waits, the protocol
core still answers the server's pings and our pongs still record ``ws_ping``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from greenws.net.dial import PARAM_KEYS, Response, dial
from greenws.protocol import InvalidStateError
from greenws.runtime.context import RunContext
from greenws.runtime.event_loop import VULoop, loop_of
from greenws.runtime.vu import VirtualUser
from greenws.sockets.connection import Connection, check_target, cookie_jar

__all__ = ["ConnectError", "ConnectionClosed", "ReceiveTimeout", "SequentialSocket", "open_socket"]

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


class SequentialSocket(Connection):
    """An open WebSocket driven by plain calls; use it as a context manager.

    Leaving the ``with`` block closes it with 1000 and emits the session's samples, as does the
    end of the iteration for a socket the script left open.
    """

    __slots__ = (
        "_held",
        "_incoming",
        "_loop",
        "_name_tags",
        "close_reason",
        "protocol",
        "response",
        "url",
    )

    def __init__(self, context: RunContext, url: str) -> None:
        super().__init__(context)  # the session's clock starts here, before the dial
        self.url = url
        self.response: Response | None = None
        #: The subprotocol the server chose ("" for none).
        self.protocol = ""
        #: Set once closed: the reason the session ended with (see ``close_code``).
        self.close_reason = ""
        self._loop: VULoop | None = None
        #: Messages parsed off the wire, not yet looked at; and messages ``request`` skipped.
        self._incoming: deque[Message] = deque()
        self._held: deque[Message] = deque()
        self._name_tags: dict[str, Any] = {}

    def _attach(self, loop: VULoop, dialled: Any) -> None:
        """Take over the dialled connection; the loop closes it if the script does not."""
        self.response = dialled.response
        self.protocol = dialled.subprotocol or ""
        self._loop = loop
        leftover = self._open(dialled)
        if leftover:
            self._receive(leftover)
        if self._close_code is None:
            loop.own(self)

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
    def close_code(self) -> int | None:
        """The code the session ended with; None while it is open."""
        return self._close_code

    @property
    def closed(self) -> bool:
        """Whether the session is over."""
        return self._close_code is not None

    # -- sending -------------------------------------------------------------------------------

    def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send a text (``str``) or binary (bytes-like) message (``ws_msgs_sent``)."""
        self._check_open()
        self._send_data(data)

    def ping(self) -> None:
        """Send a ping; its pong records ``ws_ping`` whenever it is read (in recv or request)."""
        self._check_open()
        self._send_ping()

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
                metric = self._context.metrics.ws_request_duration
                self._push((metric, time.time(), elapsed_ms, tags))
                return reply
            self._held.append(reply)

    def _tags_named(self, name: str | None) -> Any:
        tags = self._tags
        if name is None:
            return tags
        named = self._name_tags.get(name)
        if named is None:
            named = self._context.intern_tags({**(tags or {}), "name": str(name)})
            self._name_tags[name] = named
        return named

    def _next(self, deadline: float | None) -> Message:
        """The next message off the wire, parking the VU until it comes."""
        incoming = self._incoming
        read = self._transport.read if self._transport is not None else None
        while not incoming:
            if read is None or self._close_code is not None:
                raise ConnectionClosed(self._close_code or 1006, self.close_reason)
            wait = None
            if deadline is not None:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise ReceiveTimeout(f"no message from {self.url} in time")
            try:
                data = read(wait)
            except OSError as error:
                self._read_failed(error)
                continue
            if data is None:
                continue
            if not data:
                self._receive_eof()
                continue
            self._receive(data)
        return incoming.popleft()

    # -- what the connection's events mean here ------------------------------------------------

    def _on_text(self, data: str | bytes) -> None:
        self._incoming.append(data)

    _on_binary = _on_text

    def _protocol_failed(self, code: int, message: str) -> None:
        self._fail(message, code)  # the reason ConnectionClosed gives is the protocol's own

    def _write_failed(self, error: OSError) -> None:
        super()._write_failed(error)
        raise ConnectionClosed(1006, "", f"write to {self.url} failed: {error}") from None

    def _on_finished(self, code: int, reason: str) -> None:
        self.close_reason = reason
        self._release()

    def _on_failed(self, message: str, code: int) -> None:
        self.close_reason = message
        self._release()

    def _release(self) -> None:
        self._release_transport()
        if self._loop is not None:
            self._loop.remove(self)
        self._finish_session()

    # -- closing -------------------------------------------------------------------------------

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code`` and ``reason``; waits up to 3 s for the server's close frame.

        Messages still unread are dropped. Raises ValueError for a code other than 1000, 1001
        or 3000-4999 or a reason over 123 bytes.
        """
        if self._close_code is not None:
            return
        try:
            frame = self._start_close(code, reason)
        except InvalidStateError as error:
            raise ValueError(str(error)) from None
        self._write(frame)
        deadline = self._close_deadline
        while self._close_code is None:
            try:
                self._next(deadline)
            except ConnectionClosed:
                break
            except ReceiveTimeout:
                self._close_timed_out()

    def abort(self, code: int) -> None:
        """End now (iteration over): a close frame with ``code``, best effort, and no waiting."""
        if self._close_code is not None:
            return
        self._goodbye(code)
        self._finish(code, "")

    def _check_open(self) -> None:
        if self._close_code is not None or self._protocol.close_sent:
            raise ConnectionClosed(self._close_code or 1006, self.close_reason)

    # Iterating yields messages until the server closes: ``for message in sock: ...``.
    def __iter__(self) -> SequentialSocket:
        return self

    def __next__(self) -> Message:
        try:
            return self.recv()
        except ConnectionClosed:
            raise StopIteration from None


def open_socket(
    context: RunContext, vu: VirtualUser, url: str, params: Mapping[str, Any] | None = None
) -> SequentialSocket:
    """Dial now (the VU waits) and return the open socket; raise :class:`ConnectError` if the
    dial or handshake failed (its samples are emitted all the same, as ``ws.connect`` does)."""
    target = check_target("ws.open", context, url, params, PARAM_KEYS)
    sock = SequentialSocket(context, url)
    dialled = dial(target, context.tls_context, cookie_jar(params, vu), vu.local_ip)
    if not sock._connected(vu, target, dialled, vu.tags):
        sock._finish_session()
        raise ConnectError(dialled.response)
    sock._attach(loop_of(vu), dialled)
    return sock
