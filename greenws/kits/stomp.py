"""STOMP 1.2 (1.1, 1.0) over WebSocket: RabbitMQ Web-STOMP, ActiveMQ, Artemis, Spring brokers.

::

    from greenws.kits import stomp

    def default():
        with stomp.connect("ws://127.0.0.1:15674/ws", heartbeat=(5000, 5000)) as session:
            news = session.subscribe("/topic/news")
            session.send("/topic/news", "hello", receipt=True)
            message = news.recv(timeout=5)

The server's heart-beats are read, and the client's sent, on greenlets of their own (see
:mod:`greenws.sockets.background`), so a session survives a ``sleep()`` longer than the
heart-beat; a server silent for longer than ``heartbeat_tolerance`` times the agreed interval
is taken for dead: the session closes with code 4000 and says so in the error log.

Metrics (tagged like the session's ``ws_*`` samples, plus ``destination`` where there is one):
``stomp_connect_duration`` (Trend: CONNECT sent to CONNECTED read), ``stomp_receipt_duration``
(Trend: a frame sent with ``receipt`` to its RECEIPT), ``stomp_messages_sent`` and
``stomp_messages_received`` (Counters of SEND and MESSAGE frames; a transaction's sends count
when it commits), ``stomp_broadcast_latency`` (Trend: a SEND by any VU of this process to each
MESSAGE with the same destination and body), ``stomp_errors`` (Counter of ERROR frames).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any

from gevent.event import AsyncResult
from gevent.timeout import Timeout

from greenws.codecs.stomp import (
    Frame,
    FrameParser,
    encode_frame,
    format_heartbeat,
    negotiate_heartbeat,
    parse_heartbeat,
)
from greenws.kits.mailbox import Mailbox
from greenws.kits.session import (
    DEFAULT_TIMEOUT,
    ConnectError,
    ConnectionClosed,
    KitSession,
    ProtocolError,
    ReceiveTimeout,
)
from greenws.metrics.metric import MetricType
from greenws.runtime.vu import call_flexibly

__all__ = [
    "ConnectError",
    "ConnectionClosed",
    "Message",
    "ProtocolError",
    "ReceiveTimeout",
    "StompError",
    "StompSession",
    "Subscription",
    "Transaction",
    "connect",
]

#: The close code of a session the kit ended because the server's heart-beats stopped.
HEARTBEAT_CLOSE_CODE = 4000
#: How long ``close()`` waits for the RECEIPT of its DISCONNECT before closing anyway.
DISCONNECT_TIMEOUT = 5.0
ACK_MODES = ("auto", "client", "client-individual")

Body = str | bytes

#: Every metric the kit records (greenws.kits.declare_metrics registers them for thresholds).
METRICS = {
    "stomp_connect_duration": MetricType.TREND,
    "stomp_receipt_duration": MetricType.TREND,
    "stomp_broadcast_latency": MetricType.TREND,
    "stomp_messages_sent": MetricType.COUNTER,
    "stomp_messages_received": MetricType.COUNTER,
    "stomp_errors": MetricType.COUNTER,
}


class StompError(ProtocolError):
    """An ERROR frame: ``message`` is its ``message`` header, ``body`` its text, ``headers``
    all of them."""

    def __init__(self, frame: Frame) -> None:
        self.headers = dict(frame.headers)
        self.message = frame.headers.get("message", "")
        self.body = frame.body.decode("utf-8", "replace")
        detail = f": {self.body.strip()}" if self.body.strip() else ""
        super().__init__(f"STOMP ERROR {self.message}{detail}")


class Message:
    """A MESSAGE frame: ``headers``, ``body`` (text when it is UTF-8, else bytes), ``raw``
    (always bytes), ``destination``; :meth:`ack` and :meth:`nack` for client ack modes."""

    __slots__ = ("_session", "destination", "headers", "message_id", "raw", "subscription")

    def __init__(self, session: StompSession, frame: Frame) -> None:
        self._session = session
        self.headers = frame.headers
        self.raw = frame.body
        self.destination = frame.headers.get("destination", "")
        self.subscription = frame.headers.get("subscription", "")
        self.message_id = frame.headers.get("message-id", "")

    def __repr__(self) -> str:
        return f"<stomp.Message {self.destination} {self.body!r:.60}>"

    @property
    def body(self) -> Body:
        """The body as text if it decodes as UTF-8 (what most scripts send), else bytes."""
        try:
            return self.raw.decode("utf-8")
        except UnicodeDecodeError:
            return self.raw

    def ack(self, transaction: Transaction | None = None, receipt: bool = False) -> None:
        """Acknowledge this message (``client``: and every one before it on the subscription)."""
        self._session._acknowledge("ACK", self, transaction, receipt)

    def nack(self, transaction: Transaction | None = None, receipt: bool = False) -> None:
        """Tell the server this message was not consumed (STOMP 1.1 and later)."""
        self._session._acknowledge("NACK", self, transaction, receipt)


class Subscription:
    """The MESSAGEs of one SUBSCRIBE: :meth:`recv` them or let :meth:`on`'s handler take them."""

    def __init__(self, session: StompSession, subscription_id: str, destination: str, ack: str):
        self.id = subscription_id
        self.destination = destination
        self.ack = ack
        self.inbox: Mailbox[Message] = Mailbox()
        self._session = session
        self._handlers: list[Callable[..., Any]] = []

    def recv(self, timeout: float | None = None) -> Message:
        """The next message, waiting up to ``timeout`` seconds (None: until the session ends).

        Raises:
            ReceiveTimeout: none came in time.
            ConnectionClosed: the session ended and none is queued.
        """
        return self.inbox.get(None, timeout)

    def on(self, handler: Callable[..., Any]) -> None:
        """Call ``handler(message)`` for each message (then it is not queued for recv)."""
        if not callable(handler):
            raise TypeError("stomp Subscription.on: handler must be callable")
        self._handlers.append(handler)

    def unsubscribe(self, receipt: bool = False, timeout: float = DEFAULT_TIMEOUT) -> None:
        """UNSUBSCRIBE; messages already on their way are still delivered here."""
        self._session._frame("UNSUBSCRIBE", {"id": self.id}, receipt=receipt, timeout=timeout)

    def _deliver(self, message: Message) -> None:
        if not self._handlers:
            self._session._queue_to(self.inbox, message)
            return
        for handler in self._handlers:
            try:
                call_flexibly(handler, message)
            except Exception as error:
                self._session._context.report_script_error(self._session.vu, error)


