"""The living-standard ``WebSocket`` (k6's ``k6/websockets``): many per VU, on the VU's loop.

The constructor returns at once and leaves the dial (TCP, TLS, the HTTP upgrade) to the VU's
:class:`~greenws.runtime.event_loop.VULoop` (``dial_later``): on the VU's own greenlet when the
loop has nothing else to serve, else in a short-lived greenlet that hands the result back; either
way ``open`` fires on the VU's greenlet. From then on the loop's read watcher tells the socket
when to read, and every handler runs on the VU's greenlet, one at a time. The wire work is the
protocol core's, the bytes move through the callback Socket's transports, and the samples are
k6's ``ws_*`` with the ``name`` tag added (see :mod:`greenws.sockets.connection`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gevent

from greenws.net.cookies import CookieJar
from greenws.net.dial import ConnectParams, Dialled, Response, dial
from greenws.net.transport import PlainTransport, nonblocking_reader
from greenws.runtime.event_loop import loop_of
from greenws.runtime.vu import current_vu
from greenws.sockets.connection import CLOSE_TIMEOUT, Connection, check_target, cookie_jar
from greenws.sockets.events import (
    CloseEvent,
    DOMSyntaxError,
    ErrorEvent,
    Event,
    InvalidAccessError,
    InvalidStateError,
    MessageEvent,
    handler_entry,
    on_property,
)

__all__ = ["WebSocket"]

CONNECTING, OPEN, CLOSING, CLOSED = 0, 1, 2, 3
EVENT_TYPES = ("open", "message", "error", "close", "ping", "pong")
_PARAMS = ("headers", "tags", "compression", "jar", "localIP")
_BINARY_TYPES = ("blob", "arraybuffer")


class WebSocket(Connection):
    """A WebSocket as the living standard and k6's ``k6/websockets`` define it.

    ``WebSocket(url, protocols=None, params=None)`` returns at once and connects in the
    background; ``params`` takes ``headers``, ``tags`` and ``compression``. Handlers (the
    ``on*`` properties, then ``add_event_listener`` listeners in the order added) run on the
    VU's greenlet. The iteration lasts until every socket of the VU is closed and no timer is
    pending. Binary messages arrive as ``bytes`` with ``binary_type`` "blob" (the default) and
    as a mutable ``bytearray`` with "arraybuffer". ``buffered_amount`` is always 0: ``send``
    returns only once the kernel holds the bytes (a full socket buffer parks the VU).
    """

    CONNECTING = CONNECTING
    OPEN = OPEN
    CLOSING = CLOSING
    CLOSED = CLOSED

    _API = "WebSocket"

    __slots__ = (
        "_binary_type",
        "_close_timer",
        "_dialer",
        "_dialled",
        "_jar",
        "_listeners",
        "_loop",
        "_on",
        "_read",
        "_ready_state",
        "_target",
        "_tls",
        "_vu",
        "_vu_tags",
        "_watcher",
        "extensions",
        "protocol",
        "url",
    )

    def __init__(
        self,
        url: str,
        protocols: str | Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        vu = current_vu()
        context = vu.context
        super().__init__(context)  # the session's clock starts here, before the dial
        self._target: ConnectParams | None = check_target(
            "WebSocket", context, url, params, _PARAMS, protocols
        )
        self.url = url
        #: The subprotocol the server chose ("" for none) and the negotiated extensions.
        self.protocol = ""
        self.extensions = ""
        self._ready_state = CONNECTING
        self._binary_type = "blob"
        self._on: dict[str, tuple[Callable[..., Any], int]] = {}
        self._listeners: dict[str, list[tuple[Callable[..., Any], int]]] = {}
        self._vu = vu
        self._vu_tags = vu.tags  # the group the socket was made in, as k6 tags it
        self._read: Callable[[], bytes | None] | None = None
        self._tls: Any = None
        self._watcher: Any = None
        self._close_timer: Any = None  # a libev timer from the loop's call_later
        self._dialled: Dialled | None = None
        self._jar: CookieJar | None = cookie_jar(params, vu)  # checked now: a bad jar raises here
        self._dialer: Any = None
        loop = self._loop = loop_of(vu)
        loop.add(self)
        loop.dial_later(self)

    def __repr__(self) -> str:
        return f"<WebSocket {self.url} readyState={self._ready_state}>"

    # -- properties ----------------------------------------------------------------------------

    @property
    def ready_state(self) -> int:
        """0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED."""
        return self._ready_state

    @property
    def buffered_amount(self) -> int:
        """Always 0: ``send`` hands every byte to the kernel before it returns."""
        return 0

    @property
    def binary_type(self) -> str:
        """Either "blob" (binary messages as ``bytes``) or "arraybuffer" (``bytearray``)."""
        return self._binary_type

    @binary_type.setter
    def binary_type(self, value: str) -> None:
        if value not in _BINARY_TYPES:
            raise ValueError(f'binary_type must be "blob" or "arraybuffer", not {value!r}')
        self._binary_type = value

    onopen = on_property("open")
    onmessage = on_property("message")
    onerror = on_property("error")
    onclose = on_property("close")
    onping = on_property("ping")
    onpong = on_property("pong")

    def add_event_listener(self, type_: str, listener: Callable[..., Any]) -> None:
        """Add a listener for ``type_``; several per type run in the order added."""
        if type_ not in EVENT_TYPES:
            raise ValueError(
                f"unknown WebSocket event {type_!r}: expected one of {', '.join(EVENT_TYPES)}"
            )
        self._listeners.setdefault(type_, []).append(handler_entry(listener))

    def remove_event_listener(self, type_: str, listener: Callable[..., Any]) -> None:
        """Remove the first registration of ``listener`` for ``type_`` (no error if absent)."""
        entries = self._listeners.get(type_, [])
        for index, (function, _) in enumerate(entries):
            if function == listener:
                del entries[index]
                return

    # k6 / living-standard spellings, so ported scripts read the same.
    readyState = ready_state
    bufferedAmount = buffered_amount
    binaryType = binary_type
    addEventListener = add_event_listener
    removeEventListener = remove_event_listener

    def _fire(self, type_: str, event: Event) -> None:
        entry = self._on.get(type_)
        if entry is not None:
            entry[0](event) if entry[1] else entry[0]()
        listeners = self._listeners.get(type_)
        if listeners:
            for function, arity in tuple(listeners):
                function(event) if arity else function()

    # -- sending -------------------------------------------------------------------------------

    def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send a text (``str``) or binary (bytes-like) message (``ws_msgs_sent``)."""
        if self._ready_state != OPEN:
            raise InvalidStateError(
                f"send: the WebSocket is not open (readyState {self._ready_state})"
            )
        if type(data) is str:  # the common case, one call shorter than _send_data's dispatch
            self._send_message(self._protocol.send_text(data))
        else:
            self._send_data(data)

    def ping(self) -> None:
        """Send a ping; the matching pong records ``ws_ping`` (milliseconds)."""
        if self._ready_state != OPEN:
            raise InvalidStateError(
                f"ping: the WebSocket is not open (readyState {self._ready_state})"
            )
        self._send_ping()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake; ``close`` fires when the server answers (or after 3 s).

        Raises:
            InvalidAccessError: ``code`` is not 1000 or 3000-4999.
            DOMSyntaxError: ``reason`` is longer than 123 bytes once UTF-8 encoded.
        """
        if (
            isinstance(code, bool)
            or not isinstance(code, int)
            or not (code == 1000 or 3000 <= code <= 4999)
        ):
            raise InvalidAccessError(f"close: invalid code {code!r}: use 1000 or 3000-4999")
        if len(reason.encode()) > 123:
            raise DOMSyntaxError(f"close: reason is {len(reason.encode())} bytes, the limit is 123")
        if self._ready_state == CONNECTING:
            self._ready_state = CLOSING  # the dial's outcome is then dropped, see _on_dialled
            return
        if self._ready_state != OPEN:
            return
        frame = self._start_close(code, reason)
        self._ready_state = CLOSING
        self._close_timer = self._loop.call_later(CLOSE_TIMEOUT, self._on_close_timer)
        self._write(frame)

    # -- the loop's side -----------------------------------------------------------------------

    def dial_here(self) -> None:
        """Dial on the VU's greenlet (its loop has nothing else to do) and handle the outcome."""
        self._on_dialled(self._dial())

    def start_dial(self) -> None:
        """Dial in a greenlet of its own (called in the hub: the VU is busy elsewhere)."""
        self._dialer = gevent.spawn(self._dial_in_background)

    def _dial_in_background(self) -> None:
        self._dialled = self._dial()
        self._dialer = None
        self._loop.mark_ready(self)

    def _dial(self) -> Dialled:
        target = self._target
        assert target is not None
        jar, self._jar = self._jar, None
        assert jar is not None
        try:
            return dial(target, self._context.tls_context, jar, self._vu.local_ip)
        except Exception as error:  # never leave the loop waiting on a dial that died
            dialled = Dialled(Response(target.url, error=f"dial failed: {error}", error_code=1000))
            dialled.error_tag = str(error)
            return dialled

    def handle_ready(self) -> None:
        """Called by the VU's loop: the dial finished, or the connection is readable."""
        dialled = self._dialled
        if dialled is not None:
            self._dialled = None
            self._on_dialled(dialled)
            return
        read = self._read
        if read is None:
            return  # closed while it waited in the ready queue
        try:
            data = read()
        except BlockingIOError:
            data = None  # nothing there after all (a spurious wake-up)
        except OSError as error:
            self._read_failed(error)
            return
        if data:
            self._receive(data)
            if self._read is None:
                return
            if self._tls is not None and self._tls.pending():
                self._loop.mark_ready(self)  # decrypted bytes the fd watcher cannot see
        elif data is not None:
            self._receive_eof()
            return
        watcher = self._watcher
        if not watcher.active:  # the loop stopped it when the VU was busy elsewhere
            self._loop.rearm(watcher, self)

    def _on_dialled(self, dialled: Dialled) -> None:
        target = self._target
        assert target is not None
        self._target = None
        if not self._connected(self._vu, target, dialled, self._vu_tags):
            self._ready_state = CLOSED
            self._release()
            self._fire("error", ErrorEvent(self, dialled.response.error))
            self._fire("close", CloseEvent(self, 1006, "", False))
            return
        if self._ready_state == CLOSING:  # close() was called while connecting
            with contextlib.suppress(OSError):
                dialled.connection.close()
            self._fail("the WebSocket was closed before the connection was established", 1006)
            return
        leftover = self._open(dialled)
        transport = self._transport
        own_watcher = None
        if type(transport) is PlainTransport:
            # EAGAIN comes as BlockingIOError (see handle_ready); one watcher on the fd, not two.
            fd, self._read, own_watcher = transport.raw_reader()
            self._tls = None
        else:
            fd, self._read, self._tls = nonblocking_reader(transport)
        self.protocol = dialled.subprotocol or ""
        self.extensions = "permessage-deflate" if dialled.deflate is not None else ""
        self._ready_state = OPEN
        self._watcher = self._loop.watch(fd, self, own_watcher)
        self._fire("open", Event("open", self))
        if leftover and self._read is not None:
            self._receive(leftover)

    # -- what the connection's events mean to the standard API ---------------------------------

    def _on_text(self, data: str) -> None:
        # _fire, spelt out for the one event of every round trip: no event object unless some
        # handler is registered, and the listeners are looked up after ``onmessage`` ran, as
        # _fire does (a listener it adds hears this message too).
        entry = self._on.get("message")
        if entry is None and not self._listeners.get("message"):
            return
        event = MessageEvent(self, data)
        if entry is not None:
            entry[0](event) if entry[1] else entry[0]()
        listeners = self._listeners.get("message")
        if listeners:
            for function, arity in tuple(listeners):
                function(event) if arity else function()

    def _on_binary(self, data: bytes) -> None:
        if "message" in self._on or self._listeners.get("message"):
            payload = bytearray(data) if self._binary_type == "arraybuffer" else data
            self._fire("message", MessageEvent(self, payload))

    def _on_ping(self) -> None:
        if "ping" in self._on or self._listeners.get("ping"):
            self._fire("ping", Event("ping", self))

    def _on_pong(self) -> None:
        if "pong" in self._on or self._listeners.get("pong"):
            self._fire("pong", Event("pong", self))

    def _on_close_timer(self) -> None:
        timer, self._close_timer = self._close_timer, None
        if timer is not None:
            timer.close()
        self._close_timed_out()

    def _on_finished(self, code: int, reason: str) -> None:
        """A close handshake completed: ``close`` with ``was_clean``."""
        self._ready_state = CLOSED
        self._release()
        self._fire("close", CloseEvent(self, code, reason, True))

    def _on_failed(self, message: str, code: int) -> None:
        """The connection failed: ``error``, then ``close`` with ``was_clean`` false."""
        self._ready_state = CLOSED
        protocol = self._protocol
        if protocol is not None and protocol.outgoing:  # a failure's close frame, best effort
            with contextlib.suppress(OSError):
                self._transport.write(protocol.data_to_send())
        self._release()
        self._fire("error", ErrorEvent(self, message))
        self._fire("close", CloseEvent(self, code, "", False))

    def _release(self) -> None:
        """Free the connection and emit the session's samples; the loop stops waiting for it."""
        if self._watcher is not None:
            self._watcher.close()  # the transport closes its own again below: harmless
            self._watcher = None
        self._release_transport()
        self._read = self._tls = None
        if self._close_timer is not None:
            self._close_timer.close()
            self._close_timer = None
        self._loop.remove(self)
        self._finish_session()

    def abort(self, code: int) -> None:
        """The iteration ended with this socket open: close with ``code``, run no handlers."""
        if self._ready_state == CLOSED:
            return
        dialer = self._dialer
        if dialer is not None:
            self._dialer = None
            dialer.kill(block=False)
        dialled = self._dialled
        if dialled is not None and self._target is not None:  # dialled, not yet handed over
            self._dialled = None
            if self._connected(self._vu, self._target, dialled, self._vu_tags):
                self._open(dialled)
        self._goodbye(code)
        self._ready_state = CLOSED
        if self._close_code is None:
            self._close_code = code
        self._release()
