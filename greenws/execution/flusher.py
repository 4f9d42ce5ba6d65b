"""The one greenlet that moves samples from VUs to the aggregator and the outputs.

VUs append sample tuples to one shared list (a C-level ``list.append``, no locks: greenlets switch
only at blocking calls). Every tick the flusher takes the whole list, feeds the aggregator, and
offers the batch to each output's bounded queue. Each output is drained by its own greenlet, so a
slow output delays only itself; when its queue is full, whole batches are dropped and counted.
The drainer hands a batch over in slices and yields to the hub between them, so an output's
per-sample work never holds the VUs' loop for more than a slice's worth.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import gevent
from gevent.event import Event

from greenws.metrics.aggregator import Aggregator
from greenws.metrics.sample import Sample

__all__ = ["Flusher", "OutputChannel", "let_the_loop_cycle"]

log = logging.getLogger("greenws")

#: Samples an output may have queued before batches are dropped (about 100 MB of tuples).
DEFAULT_QUEUE_LIMIT = 1_000_000
#: Samples handed to an output at once; the VUs run between slices. A batch is everything VUs
#: made in one flush interval (~28,000 samples at 140,000 a second): given whole to an output
#: that costs ~1-7 µs a sample, the VUs' loop stood still for 30-200 ms.
SLICE = 2_000
#: A timer this short is due at once: it only makes the hub poll before resuming us.
_CYCLE = 0.000_1


def let_the_loop_cycle() -> None:
    """Yield until the hub has polled the sockets once, so that every ready VU runs first.

    Not ``gevent.sleep(0)``: that queues a callback, and the hub runs callbacks (for up to its
    5 ms switch interval, checked every 50) before it polls I/O, so a greenlet that works and
    sleeps 0 in a loop kept the VUs waiting for its whole batch (measured: 28k samples made a
    19 ms p99 loop lag). A timer only fires after the next poll.
    """
    gevent.sleep(_CYCLE)


class OutputChannel:
    """A bounded queue of batches in front of one output, and the greenlet that drains it."""

    def __init__(
        self,
        name: str,
        deliver: Callable[[Sequence[Sample]], Any],
        limit: int,
        report: Callable[[str, str], None] | None = None,
    ) -> None:
        self.name = name
        self.report = report or (lambda key, message: log.error("%s", message))
        self.deliver = deliver
        self.limit = limit
        self.queued = 0
        self.delivered = 0
        self.dropped = 0
        self.dead: str | None = None
        self._in_delivery = 0  # the size of the slice the output is handling right now
        self._batches: deque[list[Sample]] = deque()
        self._wakeup = Event()
        self._idle = Event()
        self._idle.set()
        self._greenlet = gevent.spawn(self._drain)

    def offer(self, batch: list[Sample]) -> None:
        """Queue ``batch``, or count it as dropped when the queue is full or the output is dead."""
        if self.dead is not None or self.queued + len(batch) > self.limit:
            self.dropped += len(batch)
            return
        self._batches.append(batch)
        self.queued += len(batch)
        self._idle.clear()
        self._wakeup.set()

    def _drain(self) -> None:
        while True:
            self._wakeup.wait()
            self._wakeup.clear()
            while self._batches:
                batch = self._batches.popleft()
                if not batch:  # the end-of-test signal goes through as it is
                    self._deliver(batch)
                for start in range(0, len(batch), SLICE):
                    self._deliver(batch[start : start + SLICE])
                    let_the_loop_cycle()  # VUs run between slices
            self._idle.set()

    def _deliver(self, piece: list[Sample]) -> None:
        """Hand ``piece`` to the output; count it as delivered, or dropped if it fails."""
        self.queued -= len(piece)
        if self.dead is not None:
            self.dropped += len(piece)
            return
        self._in_delivery = len(piece)
        try:
            lost = self.deliver(piece)
            self.delivered += len(piece)
            if isinstance(lost, int) and lost > 0:  # the output gave these up itself
                self.dropped += lost
        except Exception as error:  # a broken output is switched off, the test goes on
            self.dead = f"{type(error).__name__}: {error}"
            self.dropped += len(piece)
            self.report(
                f"output:{self.name}:samples",
                f"output {self.name} failed and is switched off: {self.dead}",
            )
        finally:
            self._in_delivery = 0

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued batch was delivered (or dropped); False on timeout."""
        return bool(self._idle.wait(timeout))

    def close(self) -> None:
        """Stop the draining greenlet; whatever is still queued counts as dropped."""
        self._greenlet.kill(block=False)
        self.dropped += self.queued + self._in_delivery  # a slice cut off mid-delivery is lost
        self.queued = 0
        self._in_delivery = 0
        self._batches.clear()


class Flusher:
    """Moves ``samples`` (the list VUs append to) into the aggregator and every output channel."""

    def __init__(
        self, samples: list[Sample], aggregator: Aggregator, interval: float = 0.2
    ) -> None:
        self.samples = samples
        self.aggregator = aggregator
        self.interval = interval
        self.channels: list[OutputChannel] = []
        #: Outputs (by channel name) fed by the workers' report data under ``--workers``: the
        #: workers' forwarded samples are not theirs, or they would count them twice.
        self.report_fed: set[str] = set()
        self.total = 0
        self._greenlet: gevent.Greenlet | None = None

    def add_channel(self, channel: OutputChannel) -> None:
        """Attach an output; it receives every batch flushed from now on."""
        self.channels.append(channel)

    def flush(self) -> int:
        """Move everything collected so far; returns the number of samples moved."""
        samples = self.samples
        if not samples:
            return 0
        batch = samples[:]  # copy + clear keeps the list object VUs hold a bound append of
        samples.clear()
        self.aggregator.add_batch(batch)
        for channel in self.channels:
            channel.offer(batch)
        self.total += len(batch)
        return len(batch)

    def offer_outputs(self, batch: list[Sample]) -> None:
        """Give the outputs a batch aggregated elsewhere (a ``--workers`` worker's samples)."""
        for channel in self.channels:
            if channel.name not in self.report_fed:
                channel.offer(batch)
        self.total += len(batch)

    def start(self) -> None:
        """Flush every ``interval`` seconds in a greenlet until :meth:`stop`."""
        self._greenlet = gevent.spawn(self._loop)

    def _loop(self) -> None:
        while True:
            gevent.sleep(self.interval)
            self.flush()

    def stop(self, drain_timeout: float = 30.0) -> None:
        """Final flush, then wait (bounded) for every output to catch up.

        Each output then gets an empty batch: the end-of-test signal for outputs that hold samples
        back (the InfluxDB output's push interval), so they write them out and report what they
        lost before the summary is built.
        """
        if self._greenlet is not None:
            self._greenlet.kill()
        self.flush()
        for channel in self.channels:
            channel.offer([])
        for channel in self.channels:
            if not channel.wait_idle(drain_timeout):
                channel.report(
                    f"output:{channel.name}:drain",
                    f"output {channel.name} did not catch up within {drain_timeout:g}s",
                )
            channel.close()

    def dropped(self) -> dict[str, int]:
        """Dropped samples per output name (only outputs that dropped any)."""
        return {channel.name: channel.dropped for channel in self.channels if channel.dropped}