class Transaction:
    """BEGIN ... COMMIT or ABORT; as a context manager it commits, or aborts on an exception.
    What it sends is published (counted, timed for broadcast latency) when it commits."""

    def __init__(self, session: StompSession, transaction_id: str) -> None:
        self.id = transaction_id
        self._session = session
        self._sent: list[tuple[str, bytes]] = []
        self.done = False

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if self.done or self._session.closed:
            return
        if kind is not None:
            self.abort()
        else:
            self.commit()

    def send(self, destination: str, body: Body = "", **options: Any) -> None:
        """``session.send`` inside this transaction."""
        self._session.send(destination, body, transaction=self, **options)

    def commit(self, receipt: bool = False, timeout: float = DEFAULT_TIMEOUT) -> None:
        """COMMIT: the broker delivers what was sent and applies the acks."""
        self._end("COMMIT", receipt, timeout)
        for destination, payload in self._sent:
            self._session._publish(destination, payload)

    def abort(self, receipt: bool = False, timeout: float = DEFAULT_TIMEOUT) -> None:
        """ABORT: the broker drops what was sent and the acks."""
        self._end("ABORT", receipt, timeout)

    def _end(self, command: str, receipt: bool, timeout: float) -> None:
        if self.done:
            raise ValueError(f"transaction {self.id} is already over")
        self.done = True
        self._session._frame(command, {"transaction": self.id}, receipt=receipt, timeout=timeout)


