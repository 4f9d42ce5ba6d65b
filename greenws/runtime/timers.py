"""A VU's timers: ``set_timeout`` / ``set_interval`` as a heap driven by an injected clock.

Pure on purpose: the VU event loop asks :meth:`TimerQueue.next_deadline` how long it may wait on its
socket, and after waking calls :meth:`TimerQueue.due` with the current time. Timers that fall due
at the same instant run in the order they were set, as in JavaScript.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["Timer", "TimerQueue"]


@dataclass(order=True, slots=True)
class Timer:
    """One pending callback; ``interval`` is set for repeating timers."""

    deadline: float
    sequence: int
    callback: Callable[[], object] = field(compare=False)
    interval: float | None = field(default=None, compare=False)
    cancelled: bool = field(default=False, compare=False)


#: Live timers beyond which :class:`TimerQueue` keeps an index by id rather than scanning.
_INDEX_ABOVE = 16


class TimerQueue:
    """Timers ordered by deadline, then by creation order.

    A session usually has one or two timers (a ping interval, a closing timeout): a dict from id
    to timer for them was 224 bytes a VU (``benchmarks/idle_memory.py``), so :meth:`cancel`
    scans the heap until more than ``_INDEX_ABOVE`` are live, and only then builds that index.
    """

    __slots__ = ("_by_id", "_heap", "_live", "_sequence")

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        #: id -> live timer, only while many are live (see the class docstring).
        self._by_id: dict[int, Timer] | None = None
        self._live = 0
        self._sequence = 0

    def __len__(self) -> int:
        return self._live

    def add(
        self, now: float, delay: float, callback: Callable[[], object], *, repeat: bool = False
    ) -> int:
        """Schedule ``callback`` ``delay`` seconds after ``now``; return an id for :meth:`cancel`.

        A repeating timer with a zero delay would spin its VU forever, so intervals are at least 1 ms.
        """
        delay = max(0.0, delay)
        if repeat:
            delay = max(delay, 0.001)
        self._sequence += 1
        timer = Timer(now + delay, self._sequence, callback, delay if repeat else None)
        heapq.heappush(self._heap, timer)
        self._live += 1
        by_id = self._by_id
        if by_id is not None:
            by_id[timer.sequence] = timer
        elif self._live > _INDEX_ABOVE:
            self._by_id = {t.sequence: t for t in self._heap if not t.cancelled}
        return timer.sequence

    def cancel(self, timer_id: int) -> bool:
        """Cancel a timer; returns False if it had already fired (timeouts) or was unknown."""
        by_id = self._by_id
        if by_id is not None:
            timer = by_id.pop(timer_id, None)
        else:  # at most one live timer has this id: an interval's re-armed copy replaces it
            timer = next(
                (t for t in self._heap if t.sequence == timer_id and not t.cancelled), None
            )
        if timer is None:
            return False
        timer.cancelled = True
        self._live -= 1
        return True

    def clear(self) -> None:
        """Forget every timer (the socket closed: k6 drops its pending timers too)."""
        for timer in self._heap:
            timer.cancelled = True
        self._heap.clear()
        self._by_id = None
        self._live = 0

    def next_deadline(self) -> float | None:
        """The earliest live deadline, or None when nothing is pending."""
        heap = self._heap
        while heap and heap[0].cancelled:
            heapq.heappop(heap)
        return heap[0].deadline if heap else None

    def due(self, now: float) -> Iterator[Callable[[], object]]:
        """The callbacks due at ``now``, popped one at a time as the caller runs them.

        Lazily, so that a callback cancelling another timer due at the same instant stops it
        (as ``clearTimeout`` does in JavaScript). Timers set by those callbacks wait for the next
        call, even with a zero delay: a callback re-arming itself cannot starve the socket.
        An interval is re-armed from its previous deadline (no drift), but never into the past: a
        VU that fell behind runs a late interval once, not once per missed period.
        """
        heap = self._heap
        last = self._sequence
        while heap and (heap[0].cancelled or heap[0].deadline <= now):
            if heap[0].sequence > last and not heap[0].cancelled:
                return
            timer = heapq.heappop(heap)
            if timer.cancelled:
                continue
            by_id = self._by_id
            if timer.interval is None:
                self._live -= 1
                if by_id is not None:
                    del by_id[timer.sequence]
            else:
                next_deadline = timer.deadline + timer.interval
                if next_deadline <= now:
                    next_deadline = now + timer.interval
                # Same sequence: the id the script holds keeps naming the live timer.
                rearmed = Timer(next_deadline, timer.sequence, timer.callback, timer.interval)
                heapq.heappush(heap, rearmed)
                if by_id is not None:
                    by_id[timer.sequence] = rearmed
            yield timer.callback

    def pop_due(self, now: float) -> list[Callable[[], object]]:
        """Every callback due at ``now`` at once (see :meth:`due`, which callers should prefer)."""
        return list(self.due(now))
