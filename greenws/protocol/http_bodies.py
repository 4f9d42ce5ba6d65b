"""What goes in and comes out of an HTTP body, as k6 does it. Pure: no sockets, no clock.

- A dict body is a form: ``application/x-www-form-urlencoded``, keys sorted as Go's
  ``url.Values.Encode`` sorts them; with an :class:`HTTPFile` among the values it is
  ``multipart/form-data`` instead (k6's ``http.file``).
- Responses are decoded by their ``Content-Encoding`` (gzip, deflate, and br when the optional
  ``brotli`` package is importable), as k6 does for every response.
- :func:`select_json` is the part of gjson's path syntax k6 scripts use with ``res.json(path)``.
"""

from __future__ import annotations

import functools
import json
import os
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus

__all__ = [
    "HTTPFile",
    "decode_content",
    "encode_body",
    "select_json",
]


class HTTPFile:
    """A file part of a multipart body (k6's ``http.file(data, filename, contentType)``)."""

    __slots__ = ("content_type", "data", "filename")

    def __init__(
        self,
        data: bytes | str,
        filename: str | None = None,
        content_type: str = "application/octet-stream",
    ) -> None:
        self.data = data.encode() if isinstance(data, str) else bytes(data)
        #: k6 names an unnamed file after the time; a fixed name keeps bodies reproducible.
        self.filename = filename or "file"
        self.content_type = content_type or "application/octet-stream"

    def __repr__(self) -> str:
        return f"<HTTPFile {self.filename!r} {len(self.data)} bytes {self.content_type}>"


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # JavaScript's spelling, as k6 sends it
    return str(value)


def encode_body(body: Any) -> tuple[bytes, str | None]:
    """``(bytes, content type or None)`` for a request body as a script passes it.

    ``None`` is no body; ``str`` is sent as UTF-8 and ``bytes`` as is, both without a content
    type (the script's header says what they are); a mapping is a form (see module docstring).
    """
    if body is None:
        return b"", None
    if isinstance(body, str):
        return body.encode("utf-8"), None
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body), None
    if isinstance(body, Mapping):
        if any(isinstance(value, HTTPFile) for value in body.values()):
            return _multipart(body)
        pairs = [
            f"{quote_plus(str(key))}={quote_plus(_form_value(value))}"
            for key, value in sorted(body.items(), key=lambda item: str(item[0]))
        ]
        return "&".join(pairs).encode("ascii"), "application/x-www-form-urlencoded"
    raise TypeError(
        f"http: a body must be str, bytes or a dict of form fields, not {type(body).__name__}"
    )


def _multipart(fields: Mapping[Any, Any]) -> tuple[bytes, str]:
    boundary = os.urandom(16).hex()
    parts: list[bytes] = []
    for key, value in fields.items():
        name = str(key).replace('"', "%22")
        if isinstance(value, HTTPFile):
            filename = value.filename.replace('"', "%22")
            head = (
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {value.content_type}\r\n\r\n"
            )
            data = value.data
        else:
            head = f'Content-Disposition: form-data; name="{name}"\r\n\r\n'
            data = _form_value(value).encode("utf-8")
        parts.append(f"--{boundary}\r\n{head}".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def decode_content(body: bytes, encoding: str) -> bytes:
    """``body`` with its ``Content-Encoding`` undone (several are undone last first).

    Raises ValueError for an encoding greenws cannot undo or a body that does not decode; k6
    reports those as error code 1701.
    """
    for name in reversed([part.strip().lower() for part in encoding.split(",") if part.strip()]):
        if name in ("identity", ""):
            continue
        try:
            if name in ("gzip", "x-gzip"):
                body = zlib.decompress(body, zlib.MAX_WBITS | 16)
            elif name == "deflate":
                try:
                    body = zlib.decompress(body)
                except zlib.error:  # some servers send raw deflate without the zlib header
                    body = zlib.decompress(body, -zlib.MAX_WBITS)
            elif name == "br":
                try:
                    import brotli  # optional: greenws does not depend on it
                except ImportError:
                    raise ValueError("br-encoded response: install brotli to decode it") from None
                body = brotli.decompress(body)
            else:
                raise ValueError(f"unsupported Content-Encoding {name!r}")
        except zlib.error as error:
            raise ValueError(f"{name} decompression failed: {error}") from None
    return body


@functools.cache
def accepted_encodings() -> str:
    """The ``Accept-Encoding`` k6 sends (Go adds gzip), plus deflate and br when decodable.

    Cached: a failed ``import brotli`` searches every path entry, and doing it per request was
    most of a request's CPU (cProfile of ``benchmarks/http_clients.py``).
    """
    try:
        import brotli  # noqa: F401
    except ImportError:
        return "gzip, deflate"
    return "gzip, deflate, br"


_MISSING = object()


def select_json(value: Any, path: str) -> Any:
    """The value at ``path`` in decoded JSON, gjson style, or None when there is none.

    Supported: ``a.b`` (keys), ``items.0.id`` (array indexes), ``items.#`` (an array's length),
    ``items.#.id`` (that key of every element), and ``\\.`` for a dot inside a key.
    """
    parts: list[str] = []
    current = ""
    escaped = False
    for char in path:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    result = _select(value, parts)
    return None if result is _MISSING else result


def _select(value: Any, parts: list[str]) -> Any:
    for index, part in enumerate(parts):
        if isinstance(value, list):
            if part == "#":
                rest = parts[index + 1 :]
                if not rest:
                    return len(value)
                found = [_select(item, rest) for item in value]
                return [item for item in found if item is not _MISSING]
            if not part.isdigit() or int(part) >= len(value):
                return _MISSING
            value = value[int(part)]
        elif isinstance(value, dict):
            if part not in value:
                return _MISSING
            value = value[part]
        else:
            return _MISSING
    return value


def parse_json(text: str | bytes) -> Any:
    """JSON text decoded, with a k6-like error for what is not JSON."""
    try:
        return json.loads(text)
    except ValueError as error:
        raise ValueError(f"cannot parse the response body as JSON: {error}") from None
