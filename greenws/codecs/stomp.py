"""STOMP 1.2 frames (https://stomp.github.io/stomp-specification-1.2.html), sans-I/O.

A frame is a command line, ``name:value`` header lines, a blank line, a body and a NUL octet;
end-of-lines between frames are heart-beats. Over WebSocket a server usually sends one frame
per message, but nothing in the specification promises it (a frame may be split, several may
share a message, a heart-beat is a message of its own), so :class:`FrameParser` is a stream
parser: feed it whatever arrived, take whole frames out.

Escaping (1.2 section "Value Encoding") applies to every frame's headers except CONNECT and
CONNECTED, whose values a 1.0 server could not unescape; an undefined escape is an error, as
the specification says. A body that holds NUL octets needs ``content-length`` (the receiver
would cut it at the first NUL otherwise), so :func:`encode_frame` always writes one for a
non-empty body, which the specification recommends anyway.

Plain values in and out: bytes, strings and tuples; no sockets, no clocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "NO_ESCAPE_COMMANDS",
    "Frame",
    "FrameError",
    "FrameParser",
    "encode_frame",
    "escape",
    "format_heartbeat",
    "negotiate_heartbeat",
    "parse_heartbeat",
    "unescape",
]

#: Frames whose header values are not escaped (for compatibility with STOMP 1.0).
NO_ESCAPE_COMMANDS = frozenset({"CONNECT", "CONNECTED"})
#: A frame's head (command and headers) larger than this is refused, so a server that never
#: sends the blank line cannot make the parser buffer without end.
MAX_HEAD = 64 * 1024
#: A content-length larger than this is refused (the buffer would hold it whole).
MAX_BODY = 64 * 1024 * 1024

_ESCAPES = {"\\": "\\\\", "\r": "\\r", "\n": "\\n", ":": "\\c"}
_UNESCAPES = {"\\": "\\", "r": "\r", "n": "\n", "c": ":"}


class FrameError(ValueError):
    """Bytes that are not a STOMP frame: the message says what is wrong, in one line."""


@dataclass(frozen=True)
class Frame:
    """One frame: its command, its headers (the first of a repeated name wins, as 1.2 says),
    and its body as bytes."""

    command: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def get(self, name: str, default: str | None = None) -> str | None:
        """A header's value, or ``default``."""
        return self.headers.get(name, default)


def escape(value: str) -> str:
    """A header name or value as 1.2 writes it: backslash, CR, LF and colon escaped."""
    if not any(char in value for char in _ESCAPES):
        return value
    return "".join(_ESCAPES.get(char, char) for char in value)


def unescape(value: str) -> str:
    """The inverse of :func:`escape`; an undefined escape (``\\t``, a final ``\\``) is a
    :class:`FrameError`."""
    if "\\" not in value:
        return value
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        following = next(chars, "")
        decoded = _UNESCAPES.get(following)
        if decoded is None:
            raise FrameError(f"undefined escape sequence {char + following!r} in {value!r}")
        out.append(decoded)
    return "".join(out)


def encode_frame(
    command: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    body: bytes | str = b"",
) -> bytes:
    """A whole frame as bytes, NUL included; ``content-length`` is added for a non-empty body
    unless the headers already hold one (then it must be right)."""
    if not command or not command.isalpha() or not command.isupper():
        raise ValueError(f"a STOMP command is upper-case letters, not {command!r}")
    payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
    raw = command in NO_ESCAPE_COMMANDS
    lines = [command]
    has_length = False
    for name, value in pairs:
        name, value = str(name), str(value)
        if name == "content-length":
            if value != str(len(payload)):
                raise ValueError(f"content-length {value} but the body has {len(payload)} octets")
            has_length = True
        if raw:
            if any(char in name + value for char in "\r\n") or ":" in name:
                raise ValueError(f"{command} headers cannot hold CR, LF or ':' in {name!r}")
            lines.append(f"{name}:{value}")
        else:
            lines.append(f"{escape(name)}:{escape(value)}")
    if payload and not has_length:
        lines.append(f"content-length:{len(payload)}")
    head = "\n".join(lines) + "\n\n"
    return head.encode("utf-8") + payload + b"\x00"


