"""The remote-write output: cumulative series, a pusher greenlet, exact losses.

The flusher hands samples over in its own greenlet (never a VU's); they are folded into one
cumulative state per series (:mod:`greenws_prometheus.series`), 1,000 at a time with the VUs
run in between, so memory grows with the series, not with the samples. Every push interval the
pusher sends the series that changed since their last successful write, snappy-compressed
protobuf over HTTP. A failed push is not retried as such: the next push carries the same series
with newer values, so an outage costs resolution, not totals. One warning per outage, one line
when the server is back.

Losses are exact: a sample is lost when no successful write carried its series' value after it
arrived (:meth:`SeriesStore.lost`), or when it would have opened a series past the limit. The
limit's refusals are returned at once; the rest is settled by the final flush at the end of the
test (bounded by ``final_flush_timeout``) and returned from its call, so the summary counts it.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from typing import Any

import gevent
import urllib3

from greenws.plugins import hookimpl
from greenws.runtime.logs import get_logger
from greenws_prometheus.encode import STALE_NAN, encode_points
from greenws_prometheus.series import Point, SeriesStore
from greenws_prometheus.settings import RemoteWriteSettings

__all__ = ["RemoteWriteOutput"]

_SLICE = 1_000  # samples folded between two yields to the VUs
_MAX_POINTS = 20_000  # series per request
_STALE = struct.unpack("<d", struct.pack("<Q", STALE_NAN))[0]


class WriteFailed(RuntimeError):
    """The server refused a write or could not be reached; the message says how."""


class RemoteWriteOutput:
    """One ``--out experimental-prometheus-rw``; registered only when asked for."""

    def __init__(self, name: str, settings: RemoteWriteSettings) -> None:
        self.name = name
        self.settings = settings
        self.store = SeriesStore(
            prefix=settings.prefix,
            trend_stats=settings.trend_stats,
            native_histograms=settings.native_histograms,
            max_series=settings.max_series,
        )
        self.http = urllib3.PoolManager(
            num_pools=1,
            maxsize=1,
            cert_reqs="CERT_NONE" if settings.insecure else "CERT_REQUIRED",
            timeout=urllib3.Timeout(total=settings.timeout),
            retries=False,
        )
        self.headers = {
            "Content-Type": "application/x-protobuf",
            "Content-Encoding": "snappy",
            "User-Agent": "greenws",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
            **settings.headers,
        }
        self.writes = 0
        self.warnings = 0
        self.failure: str | None = None
        self._reported = 0
        self._down = False
        self._finished = False
        self._pusher: gevent.Greenlet | None = None

    # -- hooks -------------------------------------------------------------------------------

    @hookimpl
    def greenws_output_start(self, run: Any) -> None:
        self._pusher = gevent.spawn(self._push_loop)

    @hookimpl
    def greenws_output_samples(self, samples: Sequence[Any]) -> int:
        if not samples:
            self._finish()
            lost = self.store.lost()
        else:
            for start in range(0, len(samples), _SLICE):
                if start:
                    gevent.sleep(0.000_1)  # let the hub poll the VUs' sockets between slices
                self.store.add_batch(samples[start : start + _SLICE])
            lost = self.store.refused
        new, self._reported = lost - self._reported, lost
        return new

    @hookimpl
    def greenws_output_stop(self) -> None:
        if not self._finished:
            self._finish()
        self.http.clear()

    # -- pushing -----------------------------------------------------------------------------

    def _push_loop(self) -> None:
        while True:
            gevent.sleep(self.settings.push_interval)
            self._push()

    def _push(self) -> bool:
        """Send what changed; True when everything was written."""
        snapshot = self.store.snapshot()
        if not snapshot.points:
            self.store.acknowledge(snapshot)
            return True
        try:
            for start in range(0, len(snapshot.points), _MAX_POINTS):
                self._post(encode_points(snapshot.points[start : start + _MAX_POINTS]))
        except WriteFailed as error:
            self._failed(error)
            return False
        self.store.acknowledge(snapshot)
        self._recovered()
        return True

    def _post(self, body: bytes) -> None:
        try:
            response = self.http.request("POST", self.settings.url, body=body, headers=self.headers)
        except urllib3.exceptions.HTTPError as error:
            reason = getattr(error, "reason", None) or error
            raise WriteFailed(f"{type(reason).__name__}: {reason}") from None
        if response.status >= 300:
            text = response.data[:300].decode("utf-8", "replace").strip()
            raise WriteFailed(f"HTTP {response.status}: {text}")
        self.writes += 1

    def _finish(self) -> None:
        """The final flush: push until everything is written or the deadline passes."""
        if self._finished:
            return
        self._finished = True
        if self._pusher is not None:
            self._pusher.kill()
        deadline = time.monotonic() + self.settings.final_flush_timeout
        delay = 0.25
        while not self._push():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            gevent.sleep(min(delay, remaining))
            delay = min(delay * 2, 5.0)
        lost = self.store.lost()
        if lost and self.failure is None:
            self.failure = f"{lost} samples not written to {self.settings.url}"
        if not lost and self.settings.stale_markers:
            self._mark_stale()

    def _mark_stale(self) -> None:
        """k6's ``staleMarkers``: every series ends now, so Grafana stops drawing it."""
        stamp = int(time.time() * 1000) + 1
        points = [Point(p.name, p.labels, stamp, _STALE) for p in self.store.snapshot_all().points]
        try:
            for start in range(0, len(points), _MAX_POINTS):
                self._post(encode_points(points[start : start + _MAX_POINTS]))
        except WriteFailed as error:
            self._say("warning", f"stale markers not written: {error}")

    # -- telling the user ---------------------------------------------------------------------

    def _say(self, level: str, message: str) -> None:
        get_logger().log(level, f"output {self.name}: {message}")

    def _failed(self, error: BaseException) -> None:
        self.failure = str(error)
        if not self._down:
            self._down = True
            self.warnings += 1
            self._say(
                "warning",
                f"cannot write to {self.settings.url}: {error}; the next pushes carry the same "
                "series, samples no write carries are dropped and counted in the summary",
            )

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            self.failure = None
            self._say("info", f"writing to {self.settings.url} again")
