"""Per-message compression, ``permessage-deflate`` (RFC 7692), sans I/O.

Negotiation happens in the handshake (:func:`greenws.protocol.handshake.negotiate` offers
``permessage-deflate; client_max_window_bits`` and parses the server's answer into a
:class:`DeflateParams`); :class:`PerMessageDeflate` then compresses what the client sends and
inflates what it receives, one object per connection. Only :mod:`zlib` is used.

Inflating is bounded: a message is never inflated past the connection's message size limit, so
a "zip bomb" (a few KiB that inflate to gigabytes) fails the connection with 1009 after
allocating at most that limit, like an uncompressed message that is too big.
"""

from __future__ import annotations

import zlib

from .errors import ProtocolError

__all__ = ["DeflateParams", "PerMessageDeflate", "parse_deflate_params"]

EXTENSION_NAME = "permessage-deflate"
#: What the client offers: default parameters, and it can honour a client window limit.
DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"
_TAIL = b"\x00\x00\xff\xff"  # the empty stored block a sync flush ends with (RFC 7692 7.2.1)


class DeflateParams:
    """The parameters a server accepted ``permessage-deflate`` with (RFC 7692 section 7.1).

    Attributes:
        server_no_context_takeover: The server resets its compressor after every message.
        client_no_context_takeover: We must reset ours after every message.
        server_max_window_bits: The server's LZ77 window (8..15) bounds what we inflate with.
        client_max_window_bits: Our compressor's window (8..15).
    """

    __slots__ = (
        "client_max_window_bits",
        "client_no_context_takeover",
        "server_max_window_bits",
        "server_no_context_takeover",
    )

    def __init__(
        self,
        *,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: int = 15,
        client_max_window_bits: int = 15,
    ) -> None:
        for name, bits in (
            ("server_max_window_bits", server_max_window_bits),
            ("client_max_window_bits", client_max_window_bits),
        ):
            if not 8 <= bits <= 15:
                raise ValueError(f"{name} must be 8..15, not {bits}")
        self.server_no_context_takeover: bool = server_no_context_takeover
        self.client_no_context_takeover: bool = client_no_context_takeover
        self.server_max_window_bits: int = server_max_window_bits
        self.client_max_window_bits: int = client_max_window_bits

    def _key(self) -> tuple[bool, bool, int, int]:
        return (
            self.server_no_context_takeover,
            self.client_no_context_takeover,
            self.server_max_window_bits,
            self.client_max_window_bits,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeflateParams):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # compared, not hashed

    def __repr__(self) -> str:
        return (
            f"DeflateParams(server_no_context_takeover={self.server_no_context_takeover}, "
            f"client_no_context_takeover={self.client_no_context_takeover}, "
            f"server_max_window_bits={self.server_max_window_bits}, "
            f"client_max_window_bits={self.client_max_window_bits})"
        )


def _window_bits(name: str, value: str | None) -> int:
    # RFC 7692 7.1.2: 1*DIGIT in 8..15 without leading zeros; a quoted-string form is allowed.
    if value is not None and len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if value is None or not value.isascii() or not value.isdigit() or value[0] == "0":
        raise ValueError(f"{name} needs a value 8..15, got {value!r}")
    bits = int(value)
    if not 8 <= bits <= 15:
        raise ValueError(f"{name} must be 8..15, not {bits}")
    return bits


def parse_deflate_params(parameters: str) -> DeflateParams:
    """Parse the parameters of a server's ``permessage-deflate`` answer.

    Args:
        parameters: What follows the extension name, e.g.
            ``"; server_no_context_takeover; client_max_window_bits=10"`` (may be empty).

    Returns:
        The accepted parameters, defaults filled in.

    Raises:
        ValueError: An unknown or repeated parameter, a value where none is allowed, or a
            missing or invalid window size.
    """
    seen: set[str] = set()
    values: dict[str, bool | int] = {}
    for item in parameters.split(";"):
        item = item.strip()
        if not item:
            continue
        name, equals, raw = item.partition("=")
        name = name.strip().lower()
        value = raw.strip() if equals else None
        if name in seen:
            raise ValueError(f"duplicate parameter {name}")
        seen.add(name)
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                raise ValueError(f"{name} takes no value, got {value!r}")
            values[name] = True
        elif name in ("server_max_window_bits", "client_max_window_bits"):
            values[name] = _window_bits(name, value)
        else:
            raise ValueError(f"unknown parameter {name!r}")
    return DeflateParams(**values)  # type: ignore[arg-type]


class PerMessageDeflate:
    """One connection's compressor and decompressor.

    Args:
        params: The negotiated parameters (defaults: 15-bit windows, context takeover).
        level: zlib compression level; 1 is k6's (gorilla/websocket's default), cheap on CPU.
    """

    __slots__ = (
        "_compress_bits",
        "_compressor",
        "_decompressor",
        "_inflated",
        "_level",
        "params",
    )

    def __init__(self, params: DeflateParams | None = None, *, level: int = 1) -> None:
        self.params: DeflateParams = params if params is not None else DeflateParams()
        self._level = level
        # zlib refuses an 8-bit window for raw deflate; a 9-bit one is safe for a peer limited
        # to 8 bits, because zlib never emits a distance over the window size minus 262.
        self._compress_bits = max(9, self.params.client_max_window_bits)
        self._compressor: zlib._Compress | None = None
        self._decompressor: zlib._Decompress | None = None
        self._inflated = 0  # bytes inflated so far of the message being received

    def compress(self, data: bytes | bytearray | memoryview) -> bytes:
        """Return the compressed payload of one whole message (send it with RSV1 set)."""
        compressor = self._compressor
        if compressor is None:
            compressor = zlib.compressobj(self._level, zlib.DEFLATED, -self._compress_bits)
            if not self.params.client_no_context_takeover:
                self._compressor = compressor
        out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return out[:-4] if out.endswith(_TAIL) else out

    def decompress(self, data: bytes, fin: bool, max_size: int | None) -> bytes:
        """Inflate one frame's payload of a compressed message.

        Args:
            data: The frame payload (of the first frame or a continuation).
            fin: True on the message's last frame.
            max_size: Largest inflated message, fragments summed; None for no limit.

        Returns:
            The inflated bytes of this frame.

        Raises:
            ProtocolError: 1009 when the message inflates past ``max_size`` (having
                allocated at most ``max_size + 1`` bytes), 1002 for invalid deflate data.
        """
        decompressor = self._decompressor
        if decompressor is None:
            decompressor = self._decompressor = zlib.decompressobj(
                -self.params.server_max_window_bits
            )
        if fin:
            data = data + _TAIL
        try:
            if max_size is None:
                out = decompressor.decompress(data)
            else:
                budget = max_size - self._inflated
                # Ask for one byte more than allowed: getting it proves the message too big,
                # and zlib stops there instead of inflating the rest.
                out = decompressor.decompress(data, budget + 1)
                if len(out) > budget:
                    self._reset_receiving()
                    raise ProtocolError(
                        f"message too big (inflates past the limit of {max_size} bytes)",
                        code=1009,
                    )
        except zlib.error as exc:
            self._reset_receiving()
            raise ProtocolError(f"invalid compressed data: {exc}") from None
        if fin:
            self._inflated = 0
            if self.params.server_no_context_takeover or decompressor.eof:
                self._decompressor = None
        else:
            self._inflated += len(out)
        return out

    def _reset_receiving(self) -> None:
        self._decompressor = None
        self._inflated = 0
