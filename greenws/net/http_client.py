"""One HTTP/1.1 request on the wire, timed phase by phase, over a VU's keep-alive pool.

The ``http`` module's numbers are k6's ``http_req_*`` phases, and they are measured here on the
socket, never estimated: the clock is read when a connection is asked for, when the TCP connect
and the TLS handshake end, when the last request byte is handed to the kernel, when the first
response byte arrives and when the response is complete. The phases follow k6's tracer
(``lib/netext/httpext/tracer.go``): ``blocked`` is the time to obtain a connection (so a new
connection's DNS lookup, connect and TLS handshake are inside it, as in Go's ``GetConn`` to
``GotConn``), ``duration`` is ``sending + waiting + receiving``.

The framing is :mod:`greenws.protocol.http1` (sans-I/O); this module owns the sockets, the
deadline and the pool, and knows nothing of VUs, metrics or scripts.
"""

from __future__ import annotations

import contextlib
import socket as stdlib_socket
import ssl
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Any

import gevent
from gevent import socket as gsocket

from greenws.net.error_codes import REQUEST_TIMEOUT, error_code_for, os_error_text
from greenws.net.proxy import Proxy
from greenws.net.tcp import bind_source, resolve_address, tunnel
from greenws.net.transport import make_transport, open_plain
from greenws.protocol.http1 import HTTPParseError, HTTPResponseParser, serialize_request

__all__ = [
    "ConnectionPool",
    "Endpoint",
    "Exchange",
    "Timings",
    "exchange",
]

#: Idle connections kept per endpoint; k6's ``batchPerHost`` default is 6, so a batch to one host
#: finds its connections again in the next iteration.
MAX_IDLE_PER_ENDPOINT = 6
_TLS_VERSIONS = {"TLSv1": "tls1.0", "TLSv1.1": "tls1.1", "TLSv1.2": "tls1.2", "TLSv1.3": "tls1.3"}


class _RequestTimeout(Exception):
    """The request's own deadline (``params.timeout``) passed: k6's error code 1050."""


class Timings:
    """k6's ``res.timings``, in float milliseconds."""

    __slots__ = (
        "blocked",
        "connecting",
        "duration",
        "receiving",
        "sending",
        "tls_handshaking",
        "waiting",
    )

    def __init__(self) -> None:
        self.blocked = self.connecting = self.tls_handshaking = 0.0
        self.sending = self.waiting = self.receiving = self.duration = 0.0

    def __getitem__(self, name: str) -> float:
        """``res.timings["waiting"]`` as well as ``res.timings.waiting``."""
        if name not in self.__slots__:
            raise KeyError(name)
        return float(getattr(self, name))

    def as_dict(self) -> dict[str, float]:
        """k6's keys (``tls_handshaking``…), for ``res.timings``'s dict form."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name):.3f}" for name in self.__slots__)
        return f"Timings({inner})"


class Endpoint:
    """Where a request goes and how: a pool key, since connections are reused by endpoint."""

    __slots__ = ("host", "insecure", "key", "local_ip", "port", "proxy", "secure")

    def __init__(
        self,
        host: str,
        port: int,
        secure: bool,
        proxy: Proxy | None,
        insecure: bool,
        local_ip: str | None = None,
    ) -> None:
        self.host, self.port, self.secure, self.proxy = host, port, secure, proxy
        self.insecure = insecure
        #: The source address to bind (the VU's ``localIPs`` address), None for the kernel's.
        self.local_ip = local_ip
        self.key = (host, port, secure, proxy, insecure, local_ip)


class _Connection:
    """A transport (greenws's fast plain one, or gevent's TLS socket) and its TLS version."""

    __slots__ = ("tls_version", "transport")

    def __init__(self, transport: Any, tls_version: str) -> None:
        self.transport = transport
        self.tls_version = tls_version

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.transport.close()


class ConnectionPool:
    """A VU's idle keep-alive connections by endpoint (k6 keeps a transport per VU)."""

    __slots__ = ("_idle", "opened")

    def __init__(self) -> None:
        self._idle: dict[tuple[Any, ...], list[_Connection]] = {}
        #: Connections opened so far (what the tests and benchmarks count).
        self.opened = 0

    def take(self, endpoint: Endpoint) -> _Connection | None:
        idle = self._idle.get(endpoint.key)
        return idle.pop() if idle else None

    def give(self, endpoint: Endpoint, connection: _Connection) -> None:
        idle = self._idle.setdefault(endpoint.key, [])
        if len(idle) < MAX_IDLE_PER_ENDPOINT:
            idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        """Close every idle connection (the VU is done)."""
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


