"""The pure timer heap under a VU's loop, driven by a hand-held clock."""

from __future__ import annotations

import pytest

from greenws.runtime.timers import TimerQueue


def test_timers_due_together_run_in_creation_order() -> None:
    timers = TimerQueue()
    ran: list[str] = []
    timers.add(0.0, 2.0, lambda: ran.append("late"))
    timers.add(0.0, 1.0, lambda: ran.append("first"))
    timers.add(0.0, 1.0, lambda: ran.append("second"))
    for callback in timers.due(5.0):
        callback()
    assert ran == ["first", "second", "late"]
    assert timers.next_deadline() is None


def test_a_callback_cancelling_a_timer_due_at_the_same_instant_stops_it() -> None:
    timers = TimerQueue()
    ran: list[str] = []
    victim = 0

    def killer() -> None:
        ran.append("killer")
        timers.cancel(victim)

    timers.add(0.0, 1.0, killer)
    victim = timers.add(0.0, 1.0, lambda: ran.append("victim"))
    for callback in timers.due(1.0):
        callback()
    assert ran == ["killer"]
    assert len(timers) == 0


def test_a_zero_delay_timer_set_by_a_callback_waits_for_the_next_turn() -> None:
    timers = TimerQueue()
    ran: list[int] = []

    def again() -> None:
        ran.append(len(ran))
        timers.add(1.0, 0.0, again)

    timers.add(0.0, 1.0, again)
    for callback in timers.due(1.0):
        callback()
    assert ran == [0]  # not an endless loop inside one turn
    for callback in timers.due(1.0):
        callback()
    assert ran == [0, 1]


def test_an_interval_rearms_from_its_deadline_but_never_into_the_past() -> None:
    timers = TimerQueue()
    ticks: list[str] = []
    interval = timers.add(0.0, 1.0, lambda: ticks.append("tick"), repeat=True)
    assert [c() for c in timers.due(1.0)] and timers.next_deadline() == 2.0
    for callback in timers.due(10.5):  # fell far behind: one late tick, not nine
        callback()
    assert ticks == ["tick", "tick"]
    assert timers.next_deadline() == 11.5
    assert timers.cancel(interval)
    assert timers.next_deadline() is None


@pytest.mark.parametrize("count", [2, 40])
def test_cancel_len_and_intervals_agree_with_few_and_many_timers(count: int) -> None:
    # Few timers are found by scanning the heap, many through an index: the same answers.
    timers = TimerQueue()
    ran: list[int] = []
    ids = [timers.add(0.0, 1.0 + i, lambda i=i: ran.append(i)) for i in range(count)]
    interval = timers.add(0.0, 0.5, lambda: ran.append(-1), repeat=True)
    assert len(timers) == count + 1
    assert timers.cancel(ids[1]) and not timers.cancel(ids[1])
    assert not timers.cancel(12345)
    assert len(timers) == count
    for callback in timers.due(1.0):  # ids[0] and the interval's first tick
        callback()
    assert ran == [-1, 0] and len(timers) == count - 1
    assert not timers.cancel(ids[0])  # fired already
    assert timers.cancel(interval)  # its re-armed copy, under the same id
    for callback in timers.due(1.5):
        callback()
    assert ran == [-1, 0] and len(timers) == count - 2
    timers.clear()
    assert len(timers) == 0 and timers.next_deadline() is None
    assert not timers.cancel(ids[-1])
