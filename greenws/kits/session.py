"""What every protocol kit's session shares: the socket, waits, handlers, metrics, heartbeats.

A kit (Socket.IO, STOMP, ...) subclasses :class:`KitSession` and writes only its protocol:
how to say hello, how to encode what the script sends, and :meth:`KitSession._handle`, which
the reader greenlet calls with each WebSocket message. The base gives it:

- a :class:`~greenws.sockets.background.BackgroundSocket`, so heartbeats are answered while
  the VU sleeps, waits or runs its own code;
- a :class:`~greenws.kits.mailbox.Mailbox` for ``recv(timeout, match)`` and request/reply
  waits that never block behind unrelated traffic;
- ``on(event, handler)``: handlers run on the reader greenlet as messages arrive, with the VU's
  identity (``check``, custom metrics and ``console`` work in them). Greenlets take turns, so a
  handler never runs *while* VU code runs: it runs when the VU waits (``sleep``, a ``recv``);
- metrics: k6-style names (``<kit>_...``), tagged like the session's ``ws_*`` samples plus the
  protocol's own names (event, topic, destination, method, operation);
- publish-to-delivery latency across VUs (``<kit>_broadcast_latency``), see
  :mod:`greenws.metrics.broadcast`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

from greenws.kits import time_valued
from greenws.kits.mailbox import Mailbox
from greenws.metrics.broadcast import BroadcastClock
from greenws.metrics.metric import Metric, MetricType
from greenws.runtime.context import RunContext
from greenws.runtime.vu import VirtualUser, call_flexibly, current_vu
from greenws.sockets.background import BackgroundSocket, open_background
from greenws.sockets.sequential import ConnectError, ConnectionClosed, ReceiveTimeout

__all__ = [
    "DEFAULT_TIMEOUT",
    "ConnectError",
    "ConnectionClosed",
    "KitSession",
    "ProtocolError",
    "ReceiveTimeout",
]

#: How long a handshake or a request waits for its answer unless the script says otherwise.
DEFAULT_TIMEOUT = 30.0

#: One broadcast clock per run (the VUs of one process share it).
_CLOCKS: WeakKeyDictionary[RunContext, BroadcastClock] = WeakKeyDictionary()


class ProtocolError(ConnectionError):
    """The server refused or broke the protocol (a refused CONNECT, an error frame, a close
    with the protocol's error code); the message says which, in the protocol's words."""


class KitSession:
    """One protocol session over one WebSocket, driven by a VU."""

    #: The kit's name: the prefix of its metrics (``socketio`` → ``socketio_ack_duration``).
    KIT: ClassVar[str] = "kit"
    #: Every metric the kit records: full name -> type. Declared, not discovered, so that
    #: thresholds on them can be checked before the first session (greenws.kits.declare_metrics)
    #: and docs/protocols.md lists what exists; recording an undeclared one is a bug.
    METRICS: ClassVar[Mapping[str, MetricType]] = {}
    #: Subprotocols offered in the handshake (``("mqtt",)``); None for none.
    SUBPROTOCOLS: ClassVar[Sequence[str] | None] = None

    #: The WebSocket (set by :meth:`_dial`, in the constructor unless a kit starts elsewhere).
    socket: BackgroundSocket

    def __init__(
        self, url: str, params: Mapping[str, Any] | None = None, *, dial: bool = True
    ) -> None:
        vu = current_vu()
        self.vu: VirtualUser = vu
        self.url = url
        self._context = vu.context
        self._handlers: dict[str, list[Callable[..., Any]]] = {}
        self._metrics: dict[str, Metric] = {}
        self._tag_cache: dict[tuple[Any, ...], Any] = {}
        self.inbox: Mailbox[Any] = Mailbox()
        self._reported_drops = 0
        self._params = params
        # Samples a kit records before its WebSocket exists (the socket's tags are theirs):
        # None, or held until _dial (Socket.IO's long-polling start records some).
        self._held: list[tuple[str, float, MetricType, dict[str, str], float]] | None = None
        if dial:
            self._dial()

    # -- what scripts use ---------------------------------------------------------------------

    def __enter__(self) -> Any:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if kind is not None and not issubclass(kind, Exception):
            self.socket.abort(1000)
        else:
            self.close()

    @property
    def closed(self) -> bool:
        """Whether the session is over."""
        return self.socket.close_code is not None

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code the session ended with; None while open."""
        return self.socket.close_code

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        """Call ``handler`` for each ``event`` (several handlers per event run in order)."""
        if not callable(handler):
            raise TypeError(f"{self.KIT}.on({event!r}): handler must be callable")
        self._handlers.setdefault(event, []).append(handler)

    def recv(self, timeout: float | None = None, match: Callable[[Any], Any] | None = None) -> Any:
        """The next incoming message (the first one ``match`` accepts), waiting up to
        ``timeout`` seconds (None: until the session ends).

        Raises:
            ReceiveTimeout: nothing (matching) arrived in time.
            ConnectionClosed: the session ended and nothing queued matches.
        """
        return self.inbox.get(match, timeout)

    def close(self) -> None:
        """Say goodbye in the protocol's words where it has them, then close the WebSocket."""
        self.socket.close(1000)

    # -- for kits: the wire ---------------------------------------------------------------------

    def _dial(self) -> None:
        """Open the WebSocket to ``self.url`` and start reading it: in the constructor, unless
        the kit starts its session another way first (Socket.IO's long-polling start), and
        again for each reconnection."""
        self.socket = open_background(
            f"{self.KIT}.connect",
            self.vu,
            self.url,
            self._params,
            self.SUBPROTOCOLS,
            self._deliver,
            self._ended,
        )
        held, self._held = self._held, None
        for suffix, value, kind, tags, at in held or ():
            sample = (self._metric(suffix, kind), at, float(value), self._tags_with(tags))
            self._context.samples.append(sample)

    def _send(self, data: str | bytes) -> None:
        self.socket.send(data)

    def _handle(self, message: str | bytes) -> None:
        """One WebSocket message from the server (on the reader greenlet): the kit's protocol."""
        raise NotImplementedError

    def _on_closed(self, code: int, reason: str) -> None:
        """The session ended: kits fail their pending requests here (the inbox is closed)."""

    def _deliver(self, message: str | bytes) -> None:
        try:
            self._handle(message)
        except Exception as error:  # a server's malformed frame must not kill the reader silently
            self._context.report_error(
                f"{self.KIT}:{type(error).__name__}:{error}",
                f"{self.KIT} {self.url}: {type(error).__name__}: {error} vu={self.vu.id}",
            )

    def _ended(self, code: int, reason: str) -> None:
        self.inbox.close(ConnectionClosed(code, reason))
        self._on_closed(code, reason)
        self._emit("close", code, reason)

    def _queue(self, item: Any) -> None:
        """Keep ``item`` for ``recv``; report (once per session, counted) when the bounded
        inbox had to drop the oldest unread message."""
        if not self.inbox.put(item) and self._reported_drops == 0:
            self._reported_drops = 1
            self._context.report_error(
                f"{self.KIT}:inbox-full",
                f"{self.KIT} {self.url}: more than {self.inbox.capacity} messages were never "
                f"read with recv(); the oldest are dropped (use on() handlers for streams) "
                f"vu={self.vu.id}",
            )

    def _emit(self, event: str, *args: Any) -> bool:
        """Run ``event``'s handlers; False if it has none. A handler's exception is logged
        once (as a script error is) and does not stop the session."""
        handlers = self._handlers.get(event)
        if not handlers:
            return False
        for handler in handlers:
            try:
                call_flexibly(handler, *args)
            except Exception as error:
                self._context.report_script_error(self.vu, error)
        return True

    # -- for kits: metrics ----------------------------------------------------------------------

    def _metric(self, suffix: str, kind: MetricType = MetricType.TREND) -> Metric:
        """This kit's metric ``<KIT>_<suffix>`` (a Trend of times unless ``kind`` says)."""
        metric = self._metrics.get(suffix)
        if metric is None:
            name = f"{self.KIT}_{suffix}"
            if self.METRICS.get(name) is not kind:
                raise AssertionError(
                    f"{name} ({kind.value}) is not in {type(self).__name__}.METRICS"
                )
            metric = self._context.registry.get_or_create(name, kind, time_valued(kind))
            self._metrics[suffix] = metric
        return metric

    def _record(
        self, suffix: str, value: float, kind: MetricType = MetricType.TREND, /, **tags: str
    ) -> None:
        """One sample of ``<KIT>_<suffix>``, tagged like the session plus ``tags``."""
        if self._held is not None:
            self._held.append((suffix, value, kind, tags, time.time()))
            return
        metric = self._metric(suffix, kind)
        self._context.samples.append((metric, time.time(), float(value), self._tags_with(tags)))

    def _count(self, suffix: str, **tags: str) -> None:
        self._record(suffix, 1.0, MetricType.COUNTER, **tags)

    def _tags_with(self, extra: Mapping[str, str]) -> Any:
        key = tuple(sorted(extra.items()))
        tags = self._tag_cache.get(key)
        if tags is None:
            base = self.socket.tags or {}
            tags = self._context.intern_tags({**base, **{k: str(v) for k, v in extra.items()}})
            self._tag_cache[key] = tags
        return tags

    # -- for kits: publish-to-delivery latency ---------------------------------------------------

    def _published(self, channel: Hashable, payload: Hashable) -> None:
        clock = _CLOCKS.get(self._context)
        if clock is None:
            clock = _CLOCKS[self._context] = BroadcastClock()
        clock.published(channel, payload, time.perf_counter())

    def _delivered(self, channel: Hashable, payload: Hashable, **tags: str) -> None:
        clock = _CLOCKS.get(self._context)
        if clock is None:
            return
        elapsed = clock.delivered(channel, payload, time.perf_counter())
        if elapsed is not None:
            self._record("broadcast_latency", elapsed, **tags)
