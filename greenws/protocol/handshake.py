"""The opening handshake (RFC 6455 section 4): build the request, parse and check the reply.

Sans-I/O like the rest of the package: the runtime writes :func:`build_request`'s bytes,
feeds what it reads to a :class:`ResponseParser` until it returns a response, then calls
:func:`validate_response`. A refused handshake (say HTTP 429 with a JSON body) is parsed in
full, body included, because a load test wants to report why it was refused.

Response header names are stored in Go's canonical MIME form (``Sec-Websocket-Accept``),
the way k6 exposes them to scripts, so ported scripts find the same keys.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from collections.abc import Sequence
from functools import cache, lru_cache
from http import HTTPStatus

from .compression import DeflateOffer, DeflateParams, accept_response, offers_of
from .errors import HandshakeError

__all__ = [
    "HandshakeResponse",
    "Negotiated",
    "ResponseParser",
    "accept_key",
    "build_request",
    "canonical_header_name",
    "generate_key",
    "negotiate",
    "validate_response",
]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_HEADER_BYTES = 64 * 1024
"""Largest response header block accepted; a bigger one is a broken or hostile server."""
MAX_BODY_BYTES = 1024 * 1024
"""A refused handshake's body is kept up to this size; the rest is not waited for."""
_MAX_CHUNK_LINE = 4096  # a chunk-size line with extensions; a longer one is hostile

# Headers build_request computes itself; letting a user replace them would break the
# handshake in ways that are hard to diagnose, so they are refused.
_RESERVED = frozenset(
    (
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
    )
)
_FORBIDDEN_CHARS = frozenset("\r\n\0")


