"""Byte transports under a Socket: read with a deadline, write everything.

A session's loop needs exactly two operations: "give me bytes, or tell me the deadline passed" and
"send all of these". For plain TCP (the common, hot case) :class:`PlainTransport` talks to the raw
non-blocking socket and parks the VU's greenlet on a libev I/O watcher plus, when a timer is
pending, a one-shot libev timer. That avoids a ``gevent.Timeout`` object and a failed ``recv`` per
wait: measured with the ping-pong benchmark (100 VUs, 32-byte echo, cProfile), gevent's
``socket.recv`` with a timeout spent about 4 µs per round trip in ``Timeout`` set-up and its Python
wrapper. TLS goes through gevent's SSL socket (:class:`GeventTransport`), which handles the
handshake and record buffering.

:func:`open_plain` dials plain TCP straight onto a :class:`PlainTransport`, so a short session
never builds gevent's socket wrapper at all (see its docstring for what that saved).
"""

from __future__ import annotations

import _socket
import errno
import os
import ssl
from collections.abc import Callable
from functools import partial
from time import monotonic
from typing import Any

from gevent import get_hub, getcurrent, sleep
from gevent.hub import RawGreenlet

__all__ = [
    "DeadlinePassed",
    "GeventTransport",
    "PlainTransport",
    "make_transport",
    "nonblocking_reader",
    "open_plain",
]

#: Bytes asked for per ``recv``. Below glibc's 128 KiB mmap threshold on purpose: with 256 KiB,
#: every ``recv`` of a few bytes mmapped a fresh 256 KiB buffer, faulted a page in, shrank it
#: with mremap and unmapped it (strace of the churn benchmark); a 34-byte send+recv pair on a
#: socketpair took 15.6 µs that way and 2.3 µs with 64 KiB, on this KVM guest.
RECV_SIZE = 64 * 1024
#: Reads in a row without waiting before a VU lets the hub have a turn anyway (16 x 64 KiB = 1 MiB).
EAGER_READS_BEFORE_YIELD = 16
_READABLE = 1
_TIMED_OUT = 2
#: Deadlines closer than this count as the same timer (libev's own resolution is about 1 ms).
_TIMER_SLACK = 0.0005
#: ``greenlet.switch``, called as ``_switch(glet, value)`` (gevent's Greenlet does not override it).
_switch = RawGreenlet.switch


class DeadlinePassed(TimeoutError):
    """A wait of :meth:`PlainTransport.read_before` or ``write_before`` reached its deadline."""


