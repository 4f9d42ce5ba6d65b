"""The report's time buckets: plain samples in, per-second series out, memory bounded."""

from __future__ import annotations

from typing import Any

import pytest

from greenws.metrics.histogram import Histogram
from greenws.metrics.metric import Metric, MetricType, ValueType
from greenws.metrics.tags import EMPTY_TAGS, TagSet
from greenws.outputs.html_report.series import FrozenHistogram, SeriesAggregator

SENT = Metric("ws_msgs_sent", MetricType.COUNTER)
SESSIONS = Metric("ws_sessions", MetricType.COUNTER)
VUS = Metric("vus", MetricType.GAUGE)
PING = Metric("ws_ping", MetricType.TREND, ValueType.TIME)
OTHER = Metric("my_counter", MetricType.COUNTER)
START = 1_000.0


def test_counters_land_in_one_second_buckets_as_rates() -> None:
    series = SeriesAggregator(START)
    series.add_batch([(SENT, START + 0.1, 1.0, EMPTY_TAGS), (SENT, START + 0.9, 2.0, EMPTY_TAGS)])
    series.add_batch([(SENT, START + 2.5, 4.0, EMPTY_TAGS)])
    data = series.to_data(end=START + 3.0)
    assert data["times"] == [0.0, 1.0, 2.0]
    assert data["rates"]["ws_msgs_sent"] == [3.0, 0.0, 4.0]
    assert data["totals"] == {"ws_msgs_sent": 7.0}


def test_the_last_partial_bucket_is_divided_by_the_time_it_covered() -> None:
    series = SeriesAggregator(START)
    series.add_batch([(SENT, START + 1.1, 5.0, EMPTY_TAGS)])
    assert series.to_data(end=START + 1.5)["rates"]["ws_msgs_sent"] == [0.0, 10.0]


def test_metrics_that_are_not_charted_are_ignored_and_absent_series_left_out() -> None:
    series = SeriesAggregator(START)
    series.add_batch([(OTHER, START, 1.0, EMPTY_TAGS), (VUS, START + 0.5, 3.0, EMPTY_TAGS)])
    data = series.to_data(end=START + 1)
    assert data["rates"] == {}
    assert data["trends"] == {}
    assert data["gauges"] == {"vus": [3.0]}


def test_a_gauge_keeps_its_last_reading_and_gaps_are_none() -> None:
    series = SeriesAggregator(START)
    series.add_batch([(VUS, START + 0.2, 1.0, EMPTY_TAGS), (VUS, START + 0.7, 5.0, EMPTY_TAGS)])
    series.add_batch([(VUS, START + 2.2, 2.0, EMPTY_TAGS)])
    assert series.to_data()["gauges"]["vus"] == [5.0, None, 2.0]


def test_trend_percentiles_per_bucket_match_the_histogram() -> None:
    series = SeriesAggregator(START)
    values = [float(v) for v in range(1, 101)]
    series.add_batch([(PING, START + 0.5, v, EMPTY_TAGS) for v in values])
    expected = Histogram()
    expected.add_many(values)
    lines = series.to_data()["trends"]["ws_ping"]
    assert set(lines) == {"p50", "p95", "p99"}
    assert lines["p50"] == [expected.percentile(50)]
    assert lines["p99"] == [expected.percentile(99)]


def test_samples_before_the_start_count_in_the_first_bucket() -> None:
    series = SeriesAggregator(START)
    series.add_batch([(SENT, START - 0.5, 1.0, EMPTY_TAGS)])
    assert series.to_data()["rates"]["ws_msgs_sent"] == [1.0]


def test_downsampling_bounds_the_buckets_and_keeps_every_count() -> None:
    series = SeriesAggregator(START, max_buckets=10)
    batch = [(SENT, START + t + 0.5, 1.0, EMPTY_TAGS) for t in range(95)]
    batch += [(PING, START + t + 0.5, float(t + 1), EMPTY_TAGS) for t in range(95)]
    series.add_batch(batch)
    assert len(series.buckets) <= 10
    assert series.width == 16  # 1 -> 2 -> 4 -> 8 -> 16 s, the first width that fits 95 s
    data = series.to_data(end=START + 95)
    assert data["width"] == 16
    assert data["totals"]["ws_msgs_sent"] == 95
    assert data["rates"]["ws_msgs_sent"][0] == 1.0  # still one per second after merging
    assert data["trends"]["ws_ping"]["p99"][0] == pytest.approx(16, rel=0.02)