class StompSession(KitSession):
    """A STOMP client session over one WebSocket."""

    KIT = "stomp"
    METRICS = METRICS
    SUBPROTOCOLS = ("v12.stomp", "v11.stomp", "v10.stomp")

    def __init__(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        login: str | None = "guest",
        passcode: str | None = "guest",
        host: str | None = "/",
        heartbeat: tuple[int, int] = (10000, 10000),
        timeout: float = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        heartbeat_tolerance: float = 2.0,
    ) -> None:
        # Everything the reader greenlet touches exists before super() starts it.
        self._parser = FrameParser()
        self._connected: AsyncResult = AsyncResult()
        self._receipts: dict[str, AsyncResult] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._ids = itertools.count(1)
        self._last_heard = time.monotonic()
        self._tolerance = heartbeat_tolerance
        #: The STOMP version the server chose ("1.0" if it did not say).
        self.version = ""
        #: The CONNECTED frame's headers (server, session, heart-beat, version).
        self.server_headers: Mapping[str, str] = {}
        #: (client sends every, client expects every) in ms, as negotiated; 0 is never.
        self.heartbeat = (0, 0)
        #: The ERROR that ended the session, if one did.
        self.error: StompError | None = None
        self._disconnecting = False
        super().__init__(url, params)
        wanted = {
            "accept-version": "1.0,1.1,1.2",
            "heart-beat": format_heartbeat(heartbeat),
            **{k: v for k, v in (("host", host), ("login", login), ("passcode", passcode)) if v},
            **(headers or {}),
        }
        started = time.perf_counter()
        try:
            self._send_frame("CONNECT", wanted)
            connected: Frame = self._connected.get(timeout=timeout)
        except Timeout:
            self.socket.abort(1000)
            raise ReceiveTimeout(f"stomp: no CONNECTED in {timeout} s") from None
        except BaseException:
            self.socket.abort(1000)
            raise
        self._record("connect_duration", (time.perf_counter() - started) * 1000.0)
        self.server_headers = connected.headers
        self.version = connected.headers.get("version", "1.0")
        server_beats = parse_heartbeat(connected.headers.get("heart-beat"))
        self.heartbeat = negotiate_heartbeat(heartbeat, server_beats)
        send_every, expect_every = self.heartbeat
        if send_every:
            self.socket.every(send_every / 1000.0, self._beat)
        if expect_every:
            self._last_heard = time.monotonic()
            self.socket.every(expect_every / 2000.0, self._check_heard)

    # -- what scripts use ---------------------------------------------------------------------

    def subscribe(
        self,
        destination: str,
        ack: str = "auto",
        headers: Mapping[str, str] | None = None,
        receipt: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Subscription:
        """SUBSCRIBE to ``destination`` with ``ack`` mode auto, client or client-individual;
        ``headers`` adds broker-specific ones (``prefetch-count``, ``durable``, selectors)."""
        if ack not in ACK_MODES:
            raise ValueError(f"stomp ack mode must be one of {ACK_MODES}, not {ack!r}")
        subscription = Subscription(self, str(next(self._ids)), destination, ack)
        self._subscriptions[subscription.id] = subscription
        wanted = {"id": subscription.id, "destination": destination, "ack": ack, **(headers or {})}
        self._frame("SUBSCRIBE", wanted, receipt=receipt, timeout=timeout)
        return subscription

    def send(
        self,
        destination: str,
        body: Body = "",
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        receipt: bool = False,
        transaction: Transaction | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """SEND ``body`` to ``destination``; with ``receipt`` wait for the server's RECEIPT
        (and time it as ``stomp_receipt_duration``)."""
        payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        wanted = {"destination": destination}
        if content_type is not None:
            wanted["content-type"] = content_type
        if transaction is not None:
            wanted["transaction"] = transaction.id
            transaction._sent.append((destination, payload))
        else:
            self._publish(destination, payload)
        wanted.update(headers or {})
        self._frame("SEND", wanted, payload, receipt=receipt, timeout=timeout, timed=destination)

    def begin(self, transaction_id: str | None = None) -> Transaction:
        """BEGIN a transaction; pass it to send/ack/nack, then commit() or abort() it."""
        transaction = Transaction(self, transaction_id or f"tx-{next(self._ids)}")
        self._frame("BEGIN", {"transaction": transaction.id})
        return transaction

    def close(self) -> None:
        """DISCONNECT with a receipt (waited for up to 5 s), then close the WebSocket (1000)."""
        if self.closed:
            return
        if self.version and not self._disconnecting:
            self._disconnecting = True
            # The server may close first; the WebSocket close below is what counts.
            with contextlib.suppress(ReceiveTimeout, ConnectionClosed, ProtocolError):
                self._frame("DISCONNECT", {}, receipt=True, timeout=DISCONNECT_TIMEOUT)
        self.socket.close(1000)

    # -- the wire ---------------------------------------------------------------------------------

    def _send_frame(self, command: str, headers: Mapping[str, str], body: bytes = b"") -> None:
        data = encode_frame(command, headers, body)
        try:
            self._send(data.decode("utf-8"))  # text when it can be: what every broker accepts
        except UnicodeDecodeError:
            self._send(data)

    def _frame(
        self,
        command: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        receipt: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        timed: str | None = None,
    ) -> None:
        """Send a frame; with ``receipt``, wait for its RECEIPT (timed per destination if
        ``timed`` names one)."""
        if not receipt:
            self._send_frame(command, headers, body)
            return
        receipt_id = f"r-{next(self._ids)}"
        waiter: AsyncResult = AsyncResult()
        self._receipts[receipt_id] = waiter
        started = time.perf_counter()
        try:
            self._send_frame(command, {**headers, "receipt": receipt_id}, body)
            waiter.get(timeout=timeout)
        except Timeout:
            raise ReceiveTimeout(f"stomp {command}: no RECEIPT in {timeout} s") from None
        finally:
            self._receipts.pop(receipt_id, None)
        elapsed = (time.perf_counter() - started) * 1000.0
        if timed is not None:
            self._record("receipt_duration", elapsed, destination=timed)
        else:
            self._record("receipt_duration", elapsed, command=command)

    def _publish(self, destination: str, payload: bytes) -> None:
        self._published(destination, payload)
        self._count("messages_sent", destination=destination)

    def _acknowledge(
        self, command: str, message: Message, transaction: Transaction | None, receipt: bool
    ) -> None:
        if command == "NACK" and self.version == "1.0":
            raise ValueError("STOMP 1.0 has no NACK")
        if self.version == "1.2":
            headers = {"id": message.headers.get("ack", message.message_id)}
        else:
            headers = {"message-id": message.message_id, "subscription": message.subscription}
        if transaction is not None:
            headers["transaction"] = transaction.id
        self._frame(command, headers, receipt=receipt)

    def _beat(self) -> None:
        self._send("\n")

    def _check_heard(self) -> None:
        silent = (time.monotonic() - self._last_heard) * 1000.0
        limit = self.heartbeat[1] * self._tolerance
        if silent > limit and not self.closed:
            reason = f"stomp: no heart-beat from the server in {silent:.0f} ms"
            self._context.report_error(
                "stomp:heartbeat-timeout", f"{reason} (agreed {self.heartbeat[1]} ms) {self.url}"
            )
            self.socket.abort(HEARTBEAT_CLOSE_CODE, reason)

    # -- the reader greenlet ----------------------------------------------------------------------

    def _handle(self, message: str | bytes) -> None:
        self._last_heard = time.monotonic()
        for frame in self._parser.feed(message):
            command = frame.command
            if command == "MESSAGE":
                self._message(frame)
            elif command == "RECEIPT":
                waiter = self._receipts.get(frame.headers.get("receipt-id", ""))
                if waiter is not None:
                    waiter.set(frame)
            elif command == "CONNECTED":
                self._connected.set(frame)
            elif command == "ERROR":
                self._error(frame)

    def _message(self, frame: Frame) -> None:
        message = Message(self, frame)
        destination = message.destination
        self._count("messages_received", destination=destination)
        self._delivered(destination, frame.body, destination=destination)
        subscription = self._subscriptions.get(message.subscription)
        if subscription is not None:
            subscription._deliver(message)
        elif not self._emit("message", message):
            self._queue(message)

    def _error(self, frame: Frame) -> None:
        self._count("errors")
        error = StompError(frame)
        if not self._connected.ready():
            self._connected.set_exception(error)
            return
        self.error = error
        receipt = self._receipts.get(frame.headers.get("receipt-id", ""))
        for waiter in [receipt] if receipt is not None else list(self._receipts.values()):
            waiter.set_exception(error)
        if not self._emit("error", error):
            self._context.report_error(
                f"stomp:ERROR:{error.message}", f"{error} {self.url} vu={self.vu.id}"
            )

    def _queue_to(self, inbox: Mailbox[Message], message: Message) -> None:
        if not inbox.put(message) and inbox.dropped == 1:
            self._context.report_error(
                "stomp:inbox-full",
                f"stomp {self.url}: a subscription's messages were never read with recv(); "
                f"the oldest are dropped (use on() handlers for streams) vu={self.vu.id}",
            )

    def _on_closed(self, code: int, reason: str) -> None:
        closed = ConnectionClosed(code, reason)
        if not self._connected.ready():
            self._connected.set_exception(closed)
        for waiter in list(self._receipts.values()):
            if not waiter.ready():
                waiter.set_exception(self.error or closed)
        for subscription in self._subscriptions.values():
            subscription.inbox.close(closed)


def connect(url: str, params: Mapping[str, Any] | None = None, **options: Any) -> StompSession:
    """Open a WebSocket to ``url`` (``params`` as ``ws.open``'s), CONNECT and wait for
    CONNECTED. ``options`` are :class:`StompSession`'s: ``login``, ``passcode`` ("guest"),
    ``host`` ("/"), ``heartbeat`` ((10000, 10000): the client can send every, wants to receive
    every, ms), ``timeout`` (30 s), ``headers`` (more CONNECT headers), ``heartbeat_tolerance``
    (2.0: how many agreed intervals of server silence end the session).

    Raises:
        StompError: the server answered with an ERROR frame (a bad login, a wrong host).
        ConnectError: the WebSocket handshake failed.
        ReceiveTimeout: no CONNECTED within ``timeout`` seconds.
    """
    return StompSession(url, params, **options)
