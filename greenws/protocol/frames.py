"""RFC 6455 frames: masking, serialisation and an incremental parser.

Everything here is pure: bytes in, frames or bytes out. The parser is written for a load
tool's hot path: it parses straight out of the caller's ``bytes`` when nothing is pending
(no copy into a buffer), keeps a partial frame in one ``bytearray`` with a read offset (so a
1 MiB message arriving in 64 KiB chunks is appended, never re-copied per chunk), and hands
frames to :class:`~greenws.protocol.client.ClientProtocol` as plain tuples so no object is
built per frame on the way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import IntEnum
from typing import TypeAlias

from .errors import ProtocolError

__all__ = [
    "Frame",
    "FrameParser",
    "Opcode",
    "RawFrame",
    "apply_mask",
    "apply_mask_python",
    "apply_mask_speedup",
    "serialize_frame",
]

Buffer: TypeAlias = bytes | bytearray | memoryview


class Opcode(IntEnum):
    """Frame opcodes defined by RFC 6455 section 5.2; every other value is invalid."""

    CONT = 0
    TEXT = 1
    BINARY = 2
    CLOSE = 8
    PING = 9
    PONG = 10


RawFrame: TypeAlias = tuple[int, bytes, bool, bool]
"""``(opcode, payload, fin, rsv1)``: what :meth:`FrameParser.feed_raw` appends.

