"""The InfluxDB output: a bounded buffer, a pusher greenlet and a pool of writer greenlets.

Nothing here runs on a VU's path, but all of it runs on the VUs' loop, so none of it may hold the
loop for long. ``greenws_output_samples`` is called by the core's flusher (in the output's own
greenlet, 2,000 samples at a time) and turns the samples into lines at once, 1,000 at a time with
the VUs run in between: the buffer then holds strings, which the garbage collector never walks (a
second of samples held as tuples made every full collection walk ~140,000 of them). Every push
interval the pusher cuts the buffer into batches and hands each to a writer greenlet, at most
``concurrent_writes`` at a time.
A writer retries with exponential backoff; a batch that still fails is dropped and counted.

When the server is away the writers are busy retrying, the pusher waits for a free writer and the
buffer fills; past ``buffer_limit`` the oldest samples are dropped (and counted) so memory stays
bounded and the newest data is written first once the server is back. One warning line is printed
per outage, not one per batch.

Every sample ends as exactly one of *written* or *dropped*. Drops are returned from
``greenws_output_samples`` so the core counts them in the summary. At the end the core sends an
empty batch: the final flush, awaited for at most ``final_flush_timeout``; whatever is not written
by then counts as dropped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import gevent
import gevent.pool

from greenws.plugins import hookimpl
from greenws.runtime.logs import get_logger
from greenws_influxdb.lines import LineSerializer
from greenws_influxdb.settings import InfluxSettings
from greenws_influxdb.transport import DatabaseMissing, Transport, make_transport

__all__ = ["InfluxDBOutput"]

_MAX_BACKOFF = 5.0
#: Samples serialised between two yields to the VUs (~1 ms at ~1 µs a sample).
_SLICE = 1_000


def _let_the_loop_cycle() -> None:
    """Yield until the hub has polled the sockets: ``gevent.sleep(0)`` may resume us first
    (the hub runs queued callbacks for up to 5 ms before polling); a timer fires only after."""
    gevent.sleep(0.000_1)


class InfluxDBOutput:
    """One ``--out influxdb=…`` (or ``influxdb2=…``); registered only when asked for."""

    def __init__(
        self, name: str, settings: InfluxSettings, transport: Transport | None = None
    ) -> None:
        self.name = name
        self.settings = settings
        self.serializer = LineSerializer(settings.tags_as_fields, settings.precision)
        self.transport = transport
        self.pending: list[str] = []  # line protocol, oldest first
        self.written = 0
        self.dropped = 0
        self.warnings = 0
        self._reported_drops = 0
        self._pool = gevent.pool.Pool(settings.concurrent_writes)
        self._pusher: gevent.Greenlet | None = None
        self._creating: gevent.Greenlet | None = None
        self._deadline: float | None = None  # set by the final flush: no retries past it
        self._down = False
        self._finished = False

    # -- hooks -------------------------------------------------------------------------------

    @hookimpl
    def greenws_output_start(self, run: Any) -> None:
        if self.transport is None:
            self.transport = make_transport(self.settings)
        # In the background: a server that accepts and never answers held the VUs' start (and
        # the test's measured duration) for a whole request timeout. Writers wait for it.
        self._creating = gevent.spawn(self._create_database)
        self._pusher = gevent.spawn(self._push_loop)

    @hookimpl
    def greenws_output_samples(self, samples: Sequence[Any]) -> int:
        if not samples:
            self._finish()
        elif not self._finished:
            lines = self.serializer.lines
            for start in range(0, len(samples), _SLICE):
                if start:
                    _let_the_loop_cycle()  # a core that hands over big batches still lets VUs run
                self.pending.extend(lines(samples[start : start + _SLICE]))
            excess = len(self.pending) - self.settings.buffer_limit
            if excess > 0:  # the oldest go: the newest are what a live dashboard shows
                del self.pending[:excess]
                self.dropped += excess
        else:
            self.dropped += len(samples)
        new, self._reported_drops = self.dropped - self._reported_drops, self.dropped
        return new

    @hookimpl
    def greenws_output_stop(self) -> None:
        if not self._finished:  # a core that sends no final empty batch still gets a flush
            self._finish()
        if self._creating is not None:
            self._creating.kill(block=False)
        if self.transport is not None:
            self.transport.close()

    # -- pushing and writing ---------------------------------------------------------------

    def _create_database(self) -> None:
        assert self.transport is not None
        try:
            self.transport.create_database()
        except Exception as error:  # k6 logs it and goes on: the database may exist already
            self._failed(error)

    def _push_loop(self) -> None:
        while True:
            gevent.sleep(self.settings.push_interval)
            self._dispatch()

    def _dispatch(self) -> None:
        """Cut the buffer into batches and give each to a writer, waiting for a free one."""
        while self.pending:
            if self._pool.full():
                remaining = None if self._deadline is None else self._deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return
                self._pool.wait_available(timeout=remaining)
                if self._pool.full():
                    return
            chunk = self.pending[: self.settings.batch_size]
            del self.pending[: len(chunk)]
            self._pool.spawn(self._write, "\n".join(chunk), len(chunk))

    def _write(self, body: str, count: int) -> None:
        settled = False
        try:
            if self._creating is not None:
                self._creating.join()  # bounded by the request timeout; killed at the end
            attempt = 0
            while True:
                try:
                    assert self.transport is not None
                    try:
                        self.transport.write(body)
                    except DatabaseMissing:  # the server came back empty: k6 creates it at start
                        self.transport.create_database()
                        self.transport.write(body)
                    self.written += count
                    settled = True
                    self._recovered()
                    return
                except Exception as error:
                    self._failed(error)
                delay = min(_MAX_BACKOFF, 0.5 * 2**attempt)
                attempt += 1
                if self._deadline is not None:
                    delay = min(delay, self._deadline - time.monotonic())
                if attempt > self.settings.retries or delay <= 0:
                    return
                if self._deadline is not None and self._down:
                    return  # the test is over and the server is away: do not hold up the exit
                gevent.sleep(delay)
        finally:  # given up, or killed at the final deadline
            if not settled:
                self.dropped += count

    def _finish(self) -> None:
        """The final flush: write what is buffered, wait (bounded), count the rest as dropped."""
        if self._finished:
            return
        self._finished = True
        if self._pusher is not None:
            self._pusher.kill()
        self._deadline = time.monotonic() + self.settings.final_flush_timeout
        dropped_before = self.dropped
        self._dispatch()
        self.dropped += len(self.pending)
        self.pending.clear()
        self._pool.join(timeout=max(0.0, self._deadline - time.monotonic()))
        self._pool.kill(timeout=5)  # writers stuck in a request: what they held counts as dropped
        if self._creating is not None:
            self._creating.kill(block=False)
        abandoned = self.dropped - dropped_before
        if abandoned and not self._down:  # nothing said so far: say why samples are missing
            self.warnings += 1
            self._say(
                "warning",
                f"{abandoned} samples not written to {self.settings.base_url} within the final "
                f"flush timeout ({self.settings.final_flush_timeout:g}s); counted as dropped",
            )

    # -- telling the user ------------------------------------------------------------------

    def _say(self, level: str, message: str) -> None:
        """Through greenws's log, so --log-output and --log-format apply (logrus level names)."""
        get_logger().log(level, f"output {self.name}: {message}")

    def _failed(self, error: BaseException) -> None:
        if not self._down:
            self._down = True
            self.warnings += 1
            self._say(
                "warning",
                f"cannot write to {self.settings.base_url}: {error}; retrying with backoff, "
                "samples that cannot be written are dropped and counted in the summary",
            )

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            self._say("info", f"writing to {self.settings.base_url} again")
