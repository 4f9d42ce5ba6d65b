"""Sinks: the running aggregate of one metric (or submetric), one class per k6 metric type.

Each sink answers two questions with k6's numbers and names: ``values()`` is the ``values`` object
of a metric in ``handleSummary(data)``, and ``threshold_value()`` is what a threshold expression's
left-hand side (``count``, ``rate``, ``p(95)``...) evaluates to. ``add_many`` is the path the
aggregator uses -- one call per metric per batch, so the per-value work runs in C (``sum``,
``list.count``, the histogram's bulk bucketing).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeAlias

from greenws.metrics.histogram import Histogram
from greenws.metrics.metric import MetricType

__all__ = [
    "AGGREGATIONS",
    "DEFAULT_TREND_STATS",
    "AggregationError",
    "CounterSink",
    "GaugeSink",
    "RateSink",
    "Sink",
    "TrendSink",
    "format_percentile",
    "parse_percentile",
    "sink_for",
    "sink_from_state",
]

DEFAULT_TREND_STATS: tuple[str, ...] = ("avg", "min", "med", "max", "p(90)", "p(95)")
"""k6's default ``summaryTrendStats``."""

AGGREGATIONS: dict[MetricType, tuple[str, ...]] = {
    MetricType.COUNTER: ("count", "rate"),
    MetricType.GAUGE: ("value",),
    MetricType.RATE: ("rate",),
    MetricType.TREND: ("avg", "min", "max", "med", "p(N)"),
}
"""Threshold aggregation methods k6 accepts per metric type (``metrics/metric_type.go``)."""

_PERCENTILE = re.compile(r"p\(\s*([^()]*?)\s*\)")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class AggregationError(ValueError):
    """An aggregation or trend stat that does not exist for this kind of sink."""


def parse_percentile(text: str) -> float | None:
    """``"p(99.9)"`` -> 99.9; None if ``text`` is not a ``p(...)`` form at all.

    Raises:
        AggregationError: for ``p(...)`` with something other than a number in 0..100.
    """
    match = _PERCENTILE.fullmatch(text.strip())
    if match is None:
        return None
    number = match.group(1)
    if _NUMBER.fullmatch(number) is None or not 0.0 <= float(number) <= 100.0:
        raise AggregationError(
            f"invalid percentile {text!r}: provide a number between 0 and 100, like p(95)"
        )
    return float(number)


def format_percentile(p: float) -> str:
    """k6's canonical spelling: 95.0 -> ``p(95)``, 99.9 -> ``p(99.9)`` (Go's ``%g``)."""
    text = repr(float(p))
    return f"p({text[:-2] if text.endswith('.0') else text})"


class CounterSink:
    """Sum of values (k6 Counter): ``count`` and ``rate`` per second of test time."""

    __slots__ = ("samples", "value")
    type = MetricType.COUNTER

    def __init__(self) -> None:
        self.value = 0.0
        self.samples = 0

    def add(self, value: float) -> None:
        self.value += value
        self.samples += 1

    def add_many(self, values: list[float]) -> None:
        self.value += sum(values)
        self.samples += len(values)

    def merge(self, other: CounterSink) -> None:
        self.value += other.value
        self.samples += other.samples

    @property
    def is_empty(self) -> bool:
        return self.samples == 0

    def rate(self, duration_s: float) -> float:
        """Per-second rate; 0 for a zero duration, as k6's summary shows it."""
        return self.value / duration_s if duration_s > 0 else 0.0

    def values(
        self, duration_s: float, trend_stats: Sequence[str] = DEFAULT_TREND_STATS
    ) -> dict[str, float]:
        return {"count": float(self.value), "rate": self.rate(duration_s)}

    def threshold_value(self, aggregation: str, duration_s: float) -> float | None:
        if aggregation == "count":
            return float(self.value)
        if aggregation == "rate":
            # k6 leaves the rate out for a zero duration, and a missing value passes.
            return self.value / duration_s if duration_s > 0 else None
        raise _unsupported(aggregation, self.type)

    def to_state(self) -> dict[str, Any]:
        return {"type": self.type.value, "value": self.value, "samples": self.samples}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CounterSink:
        sink = cls()
        sink.value = float(state["value"])
        sink.samples = int(state["samples"])
        return sink


