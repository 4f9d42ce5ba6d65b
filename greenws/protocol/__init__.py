"""Sans-I/O RFC 6455 client: bytes in, events out, bytes to send.

This package is the pure core under the gevent runtime. It imports neither gevent, nor
socket, nor asyncio (``tests/protocol/test_purity.py`` proves it), so it can be tested with
plain values and reused by any I/O layer.

- :mod:`~greenws.protocol.handshake`: build the upgrade request, check the reply.
- :mod:`~greenws.protocol.http_response`: parse the reply (status, headers, body).
- :mod:`~greenws.protocol.client`: :class:`ClientProtocol`, the open connection's state machine.
- :mod:`~greenws.protocol.events`: the events it reports and the connection states.
- :mod:`~greenws.protocol.compression`: ``permessage-deflate`` (RFC 7692).
- :mod:`~greenws.protocol.frames`: framing, masking and the incremental frame parser.
- :mod:`~greenws.protocol.errors`: the exceptions.
"""

from .client import (
    BinaryMessage,
    ClientProtocol,
    CloseReceived,
    Event,
    PingReceived,
    PongReceived,
    ProtocolFailure,
    State,
    TextMessage,
    _DeflateClientProtocol,
)
from .compression import DeflateParams, PerMessageDeflate
from .errors import HandshakeError, InvalidStateError, ProtocolError
from .frames import Frame, FrameParser, Opcode, apply_mask, serialize_frame
from .handshake import (
    Negotiated,
    accept_key,
    build_request,
    generate_key,
    negotiate,
    validate_response,
)
from .http_response import HandshakeResponse, ResponseParser

__all__ = [
    "BinaryMessage",
    "ClientProtocol",
    "CloseReceived",
    "DeflateParams",
    "Event",
    "Frame",
    "FrameParser",
    "HandshakeError",
    "HandshakeResponse",
    "InvalidStateError",
    "Negotiated",
    "Opcode",
    "PerMessageDeflate",
    "PingReceived",
    "PongReceived",
    "ProtocolError",
    "ProtocolFailure",
    "ResponseParser",
    "State",
    "TextMessage",
    "accept_key",
    "apply_mask",
    "build_request",
    "client_protocol",
    "generate_key",
    "negotiate",
    "serialize_frame",
    "validate_response",
]


def client_protocol(
    *, max_message_size: int | None, compression: PerMessageDeflate | None
) -> ClientProtocol:
    """The protocol for a new connection: :class:`ClientProtocol` or its deflate subclass.

    What ``ClientProtocol(max_message_size=..., compression=...)`` gives, without its ``__new__``:
    a caller compiled by mypyc constructs directly and would skip the subclass's ``__init__``.
    """
    if compression is None:
        return ClientProtocol(max_message_size=max_message_size)
    return _DeflateClientProtocol(max_message_size=max_message_size, compression=compression)
