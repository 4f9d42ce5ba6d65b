"""Dialling a WebSocket: TCP (and TLS), the HTTP upgrade, and what k6 returns for it.

Kept apart from the Socket so that a session's frame holds nothing of the handshake once the
connection is up: every byte a suspended VU keeps alive is multiplied by thousands of VUs.
"""

from __future__ import annotations

import ipaddress
import socket as stdlib_socket
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import gevent

from greenws.net.cookies import CookieJar
from greenws.net.error_codes import error_code_for, handshake_error_code, os_error_text
from greenws.net.proxy import proxy_for
from greenws.net.tcp import bind_source, open_tcp, read_response, send
from greenws.net.transport import DeadlinePassed, PlainTransport, open_plain
from greenws.protocol import (
    DeflateParams,
    HandshakeError,
    ResponseParser,
    build_request,
    generate_key,
    negotiate,
)
from greenws.protocol.compression import DeflateOffer, parse_offers

__all__ = [
    "PARAM_KEYS",
    "TARGETS_MAX",
    "ConnectParams",
    "Dialled",
    "Response",
    "dial",
    "error_code_for",
    "os_error_text",
    "plain_value",
]

DEFAULT_HANDSHAKE_TIMEOUT = 60.0
#: The params ``ws.connect`` and ``ws.open`` take, in the order their errors list them.
PARAM_KEYS = (
    "headers",
    "tags",
    "subprotocols",
    "timeout",
    "insecureSkipTLSVerify",
    "insecure_skip_tls_verify",
    "compression",
    "jar",
    "localIP",
    "local_ip",
)
_PARAM_KEYS = frozenset(PARAM_KEYS)


class Response:
    """What ``ws.connect`` returns: the handshake's outcome (k6's ``Response``)."""

    __slots__ = ("body", "error", "error_code", "headers", "status", "url")

    def __init__(
        self,
        url: str,
        status: int = 0,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        error: str = "",
        error_code: int = 0,
    ) -> None:
        self.url = url
        self.status = status
        self.headers = dict(headers or {})
        self.body = body
        self.error = error
        #: k6's numeric error code (0 without an error), also the ``error_code`` tag.
        self.error_code = error_code

    def __repr__(self) -> str:
        return f"<Response {self.url} status={self.status}{' error=' + repr(self.error) if self.error else ''}>"


class ConnectParams:
    """``ws.connect``'s url and params, checked once with clear errors."""

    __slots__ = (
        "_request",
        "direct",
        "extensions",
        "family",
        "headers",
        "host",
        "insecure",
        "local_ip",
        "port",
        "proxy",
        "resource",
        "secure",
        "session_tags",
        "subprotocols",
        "tags",
        "timeout",
        "url",
        "user_agent",
    )

    def __init__(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        *,
        insecure_default: bool,
        user_agent: str | None = None,
    ) -> None:
        params = _check_params(params)
        self.url = url
        #: The run's ``userAgent`` option (None: greenws's own); a ``User-Agent`` header wins.
        self.user_agent = user_agent
        _, self.host, self.port, self.resource, self.secure = _parse_url(url)
        #: The HTTP(S)_PROXY this target is reached through (k6's rules), or None.
        self.proxy = proxy_for(self.host, self.port, self.secure)
        self.tags = {str(k): str(v) for k, v in (params.get("tags") or {}).items()}
        headers = params.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise TypeError("ws.connect: params.headers must be a dict of header names to values")
        self.headers = [(str(k), str(v)) for k, v in headers.items()]
        subprotocols = params.get("subprotocols") or ()
        self.subprotocols = (
            [subprotocols] if isinstance(subprotocols, str) else [str(p) for p in subprotocols]
        )
        timeout = params.get("timeout", DEFAULT_HANDSHAKE_TIMEOUT)
        if isinstance(timeout, str):
            from greenws.options.durations import parse_duration

            timeout = parse_duration(timeout, name="ws.connect timeout")
        self.timeout = float(timeout)
        self.insecure = bool(
            params.get("insecureSkipTLSVerify", params.get("insecure_skip_tls_verify"))
            or insecure_default
        )
        # k6's only compression, "deflate", offers permessage-deflate (RFC 7692); RFC 7692
        # parameters may follow ("deflate; server_no_context_takeover"), see parse_offers.
        try:
            self.extensions: tuple[DeflateOffer, ...] = parse_offers(params.get("compression"))
        except ValueError as error:
            raise ValueError(f"ws.connect: {error}") from None
        #: The source address this connection binds to (the ``localIP`` param), None: the VU's.
        self.local_ip = _local_ip(params.get("localIP", params.get("local_ip")))
        #: The upgrade request around its key, made on first use (see `_upgrade_request`).
        self._request: tuple[bytes, bytes] | None = None
        #: The address family of a host that is an IP literal, 0 for a name.
        self.family = _literal_family(self.host)
        #: Plain TCP to an IP literal without a proxy: every wait of the dial is a plain
        #: transport's, bounded by a deadline (no name lookup, tunnel or TLS to interrupt).
        self.direct = not self.secure and self.proxy is None and self.family != 0
        #: The sessions' TagSets by what else they depend on (see ``Connection._connected``).
        self.session_tags: dict[Any, Any] = {}