class GaugeSink:
    """Last value wins (k6 Gauge), plus the min and max ever seen.

    ``time`` is the timestamp of the last value when the aggregator knows it (it sets it from the
    samples): merging two gauges keeps the value that was set *later*, so merging the states of
    several processes gives the same answer whichever order they arrive in.
    """

    __slots__ = ("max", "min", "samples", "time", "value")
    type = MetricType.GAUGE

    def __init__(self) -> None:
        self.value = 0.0
        self.min = 0.0
        self.max = 0.0
        self.samples = 0
        self.time: float | None = None

    def add(self, value: float) -> None:
        if not self.samples or value < self.min:
            self.min = value
        if not self.samples or value > self.max:
            self.max = value
        self.value = value
        self.samples += 1

    def add_many(self, values: list[float]) -> None:
        if not values:
            return
        low, high = min(values), max(values)
        if not self.samples or low < self.min:
            self.min = low
        if not self.samples or high > self.max:
            self.max = high
        self.value = values[-1]
        self.samples += len(values)

    def merge(self, other: GaugeSink) -> None:
        """Fold in ``other``; which last value wins is decided by :meth:`_other_is_later`."""
        if not other.samples:
            return
        if not self.samples:
            self.min, self.max = other.min, other.max
            self.value, self.time = other.value, other.time
        else:
            self.min, self.max = min(self.min, other.min), max(self.max, other.max)
            if self._other_is_later(other):
                self.value, self.time = other.value, other.time
        self.samples += other.samples

    def _other_is_later(self, other: GaugeSink) -> bool:
        """The merge rule for the last value.

        With both timestamps known, the later one wins and a tie goes to the larger value (so
        the rule does not depend on the order of the merge). A known timestamp beats an unknown
        one. With neither known, ``other`` is taken to be the later of the two.
        """
        if other.time is None:
            return self.time is None
        if self.time is None:
            return True
        return (other.time, other.value) > (self.time, self.value)

    @property
    def is_empty(self) -> bool:
        return self.samples == 0

    def values(
        self, duration_s: float, trend_stats: Sequence[str] = DEFAULT_TREND_STATS
    ) -> dict[str, float]:
        return {"value": float(self.value), "min": float(self.min), "max": float(self.max)}

    def threshold_value(self, aggregation: str, duration_s: float) -> float | None:
        if aggregation == "value":
            return float(self.value)
        raise _unsupported(aggregation, self.type)

    def to_state(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "value": self.value,
            "min": self.min,
            "max": self.max,
            "samples": self.samples,
            "time": self.time,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GaugeSink:
        sink = cls()
        sink.value = float(state["value"])
        sink.min = float(state["min"])
        sink.max = float(state["max"])
        sink.samples = int(state["samples"])
        time = state.get("time")
        sink.time = None if time is None else float(time)
        return sink


class RateSink:
    """Share of non-zero values (k6 Rate): ``rate``, ``passes`` (non-zero) and ``fails``."""

    __slots__ = ("total", "trues")
    type = MetricType.RATE

    def __init__(self) -> None:
        self.trues = 0
        self.total = 0

    def add(self, value: float) -> None:
        self.total += 1
        if value != 0:
            self.trues += 1

    def add_many(self, values: list[float]) -> None:
        n = len(values)
        self.total += n
        self.trues += n - values.count(0)  # counts 0, 0.0, -0.0 and False alike

    def merge(self, other: RateSink) -> None:
        self.trues += other.trues
        self.total += other.total

    @property
    def samples(self) -> int:
        return self.total

    @property
    def is_empty(self) -> bool:
        return self.total == 0

    @property
    def rate(self) -> float:
        return self.trues / self.total if self.total else 0.0

    def values(
        self, duration_s: float, trend_stats: Sequence[str] = DEFAULT_TREND_STATS
    ) -> dict[str, float]:
        return {
            "rate": self.rate,
            "passes": float(self.trues),
            "fails": float(self.total - self.trues),
        }

    def threshold_value(self, aggregation: str, duration_s: float) -> float | None:
        if aggregation == "rate":
            # k6 has no rate for an empty Rate, and a threshold with no value passes.
            return self.trues / self.total if self.total else None
        raise _unsupported(aggregation, self.type)

    def to_state(self) -> dict[str, Any]:
        return {"type": self.type.value, "trues": self.trues, "total": self.total}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RateSink:
        sink = cls()
        sink.trues = int(state["trues"])
        sink.total = int(state["total"])
        return sink


class TrendSink:
    """Distribution of values (k6 Trend), kept in a mergeable :class:`Histogram`."""

    __slots__ = ("histogram",)
    type = MetricType.TREND

    def __init__(self, histogram: Histogram | None = None) -> None:
        self.histogram = histogram if histogram is not None else Histogram()

    def add(self, value: float) -> None:
        self.histogram.add(value)

    def add_many(self, values: list[float]) -> None:
        self.histogram.add_many(values)

    def merge(self, other: TrendSink) -> None:
        self.histogram.merge(other.histogram)

    @property
    def samples(self) -> int:
        return self.histogram.count

    @property
    def is_empty(self) -> bool:
        return self.histogram.count == 0

    def stat(self, name: str) -> float:
        """One trend stat by its k6 name: ``avg min med max count`` or ``p(N)``."""
        hist = self.histogram
        if name == "avg":
            return hist.mean
        if name == "min":
            return hist.min
        if name == "max":
            return hist.max
        if name == "med":
            return hist.percentile(50.0)
        if name == "count":
            return float(hist.count)
        p = parse_percentile(name)
        if p is None:
            raise AggregationError(
                f"invalid trend stat {name!r}: use avg, min, med, max, count or p(N)"
            )
        return hist.percentile(p)

    def values(
        self, duration_s: float, trend_stats: Sequence[str] = DEFAULT_TREND_STATS
    ) -> dict[str, float]:
        return {name: self.stat(name) for name in trend_stats}

    def threshold_value(self, aggregation: str, duration_s: float) -> float | None:
        try:
            return self.stat(aggregation)
        except AggregationError:
            raise _unsupported(aggregation, self.type) from None

    def to_state(self) -> dict[str, Any]:
        return {"type": self.type.value, "histogram": self.histogram.to_state()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TrendSink:
        return cls(Histogram.from_state(state["histogram"]))


Sink: TypeAlias = CounterSink | GaugeSink | RateSink | TrendSink

_SINK_CLASSES: dict[MetricType, type[Sink]] = {
    MetricType.COUNTER: CounterSink,
    MetricType.GAUGE: GaugeSink,
    MetricType.RATE: RateSink,
    MetricType.TREND: TrendSink,
}


def sink_for(metric_type: MetricType) -> Sink:
    """A new, empty sink for a metric of ``metric_type``."""
    return _SINK_CLASSES[MetricType(metric_type)]()


def sink_from_state(state: dict[str, Any]) -> Sink:
    """Rebuild any sink from its ``to_state()`` dict (the ``type`` key picks the class)."""
    try:
        cls = _SINK_CLASSES[MetricType(state["type"])]
        return cls.from_state(state)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:  # HistogramStateError too
        raise AggregationError(f"malformed sink state: {exc}: {state!r:.200}") from exc


def _unsupported(aggregation: str, metric_type: MetricType) -> AggregationError:
    return AggregationError(
        f"unsupported aggregation method {aggregation} on metric of type {metric_type.value}. "
        f"supported aggregation methods for this metric are: "
        f"{', '.join(AGGREGATIONS[metric_type])}"
    )
