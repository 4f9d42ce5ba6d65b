"""One WebSocket connection's core, under all three socket APIs.

``ws.connect``'s k6 Socket, the standard ``WebSocket`` and ``ws.open`` differ in how a script
sees a connection (handlers and per-socket timers; event listeners and ``ready_state``; blocking
``recv``), not in what the connection does. :class:`Connection` does that once: the step from a
dial to an open session (tags, ``ws_connecting``, the protocol core and the transport), writes
with k6's error tags, received bytes turned into protocol events (messages counted in
``ws_msgs_received``, pongs timed into ``ws_ping``, the close handshake, protocol failures, an
end of stream without a close frame), the close deadline, and the end-of-session samples,
emitted exactly once. Each API subclasses it and says what an event means to its scripts
through a handful of ``_on_*`` hooks.

It is a base class rather than an object each API holds: thousands of idle sockets live at
once, and one slotted object per connection is the cheapest shape (the ``ws.connect`` hot path
was tuned to the call; see :mod:`greenws.sockets.session`). Sample shapes are k6's: the
``WebSocket`` and ``ws.open`` add a ``name`` tag, the url unless the script set ``tags.name``,
so an output or threshold can group sessions whose urls differ only by a query string
(xk6-websockets#33); ``ws.connect`` keeps k6/ws's tags exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from time import monotonic, perf_counter
from time import time as now
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import gevent

from greenws.metrics.tags import TagSet
from greenws.net.cookies import CookieJar
from greenws.net.dial import TARGETS_MAX, ConnectParams, Dialled, plain_value
from greenws.net.error_codes import GENERIC_ERROR, REQUEST_TIMEOUT, error_code_for, os_error_text
from greenws.net.transport import make_transport
from greenws.protocol import (
    BinaryMessage,
    CloseReceived,
    PerMessageDeflate,
    PingReceived,
    PongReceived,
    ProtocolFailure,
    State,
    TextMessage,
    client_protocol,
)
from greenws.runtime.vu import VirtualUser

if TYPE_CHECKING:
    from greenws.runtime.context import RunContext

__all__ = [
    "CLOSE_TIMEOUT",
    "UNEXPECTED_EOF",
    "Connection",
    "check_target",
    "close_tag",
    "cookie_jar",
]

#: How long a closing connection waits for the server's close frame before dropping it.
CLOSE_TIMEOUT = 3.0

#: gorilla/websocket's names of close codes, as k6 tags a session's errors.
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
#: Close codes a server may answer with without the session counting as failed.
_CLEAN_CLOSES = (1000, 1001, 1005)

#: Session TagSets kept per target (VU tag sets x statuses x subprotocols x APIs), at most.
_SESSION_TAGS_MAX = 64

#: The ``(error_code, error)`` tags of a connection the server dropped without a close frame.
UNEXPECTED_EOF = (GENERIC_ERROR, "websocket: close 1006 (abnormal closure): unexpected EOF")
_CLOSE_TIMED_OUT = (REQUEST_TIMEOUT, "websocket: close handshake timed out")


def close_tag(code: int) -> str:
    """The ``error`` tag of a session that ended with close ``code`` (k6's words)."""
    name = _CLOSE_NAMES.get(code)
    return f"websocket: close {code} ({name})" if name else f"websocket: close {code}"


#: Targets already checked, by (api, url, repr(params), repr(protocols), allowed, insecure,
#: user agent
#: default): a VU opening a session per iteration asks for the same one every time, and
#: checking it again (urlsplit twice, the params, the upgrade request's template) was about
#: 100 function calls a session (cProfile of the churn benchmark). Shared like dial's cache:
#: a ConnectParams is only read once made.
_CHECKED: dict[tuple[Any, ...], ConnectParams] = {}


def check_target(
    api: str,
    context: RunContext,
    url: str,
    params: Mapping[str, Any] | None,
    allowed: Sequence[str],
    protocols: str | Sequence[str] | None = None,
) -> ConnectParams:
    """Validate ``url`` and ``params`` for ``api`` with clear errors, return dial's target.

    The url must be ws:// or wss:// without a fragment (the living standard's SyntaxError);
    a param key outside ``allowed`` is an error rather than silently ignored. Targets made of
    plain values are cached (see ``_CHECKED``); an invalid one raises its error every time.
    """
    insecure = context.options.insecure_skip_tls_verify
    user_agent = context.options.user_agent
    key = None
    if type(url) is str and plain_value(params) and plain_value(protocols):
        key = (api, url, repr(params), repr(protocols), tuple(allowed), insecure, user_agent)
        cached = _CHECKED.get(key)
        if cached is not None:
            return cached
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
    target = ConnectParams(url, merged, insecure_default=insecure, user_agent=user_agent)
    if key is not None:
        if len(_CHECKED) >= TARGETS_MAX:
            _CHECKED.clear()
        _CHECKED[key] = target
    return target


def cookie_jar(params: Mapping[str, Any] | None, vu: VirtualUser) -> CookieJar:
    """The jar a session's handshake uses: the ``jar`` param, or the VU's own (as k6)."""
    # None first: isinstance against the Mapping ABC is a Python call into abc every session.
    jar = None if params is None else params.get("jar") if isinstance(params, Mapping) else None
    if jar is None:
        return vu.cookie_jar
    if not isinstance(jar, CookieJar):
        raise TypeError(
            f"params.jar must be a greenws.CookieJar (or greenws.cookie_jar()), "
            f"not {type(jar).__name__}"
        )
    return jar


class Connection:
    """A WebSocket session's core; an API subclass gives it a surface.

    Life cycle: construct (the session's clock starts), :meth:`_connected` with the dial's
    outcome, :meth:`_open` if it succeeded, then the API feeds what it reads to
    :meth:`_receive` / :meth:`_receive_eof` / :meth:`_read_failed`; the session ends once
    (``_close_code`` is set) through :meth:`_finish` or :meth:`_fail`, and
    :meth:`_finish_session` emits the closing samples once.

    Hooks a subclass overrides, all run on the VU's greenlet: ``_on_text``, ``_on_binary``,
    ``_on_ping``, ``_on_pong`` (after the ``ws_ping`` sample), ``_on_finished(code, reason)``
    (the session ended without an error of its own), ``_on_failed(message, code)`` (it failed;
    its error tags are recorded already), and, where an API words things differently,
    ``_closed_unexpectedly``, ``_protocol_failed`` and ``_write_failed``.
    """

    #: How a failed dial is logged ("ws.connect", "WebSocket"); None when the script learns of
    #: it by an exception instead (``ws.open``).
    _API: str | None = None
    #: Whether the session's samples carry a ``name`` tag (k6/ws's Socket has none).
    _NAME_TAG = True
    #: Whether a handshake answered without a subprotocol still tags ``subproto`` (as ``""``):
    #: k6/ws sets it from the response's header whenever there is a response.
    _EMPTY_SUBPROTO_TAG = False

    # Slots: thousands of idle connections live at once, and every byte of one is multiplied.
    __slots__ = (
        "_close_code",
        "_close_deadline",
        "_context",
        "_error",
        "_finished",
        "_msgs_received",
        "_msgs_sent",
        "_ping_counter",
        "_ping_sent",
        "_protocol",
        "_push",
        "_started",
        "_tags",
        "_transport",
        "bytes_received",
        "bytes_sent",
    )

    def __init__(self, context: RunContext) -> None:
        self._context = context
        self._push = context.push_sample  # one sample per message: no attribute chain per push
        metrics = context.metrics
        self._msgs_sent = metrics.ws_msgs_sent
        self._msgs_received = metrics.ws_msgs_received
        self._started = perf_counter()
        self._tags: Any = None  # the session's TagSet, once dialled
        self._protocol: Any = None
        self._transport: Any = None
        self._ping_sent: dict[bytes, float] | None = None  # made on the first ping
        self._ping_counter = 0
        #: When our close frame must be answered by (monotonic); None until we close.
        self._close_deadline: float | None = None
        #: None while the session lives; then the code it ended with.
        self._close_code: int | None = None
        #: ``(error_code, error)`` tag values once the session failed (first failure wins).
        self._error: tuple[int, str] | None = None
        self._finished = False
        self.bytes_sent = 0
        self.bytes_received = 0

    # -- from dial to open -----------------------------------------------------------------------

    def _connected(
        self, vu: VirtualUser, target: ConnectParams, dialled: Dialled, vu_tags: TagSet
    ) -> bool:
        """Tag the session from the handshake's outcome, emit ``ws_connecting``, log a failed
        dial; True if the connection is up."""
        response = dialled.response
        url = target.url
        # A session's tags depend on the target, the VU's tags, the status and subprotocol
        # (and the API's tag rules): a VU connecting in a loop gets the same TagSet every time,
        # kept on the target instead of built and interned again (a dict and a tuple of ~8
        # items a session). Failed dials are tagged afresh: their error tags vary.
        key = (
            None if response.error else (vu_tags, response.status, dialled.subprotocol, type(self))
        )
        cache = target.session_tags
        tags = cache.get(key) if key is not None else None
        if tags is None:
            values = {**vu_tags.as_dict(), "url": url}
            if self._NAME_TAG:
                values["name"] = url
            values.update(target.tags)
            if response.status:  # as k6: no HTTP response (a failed dial), no status tag
                values["status"] = str(response.status)
            if dialled.subprotocol:
                values["subproto"] = dialled.subprotocol
            elif self._EMPTY_SUBPROTO_TAG and response.status:
                values["subproto"] = ""
            if response.error:
                values["error"] = dialled.error_tag
                values["error_code"] = str(response.error_code)
            tags = self._context.intern_tags(values)
            if key is not None:
                if len(cache) >= _SESSION_TAGS_MAX:
                    cache.clear()
                cache[key] = tags
        self._tags = tags
        self.bytes_sent = dialled.bytes_sent
        self.bytes_received = dialled.bytes_received
        self._push((self._context.metrics.ws_connecting, now(), dialled.connecting_ms, tags))
        if response.error:
            if self._API is not None:
                self._context.report_connect_error(vu, url, response.error, self._API)
            return False
        return True

    def _open(self, dialled: Dialled) -> bytes:
        """Take over the dialled connection: the protocol core and the transport. Returns the
        bytes read past the handshake, for :meth:`_receive`."""
        self._protocol = client_protocol(
            max_message_size=self._context.options.max_message_size,
            compression=None if dialled.deflate is None else PerMessageDeflate(dialled.deflate),
        )
        self._transport = make_transport(dialled.connection)
        self._context.open_connections += 1  # -1 in _release_transport
        return dialled.leftover

    # -- writing ---------------------------------------------------------------------------------

    def _write(self, data: bytes) -> bool:
        """Send ``data``; False if the connection failed (the session is then over)."""
        try:
            self._transport.write(data)
        except OSError as error:
            self._write_failed(error)
            return False
        self.bytes_sent += len(data)
        return True

    def _write_failed(self, error: OSError) -> None:
        self._fail(f"write failed: {os_error_text(error)}", 1006, error_code_for(error, "write"))

    def _send_message(self, frame: bytes) -> None:
        """Write a data frame and count it in ``ws_msgs_sent``."""
        if self._write(frame):
            self._push((self._msgs_sent, now(), 1.0, self._tags))

    def _send_data(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send ``str`` as a text message and bytes-like data as a binary one (the standard
        API's and ``ws.open``'s ``send``); anything else is a TypeError."""
        if isinstance(data, str):
            frame = self._protocol.send_text(data)
        elif isinstance(data, (bytes, bytearray, memoryview)):
            frame = self._protocol.send_binary(data)
        else:
            raise TypeError(f"send() takes str or bytes-like data, not {type(data).__name__}")
        self._send_message(frame)

    def _send_ping(self) -> None:
        """Send a numbered ping; its pong becomes a ``ws_ping`` sample (milliseconds)."""
        self._ping_counter += 1
        payload = str(self._ping_counter).encode()
        if self._ping_sent is None:
            self._ping_sent = {}
        self._ping_sent[payload] = perf_counter()
        self._write(self._protocol.send_ping(payload))

    def _start_close(self, code: int, reason: str) -> bytes:
        """Our close frame (raises the protocol's InvalidStateError for a bad code or reason);
        from now the server has CLOSE_TIMEOUT seconds to answer, see ``_close_deadline``."""
        frame: bytes = self._protocol.send_close(code, reason)
        self._close_deadline = monotonic() + CLOSE_TIMEOUT
        return frame

    def _close_timed_out(self) -> None:
        self._fail("the server did not answer the close frame in time", 1006, _CLOSE_TIMED_OUT)

    def _goodbye(self, code: int) -> None:
        """The iteration or test is ending: a close frame with ``code``, best effort, within 1 s;
        no handler runs and nothing is awaited."""
        protocol, transport = self._protocol, self._transport
        if protocol is None or transport is None or protocol.state is not State.OPEN:
            return
        timeout = gevent.Timeout(1.0)
        try:
            frame = protocol.send_close(code, "")
            with timeout:
                transport.write(frame)
            self.bytes_sent += len(frame)
        except gevent.Timeout as error:
            if error is not timeout:
                raise
        except Exception:  # a goodbye is best effort
            return

    def _release_transport(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            self._context.open_connections -= 1
            # Not contextlib.suppress: it is three Python calls, every session.
            try:  # noqa: SIM105
                transport.close()
            except OSError:
                pass

    # -- reading ---------------------------------------------------------------------------------

    def _receive(self, data: bytes, events: list[Any] | None = None) -> None:
        """Bytes read from the server: the protocol's events, each to its hook, in order.

        ``events``: ``data``'s, already parsed and counted by a caller's fast path (see
        ``Socket.run``), which hands over whatever it does not handle itself.
        """
        protocol = self._protocol
        if events is None:
            self.bytes_received += len(data)
            events = protocol.receive_data(data)
        if protocol.outgoing:  # pongs to the server's pings, the echo of its close
            self._write(protocol.data_to_send())
        for event in events:
            kind = type(event)
            if kind is TextMessage:
                self._push((self._msgs_received, now(), 1.0, self._tags))
                self._on_text(event.data)
            elif kind is BinaryMessage:
                self._push((self._msgs_received, now(), 1.0, self._tags))
                self._on_binary(event.data)
            elif kind is PingReceived:
                self._on_ping()
            elif kind is PongReceived:
                pings = self._ping_sent
                sent = pings.pop(event.payload, None) if pings else None
                if pings is not None and not pings:
                    self._ping_sent = None  # no empty dict kept between pings
                if sent is not None:
                    elapsed_ms = (perf_counter() - sent) * 1000.0
                    self._push((self._context.metrics.ws_ping, now(), elapsed_ms, self._tags))
                self._on_pong()
            elif kind is CloseReceived:
                # Our own close being answered is no error, whatever code we chose.
                if event.code in _CLEAN_CLOSES or self._close_deadline is not None:
                    self._finish(event.code, event.reason)
                else:
                    self._closed_unexpectedly(event.code, event.reason)
            elif kind is ProtocolFailure:
                self._protocol_failed(event.code, event.message)
            if self._close_code is not None:
                return

    def _receive_eof(self) -> None:
        """The server ended the stream: clean after a close handshake, else 1006."""
        protocol = self._protocol
        for event in protocol.receive_eof():
            if type(event) is ProtocolFailure:
                self._fail(
                    "connection closed by the server without a close frame", 1006, UNEXPECTED_EOF
                )
                return
        self._finish(protocol.close_code or 1006, protocol.close_reason)

    def _read_failed(self, error: OSError) -> None:
        self._fail(f"read failed: {os_error_text(error)}", 1006, error_code_for(error, "read"))

    def _closed_unexpectedly(self, code: int, reason: str) -> None:
        """The server closed with an error code: the session is tagged as failed, and ends."""
        if self._error is None:
            self._error = (GENERIC_ERROR, close_tag(code))
        self._finish(code, reason)

    def _protocol_failed(self, code: int, message: str) -> None:
        self._fail(f"protocol error: {message}", code)

    # -- ending ----------------------------------------------------------------------------------

    def _finish(self, code: int, reason: str = "") -> None:
        """The session is over with ``code`` (once): ``_on_finished``."""
        if self._close_code is not None:
            return
        self._close_code = code
        self._on_finished(code, reason)

    def _fail(self, message: str, code: int, tag: tuple[int, str] | None = None) -> None:
        """The session failed (once): remember its ``(error_code, error)`` tags, by default k6's
        generic code and the close code in gorilla/websocket's words; then ``_on_failed``."""
        if self._close_code is not None:
            return
        self._close_code = code
        if self._error is None:
            self._error = tag or (GENERIC_ERROR, close_tag(code))
        self._on_failed(message, code)

    def _finish_session(self) -> None:
        """Emit ``ws_sessions``, ``ws_session_duration``, ``data_sent``, ``data_received`` (once,
        and only for a session that was dialled), with the error tags if it failed."""
        tags = self._tags
        if self._finished or tags is None:
            return
        self._finished = True
        context = self._context
        if self._error is not None:
            error_code, error = self._error
            tags = context.intern_tags({**tags, "error": error, "error_code": str(error_code)})
        metrics = context.metrics
        ended = now()
        push = self._push
        push((metrics.ws_sessions, ended, 1.0, tags))
        push((metrics.ws_session_duration, ended, (perf_counter() - self._started) * 1e3, tags))
        data_tags = self._data_tags(tags)
        if self.bytes_sent:
            push((metrics.data_sent, ended, float(self.bytes_sent), data_tags))
        if self.bytes_received:
            push((metrics.data_received, ended, float(self.bytes_received), data_tags))

    def _data_tags(self, session_tags: TagSet) -> TagSet:
        """The tags of the session's ``data_sent``/``data_received`` samples."""
        return session_tags

    # -- hooks -----------------------------------------------------------------------------------

    def _on_text(self, data: str) -> None:
        """A text message arrived (already counted)."""

    def _on_binary(self, data: bytes) -> None:
        """A binary message arrived (already counted)."""

    def _on_ping(self) -> None:
        """The server pinged (the protocol core has queued the pong)."""

    def _on_pong(self) -> None:
        """A pong arrived (timed into ``ws_ping`` if it answered our ping)."""

    def _on_finished(self, code: int, reason: str) -> None:
        """The session ended with ``code`` and ``reason``, without an error of its own."""

    def _on_failed(self, message: str, code: int) -> None:
        """The session failed with ``code``; ``message`` says why, for the script."""
