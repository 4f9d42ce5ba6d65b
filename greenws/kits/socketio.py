"""Socket.IO v4 (Engine.IO v4) over WebSocket: events, acknowledgements both ways, binary
attachments, namespaces, heartbeats answered in the background, reconnection.

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

Metrics (tagged like the session's ``ws_*`` samples, plus ``namespace``):
``socketio_connect_duration`` (Trend: WebSocket open to the namespace's CONNECT ack),
``socketio_ack_duration{event}`` (Trend: an emit with an ack to its answer),
``socketio_events_sent{event}`` and ``socketio_events_received{event}`` (Counters),
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
    SERVER_DISCONNECT,
    TRANSPORT_CLOSE,
    Namespace,
)
from greenws.metrics.metric import MetricType
from greenws.runtime.event_loop import loop_of
from greenws.runtime.vu import VUGreenlet
from greenws.sockets.background import open_background

__all__ = ["Namespace", "ProtocolError", "SocketIOSession", "connect"]

#: Every metric the kit records (greenws.kits.declare_metrics registers them for thresholds).
METRICS: Mapping[str, MetricType] = {
    "socketio_connect_duration": MetricType.TREND,
    "socketio_ack_duration": MetricType.TREND,
    "socketio_broadcast_latency": MetricType.TREND,
    "socketio_events_sent": MetricType.COUNTER,
    "socketio_events_received": MetricType.COUNTER,
    "socketio_reconnects": MetricType.COUNTER,
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
    ) -> None:
        names = [namespace] if isinstance(namespace, str) else list(namespace)
        if not names:
            raise ValueError("socketio.connect: at least one namespace")
        self.base_url = url
        self.engine: EngineOpen | None = None
        self._params = params
        self._timeout = timeout
        self._reconnect = reconnect
        self._attempts = reconnect_attempts
        self._delay = reconnect_delay
        self._ids = itertools.count()
        self._acks: dict[tuple[str, int], AsyncResult] = {}
        self._parts = Reassembler()
        self._opened: AsyncResult = AsyncResult()
        self._packet_lock = Semaphore()
        self._closing = False
        self._reconnecting = False
        self._namespaces: dict[str, Namespace] = {}
        self.main = Namespace(self, names[0], auth)
        self._namespaces[names[0]] = self.main
        for name in names[1:]:
            self._namespaces[name] = Namespace(self, name, auth)
        super().__init__(engine_url(url, path), params)
        self._iteration = self.vu.iteration
        loop_of(self.vu).own(self)  # the iteration's end stops reconnecting too
        try:
            self._handshake(time.perf_counter(), list(self._namespaces.values()))
        except BaseException:
            self._closing = True
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
        self.socket.abort(code)

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
                space.sid = space._acked.get(timeout=max(0.0, deadline - time.monotonic()))
                space.connected = True
                elapsed = (time.perf_counter() - started) * 1000.0
                self._record("connect_duration", elapsed, namespace=space.name)
                space._dispatch("connect")
        except Timeout:
            raise ReceiveTimeout(f"socketio {self.base_url}: not connected in {limit} s") from None

    def _reconnect_loop(self, code: int, reason: str) -> None:
        delay = self._delay
        for _ in range(self._attempts):
            gevent.sleep(delay)
            delay = min(delay * 2, 5.0)
            if self._closing or self.vu.iteration != self._iteration:
                break
            self._parts = Reassembler()
            self._opened = AsyncResult()
            try:
                self.socket = open_background(
                    f"{self.KIT}.connect",
                    self.vu,
                    self.url,
                    self._params,
                    self.SUBPROTOCOLS,
                    self._deliver,
                    self._ended,
                )
                self._handshake(time.perf_counter(), list(self._namespaces.values()))
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
            with contextlib.suppress(ConnectionClosed):
                self._send(f"{EngineType.PONG:d}{packet.data!s}")
        elif kind is EngineType.OPEN:
            assert isinstance(packet.data, str)
            self._opened.set(EngineOpen.parse(packet.data))
        # CLOSE: the server closes the WebSocket next; PONG, NOOP, UPGRADE: nothing to do.

    def _packet(self, packet: Packet) -> None:
        space = self._namespaces.get(packet.namespace)
        if space is None:
            raise ValueError(f"a packet for namespace {packet.namespace!r}, never connected")
        kind = packet.type
        if kind is PacketType.EVENT:
            event, args = packet.event, packet.args
            self._count("events_received", event=event, namespace=space.name)
            self._delivered((space.name, event), payload_key(args), event=event)
            space._event(event, args, packet.id)
        elif kind is PacketType.ACK:
            waiter = self._acks.get((space.name, packet.id or 0))
            if waiter is not None:
                waiter.set(packet.args)
        elif kind is PacketType.CONNECT:
            data = packet.data if isinstance(packet.data, dict) else {}
            space._acked.set(data.get("sid"))
        elif kind is PacketType.CONNECT_ERROR:
            data = packet.data if isinstance(packet.data, dict) else {"message": packet.data}
            error = ProtocolError(f"socketio connect_error on {space.name}: {data.get('message')}")
            space._dispatch("connect_error", data)
            space._acked.set_exception(error)
        elif kind is PacketType.DISCONNECT:
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
            for space in self._namespaces.values():
                if space.connected:
                    space.connected = False
                    space._dispatch("disconnect", TRANSPORT_CLOSE)
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
                space._closed(code, CLIENT_DISCONNECT if self._closing else TRANSPORT_CLOSE)
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
    ``params`` as ``ws.open``'s (headers, tags, ...), ``auth`` the CONNECT payload of each
    namespace. ``reconnect=True`` reconnects after an unexpected drop (``reconnect_attempts``,
    default 5, waiting ``reconnect_delay`` seconds, default 0.5, doubled each time).

    Raises:
        ProtocolError: the server refused the namespace (CONNECT_ERROR, its message).
        ConnectError: the WebSocket handshake failed.
        ReceiveTimeout: no open packet or namespace acknowledgement within ``timeout``.
    """
    return SocketIOSession(url, params, namespace, auth, path, timeout, reconnect, **options)
