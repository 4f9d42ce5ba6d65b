"""Metrics: definitions, tags, samples, sinks and the aggregator (pure code: no I/O, no gevent).

The runtime emits samples as plain ``(metric, time, value, tags)`` tuples; the aggregator folds
batches of them into k6-shaped numbers for thresholds and the end-of-test summary.
"""

from greenws.metrics.aggregator import Aggregator, Submetric, parse_metric_name
from greenws.metrics.builtin import SECTION_OF, BuiltinMetrics, register_builtin, section_of
from greenws.metrics.histogram import Histogram
from greenws.metrics.metric import Metric, MetricError, MetricType, Registry, ValueType
from greenws.metrics.sample import Sample
from greenws.metrics.sinks import (
    DEFAULT_TREND_STATS,
    CounterSink,
    GaugeSink,
    RateSink,
    Sink,
    TrendSink,
    sink_for,
)
from greenws.metrics.tags import EMPTY_TAGS, TagSet

__all__ = [
    "DEFAULT_TREND_STATS",
    "EMPTY_TAGS",
    "SECTION_OF",
    "Aggregator",
    "BuiltinMetrics",
    "CounterSink",
    "GaugeSink",
    "Histogram",
    "Metric",
    "MetricError",
    "MetricType",
    "RateSink",
    "Registry",
    "Sample",
    "Sink",
    "Submetric",
    "TagSet",
    "TrendSink",
    "ValueType",
    "parse_metric_name",
    "register_builtin",
    "section_of",
    "sink_for",
]
