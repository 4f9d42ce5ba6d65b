"""A Socket.IO namespace of a session: its events, handlers, queue and acknowledgements.

Socket.IO multiplexes namespaces on one connection; each has its own handlers, its own
events waiting for ``recv`` and its own acknowledgement ids. The session
(:mod:`greenws.kits.socketio`) owns the wire and routes each packet to its namespace here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gevent.event import AsyncResult

from greenws.codecs.socketio import Packet, PacketType, payload_key
from greenws.kits.mailbox import Mailbox
from greenws.kits.session import DEFAULT_TIMEOUT, ConnectionClosed, ProtocolError
from greenws.runtime.vu import call_flexibly

if TYPE_CHECKING:
    from greenws.kits.socketio import SocketIOSession

__all__ = [
    "CLIENT_DISCONNECT",
    "PING_TIMEOUT",
    "PING_TIMEOUT_CLOSE_CODE",
    "SERVER_DISCONNECT",
    "TRANSPORT_CLOSE",
    "Namespace",
]

#: Why a namespace ended, in Socket.IO's words (the ``disconnect`` handler's argument).
SERVER_DISCONNECT = "io server disconnect"
CLIENT_DISCONNECT = "io client disconnect"
TRANSPORT_CLOSE = "transport close"
PING_TIMEOUT = "ping timeout"
#: The close code of a session the kit ended because the server's pings stopped.
PING_TIMEOUT_CLOSE_CODE = 4000


class Namespace:
    """One namespace of a session: its events, handlers and acknowledgements.

    The session itself stands for its first namespace (``sio.emit`` is ``sio.namespace("/")``'s);
    further ones share its WebSocket, as Socket.IO multiplexes them.
    """

    def __init__(self, session: SocketIOSession, name: str, auth: Any = None) -> None:
        if not name.startswith("/"):
            raise ValueError(f"a Socket.IO namespace starts with '/', not {name!r}")
        self.name = name
        self.auth = auth
        #: The id the server gave this namespace's socket (its CONNECT acknowledgement).
        self.sid: str | None = None
        self.connected = False
        self.inbox: Mailbox[tuple[str, list[Any]]] = Mailbox()
        self._session = session
        self._handlers: dict[str, list[Callable[..., Any]]] = {}
        self._acked: AsyncResult = AsyncResult()
        self._dropped_reported = False

    def __repr__(self) -> str:
        return f"<socketio.Namespace {self.name} {'connected' if self.connected else 'closed'}>"

    def emit(
        self, event: str, *args: Any, ack: bool = False, timeout: float | None = DEFAULT_TIMEOUT
    ) -> Any:
        """Send ``event`` with ``args`` (``bytes`` anywhere travel as binary attachments); with
        ``ack=True`` wait for the server's acknowledgement and return it as :meth:`call` does."""
        if ack:
            return self.call(event, *args, timeout=timeout)
        self._session._send_event(self, event, args, None)
        return None

    def call(self, event: str, *args: Any, timeout: float | None = DEFAULT_TIMEOUT) -> Any:
        """Emit ``event`` asking for an acknowledgement and return its arguments: None for none,
        the value for one, a tuple for several (python-socketio's ``call``).

        Raises:
            ReceiveTimeout: no acknowledgement within ``timeout`` seconds.
            ConnectionClosed: the session ended first.
        """
        return self._session._call(self, event, args, timeout)

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        """Call ``handler(*args)`` for each ``event`` on the reader greenlet (then the event is
        not queued for :meth:`recv`). If the server asked for an acknowledgement, the first
        handler's return value is sent back (a tuple as several arguments, None as none).
        ``connect``, ``disconnect(reason)`` and ``close(code, reason)`` are the session's."""
        if not callable(handler):
            raise TypeError(f"socketio.on({event!r}): handler must be callable")
        self._handlers.setdefault(event, []).append(handler)

    def recv(self, timeout: float | None = None, event: str | None = None) -> tuple[str, list[Any]]:
        """The next ``(event, args)`` that no handler took (the next ``event`` one if given).

        Raises:
            ReceiveTimeout: nothing in time.
            ConnectionClosed: the namespace or the session ended and nothing queued matches.
        """
        match = None if event is None else (lambda item: item[0] == event)
        return self.inbox.get(match, timeout)

    def disconnect(self) -> None:
        """Leave this namespace (DISCONNECT); the WebSocket stays open for the others."""
        if self.connected:
            self.connected = False
            self._session._send_packet(Packet(PacketType.DISCONNECT, self.name))
            self._closed(1000, CLIENT_DISCONNECT)

    # -- the reader greenlet ----------------------------------------------------------------------

    def _received(self, packet: Packet) -> None:
        """An EVENT, ACK, CONNECT or CONNECT_ERROR for this namespace (whole: attachments in)."""
        kind, session = packet.type, self._session
        if kind is PacketType.EVENT:
            event, args = packet.event, packet.args
            session._count("events_received", event=event, namespace=self.name)
            session._delivered((self.name, event), payload_key(args), event=event)
            self._event(event, args, packet.id)
        elif kind is PacketType.ACK:
            waiter = session._acks.get((self.name, packet.id or 0))
            if waiter is not None:
                waiter.set(packet.args)
        elif kind is PacketType.CONNECT:
            data = packet.data if isinstance(packet.data, dict) else {}
            self._acked.set(data.get("sid"))
        elif kind is PacketType.CONNECT_ERROR:
            data = packet.data if isinstance(packet.data, dict) else {"message": packet.data}
            error = ProtocolError(f"socketio connect_error on {self.name}: {data.get('message')}")
            self._dispatch("connect_error", data)
            self._acked.set_exception(error)

    def _event(self, event: str, args: list[Any], ack_id: int | None) -> None:
        handlers = self._handlers.get(event)
        answer: Any = None
        if handlers:
            vu = self._session.vu
            for handler in handlers:
                try:
                    result = call_flexibly(handler, *args)
                except Exception as error:
                    self._session._context.report_script_error(vu, error)
                    continue
                if answer is None:
                    answer = result
        elif not self.inbox.put((event, args)) and not self._dropped_reported:
            self._dropped_reported = True
            self._session._context.report_error(
                "socketio:inbox-full",
                f"socketio {self._session.url}: more than {self.inbox.capacity} events on "
                f"{self.name} were never read with recv(); the oldest are dropped (use on() "
                f"handlers for streams) vu={self._session.vu.id}",
            )
        if ack_id is not None:  # a server waiting for an answer must get one, even empty
            if answer is None:
                answer = ()
            elif not isinstance(answer, tuple):
                answer = (answer,)
            self._session._send_packet(Packet(PacketType.ACK, self.name, list(answer), ack_id))

    def _dispatch(self, event: str, *args: Any) -> None:
        for handler in self._handlers.get(event, ()):
            try:
                call_flexibly(handler, *args)
            except Exception as error:
                self._session._context.report_script_error(self._session.vu, error)

    def _closed(self, code: int, reason: str) -> None:
        self.inbox.close(ConnectionClosed(code, reason))
        self._dispatch("disconnect", reason)
