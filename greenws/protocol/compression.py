"""Per-message compression, ``permessage-deflate`` (RFC 7692), sans I/O.

Negotiation happens in the handshake: the client sends one or more :class:`DeflateOffer`
(``permessage-deflate; client_max_window_bits`` by default; :func:`parse_offers` reads what a
script asks for), and :func:`accept_response` checks the server's answer against them and
settles the :class:`DeflateParams` both sides use. :class:`PerMessageDeflate` then compresses
what the client sends and inflates what it receives, one object per connection. Only
:mod:`zlib` is used.

Inflating is bounded: a message is never inflated past the connection's message size limit, so
a "zip bomb" (a few KiB that inflate to gigabytes) fails the connection with 1009 after
allocating at most that limit, like an uncompressed message that is too big.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import ProtocolError

__all__ = [
    "DeflateOffer",
    "DeflateParams",
    "PerMessageDeflate",
    "accept_response",
    "offers_of",
    "parse_deflate_params",
    "parse_offers",
]

EXTENSION_NAME = "permessage-deflate"
_PARAMETERS = (
    "client_max_window_bits",
    "client_no_context_takeover",
    "server_max_window_bits",
    "server_no_context_takeover",
)
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


def _parse_parameters(parameters: str, *, offer: bool = False) -> dict[str, bool | int]:
    """The parameters present in ``parameters`` (``"; a; b=9"``), checked but not defaulted.

    In an offer ``client_max_window_bits`` may come without a value (RFC 7692 7.1.2.2): it
    then says "the server may limit my window" and is stored as True.
    """
    values: dict[str, bool | int] = {}
    for item in parameters.split(";"):
        item = item.strip()
        if not item:
            continue
        name, equals, raw = item.partition("=")
        name = name.strip().lower()
        value = raw.strip() if equals else None
        if name in values:
            raise ValueError(f"duplicate parameter {name}")
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                raise ValueError(f"{name} takes no value, got {value!r}")
            values[name] = True
        elif name == "client_max_window_bits" and offer and value is None:
            values[name] = True
        elif name in ("server_max_window_bits", "client_max_window_bits"):
            values[name] = _window_bits(name, value)
        else:
            raise ValueError(f"unknown parameter {name!r} (known: {', '.join(_PARAMETERS)})")
    return values


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
    return DeflateParams(**_parse_parameters(parameters))  # type: ignore[arg-type]


class DeflateOffer:
    """One ``permessage-deflate`` offer the client sends (RFC 7692 section 7.1).

    Whatever the server then accepts, :class:`PerMessageDeflate` honours: any window size and
    either context-takeover rule. That is why ``client_max_window_bits`` is offered by default
    (without a value: "the server may limit my window"); it costs nothing and lets a server
    that is short of memory accept.

    Attributes:
        server_no_context_takeover: Ask the server to reset its compressor after every message.
        client_no_context_takeover: Tell the server we reset ours after every message (we then
            do, whatever the answer says).
        server_max_window_bits: Ask the server to use at most this window (8..15), or None.
        client_max_window_bits: True to let the server limit our window, a number (8..15) to
            limit it ourselves, False to leave the parameter out.
    """

    __slots__ = _PARAMETERS

    def __init__(
        self,
        *,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: int | None = None,
        client_max_window_bits: int | bool = True,
    ) -> None:
        for name, bits in (
            ("server_max_window_bits", server_max_window_bits),
            ("client_max_window_bits", client_max_window_bits),
        ):
            if isinstance(bits, int) and not isinstance(bits, bool) and not 8 <= bits <= 15:
                raise ValueError(f"{name} must be 8..15, not {bits}")
        self.server_no_context_takeover: bool = server_no_context_takeover
        self.client_no_context_takeover: bool = client_no_context_takeover
        self.server_max_window_bits: int | None = server_max_window_bits
        self.client_max_window_bits: int | bool = client_max_window_bits

    def header(self) -> str:
        """This offer as an element of ``Sec-WebSocket-Extensions``."""
        parts = [EXTENSION_NAME]
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self.server_max_window_bits is not None:
            parts.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.client_max_window_bits is True:
            parts.append("client_max_window_bits")
        elif self.client_max_window_bits:
            parts.append(f"client_max_window_bits={self.client_max_window_bits}")
        return "; ".join(parts)

    def settle(self, answer: dict[str, bool | int]) -> DeflateParams:
        """The parameters to use when the server answered this offer with ``answer``.

        Raises:
            ValueError: The answer is not a valid acceptance of this offer (RFC 7692 7.1):
                it drops ``server_no_context_takeover`` or ``server_max_window_bits`` that
                were asked for, raises a window past the offer, or sets
                ``client_max_window_bits`` that was not offered.
        """
        if self.server_no_context_takeover and "server_no_context_takeover" not in answer:
            raise ValueError("server_no_context_takeover was offered but not accepted")
        server_bits = answer.get("server_max_window_bits")
        if self.server_max_window_bits is not None:
            if server_bits is None:
                raise ValueError("server_max_window_bits was offered but not accepted")
            if server_bits > self.server_max_window_bits:
                raise ValueError(
                    f"server_max_window_bits={server_bits} exceeds the offered "
                    f"{self.server_max_window_bits}"
                )
        client_bits = answer.get("client_max_window_bits")
        offered = self.client_max_window_bits
        if client_bits is not None:
            if offered is False:
                raise ValueError("client_max_window_bits was not offered")
            if offered is not True and client_bits > offered:
                raise ValueError(
                    f"client_max_window_bits={client_bits} exceeds the offered {offered}"
                )
        elif offered is not True and offered is not False:
            client_bits = offered  # we said we would stay within it
        return DeflateParams(
            server_no_context_takeover=bool(answer.get("server_no_context_takeover")),
            # Offering it is a promise to reset, answered or not (RFC 7692 7.1.1.2).
            client_no_context_takeover=bool(
                self.client_no_context_takeover or answer.get("client_no_context_takeover")
            ),
            server_max_window_bits=int(server_bits or 15),
            client_max_window_bits=int(client_bits or 15),
        )

    def _key(self) -> tuple[bool, bool, int | None, int | bool]:
        return (
            self.server_no_context_takeover,
            self.client_no_context_takeover,
            self.server_max_window_bits,
            self.client_max_window_bits,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeflateOffer):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # compared, not hashed

    def __repr__(self) -> str:
        return f"DeflateOffer({self.header()!r})"


_NAMES = ("deflate", EXTENSION_NAME)


def _offer_from_text(text: str) -> DeflateOffer:
    name, _, parameters = text.partition(";")
    if name.strip() not in _NAMES:
        raise ValueError(f"unsupported compression {name.strip()!r} (the only one is 'deflate')")
    return DeflateOffer(**_parse_parameters(parameters, offer=True))  # type: ignore[arg-type]


def _offer_from_mapping(mapping: Mapping[str, object]) -> DeflateOffer:
    values: dict[str, Any] = {}
    for name, value in mapping.items():
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            ok, kind = isinstance(value, bool), "True or False"
        elif name == "server_max_window_bits":
            ok, kind = is_int or value is None, "8..15"
        elif name == "client_max_window_bits":
            ok, kind = is_int or isinstance(value, bool), "True, False or 8..15"
        else:
            raise ValueError(f"unknown parameter {name!r} (known: {', '.join(_PARAMETERS)})")
        if not ok:
            raise ValueError(f"{name} must be {kind}, not {value!r}")
        values[name] = value
    return DeflateOffer(**values)


def parse_offers(value: object) -> tuple[DeflateOffer, ...]:
    """Read a script's ``compression`` param into the offers to send, in order of preference.

    Accepted forms (k6's only value is ``"deflate"``; the rest are greenws's):

    - falsy (None, ``""``, False): no compression;
    - ``"deflate"``: the default offer, ``permessage-deflate; client_max_window_bits``;
    - ``"deflate; server_no_context_takeover; server_max_window_bits=10"``: RFC 7692 parameters
      after the name (``permessage-deflate`` is accepted as the name too); several offers are
      separated by commas, the server picks one;
    - a dict such as ``{"server_no_context_takeover": True, "client_max_window_bits": 9}``;
    - a list of such strings and dicts: several offers.

    ``client_max_window_bits`` is offered (without a value) unless a number or False is given.

    Raises:
        ValueError: Anything else, with a one-line reason.
    """
    if not value:
        return ()
    try:
        if isinstance(value, str):
            return tuple(_offer_from_text(text) for text in value.split(","))
        if isinstance(value, Mapping):
            return (_offer_from_mapping(value),)
    except ValueError as exc:
        if str(exc).startswith("unsupported"):
            raise
        raise ValueError(f"invalid compression {value!r}: {exc}") from None
    if isinstance(value, (list, tuple)):
        offers: list[DeflateOffer] = []
        for item in value:
            if isinstance(item, (str, Mapping)) and item:
                offers.extend(parse_offers(item))
            else:
                raise ValueError(f"unsupported compression {item!r} (the only one is 'deflate')")
        return tuple(offers)
    raise ValueError(f"unsupported compression {value!r} (the only one is 'deflate')")


def offers_of(extensions: Sequence[str | DeflateOffer]) -> tuple[DeflateOffer, ...]:
    """The offers ``extensions`` stands for: ``"permessage-deflate"`` is the default offer."""
    offers = []
    for extension in extensions:
        if isinstance(extension, DeflateOffer):
            offers.append(extension)
        elif extension == EXTENSION_NAME:
            offers.append(DeflateOffer())
        else:
            raise ValueError(f"unsupported extension {extension!r} (supported: {EXTENSION_NAME})")
    return tuple(offers)


def accept_response(header: str, offers: Sequence[DeflateOffer]) -> DeflateParams | None:
    """Check a server's ``Sec-WebSocket-Extensions`` answer against ``offers``.

    Args:
        header: The response header's value.
        offers: What was offered (maybe nothing).

    Returns:
        The parameters to compress and inflate with; None for an empty header (declined).

    Raises:
        ValueError: Nothing was offered, another extension was selected, ``permessage-deflate``
            was accepted twice or with invalid parameters, or the answer fits none of the offers.
    """
    answer: dict[str, bool | int] | None = None
    for item in header.split(","):
        name, _, parameters = item.partition(";")
        name = name.strip().lower()
        if not name and not parameters.strip():
            continue  # an empty list element, allowed by the #rule
        if not offers:
            raise ValueError(f"server selected extensions that were not offered: {header[:80]}")
        if name != EXTENSION_NAME:
            raise ValueError(f"server selected extension {name[:40]!r}, offered: {EXTENSION_NAME}")
        if answer is not None:
            raise ValueError(f"server accepted {EXTENSION_NAME} twice")
        try:
            answer = _parse_parameters(parameters)
        except ValueError as exc:
            raise ValueError(f"invalid {EXTENSION_NAME} response: {exc}") from None
    if answer is None:
        return None
    problem = ""
    for offer in offers:  # the server accepted one of them; any that fits is as good
        try:
            return offer.settle(answer)
        except ValueError as exc:
            problem = problem or str(exc)
    raise ValueError(f"invalid {EXTENSION_NAME} response: {problem}")


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
