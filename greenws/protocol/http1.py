"""HTTP/1.1 for the ``http`` module, sans-I/O: request bytes out, response bytes in.

The network layer (:mod:`greenws.net.http_client`) owns the socket and the clock; this module
only turns a request into bytes and incoming bytes into a response, so every framing rule
(Content-Length, chunked, read-until-close, HEAD, 1xx, 204/304) is tested with plain values.

It is written for the load generator's hot path rather than for generality: one pass over the
header block per response, a ``bytearray`` for the body, no per-byte Python loops. A benchmark
against h11, urllib3 and geventhttpclient decided it (``benchmarks/http_clients.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

from .http_response import canonical_header_name

__all__ = [
    "MAX_HEADER_BYTES",
    "HTTPParseError",
    "HTTPResponseParser",
    "serialize_request",
]

MAX_HEADER_BYTES = 64 * 1024
"""Largest response header block accepted; a bigger one is a broken or hostile server."""
_MAX_CHUNK_LINE = 4096

#: Header names as received -> Go's canonical form: servers send the same dozen names on every
#: response, and canonicalising each afresh was a quarter of a request's client CPU (cProfile).
_CANONICAL: dict[str, str] = {}
_CANONICAL_MAX = 1024

_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)


class HTTPParseError(ValueError):
    """The server sent something that is not HTTP/1.x."""


def serialize_request(
    method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes = b""
) -> bytes:
    """The request line, the headers and the body, ready to send.

    ``headers`` are sent as given, in order (the caller adds ``Host``, ``Content-Length``…);
    a CR or LF in a name or value is refused, as Go's client does, so a script cannot smuggle a
    second request through a header.
    """
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers:
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
            raise ValueError(f"invalid header {name!r}: {value!r}")
        lines.append(f"{name}: {value}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return head + body if body else head


class HTTPResponseParser:
    """One response, fed as it arrives.

    Args:
        head_request: the request was ``HEAD``: the response has no body whatever its headers say.
        keep_body: keep the body's bytes; False for ``responseType: none`` and
            ``discardResponseBodies`` (the bytes are still read and counted, as k6 does).

    After :meth:`feed` returns True, ``status``, ``reason``, ``proto``, ``headers`` (canonical
    names, repeated headers joined with ``", "``), ``set_cookies``, ``body`` and ``keep_alive``
    are final, and ``leftover`` holds bytes past the response (a server that pipelines them).
    """

    __slots__ = (
        "_buffer",
        "_remaining",
        "_state",
        "body",
        "body_bytes",
        "head_request",
        "headers",
        "keep_alive",
        "keep_body",
        "leftover",
        "proto",
        "reason",
        "set_cookies",
        "status",
    )

    def __init__(self, *, head_request: bool = False, keep_body: bool = True) -> None:
        self.head_request = head_request
        self.keep_body = keep_body
        self._state = _HEAD
        self._buffer = bytearray()
        self._remaining = 0
        self.status = 0
        self.reason = ""
        self.proto = ""
        self.headers: dict[str, str] = {}
        self.set_cookies: list[str] = []
        self.body = bytearray()
        #: Body bytes on the wire (before decoding), counted even when not kept.
        self.body_bytes = 0
        self.keep_alive = True
        self.leftover = b""

    @property
    def done(self) -> bool:
        return self._state == _DONE

    @property
    def head_received(self) -> bool:
        """The status line and headers are in (``status`` and ``headers`` are final)."""
        return self._state != _HEAD

    def feed(self, data: bytes) -> bool:
        """Take the next bytes; True when the response is complete."""
        state = self._state
        if state == _LENGTH and not self._buffer:  # the common case: body bytes, no copy
            return self._take_length(data)
        buffer = self._buffer
        buffer += data
        while True:
            state = self._state
            if state == _HEAD:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEADER_BYTES:
                        raise HTTPParseError("response header block too large")
                    return False
                head = bytes(buffer[:end])
                del buffer[: end + 4]
                self._parse_head(head)
            elif state == _LENGTH:
                rest = bytes(buffer)
                buffer.clear()
                return self._take_length(rest)
            elif state == _UNTIL_CLOSE:
                self._keep(buffer)
                buffer.clear()
                return False
            elif state == _CHUNK_SIZE:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > _MAX_CHUNK_LINE:
                        raise HTTPParseError("chunk size line too long")
                    return False
                line = bytes(buffer[:end]).split(b";", 1)[0].strip()
                del buffer[: end + 2]
                self.body_bytes += end + 2
                try:
                    size = int(line, 16)
                except ValueError:
                    raise HTTPParseError(f"bad chunk size {line[:20]!r}") from None
                if size < 0:
                    raise HTTPParseError("negative chunk size")
                self._remaining = size
                self._state = _CHUNK_DATA if size else _TRAILERS
            elif state == _CHUNK_DATA:
                if not buffer:
                    return False
                take = min(self._remaining, len(buffer))
                self._keep(buffer[:take])
                del buffer[:take]
                self._remaining -= take
                if self._remaining:
                    return False
                self._state = _CHUNK_END
            elif state == _CHUNK_END:
                if len(buffer) < 2:
                    return False
                if buffer[:2] != b"\r\n":
                    raise HTTPParseError("chunk not followed by CRLF")
                del buffer[:2]
                self.body_bytes += 2
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEADER_BYTES:
                        raise HTTPParseError("trailers too large")
                    return False
                del buffer[: end + 2]
                self.body_bytes += end + 2
                if end == 0:  # the blank line after the trailers (usually right away)
                    return self._finish()
            else:  # _DONE: anything more belongs to the next response
                self.leftover += bytes(buffer)
                buffer.clear()
                return True

    def feed_eof(self) -> bool:
        """The server closed the connection; True if that completed the response."""
        if self._state == _UNTIL_CLOSE:
            self.keep_alive = False
            self._state = _DONE
            return True
        return self._state == _DONE

    # -- internals ---------------------------------------------------------------------------

    def _keep(self, data: bytes | bytearray) -> None:
        self.body_bytes += len(data)
        if self.keep_body:
            self.body += data

    def _take_length(self, data: bytes) -> bool:
        take = self._remaining
        if len(data) <= take:
            self._keep(data)
            self._remaining -= len(data)
            return self._finish() if not self._remaining else False
        self._keep(data[:take])
        self._remaining = 0
        self.leftover = data[take:]
        return self._finish()

    def _finish(self) -> bool:
        self._state = _DONE
        if self._buffer:
            self.leftover += bytes(self._buffer)
            self._buffer.clear()
        return True

    def _parse_head(self, head: bytes) -> None:
        """Parse the status line and headers, and choose how the body is framed."""
        text = head.decode("latin-1")
        lines = text.split("\r\n")
        status_line = lines[0]
        proto, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        if not proto.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise HTTPParseError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        status = int(code)
        if 100 <= status < 200 and status != 101:
            return  # 100 Continue and friends: the real response follows
        headers = self.headers
        length: int | None = None
        chunked = False
        connection = ""
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise HTTPParseError(f"header line without a colon: {line[:80]!r}")
            value = value.strip()
            key = _CANONICAL.get(name)
            if key is None:
                if len(_CANONICAL) >= _CANONICAL_MAX:
                    _CANONICAL.clear()
                key = _CANONICAL[name] = canonical_header_name(name.strip())
            lower = key.lower()
            if lower == "content-length":
                try:
                    length = int(value)
                except ValueError:
                    raise HTTPParseError(f"bad Content-Length {value[:20]!r}") from None
            elif lower == "transfer-encoding":
                chunked = value.lower().endswith("chunked")
            elif lower == "connection":
                connection = value.lower()
            elif lower == "set-cookie":
                self.set_cookies.append(value)
            previous = headers.get(key)
            headers[key] = value if previous is None else f"{previous}, {value}"
        self.status, self.reason, self.proto = status, reason, proto
        self.keep_alive = (
            "close" not in connection if proto == "HTTP/1.1" else "keep-alive" in connection
        )
        if self.head_request or status in (204, 304):
            self._state = _DONE
        elif chunked:
            self._state = _CHUNK_SIZE
        elif length is not None:
            self._remaining = length
            self._state = _LENGTH if length else _DONE
        else:
            self._state = _UNTIL_CLOSE
            self.keep_alive = False