def test_a_long_run_keeps_at_most_max_buckets_in_time_order() -> None:
    series = SeriesAggregator(START, max_buckets=100)
    for second in range(10_000):
        series.add_batch([(SENT, START + second, 1.0, EMPTY_TAGS)])
    assert len(series.buckets) <= 100
    assert series.totals()["ws_msgs_sent"] == 10_000


def test_old_buckets_are_frozen_with_exact_count_min_max_and_close_percentiles() -> None:
    series = SeriesAggregator(START, freeze_after=2)
    values = [0.1 + 0.037 * i for i in range(500)]
    series.add_batch([(PING, START + 0.5, v, EMPTY_TAGS) for v in values])
    series.add_batch([(PING, START + 5.5, 1.0, EMPTY_TAGS)])
    frozen = series.buckets[0].trends["ws_ping"]  # type: ignore[union-attr]
    assert isinstance(frozen, FrozenHistogram)
    thawed = frozen.thaw()
    assert (thawed.count, thawed.min, thawed.max) == (500, min(values), max(values))
    exact = Histogram()
    exact.add_many(values)
    for p in (50, 95, 99):
        assert thawed.percentile(p) == pytest.approx(exact.percentile(p), rel=0.02)
    assert len(frozen.keys) < exact.bucket_count / 2  # 1/32 octave instead of 1/256


def test_a_frozen_bucket_draws_its_histograms_percentiles_and_merging_redraws_them() -> None:
    series = SeriesAggregator(START, max_buckets=4, freeze_after=1)
    series.add_batch([(PING, START + 0.5, float(v), EMPTY_TAGS) for v in range(1, 101)])
    series.add_batch([(PING, START + 1.5, 500.0, EMPTY_TAGS), (PING, START + 3.5, 1, EMPTY_TAGS)])
    frozen = series.buckets[0].trends["ws_ping"]  # type: ignore[union-attr]
    assert isinstance(frozen, FrozenHistogram)
    thawed = frozen.thaw()
    first = series.to_data()["trends"]["ws_ping"]
    assert [first[k][0] for k in ("p50", "p95", "p99")] == [
        thawed.percentile(p) for p in (50, 95, 99)
    ]
    assert series.to_data()["trends"]["ws_ping"] == first  # drawn again from what was kept
    series.add_batch([(PING, START + 4.5, 1.0, EMPTY_TAGS)])  # 5 buckets: seconds 0 and 1 merge
    merged = series.buckets[0].trends["ws_ping"]  # type: ignore[union-attr]
    assert merged.count == 101
    assert series.to_data()["trends"]["ws_ping"]["p99"][0] == pytest.approx(
        merged.thaw().percentile(99)  # type: ignore[union-attr]
    )
    assert series.to_data()["trends"]["ws_ping"]["p99"][0] != first["p99"][0]


def test_a_late_sample_for_a_frozen_bucket_still_counts() -> None:
    series = SeriesAggregator(START, freeze_after=1)
    series.add_batch([(PING, START + 0.5, 2.0, EMPTY_TAGS), (PING, START + 9.5, 2.0, EMPTY_TAGS)])
    series.add_batch([(PING, START + 0.6, 4.0, EMPTY_TAGS)])
    assert series.to_data()["trends"]["ws_ping"]["p99"][0] == pytest.approx(4.0, rel=0.02)


