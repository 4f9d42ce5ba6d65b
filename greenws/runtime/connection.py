"""What the standard-API ``WebSocket`` and the sequential socket share: checking the url and
params, reading a connection without blocking, and emitting k6's ``ws_*`` session samples.

Both new APIs reuse :func:`~greenws.runtime.dial.dial`, the protocol core and the transports of
the callback Socket unchanged; this module holds only the glue that would otherwise be written
twice. Sample shapes are exactly those of :mod:`greenws.runtime.session`, plus a ``name`` tag:
``name`` is the url unless the script set ``tags.name``, so an output or threshold can group
sessions whose urls differ only by a query string (xk6-websockets#33).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from greenws.metrics.tags import TagSet
from greenws.runtime.dial import GENERIC_ERROR, ConnectParams, Dialled
from greenws.runtime.transport import RECV_SIZE
from greenws.runtime.vu import VirtualUser

if TYPE_CHECKING:
    from greenws.runtime.engine import Engine

__all__ = ["UNEXPECTED_EOF", "SessionRecord", "check_target", "close_tag", "nonblocking_reader"]

#: gorilla/websocket's names of close codes, as the callback Socket tags its errors.
_CLOSE_NAMES = {
    1002: "protocol error",
    1003: "unsupported data",
    1006: "abnormal closure",
    1007: "invalid payload data",
    1008: "policy violation",
    1009: "message too big",
    1010: "mandatory extension",
    1011: "internal server error",
    1012: "service restart",
    1013: "try again later",
    1014: "bad gateway",
}


#: The ``(error_code, error)`` tags of a connection the server dropped without a close frame.
UNEXPECTED_EOF = (GENERIC_ERROR, "websocket: close 1006 (abnormal closure): unexpected EOF")


def close_tag(code: int) -> str:
    """The ``error`` tag of a session that ended with close ``code`` (k6's words)."""
    name = _CLOSE_NAMES.get(code)
    return f"websocket: close {code} ({name})" if name else f"websocket: close {code}"


def check_target(
    api: str,
    engine: Engine,
    url: str,
    params: Mapping[str, Any] | None,
    allowed: Sequence[str],
    protocols: str | Sequence[str] | None = None,
) -> ConnectParams:
    """Validate ``url`` and ``params`` for ``api`` with clear errors, return dial's target.

    The url must be ws:// or wss:// without a fragment (the living standard's SyntaxError);
    a param key outside ``allowed`` is an error rather than silently ignored.
    """
    if not isinstance(url, str):
        raise TypeError(f"{api}: url must be a string, not {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"{api}: url {url!r} must start with ws:// or wss://")
    if parts.fragment or url.endswith("#"):
        raise ValueError(f"{api}: url {url!r} must not have a fragment")
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise TypeError(f"{api}: params must be a dict, not {type(params).__name__}")
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"{api}: unknown param {unknown[0]!r} (known: {', '.join(allowed)})")
    merged = dict(params)
    if protocols is not None:
        merged["subprotocols"] = protocols
    return ConnectParams(url, merged, insecure_default=engine.options.insecure_skip_tls_verify)


def nonblocking_reader(transport: Any) -> tuple[int, Callable[[], bytes | None], Any]:
    """``(fd, read, tls)`` for a transport from ``make_transport``: ``read()`` returns bytes,
    ``b""`` at end of stream, or None when nothing is there yet; ``tls`` is the SSL socket whose
    ``pending()`` bytes a readiness watcher cannot see (None for plain TCP).

    The transports only offer "read with a deadline", which parks the calling greenlet on one
    socket; a VU serving several sockets must instead be told which are readable and read each
    without waiting, so this reaches for the socket under the transport.
    """
    raw = getattr(transport, "_raw", None)
    if raw is not None:
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


class SessionRecord:
    """One session's tags, byte counts and end-of-session samples (emitted exactly once)."""

    __slots__ = (
        "api",
        "bytes_received",
        "bytes_sent",
        "engine",
        "error",
        "finished",
        "push",
        "started",
        "tags",
    )

    def __init__(self, engine: Engine, api: str | None) -> None:
        self.engine = engine
        #: How the script opened the session, for the one-line log of a failed dial; None when
        #: the script learns of the failure by an exception instead (``ws.open``).
        self.api = api
        self.push = engine.samples.append
        self.started = time.perf_counter()
        self.tags: TagSet | None = None
        self.bytes_sent = 0
        self.bytes_received = 0
        #: ``(error_code, error)`` tag values once the session failed.
        self.error: tuple[int, str] | None = None
        self.finished = False

    def connected(
        self, vu: VirtualUser, target: ConnectParams, dialled: Dialled, vu_tags: TagSet
    ) -> TagSet:
        """Build the session's tags from the handshake's outcome and emit ``ws_connecting``."""
        response = dialled.response
        url = target.url
        values = {
            **vu_tags.as_dict(),
            "url": url,
            "name": url,
            **target.tags,
            "status": str(response.status),
        }
        if dialled.subprotocol:
            values["subproto"] = dialled.subprotocol
        if response.error:
            values["error"] = dialled.error_tag
            values["error_code"] = str(response.error_code)
        tags: TagSet = self.engine.intern_tags(values)
        self.tags = tags
        self.bytes_sent = dialled.bytes_sent
        self.bytes_received = dialled.bytes_received
        self.push((self.engine.metrics.ws_connecting, time.time(), dialled.connecting_ms, tags))
        if response.error and self.api is not None:
            self.engine.report_connect_error(vu, url, response.error, self.api)
        return tags

    def fail(self, code: int, tag: tuple[int, str] | None = None) -> None:
        """Remember why the session failed; its closing samples carry it (first failure wins)."""
        if self.error is None:
            self.error = tag or (GENERIC_ERROR, close_tag(code))

    def finish(self) -> None:
        """Emit ``ws_sessions``, ``ws_session_duration``, ``data_sent``, ``data_received``."""
        if self.finished or self.tags is None:
            return
        self.finished = True
        tags = self.tags
        if self.error is not None:
            error_code, error = self.error
            tags = self.engine.intern_tags({**tags, "error": error, "error_code": str(error_code)})
        metrics = self.engine.metrics
        ended = time.time()
        push = self.push
        push((metrics.ws_sessions, ended, 1.0, tags))
        push((metrics.ws_session_duration, ended, (time.perf_counter() - self.started) * 1e3, tags))
        if self.bytes_sent:
            push((metrics.data_sent, ended, float(self.bytes_sent), tags))
        if self.bytes_received:
            push((metrics.data_received, ended, float(self.bytes_received), tags))
