"""What the client protocol reports, and the connection states it moves through.

Small slotted value classes: one is made per received message, so they stay cheap. Kept apart
from :mod:`greenws.protocol.client` so the state machine's module holds only the machine.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

__all__ = [
    "BinaryMessage",
    "CloseReceived",
    "Event",
    "PingReceived",
    "PongReceived",
    "ProtocolFailure",
    "State",
    "TextMessage",
]


class Event:
    """Base of the events :meth:`ClientProtocol.receive_data` returns.

    Subclasses are tiny slotted value objects; equality and ``repr`` come from their
    ``__slots__`` so tests can compare whole event lists.
    """

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__match_args__)

    __hash__ = None  # type: ignore[assignment]  # value objects, compared not hashed


class TextMessage(Event):
    """A complete text message (reassembled if it was fragmented)."""

    __slots__ = ("data",)
    __match_args__ = ("data",)

    def __init__(self, data: str) -> None:
        self.data: str = data


class BinaryMessage(Event):
    """A complete binary message (reassembled if it was fragmented)."""

    __slots__ = ("data",)
    __match_args__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data: bytes = data


class PingReceived(Event):
    """The peer pinged; the matching Pong is already queued in ``outgoing``."""

    __slots__ = ("payload",)
    __match_args__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload: bytes = payload


class PongReceived(Event):
    """The peer sent a Pong (an answer to our ping, or unsolicited)."""

    __slots__ = ("payload",)
    __match_args__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload: bytes = payload


class CloseReceived(Event):
    """The peer sent a valid Close frame; code 1005 means it carried no code."""

    __slots__ = ("code", "reason")
    __match_args__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code: int = code
        self.reason: str = reason


class ProtocolFailure(Event):
    """The connection failed: a protocol violation (1002, 1007, 1009) or abnormal end (1006).

    Always the last event; the runtime should send what is queued, then close the socket.
    """

    __slots__ = ("code", "message")
    __match_args__ = ("code", "message")

    def __init__(self, code: int, message: str) -> None:
        self.code: int = code
        self.message: str = message


class State(IntEnum):
    """Connection state; the handshake happens before a protocol object exists."""

    OPEN = 1
    CLOSING = 2  # we sent a Close (or failed the connection) and wait for the peer's
    CLOSED = 3  # the close handshake completed, or the TCP connection ended