#: ConnectParams by (url, repr(params), insecure default, user agent): a VU connecting in a loop asks for the
#: same target every iteration, and checking url and params again cost ~3 µs a session (churn
#: benchmark). The objects are only read after construction, so sharing them is safe; the cache
#: is bounded because a script may build a new URL per iteration.
_TARGETS: dict[tuple[str, str, bool, str | None], ConnectParams] = {}
TARGETS_MAX = 256


def connect_params(
    url: str,
    params: Mapping[str, Any] | None,
    *,
    insecure_default: bool,
    user_agent: str | None = None,
) -> ConnectParams:
    """``ConnectParams(url, params, ...)``, reused for a url and params seen before.

    Only None or params made of plain values (str, numbers, lists, dicts) are cached, their
    ``repr`` being the key; anything else (an object whose ``str`` may change) is checked
    afresh, and invalid params raise their error every time (nothing is cached for them).
    """
    if isinstance(url, str) and (params is None or plain_value(params)):
        key = (url, repr(params), insecure_default, user_agent)
        cached = _TARGETS.get(key)
        if cached is None:
            cached = ConnectParams(
                url, params, insecure_default=insecure_default, user_agent=user_agent
            )
            if len(_TARGETS) >= TARGETS_MAX:
                _TARGETS.clear()
            _TARGETS[key] = cached
        return cached
    return ConnectParams(url, params, insecure_default=insecure_default, user_agent=user_agent)


_PLAIN_SCALARS = (str, int, float, bool, type(None))


def plain_value(value: Any) -> bool:
    """Whether ``repr(value)`` says everything about it: plain scalars in dicts, lists, tuples."""
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and plain_value(v) for k, v in value.items())
    if kind is list or kind is tuple:
        return all(plain_value(v) for v in value)
    return kind in _PLAIN_SCALARS


class Dialled:
    """The outcome of :func:`dial`: a connection ready for frames, or an error in ``response``."""

    __slots__ = (
        "bytes_received",
        "bytes_sent",
        "connecting_ms",
        "connection",
        "deflate",
        "error_tag",
        "leftover",
        "response",
        "subprotocol",
    )

    def __init__(self, response: Response) -> None:
        self.response = response
        self.connection: Any = None
        self.subprotocol: str | None = None
        #: The permessage-deflate parameters the server accepted; None for no compression.
        self.deflate: DeflateParams | None = None
        self.leftover = b""
        self.bytes_sent = 0
        self.bytes_received = 0
        self.connecting_ms = 0.0
        #: The short, k6-style message for the ``error`` tag ("" without an error).
        self.error_tag = ""


def _literal_family(host: str) -> int:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return 0
    return stdlib_socket.AF_INET6 if ip.version == 6 else stdlib_socket.AF_INET


def _local_ip(value: Any) -> str | None:
    """The ``localIP`` param checked: one IP address (the run's ``localIPs`` pool is per VU)."""
    if value is None or value == "":
        return None
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise ValueError(f"ws.connect: params.localIP {value!r} is not an IP address") from None


