"""Publish-to-delivery latency across VUs, with no correlation code in the script.

What users of publish/subscribe services most want to know is how long a message takes from
one client's publish to every subscriber, and no peer tool measures it. The VUs of one greenws
process share a clock, so a kit notes when a payload was published on a channel and, when a
subscriber's session receives that same payload on that channel, records the time in between
(``<kit>_broadcast_latency``, a Trend). No marker is added to the payload: the service under
test sees exactly what the script sent.

What matches is the (channel, payload) pair: payloads should differ between publishes (a
counter or a timestamp in them is enough), else a delivery is matched to the latest publish of
the same bytes. Publishes are remembered for ``ttl`` seconds and at most ``capacity`` at once,
oldest forgotten first; a delivery of a publish that is forgotten, or made by another process
(``--workers``, another runner), records nothing. Pure: the clock is passed in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["BroadcastClock"]


class BroadcastClock:
    """When each (channel, payload) was last published, for a while."""

    __slots__ = ("_published", "capacity", "ttl")

    def __init__(self, ttl: float = 60.0, capacity: int = 100_000) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self._published: OrderedDict[tuple[Hashable, Hashable], float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._published)

    def published(self, channel: Hashable, payload: Hashable, at: float) -> None:
        """``payload`` was published on ``channel`` at ``at`` (seconds, a monotonic clock)."""
        published = self._published
        key = (channel, payload)
        published.pop(key, None)
        published[key] = at
        while len(published) > self.capacity:
            published.popitem(last=False)

    def delivered(self, channel: Hashable, payload: Hashable, at: float) -> float | None:
        """Milliseconds since that publish, or None if it is not one this clock remembers."""
        published = self._published
        while published:  # forget what is too old to be waited for, oldest first
            oldest_key, oldest_at = next(iter(published.items()))
            if at - oldest_at <= self.ttl:
                break
            del published[oldest_key]
        sent = published.get((channel, payload))
        if sent is None:
            return None
        return (at - sent) * 1000.0
