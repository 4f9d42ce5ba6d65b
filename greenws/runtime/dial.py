"""Dialling a WebSocket: TCP (and TLS), the HTTP upgrade, and what k6 returns for it.

Kept apart from the Socket so that a session's frame holds nothing of the handshake once the
connection is up: every byte a suspended VU keeps alive is multiplied by thousands of VUs.
"""

from __future__ import annotations

import errno
import socket as stdlib_socket
import ssl
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import gevent
from gevent import socket as gsocket

from greenws.protocol import (
    HandshakeError,
    ResponseParser,
    build_request,
    generate_key,
    validate_response,
)

if TYPE_CHECKING:
    from greenws.runtime.engine import Engine

__all__ = ["ConnectParams", "Dialled", "Response", "dial", "os_error_text"]

DEFAULT_HANDSHAKE_TIMEOUT = 60.0
_PARAM_KEYS = {
    "headers",
    "tags",
    "subprotocols",
    "timeout",
    "insecureSkipTLSVerify",
    "insecure_skip_tls_verify",
    "compression",
}


class Response:
    """What ``ws.connect`` returns: the handshake's outcome (k6's ``Response``)."""

    __slots__ = ("body", "error", "headers", "status", "url")

    def __init__(
        self,
        url: str,
        status: int = 0,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        error: str = "",
    ) -> None:
        self.url = url
        self.status = status
        self.headers = dict(headers or {})
        self.body = body
        self.error = error

    def __repr__(self) -> str:
        return f"<Response {self.url} status={self.status}{' error=' + repr(self.error) if self.error else ''}>"


class ConnectParams:
    """``ws.connect``'s url and params, checked once with clear errors."""

    __slots__ = (
        "headers",
        "host",
        "insecure",
        "port",
        "resource",
        "secure",
        "subprotocols",
        "tags",
        "timeout",
        "url",
    )

    def __init__(
        self, url: str, params: Mapping[str, Any] | None, *, insecure_default: bool
    ) -> None:
        params = _check_params(params)
        self.url = url
        _, self.host, self.port, self.resource, self.secure = _parse_url(url)
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
            from greenws.durations import parse_duration

            timeout = parse_duration(timeout, name="ws.connect timeout")
        self.timeout = float(timeout)
        self.insecure = bool(
            params.get("insecureSkipTLSVerify", params.get("insecure_skip_tls_verify"))
            or insecure_default
        )


class Dialled:
    """The outcome of :func:`dial`: a connection ready for frames, or an error in ``response``."""

    __slots__ = (
        "bytes_received",
        "bytes_sent",
        "connecting_ms",
        "connection",
        "leftover",
        "response",
        "subprotocol",
    )

    def __init__(self, response: Response) -> None:
        self.response = response
        self.connection: Any = None
        self.subprotocol: str | None = None
        self.leftover = b""
        self.bytes_sent = 0
        self.bytes_received = 0
        self.connecting_ms = 0.0


def dial(engine: Engine, target: ConnectParams) -> Dialled:
    """Connect and upgrade; never raises for network or handshake failures (k6 returns them)."""
    result = Dialled(Response(target.url))
    response = result.response
    started = time.perf_counter()
    connection = None
    try:
        with gevent.Timeout(
            target.timeout, TimeoutError(f"handshake timed out after {target.timeout:g}s")
        ):
            connection = gsocket.create_connection((target.host, target.port))
            connection.setsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY, 1)
            if target.secure:
                context = engine.tls_context(target.insecure)
                connection = context.wrap_socket(connection, server_hostname=target.host)
            key = generate_key()
            request = build_request(
                host=target.host,
                port=target.port,
                resource=target.resource,
                secure=target.secure,
                key=key,
                headers=target.headers,
                subprotocols=target.subprotocols,
            )
            connection.sendall(request)
            result.bytes_sent += len(request)
            parser = ResponseParser()
            handshake = None
            while handshake is None:
                chunk = connection.recv(65536)
                if not chunk:
                    handshake = parser.feed_eof()
                    break
                result.bytes_received += len(chunk)
                handshake = parser.feed(chunk)
            response.status = handshake.status
            response.headers = handshake.headers
            response.body = handshake.body.decode("utf-8", "replace") if handshake.body else None
            result.subprotocol = validate_response(
                handshake, key=key, subprotocols=target.subprotocols
            )
            result.leftover = parser.leftover
            result.bytes_received -= len(
                result.leftover
            )  # the Socket counts them when it reads them
    except HandshakeError as error:
        response.error = str(error)
        if error.status:
            response.status = error.status
    except (OSError, TimeoutError, ValueError) as error:
        reason = os_error_text(error) if isinstance(error, OSError) else str(error)
        response.error = f"dial {target.host}:{target.port} failed: {reason}"
    result.connecting_ms = (time.perf_counter() - started) * 1000.0
    if response.error:
        if connection is not None:
            connection.close()
    else:
        result.connection = connection
    return result


def os_error_text(error: OSError) -> str:
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or error}"
    name = errno.errorcode.get(error.errno or 0, "")
    text = error.strerror or str(error) or type(error).__name__
    return f"{text} ({name})" if name else text


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
            f"ws.connect: unknown param {sorted(unknown)[0]!r} "
            f"(known: headers, tags, subprotocols, timeout, insecureSkipTLSVerify)"
        )
    if params.get("compression"):
        raise ValueError("ws.connect: compression is not supported yet")
    return params