A tuple rather than a :class:`Frame` because building a slotted object per frame costs
several times more than a tuple, and the client consumes each one immediately.
"""

# Payloads at least this long are copied out of the receive buffer through a memoryview,
# which saves the second copy that slicing a bytearray then converting to bytes would make;
# below it, that view costs more than the copy it saves.
_VIEW_COPY_MIN = 16 * 1024


def apply_mask_python(data: Buffer, mask: bytes) -> bytes:
    """XOR ``data`` with the repeated 4-byte ``mask`` (RFC 6455 section 5.3), in pure Python.

    Turning both operands into one big integer lets CPython XOR whole machine words in C,
    which is far faster than a per-byte loop for large payloads.

    Args:
        data: The payload to mask or unmask (masking is its own inverse).
        mask: Exactly 4 bytes.

    Returns:
        The masked payload.

    Raises:
        ValueError: If ``mask`` is not 4 bytes long.
    """
    if len(mask) != 4:
        raise ValueError("mask must be 4 bytes")
    size = len(data)
    if not size:
        return b""
    repeated = (mask * ((size + 3) >> 2))[:size]
    value = int.from_bytes(data, "little") ^ int.from_bytes(repeated, "little")
    return value.to_bytes(size, "little")


def _load_speedup() -> Callable[[Buffer, bytes], bytes] | None:
    """Find ``websockets.speedups.apply_mask`` without importing the ``websockets`` package.

    Importing ``websockets`` runs its ``__init__``, which imports ``importlib.metadata`` and
    through it ``email`` and ``socket``. The protocol core must not import ``socket`` (it
    could happen before gevent's monkey-patching, and it breaks the purity guarantee), so
    the compiled extension is loaded from its file directly. Any failure means "no speedup".
    """
    loaded = sys.modules.get("websockets.speedups")
    if loaded is not None:
        function: Callable[[Buffer, bytes], bytes] = loaded.apply_mask
        return function
    try:
        import importlib.machinery
        import importlib.util

        # find_spec on a top-level name locates the package without executing it.
        package = importlib.util.find_spec("websockets")
        if package is None or not package.submodule_search_locations:
            return None
        loader_details = (
            importlib.machinery.ExtensionFileLoader,
            importlib.machinery.EXTENSION_SUFFIXES,
        )
        for directory in package.submodule_search_locations:
            finder = importlib.machinery.FileFinder(directory, loader_details)
            spec = finder.find_spec("websockets.speedups")
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            # Single-phase extension modules register themselves in sys.modules; drop the
            # entry so a later real `import websockets` is not left with an orphan child.
            if sys.modules.get("websockets.speedups") is module:
                del sys.modules["websockets.speedups"]
            function = module.apply_mask
            return function
    except Exception:  # any ImportError, OSError or odd packaging: use the fallback
        return None
    return None


apply_mask_speedup: Callable[[Buffer, bytes], bytes] | None = _load_speedup()
"""The C implementation from ``websockets``, or None when it is not installed."""

apply_mask: Callable[[Buffer, bytes], bytes] = apply_mask_speedup or apply_mask_python
"""Mask or unmask a payload with a 4-byte key: the C speedup when available."""


def serialize_frame(
    opcode: int,
    payload: Buffer,
    *,
    fin: bool = True,
    mask: bytes | None = None,
    rsv1: bool = False,
) -> bytes:
    """Encode one frame.

    Args:
        opcode: One of :class:`Opcode`.
        payload: The unmasked payload.
        fin: False for every fragment of a message but the last.
        mask: None for an unmasked frame (what a server sends), or the 4-byte masking key a
            client must use for every frame it sends.
        rsv1: Set the RSV1 bit (reserved for per-message compression).

    Returns:
        The frame's bytes, ready to write.

    Raises:
        ValueError: For a control frame payload over 125 bytes or a mask that is not 4 bytes.
    """
    size = len(payload)
    first = opcode | (0x80 if fin else 0) | (0x40 if rsv1 else 0)
    mask_bit = 0 if mask is None else 0x80
    if size < 126:
        header = bytes((first, mask_bit | size))
    elif opcode >= 8:
        raise ValueError(f"control frame payload too long ({size} bytes, limit 125)")
    elif size < 0x10000:
        header = bytes((first, mask_bit | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((first, mask_bit | 127)) + size.to_bytes(8, "big")
    if mask is None:
        return b"".join((header, payload))
    if len(mask) != 4:
        raise ValueError("mask must be 4 bytes")
    return b"".join((header, mask, apply_mask(payload, mask)))


class Frame:
    """One parsed frame, as returned by :meth:`FrameParser.feed`.

    Attributes:
        opcode: The frame's :class:`Opcode`.
        payload: The unmasked payload.
        fin: True on the last (or only) frame of a message.
        rsv1: The RSV1 bit (only ever True when the parser allows it).
    """

    __slots__ = ("fin", "opcode", "payload", "rsv1")

    def __init__(self, opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False) -> None:
        self.opcode: Opcode = Opcode(opcode)
        self.payload: bytes = payload
        self.fin: bool = fin
        self.rsv1: bool = rsv1

    def __repr__(self) -> str:
        extra = "" if self.fin else ", fin=False"
        if self.rsv1:
            extra += ", rsv1=True"
        return f"Frame({self.opcode.name}, {self.payload!r}{extra})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return (self.opcode, self.payload, self.fin, self.rsv1) == (
            other.opcode,
            other.payload,
            other.fin,
            other.rsv1,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable value object


class FrameParser:
    """Incremental frame parser: feed it bytes as they arrive, get back complete frames.

    Every check that needs only a frame's header runs as soon as that header has arrived,
    so a too-big message is refused (1009) before its payload is buffered.

    Args:
        max_size: Largest data message accepted, in bytes, summed over its fragments;
            None for no limit. Checked against each header so it also bounds the buffer.
        expect_masked: True to parse what a client sends (a server, or tests); a client
            parses unmasked frames and must reject masked ones.

    Attributes:
        allow_rsv1: Accept the RSV1 bit; False until an extension such as per-message
            compression is negotiated.
    """

    __slots__ = ("_buf", "_message_size", "_pos", "allow_rsv1", "expect_masked", "max_size")

    def __init__(self, *, max_size: int | None, expect_masked: bool = False) -> None:
        self.max_size: int | None = max_size
        self.expect_masked: bool = expect_masked
        self.allow_rsv1: bool = False
        # Bytes of an incomplete frame; `_pos` is where unparsed data starts in it.
        self._buf = bytearray()
        self._pos = 0
        # Payload bytes seen so far in the current fragmented data message.
        self._message_size = 0

    @property
    def buffered(self) -> int:
        """How many received bytes wait for the rest of their frame."""
        return len(self._buf) - self._pos

    def feed(self, data: Buffer) -> list[Frame]:
        """Parse ``data`` and return every frame it completes.

        Args:
            data: Bytes received from the peer, any chunking.

        Returns:
            The completed frames, in order; an incomplete tail is kept for the next call.

        Raises:
            ProtocolError: The peer violated RFC 6455; frames parsed before the offending one
                in the same call are lost (use :meth:`feed_raw` to keep them). The parser
                must not be fed again.
        """
        raw: list[RawFrame] = []
        self.feed_raw(data, raw)
        return [Frame(opcode, payload, fin, rsv1) for opcode, payload, fin, rsv1 in raw]

    def feed_raw(self, data: Buffer, out: list[RawFrame]) -> None:
        """Parse ``data``, appending each completed frame to ``out`` as a :data:`RawFrame`.

        Appending to the caller's list means the frames that precede a violation are still
        there when :class:`ProtocolError` propagates, so their events can be delivered.

        Raises:
            ProtocolError: As :meth:`feed`.
        """
        buf = self._buf
        if self._pos < len(buf):
            buf += data
            src: Buffer = buf
            pos = self._pos
        else:
            # Nothing pending: parse the caller's bytes in place, copying only a leftover tail.
            src = data
            pos = 0
        pos = self._parse(src, pos, out)
        end = len(src)
        if src is buf:
            if pos == end:
                buf.clear()
                self._pos = 0
            elif pos > end - pos:
                # Dropping the consumed prefix copies at most as many bytes as were consumed,
                # so compaction stays linear over the stream.
                del buf[:pos]
                self._pos = 0
            else:
                self._pos = pos
        elif pos < end:
            buf.clear()
            buf += memoryview(data)[pos:]
            self._pos = 0

    def _parse(self, src: Buffer, pos: int, out: list[RawFrame]) -> int:
        """Parse complete frames of ``src`` from ``pos``; return where parsing stopped."""
        end = len(src)
        max_size = self.max_size
        expect_masked = self.expect_masked
        src_is_bytes = type(src) is bytes
        while end - pos >= 2:
            first = src[pos]
            second = src[pos + 1]
            if first & 0x70 and (first & 0x30 or not self.allow_rsv1):
                raise ProtocolError(f"reserved bits set (0x{first & 0x70:02x})")
            opcode = first & 0x0F
            fin = first & 0x80 != 0
            length = second & 0x7F
            if opcode > 2:
                if opcode < 8 or opcode > 10:
                    raise ProtocolError(f"unknown opcode {opcode}")
                if not fin:
                    raise ProtocolError("fragmented control frame")
                if length > 125:
                    raise ProtocolError("control frame too long (payload over 125 bytes)")
            if (second & 0x80 != 0) is not expect_masked:
                side = "unmasked frame from client" if expect_masked else "masked frame from server"
                raise ProtocolError(side)
            start = pos + 2
            if length == 126:
                if end - pos < 4:
                    break
                length = (src[start] << 8) | src[start + 1]
                start += 2
            elif length == 127:
                if end - pos < 10:
                    break
                length = int.from_bytes(src[start : start + 8], "big")
                if length >> 63:
                    raise ProtocolError("frame length has its most significant bit set")
                start += 8
            total = 0
            if opcode < 8:
                total = length + self._message_size if opcode == 0 else length
                if max_size is not None and total > max_size:
                    raise ProtocolError(
                        f"message too big ({total} bytes, limit {max_size})", code=1009
                    )
            if expect_masked:
                if end - start < 4:
                    break
                mask = bytes(src[start : start + 4])
                start += 4
            stop = start + length
            if stop > end:
                break
            if expect_masked:
                payload = apply_mask(src[start:stop], mask)
            elif src_is_bytes:
                payload = src[start:stop]  # type: ignore[assignment]  # bytes slice is bytes
            elif length < _VIEW_COPY_MIN:
                payload = bytes(src[start:stop])
            else:
                with memoryview(src) as view, view[start:stop] as part:
                    payload = bytes(part)
            if opcode < 8:
                self._message_size = 0 if fin else total
            out.append((opcode, payload, fin, first & 0x40 != 0))
            pos = stop
        return pos
