"""Time series for the HTML report: samples folded into time buckets, with bounded memory.

A long test must not keep its samples, so each bucket holds only aggregates: per-counter sums,
the last gauge reading and, per Trend, a mergeable :class:`~greenws.metrics.histogram.Histogram`.
Buckets start one second wide. When a run outlives ``max_buckets`` of them, adjacent pairs are
merged and the width doubles (1 s, 2 s, 4 s…), so an 8-hour test still has at most
``max_buckets`` buckets and the chart keeps its whole history at a coarser step.

Trend histograms of closed buckets are frozen (:mod:`.frozen`) to a fraction of their size.

Pure: no clock, no I/O. The caller passes the run's start time, and the end time when it reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from itertools import compress
from operator import itemgetter
from typing import Any

from greenws.metrics.histogram import Histogram

from .frozen import PERCENTILES, FrozenHistogram, thawed

__all__ = [
    "COUNTER_SERIES",
    "ERROR_METRICS",
    "GAUGE_SERIES",
    "TREND_SERIES",
    "Bucket",
    "FrozenHistogram",
    "SeriesAggregator",
]

#: Counters charted as per-second rates.
COUNTER_SERIES: tuple[str, ...] = (
    "ws_sessions",
    "ws_msgs_sent",
    "ws_msgs_received",
    "data_sent",
    "data_received",
    "iterations",
)
#: Gauges charted by their last reading in each bucket.
GAUGE_SERIES: tuple[str, ...] = ("vus", "vus_max", "open_connections")
#: Trends charted as p50/p95/p99 per bucket (``ws_request_duration`` only when a run emits it).
TREND_SERIES: tuple[str, ...] = ("ws_connecting", "ws_ping", "ws_request_duration")
#: A sample of one of these carrying an ``error_code`` tag counts as one error: each metric is
#: emitted exactly once per session or request, so no failure is counted twice.
ERROR_METRICS: frozenset[str] = frozenset({"ws_sessions", "ws_request_duration"})

#: Prefix of the keys a bucket files every other metric under (custom ones, kits' ones, and
#: built-ins without a chart of their own), so they never mix with the fixed series above.
CUSTOM_PREFIX = "metric:"
_MAX_CUSTOM = 60  # metrics charted beyond the fixed ones; more would be a tag explosion's worth
_MAX_ERROR_CODES = 20  # more distinct codes than this share one "other" line
_MAX_ERROR_TEXTS = 5  # distinct ``error`` texts kept per code, to name its line
_OTHER_CODE = "other"
_TIME = itemgetter(1)
_TAGS = itemgetter(3)


class Bucket:
    """The aggregates of one time slice."""

    __slots__ = ("counters", "gauges", "trends")

    def __init__(self) -> None:
        self.counters: dict[str, float] = {}
        self.gauges: dict[str, float] = {}
        self.trends: dict[str, Histogram | FrozenHistogram] = {}

    def merge(self, later: Bucket) -> None:
        """Absorb the bucket that follows this one: sums add, the later gauge reading wins."""
        for key, value in later.counters.items():
            self.counters[key] = self.counters.get(key, 0.0) + value
        self.gauges.update(later.gauges)
        for key, hist in later.trends.items():
            mine = self.trends.get(key)
            if mine is None:
                self.trends[key] = hist
                continue
            frozen = isinstance(mine, FrozenHistogram) or isinstance(hist, FrozenHistogram)
            combined = thawed(mine)
            combined.merge(thawed(hist))
            self.trends[key] = FrozenHistogram(combined) if frozen else combined

    def freeze(self) -> None:
        """Pack every live histogram (see the module docstring)."""
        for key, hist in self.trends.items():
            if isinstance(hist, Histogram):
                self.trends[key] = FrozenHistogram(hist)


_KIND_COUNTER, _KIND_GAUGE, _KIND_TREND = 0, 1, 2
_KIND_RATE, _KIND_SKIP = 3, 4
_CUSTOM_KIND = {
    "counter": _KIND_COUNTER,
    "gauge": _KIND_GAUGE,
    "trend": _KIND_TREND,
    "rate": _KIND_RATE,
}
_KIND: dict[str, int] = {
    **dict.fromkeys(COUNTER_SERIES, _KIND_COUNTER),
    **dict.fromkeys(GAUGE_SERIES, _KIND_GAUGE),
    **dict.fromkeys(TREND_SERIES, _KIND_TREND),
}


class SeriesAggregator:
    """Folds samples into at most ``max_buckets`` buckets of ``width`` seconds from ``start``."""

    def __init__(self, start: float, *, max_buckets: int = 3600, freeze_after: int = 5) -> None:
        if max_buckets < 2:
            raise ValueError("max_buckets must be at least 2")
        self.start = start
        self.max_buckets = max_buckets
        self.freeze_after = freeze_after
        self.width = 1  # seconds per bucket; doubles on every downsampling
        self.buckets: list[Bucket | None] = []
        self.error_codes: set[str] = set()
        #: code -> ``error`` tag text -> how many samples carried it (at most _MAX_ERROR_TEXTS
        #: texts a code; later ones only add to ``error_texts_dropped``): what names a code.
        self.error_texts: dict[str, dict[str, int]] = {}
        self.error_texts_dropped: dict[str, int] = {}
        self._frozen_below = 0  # buckets before this index are frozen
        #: Every other metric seen: name -> (type, contains), in order of first sample.
        self.custom: dict[str, tuple[str, str]] = {}
        self._kinds: dict[str, int] = dict(_KIND)

    def _bucket(self, when: float) -> Bucket:
        index = max(0, int((when - self.start) // self.width))
        while index >= self.max_buckets:
            self._downsample()
            index = max(0, int((when - self.start) // self.width))
        buckets = self.buckets
        if index >= len(buckets):
            buckets.extend([None] * (index + 1 - len(buckets)))
            self._freeze_old(index)
        bucket = buckets[index]
        if bucket is None:
            bucket = buckets[index] = Bucket()
        return bucket

    def _freeze_old(self, newest: int) -> None:
        limit = newest - self.freeze_after
        for index in range(self._frozen_below, max(self._frozen_below, limit)):
            bucket = self.buckets[index]
            if bucket is not None:
                bucket.freeze()
        self._frozen_below = max(self._frozen_below, limit)

    def _downsample(self) -> None:
        """Merge each pair of adjacent buckets; the width doubles."""
        old = self.buckets
        merged: list[Bucket | None] = []
        for index in range(0, len(old), 2):
            first = old[index]
            second = old[index + 1] if index + 1 < len(old) else None
            if first is None:
                merged.append(second)
                continue
            if second is not None:
                first.merge(second)
            merged.append(first)
        self.buckets = merged
        self.width *= 2
        self._frozen_below //= 2

    def add_batch(self, samples: Iterable[tuple[Any, float, float, Mapping[str, str]]]) -> None:
        """Fold ``(metric, time, value, tags)`` samples in.

        The fixed series are filed under their names; every other metric (up to 60) under
        ``metric:NAME`` by its type, a Rate as two counters (``metric:NAME`` of non-zero values,
        ``metric:NAME#n`` of all), so its chart shows the share of non-zero values per bucket.
        """
        kinds = self._kinds
        for metric, when, value, tags in samples:
            name = metric.name
            kind = kinds.get(name)
            if kind is None:
                kind = self._classify(metric)
            if kind == _KIND_SKIP:
                continue
            bucket = self._bucket(when)
            if name in self.custom:
                name = CUSTOM_PREFIX + name
                if kind == _KIND_RATE:
                    counters = bucket.counters
                    counters[name + "#n"] = counters.get(name + "#n", 0.0) + 1.0
                    if value:
                        counters[name] = counters.get(name, 0.0) + 1.0
                    continue
            if kind == _KIND_COUNTER:
                counters = bucket.counters
                counters[name] = counters.get(name, 0.0) + value
            elif kind == _KIND_GAUGE:
                bucket.gauges[name] = value
            else:
                hist = bucket.trends.get(name)
                if hist is None:
                    hist = bucket.trends[name] = Histogram()
                elif isinstance(hist, FrozenHistogram):  # a very late sample
                    hist = bucket.trends[name] = hist.thaw()
                hist.add(value)
            if name in ERROR_METRICS:
                code = tags.get("error_code")
                if code:
                    self._count_error(bucket, str(code), tags.get("error"))

    def add_metric(self, metric: Any, samples: list[Any], values: list[float]) -> None:
        """One metric's samples of a batch (``values[i]`` is ``samples[i]``'s), as :meth:`add_batch`
        would fold them but with no Python step per sample: the dashboard gets the engine's
        batches grouped by metric (``benchmarks/dashboard_instructions.py``). A flush's samples
        (0.2 s) mostly share a bucket: two lookups and a sum. Gauges (the last reading wins) and
        error metrics carrying an ``error_code`` take the per-sample path: a few a second."""
        name = metric.name
        kind = self._kinds.get(name)
        if kind is None:
            kind = self._classify(metric)
        if kind == _KIND_SKIP:
            return
        if kind == _KIND_GAUGE:
            self.add_batch(samples)
            return
        if name in ERROR_METRICS:
            column = list(map(_TAGS, samples))
            distinct = dict(zip(map(id, column), column, strict=True))
            if any("error_code" in tags for tags in distinct.values()):
                self.add_batch(samples)
                return
        # Samples reach the flusher in the order they were stamped (one list all VUs append to),
        # so the first and last bound a batch: when they share a bucket, all do, with no step per
        # sample (sorting the times was half the dashboard's share of a ping-pong). Otherwise,
        # or if the clock stepped back, each sample goes to its own bucket.
        first, last = samples[0][1], samples[-1][1]
        if first <= last:
            newest = self._bucket(last)  # first: it may downsample, which moves indexes
            if self._bucket(first) is newest:
                self._fold(newest, name, kind, values)
                return
        else:
            self._bucket(max(map(_TIME, samples)))  # any downsampling before the indexes
        start, width = self.start, self.width
        indexes = [max(0, int((t - start) // width)) for t in map(_TIME, samples)]
        for index in dict.fromkeys(indexes):
            chosen = list(compress(values, map(index.__eq__, indexes)))
            self._fold(self._bucket(start + index * width), name, kind, chosen)

    def _fold(self, bucket: Bucket, name: str, kind: int, values: list[float]) -> None:
        """Values of one metric into one bucket, as :meth:`add_batch` would add them."""
        if name in self.custom:
            name = CUSTOM_PREFIX + name
            if kind == _KIND_RATE:
                counters = bucket.counters
                counters[name + "#n"] = counters.get(name + "#n", 0.0) + len(values)
                hits = len(values) - values.count(0.0)  # non-zero values, as ``if value``
                if hits:
                    counters[name] = counters.get(name, 0.0) + hits
                return
        if kind == _KIND_COUNTER:  # summed per batch, as the engine's CounterSink does
            bucket.counters[name] = bucket.counters.get(name, 0.0) + sum(values)
            return
        hist = bucket.trends.get(name)
        if hist is None:
            hist = bucket.trends[name] = Histogram()
        elif isinstance(hist, FrozenHistogram):  # very late samples
            hist = bucket.trends[name] = hist.thaw()
        hist.add_many(values)

    def _classify(self, metric: Any) -> int:
        kind_name = str(getattr(metric.type, "value", metric.type))
        contains = str(getattr(metric.contains, "value", metric.contains))
        return self.classify(metric.name, kind_name, contains)

    def classify(self, name: str, kind_name: str, contains: str) -> int:
        """A metric without a fixed chart: charted by its type while there is room."""
        kind = _CUSTOM_KIND.get(kind_name, _KIND_SKIP)
        if kind != _KIND_SKIP and len(self.custom) < _MAX_CUSTOM:
            self.custom[name] = (kind_name, contains)
        else:
            kind = _KIND_SKIP
        self._kinds[name] = kind
        return kind

    def error_code(self, code: str) -> str:
        """``code``, or "other" once the series has its fill of distinct codes."""
        if code not in self.error_codes:
            if len(self.error_codes) >= _MAX_ERROR_CODES:
                code = _OTHER_CODE
            self.error_codes.add(code)
        return code

    def note_error_text(self, code: str, text: str, count: int = 1) -> None:
        """``count`` samples of ``code`` tagged ``text`` (five texts a code are kept)."""
        texts = self.error_texts.setdefault(code, {})
        if text in texts or len(texts) < _MAX_ERROR_TEXTS:
            texts[text] = texts.get(text, 0) + count
        else:
            self.error_texts_dropped[code] = self.error_texts_dropped.get(code, 0) + count

    def _count_error(self, bucket: Bucket, code: str, text: str | None) -> None:
        code = self.error_code(code)
        key = "error_code:" + code
        bucket.counters[key] = bucket.counters.get(key, 0.0) + 1.0
        if text and code != _OTHER_CODE:
            self.note_error_text(code, text)

    def error_names(self) -> dict[str, list[str]]:
        """Each ``error_code`` to the ``error`` texts its samples carried, most frequent first.

        A code alone (``1212``) means nothing to most readers; the text k6 tags it with
        (``dial: connection refused``) does. One code can carry several texts (k6's generic
        1000 covers every close code), so all that were kept are listed; a last entry ``+N``
        counts the samples whose text was not kept.
        """
        names = {}
        for code, texts in self.error_texts.items():
            ordered = sorted(texts, key=lambda text: (-texts[text], text))
            dropped = self.error_texts_dropped.get(code, 0)
            names[code] = ordered + ([f"+{dropped}"] if dropped else [])
        return names

    # -- reading --------------------------------------------------------------------------------
    def totals(self) -> dict[str, float]:
        """Every counter summed over all buckets (the summary's ``count`` for the same samples)."""
        out: dict[str, float] = {}
        for bucket in self.buckets:
            if bucket is not None:
                for key, value in bucket.counters.items():
                    out[key] = out.get(key, 0.0) + value
        return out

    def to_data(self, end: float | None = None) -> dict[str, Any]:
        """Plain data for the charts.

        Returns ``{"start", "width", "duration", "times", "rates", "gauges", "trends", "errors",
        "error_names", "totals"}``: ``duration`` is ``end`` in seconds since ``start`` (None
        without ``end``); ``times`` is each bucket's start in seconds since ``start``; ``rates`` maps a counter to
        its per-second rate per bucket; ``gauges`` a gauge to its last reading (None where the
        bucket had none); ``trends`` a Trend to ``{"p50": [...], "p95": [...], "p99": [...]}``
        (None for empty buckets); ``errors`` an ``error_code`` to errors per second and
        ``error_names`` each code to its ``error`` texts (:meth:`error_names`). A rate is
        divided by the part of its bucket the run covered, so the last, partial bucket is not
        understated. Series without a single sample are left out.
        """
        width = self.width
        count = len(self.buckets)
        times = [float(i * width) for i in range(count)]
        spans = [float(width)] * count
        if end is not None and count:
            last_span = (end - self.start) - times[-1]
            spans[-1] = min(float(width), max(last_span, 1e-3))
        present: dict[int, set[str]] = {
            _KIND_COUNTER: set(),
            _KIND_GAUGE: set(),
            _KIND_TREND: set(),
        }
        errors: set[str] = set()
        for bucket in self.buckets:
            if bucket is None:
                continue
            for key in bucket.counters:
                if key.startswith("error_code:"):
                    errors.add(key[len("error_code:") :])
                else:
                    present[_KIND_COUNTER].add(key)
            present[_KIND_GAUGE].update(bucket.gauges)
            present[_KIND_TREND].update(bucket.trends)

        def rate(key: str) -> list[float]:
            return [
                (b.counters.get(key, 0.0) if b is not None else 0.0) / span
                for b, span in zip(self.buckets, spans, strict=True)
            ]

        rates = {name: rate(name) for name in COUNTER_SERIES if name in present[_KIND_COUNTER]}
        gauges = {
            name: [b.gauges.get(name) if b is not None else None for b in self.buckets]
            for name in GAUGE_SERIES
            if name in present[_KIND_GAUGE]
        }
        trends = {
            name: self._percentile_lines(name)
            for name in TREND_SERIES
            if name in present[_KIND_TREND]
        }
        return {
            "start": self.start,
            "width": width,
            "duration": (end - self.start) if end is not None else None,
            "times": times,
            "rates": rates,
            "gauges": gauges,
            "trends": trends,
            "errors": {code: rate("error_code:" + code) for code in sorted(errors)},
            "error_names": self.error_names(),
            "totals": {k: v for k, v in self.totals().items() if not k.startswith(CUSTOM_PREFIX)},
            "custom": self._custom_series(rate),
        }

    def _percentile_lines(self, key: str) -> dict[str, list[float | None]]:
        """p50/p95/p99 of the Trend filed under ``key``, per bucket (None for empty buckets)."""
        labels = [_label(p) for p in PERCENTILES]
        columns: list[list[float | None]] = [[] for _ in PERCENTILES]
        empty = (None,) * len(PERCENTILES)
        for bucket in self.buckets:
            hist = bucket.trends.get(key) if bucket is not None else None
            if hist is None:
                values: tuple[float | None, ...] = empty
            elif isinstance(hist, FrozenHistogram):
                values = hist.percentiles()
            else:
                values = tuple(hist.percentile(p) if hist.count else None for p in PERCENTILES)
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        return dict(zip(labels, columns, strict=True))

    def _custom_series(self, rate: Any) -> dict[str, dict[str, Any]]:
        """Every other metric: ``{name: {"type", "contains", "values" | "lines"}}``; counters as
        per-second rates, gauges as last readings, Rates as the share of non-zero values, Trends
        as p50/p95/p99."""
        out: dict[str, dict[str, Any]] = {}
        for name, (kind, contains) in self.custom.items():
            key = CUSTOM_PREFIX + name
            entry: dict[str, Any] = {"type": kind, "contains": contains}
            if kind == "counter":
                entry["values"] = rate(key)
            elif kind == "gauge":
                entry["values"] = [
                    b.gauges.get(key) if b is not None else None for b in self.buckets
                ]
            elif kind == "rate":
                shares: list[float | None] = []
                for b in self.buckets:
                    seen = b.counters.get(key + "#n", 0.0) if b is not None else 0.0
                    shares.append(
                        b.counters.get(key, 0.0) / seen if b is not None and seen else None
                    )
                entry["values"] = shares
            else:
                entry["lines"] = self._percentile_lines(key)
            out[name] = entry
        return out


def _label(p: float) -> str:
    """``95.0`` -> ``p95``; ``99.9`` -> ``p99.9``."""
    return "p" + (str(int(p)) if math.isclose(p, round(p)) else str(p))