class PlainTransport:
    """Plain TCP through the raw socket and libev watchers (the fast path)."""

    __slots__ = (
        "_eager",
        "_eager_reads",
        "_hub",
        "_io",
        "_raw",
        "_timer",
        "_timer_deadline",
        "_waiter",
        "_write_io",
        "connecting",
    )

    def __init__(self, connection: Any, raw: Any = None) -> None:
        # Keep only the plain non-blocking socket: gevent's wrapper and its two watchers were
        # about 500 bytes per idle connection that this path never uses. ``raw`` is a
        # non-blocking ``_socket.socket`` already (from `open_plain`); then ``connection`` is None.
        if raw is None:
            family, kind, proto = connection.family, connection.type, connection.proto
            raw = _socket.socket(family, kind, proto, connection.detach())
            raw.setblocking(False)
        self._raw = raw
        self._hub = get_hub()
        self._io = self._hub.loop.io(self._raw.fileno(), 1)
        self._write_io: Any = None
        self._eager = True
        self._eager_reads = 0
        self._timer: Any = None
        self._timer_deadline = -1.0
        self._waiter: Any = None
        #: True from a :meth:`connect` under way until a write succeeds: an error until then
        #: is the connect's.
        self.connecting = False

    def read(self, timeout: float | None) -> bytes | None:
        """Bytes (``b""`` at end of stream), or None when ``timeout`` seconds passed first.

        None may also come early (a spurious wake-up): callers re-check their deadlines and call
        again, so that is harmless.

        Whether to try ``recv`` before waiting is learned per connection: a request/reply
        session almost never has bytes waiting (the eager ``recv`` would fail with EAGAIN, one
        wasted syscall per message), a streaming one usually does.
        """
        raw = self._raw
        if self._eager:
            self._eager_reads += 1
            if self._eager_reads < EAGER_READS_BEFORE_YIELD:
                try:
                    return raw.recv(RECV_SIZE)  # type: ignore[no-any-return]
                except BlockingIOError:
                    self._eager = False
            # else: a server that always has more to send would keep this greenlet from ever
            # waiting, and so from ever letting the hub deliver an interrupt or run the other
            # VUs: wait once (the socket is readable, so that is one hub turn) and go on.
        self._eager_reads = 0
        if timeout is not None and timeout <= 0:
            return None
        # The wait, inline (it was a method of its own: one Python call per message less).
        # Park this greenlet until the socket is readable or ``timeout`` passes. The deadline
        # timer outlives one wait: most waits share their deadline with the previous one (the
        # same pending ``set_timeout``), so a libev timer is made only when the deadline
        # changes. It fires into the greenlet only while the greenlet waits here.
        current = getcurrent()
        io = self._io
        # The unbound switch with the greenlet as an argument, not ``current.switch``: no bound
        # method object held by the watcher while the VU is parked (64 bytes a VU).
        io.start(_switch, current, _READABLE)
        if timeout is not None:
            deadline = monotonic() + timeout
            if self._timer is None or abs(deadline - self._timer_deadline) > _TIMER_SLACK:
                if self._timer is not None:
                    self._timer.close()
                self._timer = self._hub.loop.timer(timeout)
                self._timer_deadline = deadline
                self._timer.start(self._on_timer)
        self._waiter = current
        try:
            woken = self._hub.switch()
        finally:
            self._waiter = None
            io.stop()
        if woken != _READABLE:
            return None
        try:
            data = raw.recv(RECV_SIZE)
        except BlockingIOError:
            return None
        if len(data) == RECV_SIZE:
            self._eager = True  # more is probably queued behind a full read
        return data  # type: ignore[no-any-return]

    def _on_timer(self) -> None:
        self._timer_deadline = -1.0
        self._timer = None
        if self._waiter is not None:
            self._waiter.switch(_TIMED_OUT)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of ``data``; a full socket buffer (or a connect under way) parks the VU
        until the socket is writable."""
        raw = self._raw
        try:
            sent = raw.send(data)
        except BlockingIOError:
            sent = 0
        if sent == len(data):
            self.connecting = False
            return
        view = memoryview(data)
        while sent < len(view):
            self._wait_writable()
            try:
                sent += raw.send(view[sent:])
            except BlockingIOError:
                continue
        self.connecting = False

    def connect(self, address: Any) -> None:
        """Start a non-blocking TCP connect to ``address``; the first :meth:`write` finishes it.

        Why not wait for the connect here: on loopback the three-way handshake is over before
        ``connect`` returns (EINPROGRESS all the same), so waiting cost a write watcher, a hub
        turn (``epoll_ctl`` + ``epoll_wait``) and a ``getsockopt(SO_ERROR)`` for nothing. A
        ``send`` on a connecting socket fails with EAGAIN, which :meth:`write` already waits
        out, and on a failed connect it raises the connect's own error
        (``ConnectionRefusedError`` and so on, as gevent's ``socket.connect`` would), so
        :attr:`connecting` tells the caller that the error belongs to the dial. An error
        reported at once is raised here.
        """
        err = self._raw.connect_ex(address)
        if err in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            self.connecting = True
        elif err and err != errno.EISCONN:
            raise OSError(err, os.strerror(err))

    def raw_reader(self) -> tuple[int, Callable[[], bytes], Any]:
        """``(fd, recv, watcher)`` for a loop that watches readiness itself and never calls
        :meth:`read`: the raw socket's own ``recv`` (EAGAIN raises ``BlockingIOError``; no
        wrapper frame per message) and this transport's read watcher, idle from then on, to
        reuse rather than put a second watcher on the same fd."""
        raw = self._raw
        return raw.fileno(), partial(raw.recv, RECV_SIZE), self._io

    def finish_connect(self) -> None:
        """Wait for a connect under way to finish, raising its error: for a caller that times
        the connect as a phase of its own (the HTTP client's ``http_req_connecting``) rather
        than letting the first write finish it."""
        if not self.connecting:
            return
        self._wait_writable()
        err = self._raw.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
        self.connecting = False
        if err and err != errno.EISCONN:
            raise OSError(err, os.strerror(err))

    def read_before(self, deadline: float) -> bytes:
        """Bytes (``b""`` at end of stream), waiting until the monotonic ``deadline`` at most;
        :class:`DeadlinePassed` after it.

        For the dial's handshake: bounding its waits here, rather than with a ``gevent.Timeout``
        around the whole dial, saved a Timeout object, its exception and seven Python calls a
        session (churn benchmark). The timer lives only during the wait: a timer left armed
        would be kept alive by every idle session.
        """
        while True:
            if not self._wait_until(self._io, deadline):
                raise DeadlinePassed
            try:
                return self._raw.recv(RECV_SIZE)  # type: ignore[no-any-return]
            except BlockingIOError:
                continue  # a spurious wake-up

    def write_before(self, data: bytes, deadline: float) -> None:
        """As :meth:`write`, waiting for writability until the monotonic ``deadline`` at most
        (a connect under way included); :class:`DeadlinePassed` after it."""
        raw = self._raw
        try:
            sent = raw.send(data)
        except BlockingIOError:
            sent = 0
        while sent < len(data):
            if self._write_io is None:
                self._write_io = self._hub.loop.io(self._raw.fileno(), 2)
            if not self._wait_until(self._write_io, deadline):
                raise DeadlinePassed
            try:
                sent += raw.send(data[sent:])
            except BlockingIOError:
                continue
        self.connecting = False

    def _wait_until(self, watcher: Any, deadline: float) -> bool:
        """Park until ``watcher`` fires (True) or the monotonic ``deadline`` passes (False)."""
        wait = deadline - monotonic()
        if wait <= 0:
            return False
        switch = getcurrent().switch
        timer = self._hub.loop.timer(wait)
        watcher.start(switch, _READABLE)
        timer.start(switch, _TIMED_OUT)
        try:
            return self._hub.switch() == _READABLE  # type: ignore[no-any-return]
        finally:
            watcher.stop()
            timer.close()

    def _wait_writable(self) -> None:
        if self._write_io is None:
            self._write_io = self._hub.loop.io(self._raw.fileno(), 2)
        self._write_io.start(getcurrent().switch)
        try:
            self._hub.switch()
        finally:
            self._write_io.stop()

    def close(self) -> None:
        """Release the watchers and the socket."""
        self._io.close()
        if self._write_io is not None:
            self._write_io.close()
        if self._timer is not None:
            self._timer.close()
        self._raw.close()


class GeventTransport:
    """Any gevent socket (TLS in particular) through its cooperative API."""

    __slots__ = ("_connection", "_reads")

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._reads = 0

    def read(self, timeout: float | None) -> bytes | None:
        """As :meth:`PlainTransport.read`."""
        if timeout is not None and timeout <= 0:
            return None
        self._reads += 1
        if self._reads >= EAGER_READS_BEFORE_YIELD:
            # gevent's TLS socket returns buffered records without waiting: give the hub its
            # turn now and then, as the plain transport does (see its ``read``).
            self._reads = 0
            sleep(0)
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


def open_plain(
    family: int, address: Any, bind: Callable[[Any], None] | None = None
) -> PlainTransport:
    """A plain TCP connection to ``address``, dialled directly on a :class:`PlainTransport`.

    Why not gevent's ``socket.connect``: for a short session it costs a wrapper object, a second
    ``connect`` call and an ``SO_ERROR`` check before it, an ``SO_SNDBUF`` query in ``sendall``
    and an EAGAIN ``recv`` before every wait, then the wrapper is taken apart again for the
    transport. Measured with the churn benchmark (50 VUs, connect + one echo + close) this path
    saved about 20 µs of client CPU per session. It does not wait: callers bound the waits that
    follow (the dial with deadlines, see :meth:`PlainTransport.write_before`).
    ``bind``, when given, prepares the raw socket before it connects (a source address).

    The connect is finished by the first write (see :meth:`PlainTransport.connect`): a refused
    or unreachable target raises from that write, while ``connecting`` is still True.
    """
    # SOCK_NONBLOCK: non-blocking from the start, without setblocking's extra ioctl
    raw = _socket.socket(family, _socket.SOCK_STREAM | _socket.SOCK_NONBLOCK)
    try:
        if bind is not None:
            bind(raw)
        transport = PlainTransport(None, raw)
    except BaseException:
        raw.close()
        raise
    try:
        transport.connect(address)
    except BaseException:
        transport.close()
        raise
    # Nothing is waiting on a socket that has just connected: the first read should wait, not
    # fail with EAGAIN (the eager guess adapts again after a full read).
    transport._eager = False
    return transport


def make_transport(connection: Any) -> PlainTransport | GeventTransport:
    """The fast path for plain gevent TCP sockets, the general one for everything else.

    A transport (from `open_plain`) is returned as it is.
    """
    if isinstance(connection, (PlainTransport, GeventTransport)):
        return connection
    if hasattr(connection, "_sock") and type(connection).__name__ == "socket":
        return PlainTransport(connection)
    return GeventTransport(connection)


def nonblocking_reader(
    transport: PlainTransport | GeventTransport,
) -> tuple[int, Callable[[], bytes | None], Any]:
    """``(fd, read, tls)`` for a transport from ``make_transport``: ``read()`` returns bytes,
    ``b""`` at end of stream, or None when nothing is there yet; ``tls`` is the SSL socket whose
    ``pending()`` bytes a readiness watcher cannot see (None for plain TCP).

    The transports only offer "read with a deadline", which parks the calling greenlet on one
    socket; a VU serving several sockets must instead be told which are readable and read each
    without waiting, so this reaches for the socket under the transport.
    """
    if isinstance(transport, PlainTransport):
        raw = transport._raw
        recv = raw.recv

        def read_plain() -> bytes | None:
            try:
                return recv(RECV_SIZE)  # type: ignore[no-any-return]
            except BlockingIOError:
                return None

        return raw.fileno(), read_plain, None
    connection = transport._connection

    def read_tls() -> bytes | None:
        connection.settimeout(0.0)
        try:
            return connection.recv(RECV_SIZE)  # type: ignore[no-any-return]
        except (ssl.SSLWantReadError, BlockingIOError, TimeoutError):
            return None

    return connection.fileno(), read_tls, connection
