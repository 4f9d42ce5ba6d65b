"""Phoenix Channels (serializer 2.0.0) over WebSocket, as a greenws protocol kit.

A Phoenix socket multiplexes channels (topics) over one WebSocket. Every message is a JSON
array ``[join_ref, ref, topic, event, payload]``; a push the client makes with a ``ref`` is
answered by a ``phx_reply`` carrying the same ``ref`` and ``{"status": ..., "response": ...}``;
the client must send a ``heartbeat`` on the ``phoenix`` topic regularly or the server drops it.

::

    phoenix = greenws.kits.get("phoenix")
    with phoenix.connect("ws://127.0.0.1:4000/socket/websocket", token="abc") as socket:
        room = socket.channel("room:lobby")
        room.join()
        room.push("new_msg", {"body": "hi"})
        event, payload = room.recv(timeout=5)

Metrics: ``phoenix_join_duration`` and ``phoenix_push_duration`` (Trends, tagged ``topic`` and
``event``), ``phoenix_messages_received`` (Counter, tagged ``topic`` and ``event``).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

from greenws.kits.mailbox import Mailbox
from greenws.kits.session import DEFAULT_TIMEOUT, ConnectionClosed, KitSession, ProtocolError
from greenws.metrics.metric import MetricType

__all__ = ["Channel", "PhoenixSocket", "ReplyError", "connect"]


class ReplyError(ProtocolError):
    """The server answered a join or a push with ``status`` other than ``"ok"``."""

    def __init__(self, topic: str, event: str, status: str, response: Any) -> None:
        super().__init__(f"phoenix {topic} {event}: {status} {json.dumps(response)}")
        self.status = status
        self.response = response


class Channel:
    """One topic on the socket: join, push with replies, and the topic's broadcasts."""

    def __init__(self, socket: PhoenixSocket, topic: str, payload: Mapping[str, Any]) -> None:
        self.topic = topic
        self._socket = socket
        self._payload = dict(payload)
        self._join_ref: str | None = None
        self.inbox: Mailbox[tuple[str, Any]] = Mailbox()

    def join(self, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Join the topic; returns the server's response, ReplyError if it refused."""
        self._join_ref = self._socket._next_ref()
        self._socket._channels[self._join_ref] = self
        return self._socket._request(self, "phx_join", self._payload, "join", timeout)

    def push(self, event: str, payload: Any = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Push ``event`` and wait for its reply (``phoenix_push_duration``)."""
        return self._socket._request(self, event, payload or {}, "push", timeout)

    def recv(self, timeout: float | None = None) -> tuple[str, Any]:
        """The topic's next broadcast as ``(event, payload)``."""
        return self.inbox.get(None, timeout)

    def leave(self, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Leave the topic."""
        return self._socket._request(self, "phx_leave", {}, "push", timeout)


class PhoenixSocket(KitSession):
    """A Phoenix socket: the WebSocket, its heartbeat, and the channels joined on it."""

    KIT = "phoenix"
    METRICS: ClassVar[Mapping[str, MetricType]] = {
        "phoenix_join_duration": MetricType.TREND,
        "phoenix_push_duration": MetricType.TREND,
        "phoenix_messages_received": MetricType.COUNTER,
    }

    def __init__(
        self, url: str, params: Mapping[str, Any] | None, heartbeat: float, **connect: str
    ) -> None:
        self._refs = itertools.count(1)
        self._channels: dict[str, Channel] = {}
        self._replies: Mailbox[tuple[str, str, Any]] = Mailbox()
        query = urlencode({**connect, "vsn": "2.0.0"})
        super().__init__(f"{url}{'&' if '?' in url else '?'}{query}", params)
        self.socket.every(heartbeat, self._heartbeat)

    def channel(self, topic: str, payload: Mapping[str, Any] | None = None) -> Channel:
        """A channel on ``topic`` (not joined yet)."""
        return Channel(self, topic, payload or {})

    def _next_ref(self) -> str:
        return str(next(self._refs))

    def _heartbeat(self) -> None:
        self._send(json.dumps([None, self._next_ref(), "phoenix", "heartbeat", {}]))

    def _request(
        self, channel: Channel, event: str, payload: Any, kind: str, timeout: float
    ) -> Any:
        ref = self._next_ref()
        started = time.perf_counter()
        self._send(json.dumps([channel._join_ref, ref, channel.topic, event, payload]))
        _, status, response = self._replies.get(lambda reply: reply[0] == ref, timeout)
        elapsed = (time.perf_counter() - started) * 1000.0
        self._record(
            f"{kind}_duration", elapsed, MetricType.TREND, topic=channel.topic, event=event
        )
        if status != "ok":
            raise ReplyError(channel.topic, event, status, response)
        return response

    def _handle(self, message: str | bytes) -> None:
        join_ref, ref, topic, event, payload = json.loads(message)
        if event == "phx_reply":
            if topic != "phoenix":  # heartbeat replies only keep the socket alive
                self._replies.put((ref, payload.get("status"), payload.get("response")))
            return
        self._count("messages_received", topic=topic, event=event)
        channel = self._channels.get(join_ref) if join_ref else None
        channel = channel or next((c for c in self._channels.values() if c.topic == topic), None)
        if not self._emit(event, topic, payload) and channel is not None:
            channel.inbox.put((event, payload))

    def _on_closed(self, code: int, reason: str) -> None:
        closed = ConnectionClosed(code, reason)
        self._replies.close(closed)
        for channel in self._channels.values():
            channel.inbox.close(closed)


METRICS = PhoenixSocket.METRICS


def connect(
    url: str, params: Mapping[str, Any] | None = None, heartbeat: float = 30.0, **connect: str
) -> PhoenixSocket:
    """Open a Phoenix socket at ``url`` (``ws://host/socket/websocket``); keyword arguments
    become the socket's connect params (``token=...``); a heartbeat every ``heartbeat`` s."""
    return PhoenixSocket(url, params, heartbeat, **connect)
