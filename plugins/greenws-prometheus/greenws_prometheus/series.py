"""What the remote-write output keeps: one cumulative state per time series, as k6 keeps.

k6's output holds, for each metric and tag set, a sink over the whole run and sends its current
value every push interval: a Counter as ``k6_NAME_total`` (the running count), a Gauge as
``k6_NAME`` (the last value), a Rate as ``k6_NAME_rate`` (the share of non-zero values so far), a
Trend either as one gauge per chosen stat (``k6_NAME_p99``, values in seconds for times) or as
one Prometheus native histogram (``k6_NAME_seconds``). Because every value is cumulative, a push
that fails loses nothing a later successful push does not carry: memory is bounded by the number
of series (``max_series``), never by the samples, and a sample is lost only when no write that
includes it ever succeeds. :class:`SeriesStore` counts exactly that.

Pure: no clock, no I/O; ``protobuf`` and ``cramjam`` live in :mod:`greenws_prometheus.encode`.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from greenws.metrics.histogram import Histogram

__all__ = ["NativeHistogram", "Point", "SeriesStore", "Snapshot", "stat_suffix"]

#: Native-histogram schema 3: buckets grow by 2^(1/8) ≈ 1.09 (k6 asks its client for 1.1).
SCHEMA = 3
#: Prometheus's default zero-bucket width (client_golang's ``DefNativeHistogramZeroThreshold``).
ZERO_THRESHOLD = 2.0**-128
_BOUNDS = [2 ** (i / 2**SCHEMA) / 2 for i in range(2**SCHEMA)]
_INVALID = re.compile(r"[^a-zA-Z0-9_]")
_STAT = re.compile(r"^p\((\d+(?:\.\d+)?)\)$")
_KNOWN_STATS = {"avg", "min", "med", "max", "count", "sum"}


def stat_suffix(stat: str) -> str:
    """k6's series suffix for a trend stat: ``p(99)`` -> ``p99``, ``p(99.9)`` -> ``p999``."""
    match = _STAT.match(stat.strip())
    if match:
        return "p" + match.group(1).replace(".", "")
    if stat.strip() in _KNOWN_STATS:
        return stat.strip()
    raise ValueError(f"trend stat {stat!r}: expected avg, min, med, max, count, sum or p(N)")


def _label_name(name: str) -> str:
    """A Prometheus label (or metric) name: anything else becomes ``_``."""
    clean = _INVALID.sub("_", name)
    return "_" + clean if clean[:1].isdigit() else clean


class NativeHistogram:
    """Sparse exponential buckets (schema 3) with count, sum and a zero bucket."""

    __slots__ = ("count", "negative", "positive", "total", "zero")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.zero = 0
        self.positive: dict[int, int] = {}
        self.negative: dict[int, int] = {}

    @staticmethod
    def key(value: float) -> int:
        """The bucket of ``|value|``: bucket k holds (2^((k-1)/8), 2^(k/8)]."""
        fraction, exponent = math.frexp(abs(value))
        return bisect_left(_BOUNDS, fraction) + (exponent - 1) * len(_BOUNDS)

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if abs(value) <= ZERO_THRESHOLD:
            self.zero += 1
            return
        buckets = self.positive if value > 0 else self.negative
        k = self.key(value)
        buckets[k] = buckets.get(k, 0) + 1

    @staticmethod
    def spans(buckets: dict[int, int]) -> tuple[list[tuple[int, int]], list[int]]:
        """Remote write's layout: (offset, length) spans of consecutive keys and count deltas."""
        spans: list[tuple[int, int]] = []
        deltas: list[int] = []
        previous_key: int | None = None
        previous_count = 0
        for k in sorted(buckets):
            if previous_key is not None and k == previous_key + 1:
                offset, length = spans[-1]
                spans[-1] = (offset, length + 1)
            else:
                spans.append((k if previous_key is None else k - previous_key - 1, 1))
            deltas.append(buckets[k] - previous_count)
            previous_key, previous_count = k, buckets[k]
        return spans, deltas


class _Series:
    __slots__ = ("kind", "labels", "latest_ms", "seconds", "sent", "sink", "version")

    def __init__(self, kind: str, labels: list[tuple[str, str]], seconds: bool, sink: Any) -> None:
        self.kind = kind
        self.labels = labels  # sorted, without __name__
        self.seconds = seconds  # a time Trend: values go out in seconds, as k6 sends them
        self.sink = sink
        self.latest_ms = 0
        self.version = 0
        self.sent = 0


@dataclass(frozen=True)
class Point:
    """One series to send: its name, labels, timestamp, and a value or a native histogram."""

    name: str
    labels: list[tuple[str, str]]
    timestamp_ms: int
    value: float = 0.0
    histogram: NativeHistogram | None = None


@dataclass
class Snapshot:
    """The series changed since their last successful write, and how many samples that covers."""

    points: list[Point]
    versions: list[tuple[_Series, int]]
    covers: int


