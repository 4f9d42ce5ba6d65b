"""The handshake's HTTP response: an incremental parser and the parsed response. Sans-I/O.

Split from :mod:`.handshake`, which builds the request and checks what this module parsed. A
refused handshake (say HTTP 429 with a JSON body) is parsed in full, body included, because a
load test wants to report why it was refused. Response header names are stored in Go's
canonical MIME form (``Sec-Websocket-Accept``), the way k6 exposes them to scripts, so ported
scripts find the same keys.
"""

from __future__ import annotations

from functools import lru_cache

from .errors import HandshakeError

__all__ = ["MAX_BODY_BYTES", "HandshakeResponse", "ResponseParser", "canonical_header_name"]

MAX_HEADER_BYTES = 64 * 1024
"""Largest response header block accepted; a bigger one is a broken or hostile server."""
MAX_BODY_BYTES = 1024 * 1024
"""A refused handshake's body is kept up to this size; the rest is not waited for."""
_MAX_CHUNK_LINE = 4096  # a chunk-size line with extensions; a longer one is hostile


# Cached: a handshake looks up ~8 names, always the same few, at ~1 µs each uncached (churn
# benchmark: parse + negotiate went from 14.4 to 6.9 µs), and each idle session kept its own
# copies of the same three name strings (184 bytes a VU, tracemalloc). Bounded against invented
# names. (It had stayed on handshake.py's user-agent function when this parser moved here.)
@lru_cache(maxsize=1024)
def canonical_header_name(name: str) -> str:
    """Return Go's canonical MIME form of a header name, as k6 shows them to scripts.

    ``sec-websocket-key`` becomes ``Sec-Websocket-Key``: each dash-separated part is
    capitalised and the rest lower-cased.
    """
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


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

    With ``head_only``, the response ends with its header block whatever its status: a proxy's
    answer to ``CONNECT`` is read this way (after a 2xx the tunnel starts; a refusal's body is
    not waited for).

    Attributes:
        leftover: Bytes that followed a 101's header block: frames the server sent at once,
            to be fed to the protocol before anything read later.
    """

    __slots__ = (
        "_body",
        "_buf",
        "_done",
        "_head_only",
        "_mode",
        "_remaining",
        "_response",
        "leftover",
    )

    def __init__(self, *, head_only: bool = False) -> None:
        self._head_only = head_only
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
        if self._response is None and not self._buf:
            # The usual case, a whole header block in the first read: parsed from ``data`` as
            # it is, without first copying it into the buffer and out again.
            end = data.find(b"\r\n\r\n")
            if 0 <= end <= MAX_HEADER_BYTES:
                self._response = self._parse_head(bytes(data[:end]))
                if self._mode == _NO_BODY:
                    self.leftover = bytes(data[end + 4 :])
                    return self._finish()
                return self._feed_body(bytes(data[end + 4 :]))
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
        body = self._body
        if body:
            self._response.body = bytes(body[:MAX_BODY_BYTES])
            body.clear()
        if self._buf:
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
        if self._head_only or status == 101 or status < 200 or status in (204, 304):
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
