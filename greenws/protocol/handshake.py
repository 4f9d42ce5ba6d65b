"""The opening handshake (RFC 6455 section 4): build the request, check the reply.

Sans-I/O like the rest of the package: the runtime writes :func:`build_request`'s bytes,
feeds what it reads to a :class:`~greenws.protocol.http_response.ResponseParser` until it
returns a response, then calls :func:`validate_response` (or :func:`negotiate`).
"""

from __future__ import annotations

import hashlib
import os
import sys
from binascii import b2a_base64
from collections.abc import Sequence
from functools import cache
from http import HTTPStatus

from .compression import DeflateOffer, DeflateParams, accept_response, offers_of
from .errors import HandshakeError
from .http_response import HandshakeResponse

__all__ = [
    "Negotiated",
    "accept_key",
    "build_request",
    "generate_key",
    "negotiate",
    "validate_response",
]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
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


#: Keys drawn per ``os.urandom`` call. Each call is a ``getrandom`` system call, one in 25 of a
#: short session's (strace of the churn benchmark); the keys stay 16 bytes from the kernel's
#: random source each, only fetched 64 at a time. A pool of bytes, never reused.
_KEY_BATCH = 64
_KEY_POOL: list[bytes] = []


def generate_key() -> str:
    """Return a fresh random ``Sec-WebSocket-Key`` (16 random bytes, base64)."""
    pool = _KEY_POOL
    if not pool:
        data = os.urandom(16 * _KEY_BATCH)
        pool.extend([data[i : i + 16] for i in range(0, len(data), 16)])
    # binascii directly: base64.b64encode is a Python wrapper around it (one call a session)
    return b2a_base64(pool.pop(), newline=False).decode("ascii")


def accept_key(key: str) -> str:
    """Return the ``Sec-WebSocket-Accept`` value a server must answer ``key`` with."""
    digest = hashlib.sha1(key.encode("ascii") + _GUID).digest()
    return b2a_base64(digest, newline=False).decode("ascii")


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
    # The parser stores names in canonical form: looked up as such, not through ``header()``
    # (a method call and a name lookup each, five a handshake); the usual single-token values
    # are recognised before they are split into tokens.
    headers = response.headers
    upgrade = headers.get("Upgrade")
    if upgrade is None or (upgrade.lower() != "websocket" and "websocket" not in _tokens(upgrade)):
        raise fail(f"Upgrade header is {upgrade!r}, expected 'websocket'")
    connection = headers.get("Connection")
    if connection is None or (
        connection.lower() != "upgrade" and "upgrade" not in _tokens(connection)
    ):
        raise fail(f"Connection header is {connection!r}, expected 'Upgrade'")
    accept = headers.get("Sec-Websocket-Accept")
    if accept is None:
        raise fail("missing Sec-WebSocket-Accept")
    if accept.strip() != accept_key(key):
        raise fail("Sec-WebSocket-Accept mismatch")
    deflate: DeflateParams | None = None
    accepted = headers.get("Sec-Websocket-Extensions")
    if accepted is not None:
        try:
            deflate = accept_response(accepted, offers_of(extensions))
        except ValueError as exc:
            raise fail(str(exc)) from None
    selected = headers.get("Sec-Websocket-Protocol")
    if selected is not None:
        selected = selected.strip()
        if selected not in subprotocols:
            offered = ", ".join(subprotocols) or "none"
            raise fail(f"server selected subprotocol {selected!r}, offered: {offered}")
    return Negotiated(selected, deflate)