def test_errors_are_counted_once_per_session_by_error_code() -> None:
    refused = TagSet({"error_code": "1006"})
    series = SeriesAggregator(START)
    series.add_batch(
        [
            (SESSIONS, START + 0.1, 1.0, refused),
            (SESSIONS, START + 0.2, 1.0, refused),
            (SESSIONS, START + 0.3, 1.0, EMPTY_TAGS),
            (SENT, START + 0.4, 1.0, refused),  # not an error event: only sessions/requests count
        ]
    )
    assert series.to_data(end=START + 1)["errors"] == {"1006": [2.0]}


def test_distinct_error_codes_are_capped() -> None:
    series = SeriesAggregator(START)
    series.add_batch(
        [(SESSIONS, START, 1.0, TagSet({"error_code": str(code)})) for code in range(50)]
    )
    errors = series.to_data(end=START + 1)["errors"]
    assert len(errors) == 21
    assert errors["other"] == [30.0]


def test_each_error_code_keeps_the_error_texts_its_samples_carried() -> None:
    """What names the code's line in the report: ``1212`` alone says nothing."""
    refused = TagSet({"error_code": "1212", "error": "dial: connection refused"})
    eof = TagSet({"error_code": "1000", "error": "websocket: close 1006 (abnormal closure)"})
    server_error = TagSet({"error_code": "1000", "error": "websocket: close 1011"})
    series = SeriesAggregator(START)
    series.add_batch(
        [(SESSIONS, START, 1.0, refused)] * 2
        + [(SESSIONS, START, 1.0, server_error)]
        + [(SESSIONS, START, 1.0, eof)] * 3
        + [(SESSIONS, START, 1.0, TagSet({"error_code": "1300"}))]  # no text: the code alone
    )
    names = series.to_data(end=START + 1)["error_names"]
    assert names == {
        "1212": ["dial: connection refused"],
        "1000": ["websocket: close 1006 (abnormal closure)", "websocket: close 1011"],
    }


def test_error_texts_per_code_are_capped() -> None:
    series = SeriesAggregator(START)
    series.add_batch(
        [(SESSIONS, START, 1.0, TagSet({"error_code": "1000", "error": f"e{i}"})) for i in range(9)]
    )
    texts = series.to_data(end=START + 1)["error_names"]["1000"]
    assert texts == ["e0", "e1", "e2", "e3", "e4", "+4"]  # 4 samples whose text was not kept


def test_the_data_says_how_long_the_run_was() -> None:
    """The chart's time axis spans the run, so a 0.8-second run is not drawn over a second."""
    series = SeriesAggregator(START)
    series.add_batch([(SENT, START + 0.1, 1.0, EMPTY_TAGS)])
    assert series.to_data(end=START + 0.8)["duration"] == pytest.approx(0.8)
    assert series.to_data()["duration"] is None


def test_max_buckets_must_allow_merging() -> None:
    with pytest.raises(ValueError):
        SeriesAggregator(START, max_buckets=1)


def test_the_breakdown_aggregates_per_scenario_and_per_exact_group() -> None:
    from greenws.outputs.html_report.breakdown import Breakdown

    chat = TagSet({"scenario": "a", "group": "::chat"})
    root = TagSet({"scenario": "b", "group": ""})
    setup = TagSet({"group": "::setup"})
    breakdown = Breakdown()
    breakdown.add_batch(
        [(SENT, START, 2.0, chat), (SENT, START, 3.0, root), (SENT, START, 7.0, setup)]
    )
    breakdown.add_batch([(SENT, START, 1.0, chat)])
    scenarios, groups = breakdown.tables(2.0, ["avg"])
    assert scenarios["a"]["ws_msgs_sent"]["values"] == {"count": 3.0, "rate": 1.5}
    assert scenarios["b"]["ws_msgs_sent"]["values"]["count"] == 3.0
    assert list(groups) == ["::chat"]  # the root is TOTAL; setup/teardown are hidden
    assert groups["::chat"]["ws_msgs_sent"]["values"]["count"] == 3.0