def generate_key() -> str:
    """Return a fresh random ``Sec-WebSocket-Key`` (16 random bytes, base64)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def accept_key(key: str) -> str:
    """Return the ``Sec-WebSocket-Accept`` value a server must answer ``key`` with."""
    digest = hashlib.sha1(key.encode("ascii") + _GUID).digest()
    return base64.b64encode(digest).decode("ascii")


# Cached: a handshake looks up ~8 names, always the same few, at ~1 µs each uncached (churn
# benchmark: parse + negotiate went from 14.4 to 6.9 µs). Bounded against invented names.
@lru_cache(maxsize=1024)
def canonical_header_name(name: str) -> str:
    """Return Go's canonical MIME form of a header name, as k6 shows them to scripts.

    ``sec-websocket-key`` becomes ``Sec-Websocket-Key``: each dash-separated part is
    capitalised and the rest lower-cased.
    """
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


@cache
def _default_user_agent() -> str:
    """``greenws/<version>``, looked up on first use so importing this module stays cheap."""
    version = getattr(sys.modules.get("greenws"), "__version__", None)
    if not isinstance(version, str):
        try:
            from importlib.metadata import version as distribution_version

            version = distribution_version("greenws")
        except Exception:  # not installed (running from a checkout)
            version = "dev"
    return f"greenws/{version}"


def _check_header(name: str, value: str) -> None:
    if not name or any(c in _FORBIDDEN_CHARS or c in ": \t" for c in name):
        raise ValueError(f"invalid header name {name!r}")
    if any(c in _FORBIDDEN_CHARS for c in value):
        raise ValueError(f"invalid header value for {name}: contains CR, LF or NUL")


def build_request(
    *,
    host: str,
    port: int,
    resource: str,
    secure: bool,
    key: str,
    headers: Sequence[tuple[str, str]] = (),
    subprotocols: Sequence[str] = (),
    user_agent: str | None = None,
    extensions: Sequence[str | DeflateOffer] = (),
) -> bytes:
    """Build the HTTP/1.1 upgrade request.

    Args:
        host: Host name or IP address (an IPv6 address is bracketed in ``Host``).
        port: TCP port; left out of ``Host`` when it is the scheme's default.
        resource: Path and query, e.g. ``"/chat?room=1"``.
        secure: True for ``wss://`` (default port 443), False for ``ws://`` (80).
        key: The ``Sec-WebSocket-Key``, from :func:`generate_key`.
        headers: Extra headers in order. One named like a computed header (``Host``,
            ``User-Agent``, ``Sec-WebSocket-Protocol``) replaces it in place.
        subprotocols: Offered subprotocols, sent as ``Sec-WebSocket-Protocol``.
        user_agent: ``User-Agent`` unless ``headers`` has one; defaults to ``greenws/<version>``;
            ``""`` sends none (as Go's HTTP client, hence k6, does for an empty agent).
        extensions: ``permessage-deflate`` offers, in order of preference: a
            :class:`~greenws.protocol.compression.DeflateOffer`, or the name
            ``"permessage-deflate"`` for the default offer
            (``permessage-deflate; client_max_window_bits``).

    Returns:
        The request bytes, header block terminator included.

    Raises:
        ValueError: A header name or value, the host or the resource contains CR, LF or NUL
            (header injection); a reserved handshake header is in ``headers``; or both
            ``subprotocols`` and a ``Sec-WebSocket-Protocol`` header are given; or an
            extension other than ``permessage-deflate`` is asked for.
    """
    offers = offers_of(extensions)
    if any(c in _FORBIDDEN_CHARS or c == " " for c in resource) or not resource.startswith("/"):
        raise ValueError(f"invalid resource {resource!r}")
    if any(c in _FORBIDDEN_CHARS or c in " /" for c in host):
        raise ValueError(f"invalid host {host!r}")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    host_value = host if port == (443 if secure else 80) else f"{host}:{port}"
    ordered: dict[str, tuple[str, str]] = {
        "host": ("Host", host_value),
        "upgrade": ("Upgrade", "websocket"),
        "connection": ("Connection", "Upgrade"),
        "sec-websocket-key": ("Sec-WebSocket-Key", key),
        "sec-websocket-version": ("Sec-WebSocket-Version", "13"),
    }
    if offers:
        offer_text = ", ".join(offer.header() for offer in offers)
        ordered["sec-websocket-extensions"] = ("Sec-WebSocket-Extensions", offer_text)
    if subprotocols:
        for token in subprotocols:
            _check_header("Sec-WebSocket-Protocol", token)
        ordered["sec-websocket-protocol"] = ("Sec-WebSocket-Protocol", ", ".join(subprotocols))
    for name, value in headers:
        _check_header(name, value)
        lower = name.lower()
        if lower in _RESERVED:
            raise ValueError(f"header {name} is set by the WebSocket handshake itself")
        if lower == "sec-websocket-protocol" and subprotocols:
            raise ValueError("give subprotocols or a Sec-WebSocket-Protocol header, not both")
        if lower in ordered and lower not in ("host", "user-agent", "sec-websocket-protocol"):
            # A repeated ordinary header is sent twice, as the user listed it.
            ordered[f"{lower}\0{len(ordered)}"] = (name, value)
        else:
            ordered[lower] = (name, value)
    if "user-agent" not in ordered:
        agent = user_agent if user_agent is not None else _default_user_agent()
        if agent:
            _check_header("User-Agent", agent)
            ordered["user-agent"] = ("User-Agent", agent)
    lines = [f"GET {resource} HTTP/1.1"]
    lines.extend(f"{name}: {value}" for name, value in ordered.values())
    lines.append("\r\n")
    return "\r\n".join(lines).encode("utf-8")


class HandshakeResponse:
    """The server's answer to the upgrade request.

    Attributes:
        status: HTTP status code, 101 on success.
        reason: The reason phrase as sent (may be empty).
        headers: Header values by canonical name (``Sec-Websocket-Accept``); a repeated
            header's values are joined with ``", "``.
        body: The body of a refusal, at most 1 MiB; empty for a 101.
        set_cookies: Each ``Set-Cookie`` value on its own: joined, they could not be told
            apart again (an ``Expires`` date has a comma).
    """

    __slots__ = ("body", "headers", "reason", "set_cookies", "status")

    def __init__(
        self,
        status: int,
        reason: str,
        headers: dict[str, str],
        body: bytes = b"",
        set_cookies: list[str] | None = None,
    ) -> None:
        self.status: int = status
        self.reason: str = reason
        self.headers: dict[str, str] = headers
        self.body: bytes = body
        self.set_cookies: list[str] = set_cookies if set_cookies is not None else []

    def header(self, name: str) -> str | None:
        """Return the value of header ``name`` (any case), or None when absent."""
        return self.headers.get(canonical_header_name(name))

    def __repr__(self) -> str:
        return f"HandshakeResponse({self.status}, {self.reason!r}, {self.headers!r}, {self.body!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HandshakeResponse):
            return NotImplemented
        return (self.status, self.reason, self.headers, self.body) == (
            other.status,
            other.reason,
            other.headers,
            other.body,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable value object


# Body framing modes of a non-101 response.
_NO_BODY, _LENGTH, _CHUNKED, _TO_EOF = range(4)


class ResponseParser:
    """Incremental parser of the handshake response.

    Attributes:
        leftover: Bytes that followed a 101's header block: frames the server sent at once,
            to be fed to the protocol before anything read later.
    """

    __slots__ = ("_body", "_buf", "_done", "_mode", "_remaining", "_response", "leftover")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._response: HandshakeResponse | None = None  # set once the headers are parsed
        self._done = False
        self._mode = _NO_BODY
        self._remaining = 0  # body bytes still expected with Content-Length
        self._body = bytearray()
        self.leftover: bytes = b""

    def feed(self, data: bytes) -> HandshakeResponse | None:
        """Add received bytes; return the response once it is complete, else None.

        Raises:
            HandshakeError: The status line or a header line is malformed, or the header
                block exceeds 64 KiB.
        """
        if self._done:
            return self._response
        if self._response is None:
            search_from = max(0, len(self._buf) - 3)
            self._buf += data
            end = self._buf.find(b"\r\n\r\n", search_from)
            if end < 0:
                if len(self._buf) > MAX_HEADER_BYTES:
                    raise HandshakeError("handshake failed: response header block over 64 KiB")
                return None
            if end > MAX_HEADER_BYTES:
                raise HandshakeError("handshake failed: response header block over 64 KiB")
            self._response = self._parse_head(bytes(self._buf[:end]))
            rest = bytes(self._buf[end + 4 :])
            self._buf.clear()
            if self._mode == _NO_BODY:
                self.leftover = rest
                return self._finish()
            data = rest
        return self._feed_body(data)

    def feed_eof(self) -> HandshakeResponse:
        """The connection closed: return the response as received so far.

        Raises:
            HandshakeError: The header block had not been received in full.
        """
        if self._response is None:
            raise HandshakeError("handshake failed: connection closed during handshake")
        if not self._done:
            self._finish()
        return self._response

    def _finish(self) -> HandshakeResponse:
        assert self._response is not None
        self._done = True
        self._response.body = bytes(self._body[:MAX_BODY_BYTES])
        self._body.clear()
        self._buf.clear()
        return self._response

    def _parse_head(self, head: bytes) -> HandshakeResponse:
        text = head.decode("latin-1")
        status_line, *header_lines = text.split("\r\n")
        version, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise HandshakeError(f"handshake failed: malformed status line {status_line[:80]!r}")
        status = int(code)
        headers: dict[str, str] = {}
        set_cookies: list[str] = []
        last = ""
        for line in header_lines:
            if line[:1] in (" ", "\t") and last:
                # Obsolete line folding (RFC 7230 section 3.2.4): a continuation of the last value.
                headers[last] = f"{headers[last]} {line.strip()}"
                continue
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise HandshakeError(f"handshake failed: malformed header line {line[:80]!r}")
            last = canonical_header_name(name)
            value = value.strip(" \t")
            headers[last] = f"{headers[last]}, {value}" if last in headers else value
            if last == "Set-Cookie":
                set_cookies.append(value)
        response = HandshakeResponse(status, reason, headers, set_cookies=set_cookies)
        if status == 101 or status < 200 or status in (204, 304):
            self._mode = _NO_BODY
        elif "chunked" in headers.get("Transfer-Encoding", "").lower():
            self._mode = _CHUNKED
        elif "Content-Length" in headers:
            length = headers["Content-Length"].split(",")[0].strip()
            if not length.isdigit():
                raise HandshakeError(
                    f"handshake failed: invalid Content-Length {length[:40]!r}", status, response
                )
            self._remaining = min(int(length), MAX_BODY_BYTES)
            self._mode = _LENGTH if self._remaining else _NO_BODY
        else:
            self._mode = _TO_EOF
        return response

    def _feed_body(self, data: bytes) -> HandshakeResponse | None:
        mode = self._mode
        if mode == _LENGTH:
            self._body += data[: self._remaining]
            self._remaining -= min(len(data), self._remaining)
            return self._finish() if self._remaining == 0 else None
        if mode == _TO_EOF:
            self._body += data
            return self._finish() if len(self._body) >= MAX_BODY_BYTES else None
        self._buf += data
        return self._decode_chunks()

    def _decode_chunks(self) -> HandshakeResponse | None:
        buf = self._buf
        pos = 0
        while True:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                if len(buf) - pos > _MAX_CHUNK_LINE:  # an endless chunk-size line
                    raise self._chunk_error(bytes(buf[pos : pos + 20]))
                break
            size_text = bytes(buf[pos:line_end]).split(b";")[0].strip()
            try:
                # int() alone would take "-5", "+5", "0x5" and "1_0": only hex digits are valid.
                if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
                    raise ValueError(size_text)
                size = int(size_text, 16)
            except ValueError:
                raise self._chunk_error(size_text) from None
            if size == 0:  # last chunk; trailers are not needed
                return self._finish()
            data_start = line_end + 2
            if len(buf) < data_start + size + 2:
                # An incomplete chunk is buffered only up to what the body can still take:
                # a huge declared size must not make the buffer grow without bound.
                room = MAX_BODY_BYTES - len(self._body)
                if size >= room and len(buf) - data_start >= room:
                    self._body += buf[data_start : data_start + room]
                    return self._finish()
                break
            self._body += buf[data_start : data_start + size]
            pos = data_start + size + 2
            if len(self._body) >= MAX_BODY_BYTES:
                return self._finish()
        del buf[:pos]  # keep only the incomplete chunk
        return None

    def _chunk_error(self, size_text: bytes) -> HandshakeError:
        response = self._response
        assert response is not None  # the body comes after the headers
        problem = f"invalid chunk size {size_text[:20]!r}"
        return HandshakeError(f"handshake failed: {problem}", response.status, response)


def _tokens(value: str | None) -> list[str]:
    if not value:
        return []
    return [token.strip().lower() for token in value.split(",") if token.strip()]


class Negotiated:
    """What a valid 101 settled, as returned by :func:`negotiate`.

    Attributes:
        subprotocol: The subprotocol the server selected, or None.
        deflate: The ``permessage-deflate`` parameters the server accepted, or None when it
            declined (or it was not offered): the connection is then uncompressed.
    """

    __slots__ = ("deflate", "subprotocol")

    def __init__(self, subprotocol: str | None, deflate: DeflateParams | None = None) -> None:
        self.subprotocol: str | None = subprotocol
        self.deflate: DeflateParams | None = deflate

    def __repr__(self) -> str:
        return f"Negotiated(subprotocol={self.subprotocol!r}, deflate={self.deflate!r})"


def validate_response(
    response: HandshakeResponse,
    *,
    key: str,
    subprotocols: Sequence[str],
    extensions: Sequence[str | DeflateOffer] = (),
) -> str | None:
    """Check that ``response`` accepts the upgrade requested with ``key``.

    The same checks as :func:`negotiate`, returning only the subprotocol.

    Returns:
        The subprotocol the server selected, or None.

    Raises:
        HandshakeError: As :func:`negotiate`.
    """
    return negotiate(
        response, key=key, subprotocols=subprotocols, extensions=extensions
    ).subprotocol


def negotiate(
    response: HandshakeResponse,
    *,
    key: str,
    subprotocols: Sequence[str],
    extensions: Sequence[str | DeflateOffer] = (),
) -> Negotiated:
    """Check that ``response`` accepts the upgrade requested with ``key``; say what it settled.

    Args:
        response: The parsed response.
        key: The ``Sec-WebSocket-Key`` that was sent.
        subprotocols: The subprotocols offered (those of a user ``Sec-WebSocket-Protocol``
            header too), to check the server's choice against.
        extensions: The extensions offered to :func:`build_request`; the server's
            ``permessage-deflate`` answer must fit one of them (RFC 7692 section 7.1).

    Returns:
        The selected subprotocol and the accepted ``permessage-deflate`` parameters.

    Raises:
        HandshakeError: A status other than 101, a missing or wrong ``Upgrade``,
            ``Connection`` or ``Sec-WebSocket-Accept``, an extension that was not offered
            (or offered once and accepted twice), invalid ``permessage-deflate`` parameters
            or ones that fit no offer, or a subprotocol that was not offered.
    """
    status = response.status

    def fail(problem: str) -> HandshakeError:
        return HandshakeError(f"handshake failed: {problem}", status, response)

    if status != 101:
        reason = response.reason
        if not reason:
            try:
                reason = HTTPStatus(status).phrase
            except ValueError:
                reason = ""
        message = f"handshake refused: HTTP {status} {reason}".rstrip()
        raise HandshakeError(message, status, response)
    if "websocket" not in _tokens(response.header("Upgrade")):
        raise fail(f"Upgrade header is {response.header('Upgrade')!r}, expected 'websocket'")
    if "upgrade" not in _tokens(response.header("Connection")):
        raise fail(f"Connection header is {response.header('Connection')!r}, expected 'Upgrade'")
    accept = response.header("Sec-WebSocket-Accept")
    if accept is None:
        raise fail("missing Sec-WebSocket-Accept")
    if accept.strip() != accept_key(key):
        raise fail("Sec-WebSocket-Accept mismatch")
    deflate: DeflateParams | None = None
    accepted = response.header("Sec-WebSocket-Extensions")
    if accepted is not None:
        try:
            deflate = accept_response(accepted, offers_of(extensions))
        except ValueError as exc:
            raise fail(str(exc)) from None
    selected = response.header("Sec-WebSocket-Protocol")
    if selected is not None:
        selected = selected.strip()
        if selected not in subprotocols:
            offered = ", ".join(subprotocols) or "none"
            raise fail(f"server selected subprotocol {selected!r}, offered: {offered}")
    return Negotiated(selected, deflate)
