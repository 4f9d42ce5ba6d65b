"""TCP for the dial: addresses (with k6's DNS cache), source addresses, proxies' CONNECT tunnels.

Split from :mod:`greenws.net.dial`, which keeps the WebSocket side of dialling (the upgrade and
what k6 returns for it); this module knows only how to get a connected socket.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket as stdlib_socket
import time
from collections.abc import Callable
from typing import Any

from gevent import socket as gsocket

from greenws.net.proxy import Proxy
from greenws.net.transport import PlainTransport, open_plain
from greenws.protocol import HandshakeError, HandshakeResponse, ResponseParser

__all__ = ["bind_source", "open_tcp", "read_response", "resolve_address", "send", "tunnel"]

#: Linux's IP_BIND_ADDRESS_NO_PORT (24), when Python does not name it.
_BIND_NO_PORT = getattr(stdlib_socket, "IP_BIND_ADDRESS_NO_PORT", 24)
#: One binder per source address: building it (and parsing the address) once, not per dial.
_BINDERS: dict[str, Callable[[Any], None]] = {}


def bind_source(local_ip: str) -> Callable[[Any], None]:
    """A function that binds a socket to ``local_ip`` before it connects.

    With ``IP_BIND_ADDRESS_NO_PORT`` the port is chosen at ``connect`` time, from the whole
    4-tuple: without it, ``bind`` must pick a port unique to the source address alone, and one
    address then runs out after ~28k sockets whatever their targets. An address that is not this
    host's fails the dial with EADDRNOTAVAIL, which k6's error codes report like any dial error.
    """
    binder = _BINDERS.get(local_ip)
    if binder is None:
        address = (str(ipaddress.ip_address(local_ip)), 0)

        def binder(sock: Any) -> None:
            # not Linux, or IPv6 on an old kernel: bind picks the port
            with contextlib.suppress(OSError):
                sock.setsockopt(stdlib_socket.IPPROTO_IP, _BIND_NO_PORT, 1)
            sock.bind(address)

        if len(_BINDERS) >= 4096:  # a script may pass a new params.localIP per connection
            _BINDERS.clear()
        _BINDERS[local_ip] = binder
    return binder


#: Resolved addresses per (host, port), kept like k6's DNS cache (``dns.ttl`` defaults to 5m).
_DNS_TTL = 300.0
_resolved: dict[tuple[str, int], tuple[float, Any]] = {}
#: Address family of each host that is an IP literal (0 for a name): parsing the literal with
#: ``ipaddress`` on every connect was ~2 µs a session.
_literal_family: dict[str, int] = {}
_LITERALS_MAX = 256  # a script may build a new host per iteration: keep the cache bounded


def _address(host: str, port: int) -> tuple[int, Any]:
    """Family and address to connect to. IP literals skip the resolver entirely: gevent resolves
    in a thread pool, which was the biggest cost of a short session (cProfile, connection churn
    against 127.0.0.1). Names are resolved once per 5 minutes, like k6's DNS cache."""
    family = _literal_family.get(host)
    if family is None:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            family = 0
        else:
            family = stdlib_socket.AF_INET6 if ip.version == 6 else stdlib_socket.AF_INET
        if len(_literal_family) >= _LITERALS_MAX:
            _literal_family.clear()
        _literal_family[host] = family
    if family:
        return family, (host, port)
    now = time.monotonic()
    cached = _resolved.get((host, port))
    if cached is None or now - cached[0] > _DNS_TTL:
        infos = gsocket.getaddrinfo(host, port, 0, stdlib_socket.SOCK_STREAM)
        if not infos:
            raise OSError(f"no address for {host}")
        cached = (now, (infos[0][0], infos[0][4]))
        _resolved[(host, port)] = cached
    return cached[1]


# The HTTP client (greenws.net.http_client) resolves and tunnels the same way as the dial.
def resolve_address(host: str, port: int) -> tuple[int, Any]:
    """Family and address for ``host:port``: IP literals as they are, names cached 5 minutes."""
    return _address(host, port)


def tunnel(connection: Any, proxy: Proxy, host: str, port: int) -> None:
    """A ``CONNECT`` tunnel to ``host:port`` through ``proxy`` over a connected gevent socket."""
    _tunnel(connection, proxy, host, port)


def open_tcp(
    host: str,
    port: int,
    secure: bool,
    proxy: Proxy | None = None,
    local_ip: str | None = None,
) -> Any:
    """A connected socket: a :class:`PlainTransport` for ``ws://`` (the fast path, see
    `open_plain`), a gevent socket for ``wss://`` to be wrapped in TLS; through a ``CONNECT``
    tunnel when a ``proxy`` is given; from source address ``local_ip`` when given (k6's
    ``localIPs``, see :func:`bind_source`)."""
    if proxy is None:
        return _connect(host, port, secure, local_ip)
    connection = _connect(proxy.host, proxy.port, secure, local_ip)
    try:
        _tunnel(connection, proxy, host, port)
    except BaseException:
        connection.close()
        raise
    return connection


def _tunnel(connection: Any, proxy: Proxy, host: str, port: int) -> None:
    """Ask ``proxy`` for a tunnel to ``host:port`` over ``connection``; raise if refused."""
    plain = type(connection) is PlainTransport
    send(connection, plain, proxy.connect_request(host, port))
    try:
        answer = read_response(connection, plain, ResponseParser(head_only=True))
    except HandshakeError as error:
        raise ConnectionError(f"{proxy} did not answer CONNECT: {error}") from None
    if not 200 <= answer.status < 300:
        raise ConnectionError(
            f"{proxy} refused the tunnel to {host}:{port}: HTTP {answer.status} {answer.reason}".rstrip()
        )


def send(connection: Any, plain: bool, data: bytes, deadline: float | None = None) -> None:
    """Send all of ``data``; on a plain transport by the monotonic ``deadline`` when given
    (:class:`~greenws.net.transport.DeadlinePassed` after it), else the caller bounds it."""
    if not plain:
        connection.sendall(data)
    elif deadline is None:
        connection.write(data)
    else:
        connection.write_before(data, deadline)


def read_response(
    connection: Any,
    plain: bool,
    parser: ResponseParser,
    counted: Any = None,
    deadline: float | None = None,
) -> HandshakeResponse:
    """Feed what ``connection`` reads to ``parser`` until it has the whole response. Bytes read
    are added to ``counted.bytes_received`` as they come, so a response the parser refuses
    midway (an endless header block) still counts what it cost. A plain transport's waits end
    at the monotonic ``deadline`` when given; otherwise the caller's ``gevent.Timeout`` bounds
    them."""
    while True:
        if not plain:
            chunk = connection.recv(65536)
        elif deadline is None:
            chunk = connection.read(None)
        else:
            chunk = connection.read_before(deadline)
        if chunk is None:
            continue  # a spurious wake-up; the dial's Timeout bounds the wait
        if not chunk:
            return parser.feed_eof()
        if counted is not None:
            counted.bytes_received += len(chunk)
        response = parser.feed(chunk)
        if response is not None:
            return response


def _connect(host: str, port: int, secure: bool, local_ip: str | None) -> Any:
    family, address = _address(host, port)
    if not secure:
        return open_plain(family, address, None if local_ip is None else bind_source(local_ip))
    connection = gsocket.socket(family, stdlib_socket.SOCK_STREAM)
    try:
        if local_ip is not None:
            bind_source(local_ip)(connection)
        connection.connect(address)
    except BaseException:
        connection.close()
        raise
    return connection
