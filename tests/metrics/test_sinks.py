"""Sinks: k6's summary values and threshold values per metric type."""

from __future__ import annotations

import json

import pytest

from greenws.metrics.metric import MetricType
from greenws.metrics.sinks import (
    DEFAULT_TREND_STATS,
    AggregationError,
    CounterSink,
    GaugeSink,
    RateSink,
    TrendSink,
    format_percentile,
    parse_percentile,
    sink_for,
    sink_from_state,
)


def test_sink_for_each_type() -> None:
    assert isinstance(sink_for(MetricType.COUNTER), CounterSink)
    assert isinstance(sink_for(MetricType.GAUGE), GaugeSink)
    assert isinstance(sink_for(MetricType.RATE), RateSink)
    assert isinstance(sink_for(MetricType.TREND), TrendSink)
    assert isinstance(sink_for("trend"), TrendSink)  # type: ignore[arg-type]


# -- counter --------------------------------------------------------------------------------------
def test_counter_values_and_rate() -> None:
    sink = CounterSink()
    sink.add(3)
    sink.add_many([2.5, 4.5])
    assert sink.values(5.0, DEFAULT_TREND_STATS) == {"count": 10.0, "rate": 2.0}
    assert sink.samples == 3 and not sink.is_empty
    assert sink.threshold_value("count", 5.0) == 10.0
    assert sink.threshold_value("rate", 4.0) == 2.5


def test_counter_zero_duration() -> None:
    sink = CounterSink()
    sink.add(7)
    assert sink.values(0.0, ()) == {"count": 7.0, "rate": 0.0}
    assert sink.threshold_value("rate", 0.0) is None  # k6: no rate, the threshold passes


def test_counter_empty() -> None:
    sink = CounterSink()
    assert sink.is_empty
    assert sink.values(10.0, ()) == {"count": 0.0, "rate": 0.0}
    assert sink.threshold_value("count", 10.0) == 0.0


@pytest.mark.parametrize("aggregation", ["value", "avg", "p(95)", "med"])
def test_counter_rejects_other_aggregations(aggregation: str) -> None:
    with pytest.raises(AggregationError, match=r"type counter.*are: count, rate"):
        CounterSink().threshold_value(aggregation, 1.0)


# -- gauge ----------------------------------------------------------------------------------------
def test_gauge_keeps_last_min_max() -> None:
    sink = GaugeSink()
    for v in (5.0, -2.0, 9.0, 3.0):
        sink.add(v)
    assert sink.values(1.0, ()) == {"value": 3.0, "min": -2.0, "max": 9.0}
    assert sink.threshold_value("value", 1.0) == 3.0
    with pytest.raises(AggregationError, match="are: value"):
        sink.threshold_value("max", 1.0)


def test_gauge_add_many_equals_add() -> None:
    one, many = GaugeSink(), GaugeSink()
    values = [4.0, 8.0, 1.0, 6.0]
    for v in values:
        one.add(v)
    many.add_many(values[:2])
    many.add_many([])
    many.add_many(values[2:])
    assert one.values(1.0, ()) == many.values(1.0, ()) == {"value": 6.0, "min": 1.0, "max": 8.0}


def test_gauge_first_sample_sets_min_and_max_even_above_zero() -> None:
    sink = GaugeSink()
    sink.add_many([10.0, 12.0])
    assert sink.values(1.0, ()) == {"value": 12.0, "min": 10.0, "max": 12.0}


def test_gauge_merge_takes_the_later_value() -> None:
    early, late = GaugeSink(), GaugeSink()
    early.add_many([1.0, 50.0])
    late.add_many([-4.0, 7.0])
    early.merge(late)
    assert early.values(1.0, ()) == {"value": 7.0, "min": -4.0, "max": 50.0}
    empty = GaugeSink()
    empty.merge(late)
    assert empty.values(1.0, ()) == {"value": 7.0, "min": -4.0, "max": 7.0}
    early.merge(GaugeSink())
    assert early.value == 7.0


# -- rate -----------------------------------------------------------------------------------------
def test_rate_counts_non_zero_as_passes() -> None:
    sink = RateSink()
    sink.add_many([1.0, 0.0, 1.0, 1.0, -0.0, 0.5])
    sink.add(0)
    sink.add(True)  # type: ignore[arg-type]
    assert sink.values(1.0, ()) == {"rate": 5 / 8, "passes": 5.0, "fails": 3.0}
    assert sink.threshold_value("rate", 1.0) == 5 / 8
    with pytest.raises(AggregationError, match=r"type rate.*are: rate"):
        sink.threshold_value("count", 1.0)


def test_empty_rate_has_no_threshold_value() -> None:
    sink = RateSink()
    assert sink.values(1.0, ()) == {"rate": 0.0, "passes": 0.0, "fails": 0.0}
    assert sink.threshold_value("rate", 1.0) is None


