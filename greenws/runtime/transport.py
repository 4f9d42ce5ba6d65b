"""Byte transports under a Socket: read with a deadline, write everything.

A session's loop needs exactly two operations: "give me bytes, or tell me the deadline passed" and
"send all of these". For plain TCP (the common, hot case) :class:`PlainTransport` talks to the raw
non-blocking socket and parks the VU's greenlet on a libev I/O watcher plus, when a timer is
pending, a one-shot libev timer. That avoids a ``gevent.Timeout`` object and a failed ``recv`` per
wait: measured with the ping-pong benchmark (100 VUs, 32-byte echo, cProfile), gevent's
``socket.recv`` with a timeout spent about 4 µs per round trip in ``Timeout`` set-up and its Python
wrapper. TLS goes through gevent's SSL socket (:class:`GeventTransport`), which handles the
handshake and record buffering.
"""

from __future__ import annotations

from typing import Any

from gevent import get_hub, getcurrent

__all__ = ["GeventTransport", "PlainTransport", "make_transport"]

RECV_SIZE = 256 * 1024
_READABLE = 1
_TIMED_OUT = 2


class PlainTransport:
    """Plain TCP through the raw socket and libev watchers (the fast path)."""

    __slots__ = ("_connection", "_hub", "_io", "_raw", "_timer")

    def __init__(self, connection: Any) -> None:
        self._connection = connection  # the gevent socket: used for slow-path writes and close
        self._raw = connection._sock  # gevent keeps the real non-blocking socket here
        self._hub = get_hub()
        self._io = self._hub.loop.io(self._raw.fileno(), 1)
        self._timer: Any = None

    def read(self, timeout: float | None) -> bytes | None:
        """Bytes (``b""`` at end of stream), or None when ``timeout`` seconds passed first.

        None may also come early (a spurious wake-up): callers re-check their deadlines and call
        again, so that is harmless.
        """
        raw = self._raw
        try:
            return raw.recv(RECV_SIZE)  # type: ignore[no-any-return]
        except BlockingIOError:
            pass
        if timeout is not None and timeout <= 0:
            return None
        if self._wait(timeout) != _READABLE:
            return None
        try:
            return raw.recv(RECV_SIZE)  # type: ignore[no-any-return]
        except BlockingIOError:
            return None

    def _wait(self, timeout: float | None) -> Any:
        """Park this greenlet until the socket is readable or ``timeout`` passes."""
        switch = getcurrent().switch
        io = self._io
        io.start(switch, _READABLE)
        timer = None
        if timeout is not None:
            timer = self._hub.loop.timer(timeout)
            timer.start(switch, _TIMED_OUT)
        try:
            return self._hub.switch()
        finally:
            io.stop()
            if timer is not None:
                timer.close()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of ``data``; only a full socket buffer takes gevent's cooperative path."""
        try:
            sent = self._raw.send(data)
        except BlockingIOError:
            sent = 0
        if sent < len(data):
            self._connection.sendall(memoryview(data)[sent:])

    def close(self) -> None:
        """Release the watcher and the socket."""
        self._io.close()
        self._connection.close()


class GeventTransport:
    """Any gevent socket (TLS in particular) through its cooperative API."""

    __slots__ = ("_connection",)

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def read(self, timeout: float | None) -> bytes | None:
        """As :meth:`PlainTransport.read`."""
        if timeout is not None and timeout <= 0:
            return None
        connection = self._connection
        connection.settimeout(timeout)
        try:
            return connection.recv(RECV_SIZE)  # type: ignore[no-any-return]
        except TimeoutError:
            return None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of ``data``."""
        self._connection.settimeout(None)
        self._connection.sendall(data)

    def close(self) -> None:
        """Close the socket."""
        self._connection.close()


def make_transport(connection: Any) -> PlainTransport | GeventTransport:
    """The fast path for plain gevent TCP sockets, the general one for everything else."""
    if hasattr(connection, "_sock") and type(connection).__name__ == "socket":
        return PlainTransport(connection)
    return GeventTransport(connection)
