"""Socket.IO v4 (Engine.IO v4): events, acknowledgements both ways, binary attachments,
namespaces, heartbeats answered in the background and watched, reconnection; on WebSocket, or
started on HTTP long polling and upgraded (``transport="polling-then-websocket"``).

::

    from greenws.kits import socketio

    def default():
        with socketio.connect("http://127.0.0.1:3000", auth={"token": "t"}) as sio:
            sio.on("chat", lambda room, text: print(room, text))
            sio.call("join", "lobby")                 # waits for the server's ack
            sio.emit("chat", "lobby", "hello")
            sleep(30)                                 # the server's pings are answered meanwhile

Why a kit: a Socket.IO server pings every ``pingInterval`` and drops a client whose pong is
``pingTimeout`` late, so ``ws.open`` plus ``sleep()`` loses the session within seconds; and
python-socketio sends what its connect handler emits *before* the CONNECT acknowledgement,
which a hand-written client does not expect. Here the reader greenlet answers each ``2`` with
``3``, and events that arrive before the acknowledgement are kept for ``recv`` like any other.
A server whose pings stop for ``pingInterval + pingTimeout`` is taken for dead, as
socket.io-client does (``ping timeout``; ``reconnect=True`` starts again).

Metrics (tagged like the session's ``ws_*`` samples, plus ``namespace``):
``socketio_connect_duration`` (Trend: WebSocket open, or the first polling GET, to the
namespace's CONNECT ack), ``socketio_upgrade_duration`` (Trend: the WebSocket dial to the
``5`` that ends polling), ``socketio_ack_duration{event}`` (Trend: an emit with an ack to its
answer), ``socketio_events_sent{event}`` and ``socketio_events_received{event}`` (Counters),
``socketio_broadcast_latency{event}`` (Trend: one VU's emit to another's receipt of the same
arguments on the same namespace and event), ``socketio_reconnects`` (Counter).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gevent
from gevent.event import AsyncResult
from gevent.lock import Semaphore
from gevent.timeout import Timeout

from greenws.codecs.socketio import (
    EngineOpen,
    EngineType,
    Packet,
    PacketType,
    Reassembler,
    decode_engine,
    encode_packet,
    engine_url,
    payload_key,
)
from greenws.kits.session import (
    DEFAULT_TIMEOUT,
    ConnectError,
    ConnectionClosed,
    KitSession,
    ProtocolError,
    ReceiveTimeout,
)
from greenws.kits.socketio_namespace import (
    CLIENT_DISCONNECT,
    PING_TIMEOUT,
    PING_TIMEOUT_CLOSE_CODE,
    SERVER_DISCONNECT,
    TRANSPORT_CLOSE,
    Namespace,
)
from greenws.kits.socketio_polling import EnginePolling, PollingError
from greenws.metrics.metric import MetricType
from greenws.runtime.event_loop import loop_of
from greenws.runtime.vu import VUGreenlet
from greenws.sockets.connection import cookie_jar

__all__ = ["TRANSPORTS", "Namespace", "PollingError", "ProtocolError", "SocketIOSession", "connect"]

#: How a session starts: on WebSocket at once (the default), or on HTTP long polling and then
#: upgraded to WebSocket on the same Engine.IO session, as socket.io-client does by default.
TRANSPORTS = ("websocket", "polling-then-websocket")

#: Every metric the kit records (greenws.kits.declare_metrics registers them for thresholds).
METRICS: Mapping[str, MetricType] = {
    "socketio_connect_duration": MetricType.TREND,
    "socketio_ack_duration": MetricType.TREND,
    "socketio_broadcast_latency": MetricType.TREND,
    "socketio_events_sent": MetricType.COUNTER,
    "socketio_events_received": MetricType.COUNTER,
    "socketio_reconnects": MetricType.COUNTER,
    "socketio_upgrade_duration": MetricType.TREND,
}


class SocketIOSession(KitSession):
    """A Socket.IO client over one WebSocket; it is its first namespace (see :class:`Namespace`)."""

    KIT = "socketio"
    METRICS = METRICS

    def __init__(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        namespace: str | Sequence[str] = "/",
        auth: Any = None,
        path: str = "/socket.io/",
        timeout: float = DEFAULT_TIMEOUT,
        reconnect: bool = False,
        reconnect_attempts: int = 5,
        reconnect_delay: float = 0.5,
        transport: str = "websocket",
        ping_watchdog: bool = True,
    ) -> None:
        names = [namespace] if isinstance(namespace, str) else list(namespace)
        if not names:
            raise ValueError("socketio.connect: at least one namespace")
        if transport not in TRANSPORTS:
            raise ValueError(
                f"socketio.connect: transport must be one of {TRANSPORTS}, not {transport!r}"
            )
        self.base_url = url
        self.engine: EngineOpen | None = None
        #: The transport the session started on (see TRANSPORTS).
        self.transport = transport
        self._path = path
        self._timeout = timeout
        self._reconnect = reconnect
        self._attempts = reconnect_attempts
        self._delay = reconnect_delay
        self._watchdog = ping_watchdog
        self._last_ping = 0.0
        self._ids = itertools.count()
        self._acks: dict[tuple[str, int], AsyncResult] = {}
        self._parts = Reassembler()
        self._opened: AsyncResult = AsyncResult()
        self._probed: AsyncResult = AsyncResult()
        self._polling: EnginePolling | None = None
        self._packet_lock = Semaphore()
        self._closing = False
        self._reconnecting = False
        self._namespaces = {name: Namespace(self, name, auth) for name in names}
        self.main = self._namespaces[names[0]]
        polling = transport != "websocket"
        super().__init__(engine_url(url, path), params, dial=not polling)
        self._iteration = self.vu.iteration
        loop_of(self.vu).own(self)  # the iteration's end stops reconnecting too
        try:
            self._start(time.perf_counter(), dialled=not polling)
        except BaseException:
            self._closing = True
            if hasattr(self, "socket"):
                self.socket.abort(1000)
            raise

    # -- what scripts use -----------------------------------------------------------------------

    def namespace(self, name: str, auth: Any = None, timeout: float | None = None) -> Namespace:
        """Connect ``name`` on this session's WebSocket (or return it if connected); ProtocolError
        if the server refuses it."""
        found = self._namespaces.get(name)
        if found is not None and found.connected:
            return found
        space = Namespace(self, name, auth)
        self._namespaces[name] = space
        self._handshake(time.perf_counter(), [space], timeout)
        return space

    @property
    def sid(self) -> str | None:
        """The first namespace's socket id."""
        return self.main.sid

    def emit(
        self, event: str, *args: Any, ack: bool = False, timeout: float | None = DEFAULT_TIMEOUT
    ) -> Any:
        """:meth:`Namespace.emit` on the first namespace."""
        return self.main.emit(event, *args, ack=ack, timeout=timeout)

    def call(self, event: str, *args: Any, timeout: float | None = DEFAULT_TIMEOUT) -> Any:
        """:meth:`Namespace.call` on the first namespace."""
        return self.main.call(event, *args, timeout=timeout)

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        """:meth:`Namespace.on` on the first namespace."""
        self.main.on(event, handler)

    def recv(  # type: ignore[override]
        self, timeout: float | None = None, event: str | None = None
    ) -> tuple[str, list[Any]]:
        """:meth:`Namespace.recv` on the first namespace."""
        return self.main.recv(timeout, event)

    def close(self) -> None:
        """Leave every namespace (DISCONNECT), then close the WebSocket with 1000."""
        self._closing = True
        loop = self.vu.event_loop
        if loop is not None:
            loop.remove(self)
        if self.socket.close_code is None:
            for space in self._namespaces.values():
                if space.connected:
                    space.connected = False
                    try:
                        self._send_packet(Packet(PacketType.DISCONNECT, space.name))
                    except ConnectionClosed:
                        break
        self.socket.close(1000)

    def abort(self, code: int) -> None:
        """The iteration ended with the session open: no reconnecting, close now."""
        self._closing = True
        if hasattr(self, "socket"):
            self.socket.abort(code)

    # -- the wire and the samples: long polling until the upgrade -----------------------------

    def _send(self, data: str | bytes) -> None:
        polling = self._polling
        if polling is not None:
            polling.send([data], self._timeout)
        else:
            super()._send(data)

    def _wait(self, result: AsyncResult, deadline: float) -> Any:
        """``result``'s value by ``deadline``; while polling, polls until it is there."""
        polling = self._polling
        while polling is not None and not result.ready():
            for message in polling.poll(deadline - time.monotonic()):
                self._deliver(message)
        return result.get(timeout=max(0.0, deadline - time.monotonic()))

    # -- sending ----------------------------------------------------------------------------------

    def _send_packet(self, packet: Packet) -> None:
        # One packet's text and its attachments must follow each other on the wire: a
        # handler's ack written in between would be taken for an attachment.
        with self._packet_lock:
            for message in encode_packet(packet):
                self._send(message)

    def _send_event(
        self, space: Namespace, event: str, args: tuple[Any, ...], ack_id: int | None
    ) -> None:
        if not space.connected:
            raise ConnectionClosed(self.socket.close_code or 1000, f"{space.name} not connected")
        self._published((space.name, event), payload_key(args))
        self._send_packet(Packet(PacketType.EVENT, space.name, [event, *args], ack_id))
        self._count("events_sent", event=event, namespace=space.name)

    def _call(
        self, space: Namespace, event: str, args: tuple[Any, ...], timeout: float | None
    ) -> Any:
        ack_id = next(self._ids)
        key = (space.name, ack_id)
        waiter: AsyncResult = AsyncResult()
        self._acks[key] = waiter
        try:
            started = time.perf_counter()
            self._send_event(space, event, args, ack_id)
            answer: list[Any] = waiter.get(timeout=timeout)
        except Timeout:
            raise ReceiveTimeout(f"socketio {event}: no acknowledgement in {timeout} s") from None
        finally:
            self._acks.pop(key, None)
        elapsed = (time.perf_counter() - started) * 1000.0
        self._record("ack_duration", elapsed, event=event, namespace=space.name)
        if not answer:
            return None
        return answer[0] if len(answer) == 1 else tuple(answer)

    # -- connecting -------------------------------------------------------------------------------

    def _start(self, started: float, dialled: bool) -> None:
        """Start the session (``dialled``: its WebSocket is open already) and watch its pings."""
        if dialled:
            self._handshake(started, list(self._namespaces.values()))
        elif self.transport == "websocket":
            self._dial()
            self._handshake(started, list(self._namespaces.values()))
        else:
            self._start_polling(started)
        engine = self.engine
        if self._watchdog and engine is not None and engine.ping_interval > 0:
            # (python-engineio advertises int(seconds) * 1000: 0 for a sub-second interval,
            # which says nothing of when its pings come; no watchdog then)
            self._last_ping = time.monotonic()
            window = engine.ping_interval + engine.ping_timeout
            self.socket.every(window / 4, lambda: self._check_pinged(window))

    def _start_polling(self, started: float) -> None:
        """Open the Engine.IO session over HTTP long polling, CONNECT the namespaces there, then
        upgrade: a WebSocket to the same sid, ``2probe`` answered by ``3probe``, then ``5``."""
        limit = self._timeout
        deadline = time.monotonic() + limit
        jar = cookie_jar(self._params, self.vu)
        polling = EnginePolling(
            self.vu, engine_url(self.base_url, self._path, transport="polling"), self._params, jar
        )
        self._polling = polling
        if not hasattr(self, "socket"):
            self._held = []  # no WebSocket yet, so no session tags for samples: held until _dial
        try:
            for message in polling.open(limit):
                self._deliver(message)
            if not self._opened.ready():
                raise ProtocolError(f"socketio {polling.url}: no open packet in the polling answer")
            self._handshake(started, list(self._namespaces.values()), limit)
            engine = self.engine
            assert engine is not None
            if "websocket" not in engine.upgrades:
                raise ProtocolError(
                    f"socketio {polling.url}: the server offers no WebSocket upgrade"
                )
            upgrading = time.perf_counter()
            self.url = engine_url(self.base_url, self._path, {"sid": engine.sid})
            self._dial()
            self._probed = AsyncResult()
            self.socket.send(f"{EngineType.PING:d}probe")
            try:
                self._probed.get(timeout=max(0.0, deadline - time.monotonic()))
            except Timeout:
                raise ReceiveTimeout(f"socketio {self.url}: no 3probe in {limit} s") from None
            self._polling = None  # nothing is polled from here: the server sends on the WebSocket
            self.socket.send(f"{EngineType.UPGRADE:d}")
            elapsed = (time.perf_counter() - upgrading) * 1000.0
            self._record("upgrade_duration", elapsed)
        finally:
            self._polling = self._held = None
            polling.close()

    def _handshake(
        self, started: float, spaces: list[Namespace], timeout: float | None = None
    ) -> None:
        """Wait for the Engine.IO open packet, CONNECT each namespace, wait for the acks."""
        limit = self._timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        try:
            self.engine = self._opened.get(timeout=limit)
            for space in spaces:
                space._acked = AsyncResult()
                self._send_packet(Packet(PacketType.CONNECT, space.name, space.auth))
            for space in spaces:
                space.sid = self._wait(space._acked, deadline)
                space.connected = True
                elapsed = (time.perf_counter() - started) * 1000.0
                self._record("connect_duration", elapsed, namespace=space.name)
                space._dispatch("connect")
        except Timeout:
            raise ReceiveTimeout(f"socketio {self.base_url}: not connected in {limit} s") from None

    def _check_pinged(self, window: float) -> None:
        """The client's half of the heartbeat: a server that stopped pinging is taken for dead
        (socket.io-client's ``ping timeout``), so the script learns of it, and ``reconnect=True``
        starts again, rather than waiting on a session that will never answer."""
        silent = time.monotonic() - self._last_ping
        if silent > window and not self.closed and not self._closing:
            self._context.report_error(
                "socketio:ping-timeout",
                f"socketio {self.base_url}: no ping from the server in {silent:.1f} s "
                f"(pingInterval + pingTimeout = {window:g} s); the session is taken for dead "
                f"vu={self.vu.id}",
            )
            self.socket.abort(PING_TIMEOUT_CLOSE_CODE, PING_TIMEOUT)

    def _reconnect_loop(self, code: int, reason: str) -> None:
        delay = self._delay
        for _ in range(self._attempts):
            gevent.sleep(delay)
            delay = min(delay * 2, 5.0)
            if self._closing or self.vu.iteration != self._iteration:
                break
            self._parts = Reassembler()
            self._opened = AsyncResult()
            self.url = engine_url(self.base_url, self._path)
            try:
                self._start(time.perf_counter(), dialled=False)
            except (ConnectError, ProtocolError, ReceiveTimeout, ConnectionClosed, OSError):
                if self.socket.close_code is None:
                    self.socket.abort(1000)
                continue
            self._reconnecting = False
            self._count("reconnects")
            self.main._dispatch("reconnect")
            return
        self._reconnecting = False
        self._finish(code, reason)

    # -- the reader greenlet ----------------------------------------------------------------------

    def _handle(self, message: str | bytes) -> None:
        packet = decode_engine(message)
        kind = packet.type
        if kind is EngineType.MESSAGE:
            whole = self._parts.feed(packet.data)
            if whole is not None:
                self._packet(whole)
        elif kind is EngineType.PING:
            self._last_ping = time.monotonic()
            with contextlib.suppress(ConnectionClosed):
                self._send(f"{EngineType.PONG:d}{packet.data!s}")
        elif kind is EngineType.OPEN:
            assert isinstance(packet.data, str)
            self._opened.set(EngineOpen.parse(packet.data))
            if self._polling is not None:
                self._polling.sid = self._opened.get().sid
        elif kind is EngineType.PONG and packet.data == "probe":
            self._probed.set(True)
        # CLOSE: the server closes the WebSocket next; NOOP, UPGRADE: nothing to do.

    def _packet(self, packet: Packet) -> None:
        space = self._namespaces.get(packet.namespace)
        if space is None:
            raise ValueError(f"a packet for namespace {packet.namespace!r}, never connected")
        if packet.type is not PacketType.DISCONNECT:
            space._received(packet)
        else:
            space.connected = False
            self._fail_acks(space.name, ConnectionClosed(1000, SERVER_DISCONNECT))
            space._closed(1000, SERVER_DISCONNECT)
            if not any(other.connected for other in self._namespaces.values()):
                self._closing = True  # Socket.IO does not reconnect after a server's disconnect
                VUGreenlet(self.vu, self.socket.close, 1000).start()  # not here: the reader waits

    def _fail_acks(self, name: str | None, error: ConnectionClosed) -> None:
        for (space, _), waiter in list(self._acks.items()):
            if name is None or space == name:
                waiter.set_exception(error)

    def _ended(self, code: int, reason: str) -> None:
        if self._reconnecting:  # an attempt's socket ended: wake its handshake, the loop retries
            closed = ConnectionClosed(code, reason)
            if not self._opened.ready():
                self._opened.set_exception(closed)
            for space in self._namespaces.values():
                if not space._acked.ready():
                    space._acked.set_exception(closed)
            return
        if self._reconnect and not self._closing and self.vu.iteration == self._iteration:
            self._reconnecting = True
            error = ConnectionClosed(code, reason or TRANSPORT_CLOSE)
            self._fail_acks(None, error)
            why = PING_TIMEOUT if reason == PING_TIMEOUT else TRANSPORT_CLOSE
            for space in self._namespaces.values():
                if space.connected:
                    space.connected = False
                    space._dispatch("disconnect", why)
            VUGreenlet(self.vu, self._reconnect_loop, code, reason).start()
            return
        self._finish(code, reason)

    def _finish(self, code: int, reason: str) -> None:
        closed = ConnectionClosed(code, reason)
        if not self._opened.ready():
            self._opened.set_exception(closed)
        self._fail_acks(None, closed)
        for space in self._namespaces.values():
            if not space._acked.ready():
                space._acked.set_exception(closed)
            was_connected, space.connected = space.connected, False
            if was_connected:
                why = PING_TIMEOUT if reason == PING_TIMEOUT else TRANSPORT_CLOSE
                space._closed(code, CLIENT_DISCONNECT if self._closing else why)
            else:
                space.inbox.close(closed)
        self.inbox.close(closed)
        self.main._dispatch("close", code, reason)


