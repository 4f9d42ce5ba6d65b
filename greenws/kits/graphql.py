"""GraphQL over WebSocket: subscriptions, queries and mutations on one socket, in either dialect
(``graphql-transport-ws``, the graphql-ws library's; or Apollo's legacy
``subscriptions-transport-ws``).

::

    from greenws.kits import graphql

    def default():
        with graphql.connect("ws://127.0.0.1:4000/graphql", payload={"token": "t"}) as gql:
            feed = gql.subscribe("subscription { feed(channel: \\"news\\") { text } }")
            gql.execute("mutation { publish(channel: \\"news\\", text: \\"hi\\") }")
            event = feed.recv(timeout=5)          # {"data": {"feed": {"text": "hi"}}}

The server's pings are answered on the reader greenlet and legacy ``ka`` keep-alives counted,
so a session survives a VU's long ``sleep()``. Metrics (tagged like the session's ``ws_*``
samples, plus ``operation`` and ``operation_type``): ``graphql_connect_duration``,
``graphql_subscribe_first_event``, ``graphql_operation_duration``, ``graphql_events``,
``graphql_errors``, ``graphql_keepalives``, ``graphql_broadcast_latency``; docs/protocols.md
says what each measures.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import suppress
from typing import Any, ClassVar

from gevent.event import AsyncResult
from gevent.timeout import Timeout

from greenws.codecs.graphql import (
    GRAPHQL_TRANSPORT_WS,
    PROTOCOLS,
    SUBSCRIPTIONS_TRANSPORT_WS,
    Ack,
    Complete,
    ConnectionRejected,
    Error,
    GraphQLError,
    KeepAlive,
    Next,
    Ping,
    close_meaning,
    encode_complete,
    encode_init,
    encode_ping,
    encode_pong,
    encode_subscribe,
    encode_terminate,
    operation_of,
    parse,
)
from greenws.kits.mailbox import Mailbox
from greenws.kits.session import (
    DEFAULT_TIMEOUT,
    ConnectionClosed,
    KitSession,
    ProtocolError,
    ReceiveTimeout,
)
from greenws.metrics.metric import MetricType

__all__ = [
    "GRAPHQL_TRANSPORT_WS",
    "METRICS",
    "SUBSCRIPTIONS_TRANSPORT_WS",
    "ConnectionClosed",
    "GraphQLError",
    "GraphQLProtocolError",
    "GraphQLSession",
    "OperationComplete",
    "ReceiveTimeout",
    "Subscription",
    "connect",
]

#: The channel publish-to-delivery keys are noted under (the key says the rest).
_BROADCAST = "graphql"
#: How long a refused connect waits for the server's close after a legacy connection_error.
_REJECTED_CLOSE_WAIT = 3.0
#: Marks the end of an operation in its inbox (after its last result and error).
_END = object()


class GraphQLProtocolError(ProtocolError, ConnectionClosed):
    """The server ended the session the protocol's way: a close code of the GraphQL range
    (``code``, ``reason``, ``meaning``: 4403 forbidden, 4406 subprotocol not acceptable, ...) or
    a legacy ``connection_error`` (``payload``). A :class:`ConnectionClosed` too."""

    def __init__(self, code: int, reason: str = "", payload: Any = None) -> None:
        meaning = close_meaning(code) or ("connection_error" if payload is not None else "")
        self.meaning = meaning
        self.payload = payload
        said = f": {reason}" if reason else ""
        detail = f" ({payload})" if payload is not None else ""
        super().__init__(code, reason, f"GraphQL close {code}{said} - {meaning}{detail}")


class OperationComplete(Exception):
    """The operation is over (the server completed it, or the script did): nothing more comes."""


class Subscription:
    """One running operation: its results in order, through ``recv``, iteration or ``on``."""

    def __init__(
        self,
        session: GraphQLSession,
        operation_id: str,
        query: str,
        operation_name: str | None,
        broadcast: Callable[[Any], Hashable | None] | None = None,
    ) -> None:
        self.id = operation_id
        self.operation_type, self.operation = operation_of(query, operation_name)
        self.inbox: Mailbox[Any] = Mailbox()
        #: Whether the operation is over (completed, failed, or stopped by the script).
        self.done = False
        #: Results received so far.
        self.events = 0
        self._session = session
        self._broadcast = broadcast
        self._handlers: dict[str, list[Callable[..., Any]]] = {}
        self._tags = {"operation": self.operation, "operation_type": self.operation_type}
        self._started = time.perf_counter()
        self._time_first = False  # subscribe() sets it: execute()'s one result is not "first"

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<Subscription {self.id} {self.operation_type} {self.operation} {state}>"

    def recv(self, timeout: float | None = None) -> Any:
        """The next result (``{"data": ..., "errors": [...]}``), waiting up to ``timeout``
        seconds (None: the session's ``timeout``).

        Raises:
            GraphQLError: the server sent an ``error`` for this operation.
            OperationComplete: the operation is over and every result was read.
            ReceiveTimeout: nothing came in time.
            ConnectionClosed: the session ended (:class:`GraphQLProtocolError` if with a
                GraphQL close code).
        """
        item = self.inbox.get(None, self._session.timeout if timeout is None else timeout)
        if item is _END:
            self.inbox.put(_END)  # every later recv says so too
            raise OperationComplete(f"GraphQL {self.operation}: complete")
        if isinstance(item, GraphQLError):
            raise item
        return item

    def __iter__(self) -> Iterator[Any]:
        """Each result until the operation completes (each waits the session's ``timeout``)."""
        while True:
            try:
                yield self.recv()
            except OperationComplete:
                return

    def on(self, handler: Callable[..., Any], event: str = "next") -> None:
        """Call ``handler`` on the reader greenlet: ``"next"`` with each result (then results
        are not queued for ``recv``), ``"error"`` with the GraphQLError, ``"complete"``."""
        if event not in ("next", "error", "complete"):
            raise ValueError(f"Subscription.on: event must be next, error or complete: {event!r}")
        if not callable(handler):
            raise TypeError("Subscription.on: handler must be callable")
        self._handlers.setdefault(event, []).append(handler)

    def complete(self) -> None:
        """Stop the operation from the client side (``complete``; legacy ``stop``)."""
        if self.done:
            return
        self._finish()
        session = self._session
        if not session.closed:
            session._send(encode_complete(session.graphql_protocol, self.id))

    # -- the reader greenlet ----------------------------------------------------------------------

    def _next(self, payload: Any) -> None:
        session = self._session
        if self._time_first and self.events == 0:
            elapsed = (time.perf_counter() - self._started) * 1000.0
            session._record("subscribe_first_event", elapsed, **self._tags)
        self.events += 1
        session._count("events", **self._tags)
        if payload.get("errors"):
            session._count("errors", error="result", **self._tags)
        if self._broadcast is not None:
            key = self._key(payload)
            if key is not None:
                session._delivered(_BROADCAST, key, **self._tags)
        if not self._run("next", payload):
            session._keep(self.inbox, payload)

    def _key(self, payload: Any) -> Hashable | None:
        assert self._broadcast is not None
        try:
            return self._broadcast(payload)
        except Exception as error:  # the script's function: its failure is the script's error
            self._session._context.report_script_error(self._session.vu, error)
            return None

    def _failed(self, errors: list[Any]) -> None:
        error = GraphQLError(errors, self.operation)
        self._session._count("errors", error="error", **self._tags)
        self._ended()
        if not self._run("error", error):
            self._session._keep(self.inbox, error)
        self.inbox.put(_END)

    def _completed(self) -> None:
        self._ended()
        self._run("complete")
        self.inbox.put(_END)

    def _ended(self) -> None:
        """The server ended the operation: time it, forget it."""
        elapsed = (time.perf_counter() - self._started) * 1000.0
        self._session._record("operation_duration", elapsed, **self._tags)
        self.done = True
        self._session._operations.pop(self.id, None)

    def _finish(self) -> None:
        self.done = True
        self._session._operations.pop(self.id, None)
        self.inbox.put(_END)

    def _run(self, event: str, *args: Any) -> bool:
        handlers = self._handlers.get(event)
        if not handlers:
            return False
        for handler in handlers:
            try:
                handler(*args)
            except Exception as error:
                self._session._context.report_script_error(self._session.vu, error)
        return True


class GraphQLSession(KitSession):
    """A GraphQL client over one WebSocket; :func:`connect` makes one."""

    KIT = "graphql"
    METRICS: ClassVar[Mapping[str, MetricType]] = {
        "graphql_connect_duration": MetricType.TREND,
        "graphql_subscribe_first_event": MetricType.TREND,
        "graphql_operation_duration": MetricType.TREND,
        "graphql_events": MetricType.COUNTER,
        "graphql_errors": MetricType.COUNTER,
        "graphql_keepalives": MetricType.COUNTER,
        "graphql_broadcast_latency": MetricType.TREND,
    }
    #: Which of the two protocols this session speaks (a subclass per protocol).
    PROTOCOL: ClassVar[str] = GRAPHQL_TRANSPORT_WS

    def __init__(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
        keepalive: float | None = None,
    ) -> None:
        self.graphql_protocol = self.PROTOCOL
        #: How long connect, execute and recv wait unless told otherwise.
        self.timeout = timeout
        #: What connection_ack carried (None if nothing).
        self.ack_payload: Any = None
        #: Server pings answered and legacy ``ka`` messages received.
        self.keepalives = 0
        self._ids = itertools.count(1)
        self._operations: dict[str, Subscription] = {}
        self._acked: AsyncResult = AsyncResult()
        super().__init__(url, params)
        started = time.perf_counter()
        with suppress(ConnectionClosed):  # closed right after the handshake (4406):
            self._send(encode_init(self.graphql_protocol, payload))  # the ack wait says why
        try:
            self.ack_payload = self._acked.get(timeout=timeout)
        except Timeout:
            self.socket.abort(1000)
            raise ReceiveTimeout(
                f"graphql.connect {url}: no connection_ack in {timeout} s"
            ) from None
        except GraphQLProtocolError as error:
            if error.payload is None:  # a close code said it all
                raise
            # A legacy connection_error: the server closes next; say how (recv ends with it).
            with suppress(ReceiveTimeout, ConnectionClosed):
                self.recv(timeout=_REJECTED_CLOSE_WAIT)
            if not self.closed:
                self.socket.close(1000)
            code = self.close_code or 1006
            raise GraphQLProtocolError(code, self.socket.close_reason, error.payload) from None
        self._record("connect_duration", (time.perf_counter() - started) * 1000.0)
        if keepalive and self.graphql_protocol == GRAPHQL_TRANSPORT_WS:
            self.socket.every(keepalive, lambda: self._send(encode_ping()))

    # -- what scripts use ---------------------------------------------------------------------

    def subscribe(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        broadcast: Callable[[Any], Hashable | None] | None = None,
    ) -> Subscription:
        """Start an operation (usually a subscription) and return its :class:`Subscription`.

        ``broadcast``, if given, maps each result to the key an ``execute(..., broadcast=key)``
        published, to time ``graphql_broadcast_latency`` across VUs (None: not one to time).
        """
        subscription = self._start(query, variables, operation_name, broadcast)
        subscription._time_first = True
        return subscription

    def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        timeout: float | None = None,
        broadcast: Hashable | None = None,
    ) -> Any:
        """Run a query or mutation over the socket and return its result
        (``{"data": ..., "errors": [...]}``; execution errors are in it, not raised).

        ``broadcast``: a key the subscribers' results will map to (see :meth:`subscribe`).

        Raises:
            GraphQLError: the server answered with an ``error`` (e.g. validation).
            ReceiveTimeout: no result within ``timeout`` (None: the session's); the operation
                is then stopped.
            OperationComplete: the server completed it without a result.
        """
        if broadcast is not None:
            self._published(_BROADCAST, broadcast)
        operation = self._start(query, variables, operation_name, None)
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        result: Any = _END
        try:
            result = operation.recv(wait)
            # The server's complete follows (often in the same read): wait for it, so the
            # operation is timed to its end and not left running for close() to stop.
            while not operation.done:
                operation.recv(max(0.0, deadline - time.monotonic()))
        except OperationComplete:
            if result is _END:
                raise
        except ReceiveTimeout:
            self._count("errors", error="timeout", **operation._tags)
            operation.complete()
            if result is _END:
                raise
        return result

    def close(self) -> None:
        """Stop the running operations, say goodbye (legacy ``connection_terminate``), close 1000."""
        if not self.closed:
            with suppress(ConnectionClosed):
                for operation in list(self._operations.values()):
                    operation.complete()
                goodbye = encode_terminate(self.graphql_protocol)
                if goodbye is not None:
                    self._send(goodbye)
        self.socket.close(1000)

    # -- inside -----------------------------------------------------------------------------------

    def _start(
        self,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        broadcast: Callable[[Any], Hashable | None] | None,
    ) -> Subscription:
        operation_id = str(next(self._ids))
        message = encode_subscribe(
            self.graphql_protocol, operation_id, query, variables, operation_name
        )
        operation = Subscription(self, operation_id, query, operation_name, broadcast)
        if self.closed:
            raise self._closed_error(self.close_code or 1006, self.socket.close_reason)
        self._operations[operation_id] = operation
        self._send(message)
        return operation

    def _keep(self, inbox: Mailbox[Any], item: Any) -> None:
        """Queue for a subscription's recv; report (once) if its bounded inbox dropped one."""
        if not inbox.put(item) and self._reported_drops == 0:
            self._reported_drops = 1
            self._context.report_error(
                "graphql:inbox-full",
                f"graphql {self.url}: more than {inbox.capacity} results were never read with "
                f"recv(); the oldest are dropped (use on() for streams) vu={self.vu.id}",
            )

    def _handle(self, message: str | bytes) -> None:
        item = parse(self.graphql_protocol, message)
        if isinstance(item, (Next, Error, Complete)):
            operation = self._operations.get(item.id)
            if operation is None:
                return  # one the script stopped: its last results cross the stop
            if isinstance(item, Next):
                operation._next(item.payload)
            elif isinstance(item, Error):
                operation._failed(item.errors)
            else:
                operation._completed()
        elif isinstance(item, Ping):
            self._send(encode_pong())
            self._keepalive("ping")
        elif isinstance(item, KeepAlive):
            self._keepalive("ka")
        elif isinstance(item, Ack):
            if not self._acked.ready():
                self._acked.set(item.payload)
        elif isinstance(item, ConnectionRejected):
            self._count("errors", error="connection_error")
            if not self._acked.ready():
                self._acked.set_exception(GraphQLProtocolError(1000, "", item.payload or {}))

    def _keepalive(self, kind: str) -> None:
        self.keepalives += 1
        self._count("keepalives", type=kind)

    def _closed_error(self, code: int, reason: str) -> ConnectionClosed:
        if close_meaning(code) is not None:
            return GraphQLProtocolError(code, reason)
        return ConnectionClosed(code, reason)

    def _on_closed(self, code: int, reason: str) -> None:
        error = self._closed_error(code, reason)
        if isinstance(error, GraphQLProtocolError):
            self._count("errors", error=str(code))
        if not self._acked.ready():
            self._acked.set_exception(
                error
                if isinstance(error, GraphQLProtocolError)
                else GraphQLProtocolError(code, reason)
            )
        for operation in list(self._operations.values()):
            operation.done = True
            operation.inbox.close(error)
        self._operations.clear()


class _TransportSession(GraphQLSession):
    SUBPROTOCOLS = (PROTOCOLS[GRAPHQL_TRANSPORT_WS],)
    PROTOCOL = GRAPHQL_TRANSPORT_WS


class _LegacySession(GraphQLSession):
    SUBPROTOCOLS = (PROTOCOLS[SUBSCRIPTIONS_TRANSPORT_WS],)
    PROTOCOL = SUBSCRIPTIONS_TRANSPORT_WS


METRICS = GraphQLSession.METRICS

_SESSIONS: dict[str, type[GraphQLSession]] = {
    GRAPHQL_TRANSPORT_WS: _TransportSession,
    SUBSCRIPTIONS_TRANSPORT_WS: _LegacySession,
}


def connect(
    url: str,
    params: Mapping[str, Any] | None = None,
    protocol: str = GRAPHQL_TRANSPORT_WS,
    payload: Any = None,
    timeout: float = DEFAULT_TIMEOUT,
    keepalive: float | None = None,
) -> GraphQLSession:
    """Open a GraphQL session to ``url`` (``params`` as ``ws.open``'s) and wait for the
    server's connection_ack. ``protocol``: ``"graphql-transport-ws"`` or
    ``"subscriptions-transport-ws"``; ``payload``: connection_init's (auth); ``timeout``: the
    wait for the ack and execute's and recv's default; ``keepalive``: graphql-transport-ws
    only, a client ping every this many seconds (for servers that want them).

    Raises:
        GraphQLProtocolError: the server refused (a close code such as 4403, or a legacy
            connection_error).
        ReceiveTimeout: no connection_ack within ``timeout``.
        ConnectError: the WebSocket itself could not be opened.
    """
    session_type = _SESSIONS.get(protocol)
    if session_type is None:
        raise ValueError(
            f"graphql.connect: unknown protocol {protocol!r} (there are: "
            f"{', '.join(sorted(_SESSIONS))})"
        )
    return session_type(url, params, payload, timeout, keepalive)
