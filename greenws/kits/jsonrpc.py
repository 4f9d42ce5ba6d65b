"""JSON-RPC 2.0 over WebSocket: calls correlated by id, notifications, batches, subscriptions.

::

    from greenws.kits import jsonrpc

    def default():
        with jsonrpc.connect("ws://127.0.0.1:8545") as rpc:
            block = rpc.call("eth_blockNumber")
            heads = rpc.subscribe("eth_subscribe", ["newHeads"])
            head = heads.recv(timeout=15)

Metrics (tagged like the session's ``ws_*`` samples, plus ``method``):
``jsonrpc_duration`` (Trend: from the send of a call to its answer), ``jsonrpc_failed`` (Rate:
an error answer or no answer in time; an error's code is the ``error_code`` tag),
``jsonrpc_notifications`` (Counter: notifications received, subscriptions' included).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar

from gevent.event import AsyncResult
from gevent.hub import Waiter, get_hub
from gevent.timeout import Timeout

from greenws.codecs.jsonrpc import (
    Notification,
    Request,
    Response,
    RpcError,
    encode_batch,
    encode_notification,
    encode_request,
    parse,
)
from greenws.kits.mailbox import Mailbox
from greenws.kits.session import (
    DEFAULT_TIMEOUT,
    ConnectionClosed,
    KitSession,
    ReceiveTimeout,
)
from greenws.metrics.metric import MetricType

__all__ = ["JsonRpcSession", "RpcError", "Subscription", "connect"]

#: What a call's timer hands its waiter (a Response or a ConnectionClosed is never this).
_TIMED_OUT = object()

#: Notifications for a subscription id the VU has not registered yet (its ``subscribe`` answer
#: and the first notification can arrive in one read), kept per session up to this many.
_EARLY_MAX = 1_000


class Subscription:
    """A server-side subscription's stream of notifications (``eth_subscribe`` style)."""

    def __init__(self, session: JsonRpcSession, subscription_id: Any, unsubscribe: str) -> None:
        self.id = subscription_id
        self._session = session
        self._unsubscribe = unsubscribe
        self._handlers: list[Callable[..., Any]] = []
        self.inbox: Mailbox[Any] = Mailbox()

    def recv(self, timeout: float | None = None) -> Any:
        """The next notification's ``result``; ReceiveTimeout or ConnectionClosed as ``recv``."""
        return self.inbox.get(None, timeout)

    def on(self, handler: Callable[..., Any]) -> None:
        """Call ``handler(result)`` for each notification (then it is not queued for recv)."""
        self._handlers.append(handler)

    def unsubscribe(self, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Call the unsubscribe method with this id; stop routing its notifications."""
        self._session._subscriptions.pop(self.id, None)
        return self._session.call(self._unsubscribe, [self.id], timeout=timeout)

    def _notify(self, result: Any) -> None:
        if self._handlers:
            for handler in self._handlers:
                self._session._run_handler(handler, result)
        else:
            self.inbox.put(result)


class JsonRpcSession(KitSession):
    """A JSON-RPC 2.0 client over one WebSocket."""

    KIT = "jsonrpc"
    METRICS: ClassVar[Mapping[str, MetricType]] = {
        "jsonrpc_duration": MetricType.TREND,
        "jsonrpc_failed": MetricType.RATE,
        "jsonrpc_notifications": MetricType.COUNTER,
    }

    def __init__(self, url: str, params: Mapping[str, Any] | None = None) -> None:
        self._ids = itertools.count(1)
        # id -> (deliver(answer), method): the reader hands each answer (or, when the session
        # ends, a ConnectionClosed) to deliver.
        self._pending: dict[Any, tuple[Callable[[Any], None], str]] = {}
        self._subscriptions: dict[Any, Subscription] = {}
        self._early: dict[Any, list[Any]] = {}
        self._hub = get_hub()
        self._timers: dict[float, Any] = {}
        self._method_samples: dict[str, tuple[Any, Any, Any, Any]] = {}
        super().__init__(url, params)

    def call(self, method: str, params: Any = None, timeout: float | None = DEFAULT_TIMEOUT) -> Any:
        """Call ``method`` and return its result; raise :class:`RpcError` for an error answer
        and ReceiveTimeout if none came within ``timeout`` seconds."""
        # The call path is the kit's hot loop (benchmarks/kits/jsonrpc.py): a bare hub Waiter
        # woken by one loop callback, and a libev timer kept per timeout value, cost less than
        # an AsyncResult's links and a new gevent Timeout object per call (RESULTS.md).
        request_id = next(self._ids)
        waiter = Waiter(self._hub)
        self._pending[request_id] = (partial(self._hub.loop.run_callback, waiter.switch), method)
        started = time.perf_counter()
        timer = None
        try:
            self._send(encode_request(request_id, method, params))
            if timeout is not None:
                timer = self._timers.get(timeout)
                if timer is None:
                    timer = self._timers[timeout] = self._hub.loop.timer(max(timeout, 0.0))
                timer.start(waiter.switch, _TIMED_OUT)
            answer = waiter.get()
        finally:
            if timer is not None:
                timer.stop()
            self._pending.pop(request_id, None)
        if answer is _TIMED_OUT:
            self._record("failed", 1.0, MetricType.RATE, method=method)
            raise ReceiveTimeout(f"jsonrpc {method}: no answer in {timeout} s")
        return self._settle(method, answer, started)

    def _settle(self, method: str, response: Response | ConnectionClosed, started: float) -> Any:
        if isinstance(response, ConnectionClosed):
            raise response
        elapsed = (time.perf_counter() - started) * 1000.0
        if response.error is not None:
            self._record("duration", elapsed, method=method)
            code = str(response.error.code)
            self._record("failed", 1.0, MetricType.RATE, method=method, error_code=code)
            raise response.error
        # the common case, two samples with the method's tags looked up once per session
        samples = self._method_samples.get(method)
        if samples is None:
            duration, failed = self._metric("duration"), self._metric("failed", MetricType.RATE)
            tags = self._tags_with({"method": method})
            samples = self._method_samples[method] = (duration, failed, tags, None)
        duration, failed, tags, _ = samples
        now = time.time()
        append = self._context.samples.append
        append((duration, now, elapsed, tags))
        append((failed, now, 0.0, tags))
        return response.result

    def notify(self, method: str, params: Any = None) -> None:
        """Send a notification: no id, no answer, nothing timed."""
        self._send(encode_notification(method, params))

    def batch(
        self, calls: Sequence[tuple[str, Any]], timeout: float | None = DEFAULT_TIMEOUT
    ) -> list[Any]:
        """Send ``[(method, params), ...]`` as one batch; return each call's result in order, or
        its :class:`RpcError` (not raised: one failed call should not hide the others')."""
        ids = [next(self._ids) for _ in calls]
        waiters = []
        for request_id, (method, _) in zip(ids, calls, strict=True):
            waiter: AsyncResult = AsyncResult()
            self._pending[request_id] = (waiter.set, method)
            waiters.append(waiter)
        started = time.perf_counter()
        deadline = None if timeout is None else time.monotonic() + timeout
        results: list[Any] = []
        try:
            self._send(encode_batch([(i, m, p) for i, (m, p) in zip(ids, calls, strict=True)]))
            for waiter, (method, _) in zip(waiters, calls, strict=True):
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    response = waiter.get(timeout=left)
                except Timeout:
                    self._record("failed", 1.0, MetricType.RATE, method=method)
                    raise ReceiveTimeout(f"jsonrpc batch: no answer to {method} in time") from None
                try:
                    results.append(self._settle(method, response, started))
                except RpcError as error:
                    results.append(error)
        finally:
            for request_id in ids:
                self._pending.pop(request_id, None)
        return results

    def subscribe(
        self,
        method: str = "eth_subscribe",
        params: Any = None,
        unsubscribe: str = "eth_unsubscribe",
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> Subscription:
        """Call ``method``; its result is the subscription id whose notifications (params
        ``{"subscription": id, "result": ...}``) the returned :class:`Subscription` receives."""
        subscription_id = self.call(method, params, timeout=timeout)
        subscription = Subscription(self, subscription_id, unsubscribe)
        self._subscriptions[subscription_id] = subscription
        for result in self._early.pop(subscription_id, ()):
            subscription._notify(result)
        return subscription

    # -- the reader greenlet ----------------------------------------------------------------------

    def _handle(self, message: str | bytes) -> None:
        for item in parse(message):
            if isinstance(item, Response):
                pending = self._pending.get(item.id)
                if pending is not None:
                    pending[0](item)
            elif isinstance(item, Notification):
                self._notification(item)
            elif isinstance(item, Request):
                self._queue(item)
                self._emit("request", item.method, item.params, item.id)

    def _notification(self, item: Notification) -> None:
        self._count("notifications", method=item.method)
        params = item.params
        if isinstance(params, dict) and "subscription" in params:
            subscription_id = params["subscription"]
            subscription = self._subscriptions.get(subscription_id)
            if subscription is not None:
                subscription._notify(params.get("result"))
                return
            early = self._early.setdefault(subscription_id, [])
            if len(early) < _EARLY_MAX:
                early.append(params.get("result"))
            return
        if not self._emit("notification", item.method, params):
            self._queue(item)

    def _run_handler(self, handler: Callable[..., Any], *args: Any) -> None:
        try:
            handler(*args)
        except Exception as error:
            self._context.report_script_error(self.vu, error)

    def _on_closed(self, code: int, reason: str) -> None:
        closed = ConnectionClosed(code, reason)
        for deliver, _ in list(self._pending.values()):
            deliver(closed)
        for subscription in self._subscriptions.values():
            subscription.inbox.close(closed)


METRICS = JsonRpcSession.METRICS


def connect(url: str, params: Mapping[str, Any] | None = None) -> JsonRpcSession:
    """Open a JSON-RPC session to ``url`` (ws:// or wss://); ``params`` as ``ws.open``'s."""
    return JsonRpcSession(url, params)