class FrameParser:
    """Frames out of a stream of bytes: :meth:`feed` returns the frames it completed.

    ``heartbeats`` counts the end-of-lines seen between frames (the server's heart-beats).
    """

    __slots__ = ("_buffer", "heartbeats")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.heartbeats = 0

    @property
    def pending(self) -> int:
        """Octets of an unfinished frame held in the buffer."""
        return len(self._buffer)

    def feed(self, data: bytes | str) -> list[Frame]:
        """Take ``data`` (a WebSocket message's payload; text is UTF-8) and return every frame
        it completed, in order.

        Raises:
            FrameError: the stream is not STOMP; the parser is then unusable.
        """
        buffer = self._buffer
        buffer += data.encode("utf-8") if isinstance(data, str) else data
        frames: list[Frame] = []
        while True:
            start = 0
            while start < len(buffer) and buffer[start] in (0x0A, 0x0D):  # heart-beats
                if buffer[start] == 0x0A:
                    self.heartbeats += 1
                start += 1
            if start:
                del buffer[:start]
            frame = self._take_frame(buffer)
            if frame is None:
                return frames
            frames.append(frame)

    def _take_frame(self, buffer: bytearray) -> Frame | None:
        end = buffer.find(b"\n\n")
        crlf = buffer.find(b"\n\r\n")
        if crlf != -1 and (end == -1 or crlf < end):
            end, body_start = crlf, crlf + 3
        else:
            body_start = end + 2
        if end == -1:
            if len(buffer) > MAX_HEAD:
                raise FrameError(f"no end of headers in the first {MAX_HEAD} octets")
            return None
        command, headers = _parse_head(bytes(buffer[:end]))
        length_text = headers.get("content-length")
        if length_text is not None:
            if not length_text.isdigit():
                raise FrameError(f"content-length {length_text!r} is not a number")
            length = int(length_text)
            if length > MAX_BODY:
                raise FrameError(f"content-length {length} is over the limit of {MAX_BODY}")
            if len(buffer) < body_start + length + 1:
                return None
            if buffer[body_start + length] != 0:
                raise FrameError(f"{command}: no NUL after the {length} octets of content-length")
            body = bytes(buffer[body_start : body_start + length])
            del buffer[: body_start + length + 1]
        else:
            nul = buffer.find(b"\x00", body_start)
            if nul == -1:
                if len(buffer) - body_start > MAX_BODY:
                    raise FrameError(f"{command}: no NUL in the first {MAX_BODY} octets of body")
                return None
            body = bytes(buffer[body_start:nul])
            del buffer[: nul + 1]
        return Frame(command, headers, body)


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FrameError(f"frame headers are not UTF-8: {error}") from None
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    command = lines[0]
    if not command.isalpha() or not command.isupper():
        raise FrameError(f"not a STOMP command: {command[:40]!r}")
    decode = (lambda value: value) if command in NO_ESCAPE_COMMANDS else unescape
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise FrameError(f"{command}: a header line without ':': {line[:80]!r}")
        name = decode(name)
        if name not in headers:  # 1.2: the first of a repeated header is the one that counts
            headers[name] = decode(value)
    return command, headers


def parse_heartbeat(value: str | None) -> tuple[int, int]:
    """The ``heart-beat`` header ``"cx,cy"`` as two milliseconds; absent means ``(0, 0)``."""
    if value is None or value == "":
        return (0, 0)
    first, comma, second = value.partition(",")
    if not comma or not first.strip().isdigit() or not second.strip().isdigit():
        raise FrameError(f"heart-beat must be two non-negative integers 'x,y', not {value!r}")
    return (int(first), int(second))


def format_heartbeat(heartbeat: tuple[int, int]) -> str:
    """``(cx, cy)`` as the header writes it."""
    send, receive = heartbeat
    if send < 0 or receive < 0:
        raise ValueError(f"heart-beat intervals cannot be negative: {heartbeat}")
    return f"{int(send)},{int(receive)}"


def negotiate_heartbeat(client: tuple[int, int], server: tuple[int, int]) -> tuple[int, int]:
    """What was agreed, as (client sends every, client expects every) milliseconds, 0 for
    never: each side's "can" against the other's "wants", the larger of the two, as 1.2's
    "Heart-beating" section says."""
    cx, cy = client
    sx, sy = server
    send = 0 if cx == 0 or sy == 0 else max(cx, sy)
    expect = 0 if sx == 0 or cy == 0 else max(sx, cy)
    return (send, expect)
