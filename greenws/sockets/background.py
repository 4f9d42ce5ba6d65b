"""A WebSocket read by a greenlet of its own, for the protocols layered on WebSocket.

Socket.IO, STOMP, MQTT and GraphQL servers drop a client that does not answer their heartbeats,
and a VU spends most of a session in ``sleep()``, waiting on something else, or running its
own code. ``ws.open`` reads only while the VU is in ``recv``; a protocol kit cannot ask scripts
to keep calling it. So a :class:`BackgroundSocket` reads on a reader greenlet that knows its VU
(``current_vu`` works in what it calls) and hands each message to the kit, which answers
heartbeats and wakes waiters there. The VU's writes and the reader's (pongs, heartbeat answers)
go through one lock, so two frames never interleave on the wire.

One greenlet per session is a price the raw APIs do not pay (``ws.connect`` and ``ws.open``
read on the VU's own greenlet); it buys the property the protocols need, and kit sessions are
counted in hundreds or thousands per box, not in the idle hundreds of thousands.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gevent
from gevent.event import Event
from gevent.lock import Semaphore

from greenws.net.dial import PARAM_KEYS, Response, dial
from greenws.protocol import InvalidStateError
from greenws.runtime.context import RunContext
from greenws.runtime.event_loop import loop_of
from greenws.runtime.vu import VirtualUser, VUGreenlet
from greenws.sockets.connection import CLOSE_TIMEOUT, Connection, check_target, cookie_jar
from greenws.sockets.sequential import ConnectError, ConnectionClosed

__all__ = ["BackgroundSocket", "open_background"]

#: What the kit is told of each message: ``str`` for text, ``bytes`` for binary.
Deliver = Callable[[str | bytes], None]
#: Called once when the session is over, with its close code and reason.
Ended = Callable[[int, str], None]


class BackgroundSocket(Connection):
    """An open WebSocket whose messages go to ``deliver`` on the reader greenlet."""

    __slots__ = (
        "_deliver",
        "_done",
        "_ended",
        "_reader",
        "_tickers",
        "_vu",
        "_write_lock",
        "close_reason",
        "protocol",
        "response",
        "url",
    )

    def __init__(self, context: RunContext, vu: VirtualUser, url: str) -> None:
        super().__init__(context)
        self.url = url
        self._vu = vu
        self.response: Response | None = None
        #: The subprotocol the server chose ("" for none).
        self.protocol = ""
        self.close_reason = ""
        self._deliver: Deliver | None = None
        self._ended: Ended | None = None
        self._reader: Any = None
        self._tickers: list[Any] = []
        self._write_lock = Semaphore()
        self._done = Event()

    def __repr__(self) -> str:
        state = "open" if self._close_code is None else f"closed {self._close_code}"
        return f"<BackgroundSocket {self.url} {state}>"

    @property
    def close_code(self) -> int | None:
        """The code the session ended with; None while it is open."""
        return self._close_code

    @property
    def tags(self) -> Any:
        """The session's tags (a TagSet): url, name, status, subproto, scenario, group, ..."""
        return self._tags

    def start(self, dialled: Any, deliver: Deliver, ended: Ended) -> None:
        """Take over the dialled connection and start reading; the iteration's end closes it."""
        self.response = dialled.response
        self.protocol = dialled.subprotocol or ""
        self._deliver = deliver
        self._ended = ended
        leftover = self._open(dialled)
        loop_of(self._vu).own(self)
        self._reader = VUGreenlet(self._vu, self._read_loop, leftover)
        self._reader.start()

    # -- writing (VU and reader alike) ----------------------------------------------------------

    def _write(self, data: bytes) -> bool:
        with self._write_lock:
            return super()._write(data)

    def _goodbye(self, code: int) -> None:
        # A frame half-written by the other greenlet (parked on a full send buffer) must not
        # have our close frame spliced into it: no lock, no goodbye (the server sees a drop).
        if self._write_lock.acquire(blocking=False):
            try:
                super()._goodbye(code)
            finally:
                self._write_lock.release()

    def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send a text (``str``) or binary message; ConnectionClosed once the session is over."""
        if self._close_code is not None or self._protocol.close_sent:
            raise ConnectionClosed(self._close_code or 1006, self.close_reason)
        self._send_data(data)

    def every(self, seconds: float, tick: Callable[[], Any]) -> None:
        """Call ``tick`` every ``seconds`` on a greenlet of its own until the session ends: the
        client's half of a heartbeat (STOMP's newline, MQTT's PINGREQ)."""

        def run() -> None:
            while self._close_code is None:
                gevent.sleep(seconds)
                if self._close_code is None:
                    try:
                        tick()
                    except ConnectionClosed:
                        return

        ticker = VUGreenlet(self._vu, run)
        self._tickers.append(ticker)
        ticker.start()

    # -- reading (the reader greenlet) ------------------------------------------------------------

    def _read_loop(self, leftover: bytes) -> None:
        if leftover:
            self._receive(leftover)
        read = self._transport.read
        while self._close_code is None:
            try:
                data = read(None)
            except OSError as error:
                self._read_failed(error)
                break
            if data is None:
                continue
            if not data:
                self._receive_eof()
                break
            self._receive(data)

    def _on_text(self, data: str | bytes) -> None:
        deliver = self._deliver
        if deliver is not None:
            deliver(data)

    _on_binary = _on_text

    def _on_finished(self, code: int, reason: str) -> None:
        self.close_reason = reason
        self._release()

    def _on_failed(self, message: str, code: int) -> None:
        self.close_reason = message
        self._release()

    def _release(self) -> None:
        """The session is over: stop the greenlets (not the one running this), close the
        transport, emit the session's samples, tell the kit."""
        current = gevent.getcurrent()
        for greenlet in (self._reader, *self._tickers):
            if greenlet is not None and greenlet is not current:
                greenlet.kill(block=False)
        self._tickers.clear()
        self._release_transport()
        loop = self._vu.event_loop
        if loop is not None:
            loop.remove(self)
        self._finish_session()
        self._done.set()
        ended = self._ended
        if ended is not None:
            self._ended = None
            ended(self._close_code or 1006, self.close_reason)

    # -- closing ----------------------------------------------------------------------------------

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code`` and ``reason``; waits up to 3 s for the server's close frame."""
        if self._close_code is not None:
            return
        try:
            frame = self._start_close(code, reason)
        except InvalidStateError as error:
            raise ValueError(str(error)) from None
        if self._write(frame) and not self._done.wait(CLOSE_TIMEOUT):
            self._close_timed_out()

    def abort(self, code: int, reason: str = "") -> None:
        """End now (iteration over, or a kit gave up on a silent server): a close frame with
        ``code``, best effort, no waiting; ``reason`` is what the kit is told it ended with."""
        if self._close_code is not None:
            return
        reader = self._reader
        if reader is not None and reader is not gevent.getcurrent():
            reader.kill(block=False)  # before the goodbye parks this greenlet in a write
        self._goodbye(code)
        self._finish(code, reason)


def open_background(
    api: str,
    vu: VirtualUser,
    url: str,
    params: Mapping[str, Any] | None,
    protocols: str | Sequence[str] | None,
    deliver: Deliver,
    ended: Ended,
) -> BackgroundSocket:
    """Dial now (the VU waits) and start reading; raise :class:`ConnectError` if the dial or
    the handshake failed (its samples are emitted all the same, as ``ws.open`` does)."""
    context = vu.context
    target = check_target(api, context, url, params, PARAM_KEYS, protocols)
    sock = BackgroundSocket(context, vu, url)
    dialled = dial(target, context.tls_context, cookie_jar(params, vu), vu.local_ip)
    if not sock._connected(vu, target, dialled, vu.tags):
        sock._finish_session()
        raise ConnectError(dialled.response)
    sock.start(dialled, deliver, ended)
    return sock
