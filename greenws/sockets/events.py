"""The event objects, DOMException-like errors and handler slots of the standard-API
``WebSocket``.

Kept apart from :mod:`greenws.sockets.websocket` so that module holds only the connection.
Events are small slotted objects: one is made per message a handler is registered for, so
each class sets its own fields (no ``super().__init__`` call per message).
"""

from __future__ import annotations

from collections.abc import Callable
from time import time
from typing import TYPE_CHECKING, Any

from greenws.runtime.vu import accepted_arguments

if TYPE_CHECKING:
    from greenws.sockets.websocket import WebSocket

__all__ = [
    "CloseEvent",
    "DOMSyntaxError",
    "ErrorEvent",
    "Event",
    "InvalidAccessError",
    "InvalidStateError",
    "MessageEvent",
    "handler_entry",
    "on_property",
]


class InvalidStateError(RuntimeError):
    """``send``/``ping`` on a socket that is not OPEN (the DOMException k6 throws)."""

    name = "InvalidStateError"


class InvalidAccessError(ValueError):
    """``close`` with a code other than 1000 or 3000-4999."""

    name = "InvalidAccessError"


class DOMSyntaxError(ValueError):
    """``close`` with a reason over 123 UTF-8 bytes: JavaScript's ``SyntaxError`` DOMException,
    renamed so it does not shadow Python's own ``SyntaxError``."""

    name = "SyntaxError"


class Event:
    """What a handler receives: ``type``, ``target`` (the WebSocket), ``timestamp`` (epoch ms)."""

    __slots__ = ("target", "timestamp", "type")

    def __init__(self, type_: str, target: WebSocket) -> None:
        self.type = type_
        self.target = target
        self.timestamp = time() * 1000.0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type}>"


class MessageEvent(Event):
    """A message: ``data`` is ``str`` for text, ``bytes``/``bytearray`` for binary."""

    __slots__ = ("data",)

    def __init__(self, target: WebSocket, data: str | bytes | bytearray) -> None:
        self.type = "message"
        self.target = target
        self.timestamp = time() * 1000.0
        self.data = data


class CloseEvent(Event):
    """The socket closed: ``code``, ``reason``, and ``was_clean`` (a close handshake took place;
    k6 lacks it, grafana/k6#4972)."""

    __slots__ = ("code", "reason", "was_clean")

    def __init__(self, target: WebSocket, code: int, reason: str, was_clean: bool) -> None:
        self.type = "close"
        self.target = target
        self.timestamp = time() * 1000.0
        self.code = code
        self.reason = reason
        self.was_clean = was_clean

    @property
    def wasClean(self) -> bool:
        return self.was_clean


class ErrorEvent(Event):
    """A failure: ``error`` is the message (dial error, protocol error, lost connection)."""

    __slots__ = ("error",)

    def __init__(self, target: WebSocket, error: str) -> None:
        self.type = "error"
        self.target = target
        self.timestamp = time() * 1000.0
        self.error = error


def handler_entry(function: Callable[..., Any]) -> tuple[Callable[..., Any], int]:
    """``(function, arity)``: the arity is looked up once, so a handler that takes no event
    (as JavaScript allows) costs nothing extra per message."""
    if not callable(function):
        raise TypeError(f"event handler must be callable, not {type(function).__name__}")
    return function, accepted_arguments(function, 1)


def on_property(type_: str) -> property:
    """The ``on<type>`` attribute: one handler, replaced on assignment, None to remove."""

    def get(self: WebSocket) -> Callable[..., Any] | None:
        entry = self._on.get(type_)
        return None if entry is None else entry[0]

    def set_(self: WebSocket, function: Callable[..., Any] | None) -> None:
        if function is None:
            self._on.pop(type_, None)
        else:
            self._on[type_] = handler_entry(function)

    return property(get, set_, doc=f"The ``on{type_}`` handler (one; runs before listeners).")
