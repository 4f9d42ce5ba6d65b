"""Where a kit session's incoming messages wait for the VU: blocking, matching, bounded.

The reader greenlet puts what the server sent; the VU takes it with ``get(match, timeout)``.
A waiter whose ``match`` accepts a message gets it directly, so a reply (an acknowledgement,
a RECEIPT, a JSON-RPC result) never sits behind unrelated traffic; the rest queue in order.
The queue is bounded: a script that subscribes and never reads must not grow without end, so
past ``capacity`` the oldest message goes and the loss is counted (the kit reports it).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from gevent.event import AsyncResult
from gevent.timeout import Timeout

from greenws.sockets.sequential import ConnectionClosed, ReceiveTimeout

__all__ = ["DEFAULT_CAPACITY", "Mailbox"]

T = TypeVar("T")

#: Unread messages one session keeps before dropping the oldest.
DEFAULT_CAPACITY = 10_000


class Mailbox(Generic[T]):
    """Messages for one session, in arrival order, with matching waiters."""

    __slots__ = ("_closed", "_items", "_waiters", "capacity", "dropped")

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._items: deque[T] = deque()
        self._waiters: list[tuple[Callable[[T], Any] | None, AsyncResult]] = []
        self._closed: ConnectionClosed | None = None
        self.capacity = capacity
        #: Messages dropped because nobody read them and the queue was full.
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> bool:
        """Hand ``item`` to the first waiter that accepts it, else queue it. False if that
        queueing dropped the oldest message."""
        for index, (match, result) in enumerate(self._waiters):
            if match is None or match(item):
                del self._waiters[index]
                result.set(item)
                return True
        items = self._items
        items.append(item)
        if len(items) > self.capacity:
            items.popleft()
            self.dropped += 1
            return False
        return True

    def get(self, match: Callable[[T], Any] | None = None, timeout: float | None = None) -> T:
        """The first queued message ``match`` accepts (any without it), waiting up to
        ``timeout`` seconds for one (None: until the session ends).

        Raises:
            ReceiveTimeout: none came in time.
            ConnectionClosed: the session is over and nothing queued matches.
        """
        items = self._items
        for index, item in enumerate(items):
            if match is None or match(item):
                del items[index]
                return item
        if self._closed is not None:
            raise self._closed
        result: AsyncResult = AsyncResult()
        waiter = (match, result)
        self._waiters.append(waiter)
        try:
            return result.get(timeout=timeout)  # type: ignore[no-any-return]
        except Timeout:
            raise ReceiveTimeout(f"nothing arrived in {timeout} s") from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def close(self, error: ConnectionClosed) -> None:
        """The session ended: every waiter, now and later, gets ``error`` once the queue has
        nothing it accepts."""
        self._closed = error
        waiters, self._waiters = self._waiters, []
        for _, result in waiters:
            result.set_exception(error)
