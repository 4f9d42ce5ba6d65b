"""OutputChannel hands big batches to an output in slices, with the VUs' greenlets run between them.

Counts and order only: what the output received, what was counted delivered or dropped, and
that another greenlet ran between two slices (the property that keeps VUs from stalling).
"""

from __future__ import annotations

from typing import Any

import gevent
import gevent.socket

from greenws.execution.flusher import SLICE, OutputChannel


def samples(n: int) -> list[Any]:
    return [("metric", float(i), 1.0, None) for i in range(n)]


def test_big_batch_arrives_in_slices_with_others_run_between() -> None:
    events: list[str] = []

    def deliver(piece: list[Any]) -> int:
        events.append(f"slice {len(piece)}")
        return 3  # this output says it lost 3 of every slice

    def other_greenlet() -> None:  # stands for the VUs
        for _ in range(5):
            events.append("vu")
            gevent.sleep(0)

    channel = OutputChannel("test", deliver, limit=100_000)
    batch = samples(2 * SLICE + 10)
    channel.offer(batch)
    channel.offer([])  # the end-of-test signal still arrives, empty
    vu = gevent.spawn(other_greenlet)
    assert channel.wait_idle(10)
    vu.join()
    slices = [e for e in events if e.startswith("slice")]
    assert slices == [f"slice {SLICE}", f"slice {SLICE}", "slice 10", "slice 0"]
    first, second = [i for i, event in enumerate(events) if event == f"slice {SLICE}"]
    assert "vu" in events[first + 1 : second]
    assert channel.delivered == len(batch)
    assert channel.dropped == 3 * 4  # the output's own losses, summed over its slices
    assert channel.queued == 0
    channel.close()


def test_a_vu_waiting_on_its_socket_runs_between_two_slices() -> None:
    """The VU's socket is readable before the batch is handed over; it must not wait for all of it.

    (With ``gevent.sleep(0)`` between slices the hub ran the whole batch before polling I/O.)
    """
    events: list[str] = []
    ours, theirs = gevent.socket.socketpair()

    def vu() -> None:
        ours.recv(1)
        events.append("vu")

    reader = gevent.spawn(vu)
    gevent.sleep(0.01)  # the VU is parked in recv
    channel = OutputChannel("test", lambda piece: events.append("slice"), limit=100_000)
    theirs.send(b"x")
    channel.offer(samples(5 * SLICE))
    assert channel.wait_idle(10)
    reader.join(10)
    assert events.count("slice") == 5
    assert events.index("vu") < 4, events
    channel.close()
    ours.close()
    theirs.close()


def test_failing_output_is_switched_off_and_the_rest_counted_dropped() -> None:
    calls: list[int] = []

    def deliver(piece: list[Any]) -> None:
        calls.append(len(piece))
        if len(calls) == 2:
            raise RuntimeError("disk full")

    reports: list[str] = []
    channel = OutputChannel("broken", deliver, 100_000, lambda key, text: reports.append(text))
    channel.offer(samples(3 * SLICE))
    channel.offer(samples(5))
    assert channel.wait_idle(10)
    assert calls == [SLICE, SLICE]
    assert channel.delivered == SLICE
    assert channel.dropped == 2 * SLICE + 5
    assert channel.dead is not None and len(reports) == 1
    channel.close()


def test_close_counts_what_was_not_handed_over() -> None:
    def deliver(piece: list[Any]) -> None:
        gevent.sleep(60)  # an output that never finishes

    channel = OutputChannel("stuck", deliver, 100_000)
    channel.offer(samples(3 * SLICE))
    gevent.sleep(0.01)
    assert not channel.wait_idle(0.01)
    channel.close()
    assert channel.delivered == 0
    assert channel.dropped == 3 * SLICE
