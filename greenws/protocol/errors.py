"""Exceptions raised by the sans-I/O protocol core.

Three kinds of failure reach the runtime, and each needs a different reaction:

- :class:`ProtocolError`: the peer broke RFC 6455. The connection must be failed with
  the close code the exception carries. :class:`~greenws.protocol.client.ClientProtocol`
  catches it and turns it into a ``ProtocolFailure`` event, so a misbehaving server never
  raises out of ``receive_data``; the frame parser raises it directly.
- :class:`HandshakeError`: the opening HTTP handshake did not produce a WebSocket. It
  carries the HTTP status (k6 reports it as ``status`` on the response) and the parsed
  response when there is one.
- :class:`InvalidStateError`: *our* caller misused the API (sending after close, an
  invalid close code). This is a script bug, never the peer's fault.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .http_response import HandshakeResponse

__all__ = ["HandshakeError", "InvalidStateError", "ProtocolError"]


class ProtocolError(Exception):
    """The peer sent something RFC 6455 forbids.

    Args:
        message: One line saying what was wrong, e.g. ``"control frame too long (126 bytes)"``.
        code: The close code to fail the connection with: 1002 (protocol error), 1007
            (invalid UTF-8 or close payload) or 1009 (message too big).
    """

    def __init__(self, message: str, code: int = 1002) -> None:
        super().__init__(message)
        self.code: int = code
        self.message: str = message


class HandshakeError(Exception):
    """The opening handshake failed or was refused.

    Args:
        message: One line for the user, e.g. ``"handshake refused: HTTP 429 Too Many Requests"``.
        status: The HTTP status the server answered with, or 0 when there was none (the
            connection closed early, or the status line was malformed).
        response: The parsed response, when one was received, so the runtime can expose its
            headers and body the way k6 does.
    """

    def __init__(
        self, message: str, status: int = 0, response: HandshakeResponse | None = None
    ) -> None:
        super().__init__(message)
        self.status: int = status
        self.response: HandshakeResponse | None = response


class InvalidStateError(Exception):
    """The caller did something the connection's state or RFC 6455 does not allow.

    Raised for sending on a closing or closed connection, and for a close code or reason
    a user may not send.
    """