def _mixed_batches() -> list[list[tuple[Metric, float, float, TagSet]]]:
    """Batches as a run makes them: counters, gauges, trends, a custom Rate and Trend, error
    codes, batches across second boundaries, samples in the order they were recorded (one list
    every VU appends to, each sample stamped as it is appended) and then one from a clock that
    stepped back, several TagSets (scenarios and groups), a run long enough to downsample
    (max_buckets=8)."""
    import random

    draw = random.Random(7)
    rate = Metric("my_rate", MetricType.RATE)
    wait = Metric("my_wait", MetricType.TREND, ValueType.TIME)
    tagsets = [
        TagSet({"scenario": "a", "group": "::chat"}),
        TagSet({"scenario": "a", "group": ""}),
        TagSet({"scenario": "b", "group": "::chat", "room": "lobby"}),
    ]
    failed = TagSet({"scenario": "a", "error_code": "1006", "error": "abnormal closure"})
    batches = []
    for tick in range(120):  # 0.2 s a batch: 24 s of test
        now = START + tick * 0.2
        batch = []
        for _ in range(draw.randint(0, 40)):
            when = now + draw.uniform(0.0, 0.2)  # across boundaries
            tags = draw.choice(tagsets)
            metric = draw.choice([SENT, SENT, PING, OTHER, rate, wait, SESSIONS, VUS])
            batch.append((metric, when, float(draw.choice([0, 1, 2, 37.5])), tags))
        if tick % 17 == 3:
            batch.append((SESSIONS, now + 0.1, 1.0, failed))
        batch.sort(key=lambda sample: sample[1])  # in the order they were recorded
        if tick == 60:
            batch.append((PING, START + 0.5, 3.0, tagsets[0]))  # very late: a frozen bucket
        batches.append(batch)
    return batches


def _grouped(batch: list[tuple[Metric, float, float, TagSet]]) -> list[tuple[Metric, list[Any]]]:
    groups: dict[Metric, list[Any]] = {}
    for sample in batch:
        groups.setdefault(sample[0], []).append(sample)
    return list(groups.items())


def test_folding_batches_grouped_by_metric_draws_the_same_charts() -> None:
    """What the dashboard gets from the engine (one call per metric per batch) and what an
    output gets (whole batches) make the same series, point for point."""
    whole = SeriesAggregator(START, max_buckets=8, freeze_after=2)
    grouped = SeriesAggregator(START, max_buckets=8, freeze_after=2)
    for batch in _mixed_batches():
        whole.add_batch(batch)
        for metric, samples in _grouped(batch):
            grouped.add_metric(metric, samples, [s[2] for s in samples])
    assert grouped.width == whole.width > 1  # downsampled on the way
    expected, got = whole.to_data(end=START + 24), grouped.to_data(end=START + 24)
    assert got["errors"] and got["custom"]["my_rate"]["values"]  # the test covers them
    assert got["trends"]["ws_ping"]["p99"]  # and the late sample's frozen bucket
    # Counter sums may differ in the last bit (summed per batch, as the engine does).
    assert _rounded(got) == _rounded(expected)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def test_the_breakdown_fed_per_metric_makes_the_same_tables() -> None:
    from greenws.outputs.html_report.breakdown import Breakdown

    whole, grouped = Breakdown(["room"]), Breakdown(["room"])
    for batch in _mixed_batches():
        whole.add_batch(batch)
        column = [s[3] for s in batch]
        batch_tags = dict(zip(map(id, column), column, strict=True))
        for metric, samples in _grouped(batch):
            grouped.add_metric(metric, samples, [s[2] for s in samples], batch_tags)
    stats = ["avg", "p(95)", "count"]
    assert grouped.tables(24.0, stats) == whole.tables(24.0, stats)
    assert grouped.tag_tables(24.0, stats) == whole.tag_tables(24.0, stats)
    single = Breakdown()  # one TagSet in every batch: each table takes the samples whole
    one = TagSet({"scenario": "a", "group": "::chat"})
    single.add_metric(SENT, [(SENT, START, 2.0, one)] * 3, [2.0] * 3, {id(one): one})
    scenarios, groups = single.tables(1.0, ["avg"])
    assert (
        scenarios["a"]["ws_msgs_sent"]["values"]["count"]
        == groups["::chat"]["ws_msgs_sent"]["values"]["count"]
        == 6.0
    )
