"""``greenws.websockets``: k6's ``k6/websockets`` (the living-standard WebSocket) and the
sequential ``ws.open`` socket, for scripts.

Several sockets per VU, all served by the VU's one loop together with k6's global timers::

    from greenws.websockets import WebSocket, set_interval, clear_interval

    def default():
        for room in range(3):
            sock = WebSocket(f"ws://127.0.0.1:8765/chat?room={room}", params={"tags": {"name": "chat"}})
            sock.onopen = lambda event, sock=sock: sock.send("hello")
            sock.onmessage = lambda event, sock=sock: sock.close()

The iteration ends when every socket is closed and no timer is pending; sockets still open when
the iteration is cut short (or the test ends) are closed with 1000.

The sequential API, for request/reply protocols, blocks the VU instead of using callbacks::

    from greenws import ws

    with ws.open("ws://127.0.0.1:8765") as sock:
        reply = sock.request("get:42", timeout=5, match=lambda m: m.startswith("get:"))

Both emit k6's ``ws_*`` metrics with a ``name`` tag (the url unless ``tags.name`` is set);
``request`` adds the ``ws_request_duration`` Trend.
"""

from __future__ import annotations

from greenws.api.script import (
    clear_interval,
    clear_timeout,
    clearInterval,
    clearTimeout,
    set_interval,
    set_timeout,
    setInterval,
    setTimeout,
)
from greenws.sockets.events import (
    CloseEvent,
    DOMSyntaxError,
    ErrorEvent,
    Event,
    InvalidAccessError,
    InvalidStateError,
    MessageEvent,
)
from greenws.sockets.sequential import (
    ConnectError,
    ConnectionClosed,
    ReceiveTimeout,
    SequentialSocket,
)
from greenws.sockets.websocket import WebSocket

__all__ = [
    "CloseEvent",
    "ConnectError",
    "ConnectionClosed",
    "DOMSyntaxError",
    "ErrorEvent",
    "Event",
    "InvalidAccessError",
    "InvalidStateError",
    "MessageEvent",
    "ReceiveTimeout",
    "SequentialSocket",
    "WebSocket",
    "clearInterval",
    "clearTimeout",
    "clear_interval",
    "clear_timeout",
    "setInterval",
    "setTimeout",
    "set_interval",
    "set_timeout",
]