def dial(
    target: ConnectParams,
    tls_context: Callable[[bool], ssl.SSLContext],
    jar: CookieJar | None = None,
    local_ip: str | None = None,
) -> Dialled:
    """Connect and upgrade; never raises for network or handshake failures (k6 returns them).

    ``tls_context(insecure)`` gives the client TLS context for a wss:// target (the run's
    cached one, see :meth:`RunContext.tls_context`). With a ``jar``, its cookies for the url go
    out with the upgrade request and the cookies the response sets are kept in it. The socket
    binds to the target's ``localIP`` param, else to ``local_ip`` (the VU's address from the
    ``localIPs`` option), else to whatever the kernel picks.
    """
    result = Dialled(Response(target.url))
    response = result.response
    started = time.perf_counter()
    connection: Any = None
    connected = False  # the TCP connection is up: later failures are not dial failures
    # A direct target's waits are the plain transport's own, each bounded by the deadline; any
    # other dial may also wait in a name lookup, a proxy's tunnel or TLS, bounded by a Timeout.
    deadline: float | None = None
    timeout: Any = None
    if target.direct:
        deadline = time.monotonic() + target.timeout
    else:
        timeout = gevent.Timeout(target.timeout, _timed_out(target))
        timeout.start()
    try:
        try:
            source = target.local_ip or local_ip
            if deadline is not None:  # direct: what open_tcp would do, without its three calls
                bind = None if source is None else bind_source(source)
                connection = open_plain(target.family, (target.host, target.port), bind)
            else:
                connection = open_tcp(target.host, target.port, target.secure, target.proxy, source)
            plain = type(connection) is PlainTransport
            # A plain connect is confirmed by the first write (PlainTransport.connect): until
            # then a failure is the dial's.
            connected = not (plain and connection.connecting)
            if plain:
                connection._raw.setsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY, 1)
            else:
                connection.setsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY, 1)
                context = tls_context(target.insecure)
                connection = context.wrap_socket(connection, server_hostname=target.host)
            key = generate_key()
            request = _upgrade_request(target, key)
            cookies = None if jar is None else jar.header_for(target.url)
            if cookies:
                request = _with_cookies(request, cookies)
            send(connection, plain, request, deadline)
            connected = True
            result.bytes_sent += len(request)
            parser = ResponseParser()
            handshake = read_response(connection, plain, parser, result, deadline)
            if jar is not None and handshake.set_cookies:
                jar.store(target.url, handshake.set_cookies)
            response.status = handshake.status
            response.headers = handshake.headers
            response.body = handshake.body.decode("utf-8", "replace") if handshake.body else None
            negotiated = negotiate(
                handshake,
                key=key,
                subprotocols=target.subprotocols,
                extensions=target.extensions,
            )
            result.subprotocol, result.deflate = negotiated.subprotocol, negotiated.deflate
            result.leftover = parser.leftover
            result.bytes_received -= len(
                result.leftover
            )  # the Socket counts them when it reads them
        finally:
            if timeout is not None:
                timeout.close()
    except HandshakeError as error:
        response.error = str(error)
        if error.status:
            response.status = error.status
        response.error_code, result.error_tag = handshake_error_code(error)
    except (OSError, TimeoutError, ValueError) as error:
        if type(error) is DeadlinePassed:
            error = _timed_out(target)
        reason = os_error_text(error) if isinstance(error, OSError) else str(error)
        response.error = f"dial {target.host}:{target.port} failed: {reason}"
        response.error_code, result.error_tag = error_code_for(
            error, "dial" if not connected else "handshake"
        )
    result.connecting_ms = (time.perf_counter() - started) * 1000.0
    if response.error:
        if connection is not None:
            connection.close()
        # A dial can fail without ever waiting (EMFILE, a refused loopback port): yield, or a
        # VU retrying in a loop would hold the hub and starve every other VU, the flusher and
        # the signal handlers (1,000 VUs at ulimit -n 256 froze the whole process).
        gevent.sleep(0)
    else:
        result.connection = connection
    return result


def _timed_out(target: ConnectParams) -> TimeoutError:
    return TimeoutError(f"handshake timed out after {target.timeout:g}s")


#: A stand-in key: the request is built once per target around it, then only the key changes.
_KEY_MARK = "AAAAAAAAAAAAAAAAAAAAAA=="
_KEY_LINE = f"\r\nSec-WebSocket-Key: {_KEY_MARK}\r\n".encode()


def _upgrade_request(target: ConnectParams, key: str) -> bytes:
    """`build_request` for ``target`` with ``key``, from a template made on first use.

    The request differs between sessions to one target only in its key, and building and
    checking it in full was ~4 µs a session (churn benchmark); the template makes it ~0.3 µs.
    The key line is found by its line boundaries: no header before it can contain CR or LF.
    """
    template = target._request
    if template is None:
        request = build_request(
            host=target.host,
            port=target.port,
            resource=target.resource,
            secure=target.secure,
            key=_KEY_MARK,
            headers=target.headers,
            subprotocols=target.subprotocols,
            user_agent=target.user_agent,
            extensions=target.extensions,
        )
        head, found, tail = request.partition(_KEY_LINE)
        if not found:  # not build_request's layout: build it in full every time
            return request.replace(_KEY_MARK.encode(), key.encode(), 1)
        template = target._request = (head + _KEY_LINE[:-26], _KEY_LINE[-2:] + tail)
    return template[0] + key.encode() + template[1]


def _with_cookies(request: bytes, cookies: str | None) -> bytes:
    """``request`` with the jar's ``cookies`` added to its ``Cookie`` header (or a new one)."""
    if not cookies:
        return request
    encoded = cookies.encode("latin-1", "replace")
    start = request.lower().find(b"\r\ncookie:")
    if start < 0:  # the request ends with its blank line: the new header goes just before it
        return request[:-2] + b"Cookie: " + encoded + b"\r\n\r\n"
    end = request.index(b"\r\n", start + 2)
    return request[:end] + b"; " + encoded + request[end:]


def _parse_url(url: str) -> tuple[str, str, int, str, bool]:
    if not isinstance(url, str):
        raise ValueError(f"ws.connect: url must be a string, not {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"ws.connect: url {url!r} must start with ws:// or wss://")
    if not parts.hostname:
        raise ValueError(f"ws.connect: url {url!r} has no host")
    secure = parts.scheme == "wss"
    try:
        port = parts.port or (443 if secure else 80)
    except ValueError:
        raise ValueError(f"ws.connect: url {url!r} has an invalid port") from None
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, resource, secure


def _check_params(params: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(f"ws.connect: params must be a dict, not {type(params).__name__}")
    unknown = set(params) - _PARAM_KEYS
    if unknown:
        raise ValueError(
            f"ws.connect: unknown param {sorted(unknown)[0]!r} (known: {', '.join(PARAM_KEYS)})"
        )
    return params