class Exchange:
    """One request and its response (or its error), as measured."""

    __slots__ = (
        "body",
        "bytes_received",
        "bytes_sent",
        "error",
        "error_code",
        "error_tag",
        "headers",
        "proto",
        "reason",
        "set_cookies",
        "status",
        "timings",
        "tls_version",
    )

    def __init__(self) -> None:
        self.status = 0
        self.reason = ""
        self.proto = ""
        self.headers: dict[str, str] = {}
        self.set_cookies: list[str] = []
        self.body = b""
        self.error = ""
        self.error_code = 0
        #: The short k6 text for the ``error`` tag ("" without an error).
        self.error_tag = ""
        self.tls_version = ""
        self.timings = Timings()
        self.bytes_sent = 0
        self.bytes_received = 0


def _open(
    endpoint: Endpoint,
    tls_context: Callable[[bool], ssl.SSLContext],
    marks: list[float],
) -> _Connection:
    """A new connection to ``endpoint``; ``marks`` gets connect start/end, TLS start/end.

    Plain HTTP rides :class:`PlainTransport` (libev watchers on the raw socket, the sockets'
    fast path), which cost about 20 µs less client CPU per request than gevent's socket in
    ``benchmarks/http_clients.py``; TLS needs gevent's SSL socket. A plain request through a
    proxy connects to the proxy (absolute-form request); an ``https://`` one tunnels.
    """
    via = endpoint.proxy
    family, address = resolve_address(
        via.host if via else endpoint.host, via.port if via else endpoint.port
    )
    bind = None if endpoint.local_ip is None else bind_source(endpoint.local_ip)
    marks.append(perf_counter())
    if not endpoint.secure:
        transport = open_plain(family, address, bind)
        transport.finish_connect()  # k6's connecting phase ends when the handshake does
        marks.append(perf_counter())
        transport._raw.setsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY, 1)
        return _Connection(transport, "")
    sock = gsocket.socket(family, stdlib_socket.SOCK_STREAM)
    try:
        if bind is not None:
            bind(sock)
        sock.connect(address)
        sock.setsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY, 1)
        if via is not None:
            tunnel(sock, via, endpoint.host, endpoint.port)
        marks.append(perf_counter())
        sock = tls_context(endpoint.insecure).wrap_socket(sock, server_hostname=endpoint.host)
        marks.append(perf_counter())
    except BaseException:
        sock.close()
        raise
    return _Connection(make_transport(sock), _TLS_VERSIONS.get(sock.version() or "", ""))


def exchange(
    pool: ConnectionPool,
    tls_context: Callable[[bool], ssl.SSLContext],
    endpoint: Endpoint,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    timeout: float,
    keep_body: bool = True,
) -> Exchange:
    """Send one request to ``endpoint`` and read its response; never raises for network errors.

    ``target`` is the request target as it goes on the request line (origin form ``/path?q``,
    or absolute form through an ``http://`` proxy). A connection taken from the pool that turns
    out to be closed by the server (no response byte at all) is replaced by a new one once, as
    Go's transport retries a request on a dead keep-alive connection.
    """
    result = Exchange()
    request = serialize_request(method, target, headers, body)
    timer = gevent.Timeout(timeout, _RequestTimeout())
    timer.start()
    try:
        for attempt in (0, 1):
            if _attempt(result, pool, tls_context, endpoint, request, method, keep_body, attempt):
                break
    except _RequestTimeout:
        result.error_code, result.error_tag = REQUEST_TIMEOUT, "request timeout"
        result.error = "request timeout"
    finally:
        timer.close()
    return result