def connect(
    url: str,
    params: Mapping[str, Any] | None = None,
    namespace: str | Sequence[str] = "/",
    auth: Any = None,
    path: str = "/socket.io/",
    timeout: float = DEFAULT_TIMEOUT,
    reconnect: bool = False,
    **options: Any,
) -> SocketIOSession:
    """Open a Socket.IO session: ``url`` is the server's http(s):// or ws(s):// base,
    ``params`` as ``ws.open``'s (headers, tags, jar, ...), ``auth`` the CONNECT payload of each
    namespace. ``reconnect=True`` reconnects after an unexpected drop (``reconnect_attempts``,
    default 5, waiting ``reconnect_delay`` seconds, default 0.5, doubled each time).
    ``transport="polling-then-websocket"`` starts on HTTP long polling and upgrades, as
    socket.io-client does by default. ``ping_watchdog=False`` keeps a session whose server
    stopped pinging (by default it ends, ``ping timeout``, after pingInterval + pingTimeout).

    Raises:
        ProtocolError: the server refused the namespace (CONNECT_ERROR, its message).
        ConnectError: the WebSocket handshake failed (PollingError: a polling request did).
        ReceiveTimeout: no open packet, namespace acknowledgement or probe within ``timeout``.
    """
    return SocketIOSession(url, params, namespace, auth, path, timeout, reconnect, **options)