class SeriesStore:
    """Cumulative sinks per series; snapshots of what changed; exact accounting of losses."""

    def __init__(
        self,
        *,
        prefix: str = "k6_",
        trend_stats: Sequence[str] = ("p(99)",),
        native_histograms: bool = False,
        max_series: int = 100_000,
    ) -> None:
        self.prefix = prefix
        self.stats = [(stat, stat_suffix(stat)) for stat in trend_stats]
        self.native = native_histograms
        self.max_series = max_series
        self._series: dict[tuple[Any, Any], _Series] = {}
        self.ingested = 0  # samples folded into a series
        self.refused = 0  # samples of new series past max_series: lost, counted at once
        self.delivered = 0  # ingested samples that some successful write carried

    def __len__(self) -> int:
        return len(self._series)

    def _new(self, metric: Any, tags: Any) -> _Series | None:
        if len(self._series) >= self.max_series:
            return None
        kind = str(getattr(metric.type, "value", metric.type))
        contains = str(getattr(metric.contains, "value", metric.contains))
        labels = sorted(
            (_label_name(str(k)), str(v)) for k, v in tags.items() if k and v not in ("", None)
        )
        if kind == "trend":
            sink: Any = (
                NativeHistogram() if self.native else [Histogram(), 0.0, math.inf, -math.inf]
            )
        elif kind == "rate":
            sink = [0, 0]
        else:
            sink = [0.0]
        series = self._series[(metric, tags)] = _Series(kind, labels, contains == "time", sink)
        return series

    def add_batch(self, samples: Iterable[tuple[Any, float, float, Any]]) -> int:
        """Fold samples in; returns how many were refused (new series past ``max_series``)."""
        refused = accepted = 0
        table = self._series
        for metric, when, value, tags in samples:
            series = table.get((metric, tags))
            if series is None:
                series = self._new(metric, tags)
                if series is None:
                    refused += 1
                    continue
            kind, sink = series.kind, series.sink
            if kind == "counter":
                sink[0] += value
            elif kind == "gauge":
                sink[0] = value
            elif kind == "rate":
                sink[0] += value != 0
                sink[1] += 1
            elif self.native:
                sink.add(value / 1000.0 if series.seconds else value)
            else:
                sink[0].add(value)
                sink[1] += value
                sink[2] = min(sink[2], value)
                sink[3] = max(sink[3], value)
            stamp = int(when * 1000)
            if stamp > series.latest_ms:
                series.latest_ms = stamp
            series.version += 1
            accepted += 1
        self.refused += refused
        self.ingested += accepted
        return refused

    def snapshot(self) -> Snapshot:
        """Every series changed since it was last written, at its current value."""
        points: list[Point] = []
        versions: list[tuple[_Series, int]] = []
        for (metric, _), series in self._series.items():
            if series.version == series.sent:
                continue
            versions.append((series, series.version))
            points.extend(self._points(metric.name, series))
        return Snapshot(points, versions, self.ingested)

    def snapshot_all(self) -> Snapshot:
        """Every series at its current value, changed or not (for stale markers)."""
        points = [
            p
            for (metric, _), series in self._series.items()
            for p in self._points(metric.name, series)
        ]
        return Snapshot(points, [], self.ingested)

    def acknowledge(self, snapshot: Snapshot) -> None:
        """``snapshot`` was written: its series are sent up to the versions it held."""
        for series, version in snapshot.versions:
            series.sent = max(series.sent, version)
        self.delivered = max(self.delivered, snapshot.covers)

    def lost(self) -> int:
        """Samples no successful write carried (so far), plus those refused."""
        return self.ingested - self.delivered + self.refused

    def _points(self, metric_name: str, series: _Series) -> list[Point]:
        base = self.prefix + _label_name(metric_name)
        stamp, labels, sink = series.latest_ms, series.labels, series.sink
        if series.kind == "counter":
            return [Point(base + "_total", labels, stamp, sink[0])]
        if series.kind == "gauge":
            return [Point(base, labels, stamp, sink[0])]
        if series.kind == "rate":
            return [Point(base + "_rate", labels, stamp, sink[0] / sink[1] if sink[1] else 0.0)]
        if self.native:
            unit = "_seconds" if series.seconds else ""
            return [Point(base + unit, labels, stamp, histogram=sink)]
        histogram, total, low, high = sink
        scale = 1000.0 if series.seconds else 1.0
        out = []
        for stat, suffix in self.stats:
            out.append(
                Point(
                    f"{base}_{suffix}",
                    labels,
                    stamp,
                    _trend_stat(stat, histogram, total, low, high, scale),
                )
            )
        return out


def _trend_stat(
    stat: str, histogram: Histogram, total: float, low: float, high: float, scale: float
) -> float:
    """One stat of a Trend, times in seconds; ``count`` stays a count.

    Not as k6: its output (``internal/output/prometheusrw/remotewrite/trend.go`` in v2.2.0,
    ``adaptUnit`` applied to every stat) divides a time Trend's ``count`` by 1000 too, so
    ``k6_http_req_duration_count`` reads 24.712 for 24,712 requests (grafana/k6#4582, open). No
    query of k6's published dashboards reads a time Trend's ``_count`` (they use the stats and
    ``k6_http_reqs_total``), so matching k6 would buy no compatibility and would break what a
    Prometheus user writes: ``rate(..._count[1m])`` as requests per second, and
    ``rate(..._sum[1m]) / rate(..._count[1m])`` as the mean in seconds."""
    count = histogram.count
    if stat == "count":
        return float(count)
    if not count:
        return 0.0
    if stat == "sum":
        value = total
    elif stat == "avg":
        value = total / count
    elif stat == "min":
        value = low
    elif stat == "max":
        value = high
    elif stat == "med":
        value = histogram.percentile(50.0)
    else:
        value = histogram.percentile(float(_STAT.match(stat.strip()).group(1)))  # type: ignore[union-attr]
    return value / scale