def _attempt(
    result: Exchange,
    pool: ConnectionPool,
    tls_context: Callable[[bool], ssl.SSLContext],
    endpoint: Endpoint,
    request: bytes,
    method: str,
    keep_body: bool,
    attempt: int,
) -> bool:
    """One try; False to try again on a new connection (a reused one was dead)."""
    timings = result.timings
    get_conn = perf_counter()
    connection = pool.take(endpoint) if attempt == 0 else None
    reused = connection is not None
    marks: list[float] = []
    operation = "dial"
    wrote = first_byte = 0.0
    try:
        if connection is None:
            connection = _open(endpoint, tls_context, marks)
            pool.opened += 1
        got_conn = perf_counter()
        timings.blocked = (got_conn - get_conn) * 1000.0
        if len(marks) >= 2:
            timings.connecting = (marks[1] - marks[0]) * 1000.0
        if len(marks) >= 3:
            timings.tls_handshaking = (marks[2] - marks[1]) * 1000.0
        result.tls_version = connection.tls_version
        transport = connection.transport
        operation = "write"
        transport.write(request)
        wrote = perf_counter()
        result.bytes_sent += len(request)
        timings.sending = (wrote - got_conn) * 1000.0
        operation = "read"
        parser = HTTPResponseParser(head_request=method == "HEAD", keep_body=keep_body)
        read = transport.read
        while True:
            chunk = read(None)
            if chunk is None:
                continue  # a spurious wake-up; the request's Timeout bounds the wait
            if not first_byte and chunk:
                first_byte = perf_counter()
            if not chunk:
                if parser.feed_eof():
                    break
                if reused and not result.bytes_received:
                    connection.close()
                    return False  # the server had closed the idle connection: a new one
                raise ConnectionResetError(
                    "the server closed the connection before the response was complete"
                )
            result.bytes_received += len(chunk)
            if parser.feed(chunk):
                break
    except _RequestTimeout:
        if connection is not None:
            connection.close()
        _time_partial(timings, wrote, first_byte)
        raise
    except (OSError, HTTPParseError, ValueError) as error:
        if connection is not None:
            connection.close()
        if reused and not result.bytes_received and isinstance(error, OSError):
            return False
        result.error_code, result.error_tag = error_code_for(error, operation)
        text = os_error_text(error) if isinstance(error, OSError) else str(error)
        if operation == "dial":
            text = f"dial tcp {endpoint.host}:{endpoint.port}: {text}"
        result.error = text
        _time_partial(timings, wrote, first_byte)
        return True
    done = perf_counter()
    timings.waiting = (first_byte - wrote) * 1000.0
    timings.receiving = (done - first_byte) * 1000.0
    timings.duration = timings.sending + timings.waiting + timings.receiving
    result.status, result.reason, result.proto = parser.status, parser.reason, parser.proto
    result.headers, result.set_cookies = parser.headers, parser.set_cookies
    result.body = bytes(parser.body)
    if parser.keep_alive and not parser.leftover:
        pool.give(endpoint, connection)
    else:
        connection.close()
    return True


def _time_partial(timings: Timings, wrote: float, first_byte: float) -> None:
    """Phases of a request that failed midway, as k6's tracer closes them: waiting runs to the
    first byte or, without one, to now; receiving from the first byte to now."""
    now = perf_counter()
    if wrote:
        timings.waiting = ((first_byte or now) - wrote) * 1000.0
    if first_byte:
        timings.receiving = (now - first_byte) * 1000.0
    timings.duration = timings.sending + timings.waiting + timings.receiving