# -- trend ----------------------------------------------------------------------------------------
def test_trend_default_stats() -> None:
    sink = TrendSink()
    sink.add_many([float(v) for v in range(1, 11)])  # 1..10
    values = sink.values(1.0, DEFAULT_TREND_STATS)
    assert list(values) == ["avg", "min", "med", "max", "p(90)", "p(95)"]
    assert values["avg"] == 5.5
    assert values["min"] == 1.0 and values["max"] == 10.0
    assert values["med"] == pytest.approx(5.5, rel=0.005)
    assert values["p(90)"] == pytest.approx(9.1, rel=0.005)
    assert values["p(95)"] == pytest.approx(9.55, rel=0.005)


def test_trend_custom_stats_keep_the_spelling_asked_for() -> None:
    sink = TrendSink()
    sink.add_many([1.0, 2.0, 3.0, 4.0])
    values = sink.values(1.0, ["count", "p(99.9)", "p(0)", "p(100)", "p(50.0)"])
    assert values == {
        "count": 4.0,
        "p(99.9)": pytest.approx(3.997, rel=0.005),
        "p(0)": 1.0,
        "p(100)": 4.0,
        "p(50.0)": pytest.approx(2.5, rel=0.005),
    }


@pytest.mark.parametrize("stat", ["p95", "p(101)", "p(-1)", "p()", "mean", "p(x)"])
def test_trend_rejects_unknown_stats(stat: str) -> None:
    sink = TrendSink()
    sink.add(1.0)
    with pytest.raises(AggregationError):
        sink.values(1.0, [stat])


def test_trend_threshold_values() -> None:
    sink = TrendSink()
    sink.add_many([10.0, 20.0, 30.0])
    assert sink.threshold_value("avg", 1.0) == 20.0
    assert sink.threshold_value("min", 1.0) == 10.0
    assert sink.threshold_value("max", 1.0) == 30.0
    assert sink.threshold_value("med", 1.0) == pytest.approx(20.0, rel=0.005)
    assert sink.threshold_value("p(50)", 1.0) == sink.threshold_value("med", 1.0)
    with pytest.raises(AggregationError, match=r"type trend.*avg, min, max, med, p\(N\)"):
        sink.threshold_value("rate", 1.0)


def test_empty_trend_reads_zero() -> None:
    assert TrendSink().values(1.0, DEFAULT_TREND_STATS) == dict.fromkeys(DEFAULT_TREND_STATS, 0.0)


def test_trend_merge() -> None:
    a, b = TrendSink(), TrendSink()
    a.add_many([1.0, 2.0])
    b.add_many([3.0, 4.0])
    a.merge(b)
    assert a.values(1.0, ["count", "min", "max", "avg"]) == {
        "count": 4.0,
        "min": 1.0,
        "max": 4.0,
        "avg": 2.5,
    }


# -- state ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("metric_type", list(MetricType))
def test_state_round_trip_through_json(metric_type: MetricType) -> None:
    sink = sink_for(metric_type)
    sink.add_many([3.0, 0.0, 8.5, 1.0])
    restored = sink_from_state(json.loads(json.dumps(sink.to_state())))
    assert type(restored) is type(sink)
    assert restored.values(2.0, DEFAULT_TREND_STATS) == sink.values(2.0, DEFAULT_TREND_STATS)
    assert restored.samples == 4


@pytest.mark.parametrize("metric_type", list(MetricType))
def test_merge_equals_one_sink(metric_type: MetricType) -> None:
    a, b, whole = sink_for(metric_type), sink_for(metric_type), sink_for(metric_type)
    a.add_many([1.0, 0.0, 5.0])
    b.add_many([2.0, 7.0])
    whole.add_many([1.0, 0.0, 5.0, 2.0, 7.0])
    a.merge(b)  # type: ignore[arg-type]
    assert a.values(3.0, DEFAULT_TREND_STATS) == whole.values(3.0, DEFAULT_TREND_STATS)


def test_bad_state() -> None:
    with pytest.raises(AggregationError):
        sink_from_state({"type": "histogram"})
    with pytest.raises(AggregationError):
        sink_from_state({})


# -- percentile spelling --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [("p(95)", 95.0), ("p(99.9)", 99.9), (" p( 90 ) ", 90.0), ("p(0)", 0.0), ("p(100)", 100.0)],
)
def test_parse_percentile(text: str, value: float) -> None:
    assert parse_percentile(text) == value


def test_parse_percentile_not_a_percentile() -> None:
    assert parse_percentile("avg") is None
    with pytest.raises(AggregationError, match="between 0 and 100"):
        parse_percentile("p(100.1)")


@pytest.mark.parametrize(("p", "text"), [(95.0, "p(95)"), (99.9, "p(99.9)"), (0.0, "p(0)")])
def test_format_percentile(p: float, text: str) -> None:
    assert format_percentile(p) == text
