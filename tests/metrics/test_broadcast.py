"""The publish-to-delivery clock, with the time passed in."""

from __future__ import annotations

import pytest

from greenws.metrics.broadcast import BroadcastClock


def test_a_delivery_is_timed_from_the_latest_publish_of_the_same_payload_on_the_channel() -> None:
    clock = BroadcastClock()
    clock.published("room", b"hello", at=10.0)
    clock.published("room", b"hello", at=10.5)
    assert clock.delivered("room", b"hello", at=10.75) == pytest.approx(250.0)
    assert clock.delivered("room", b"hello", at=11.0) == pytest.approx(500.0)  # every subscriber


def test_an_unknown_channel_or_payload_records_nothing() -> None:
    clock = BroadcastClock()
    clock.published("room", b"a", at=1.0)
    assert clock.delivered("other", b"a", at=1.1) is None
    assert clock.delivered("room", b"b", at=1.1) is None


def test_publishes_older_than_the_ttl_are_forgotten() -> None:
    clock = BroadcastClock(ttl=5.0)
    clock.published("c", 1, at=0.0)
    clock.published("c", 2, at=4.0)
    assert clock.delivered("c", 1, at=6.0) is None
    assert clock.delivered("c", 2, at=6.0) == pytest.approx(2000.0)
    assert len(clock) == 1


def test_the_clock_holds_at_most_capacity_publishes_oldest_first_out() -> None:
    clock = BroadcastClock(capacity=2)
    for index in range(3):
        clock.published("c", index, at=float(index))
    assert len(clock) == 2
    assert clock.delivered("c", 0, at=3.0) is None
    assert clock.delivered("c", 2, at=3.0) == pytest.approx(1000.0)
