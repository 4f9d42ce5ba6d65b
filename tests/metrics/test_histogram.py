"""Histogram: k6's percentile formula over bucket estimates, exact moments, merging, state."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenws.metrics.histogram import Histogram, HistogramStateError

PERCENTILES = (50.0, 90.0, 95.0, 99.0)


def k6_percentile(values: list[float], p: float) -> float:
    """k6's TrendSink.P on a sorted copy (metrics/sink.go), with p in 0..100."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 1:
        return ordered[0]
    i = (p / 100.0) * (n - 1)
    low, high = ordered[math.floor(i)], ordered[math.ceil(i)]
    return low + (high - low) * (i - math.floor(i))


def assert_close_to_k6(hist: Histogram, values: list[float], p: float) -> None:
    """Within 1 % of the exact answer.

    The estimate interpolates between two order statistics, each within the bucket resolution
    of the true one. When those two straddle zero the answer itself can be ~0 while the error
    scales with its neighbours, so the tolerance is 1 % of the neighbours' magnitude there.
    """
    exact = k6_percentile(values, p)
    ordered = sorted(values)
    i = (p / 100.0) * (len(ordered) - 1)
    low, high = ordered[math.floor(i)], ordered[math.ceil(i)]
    scale = abs(exact) if (low >= 0) == (high >= 0) else max(abs(low), abs(high))
    tolerance = 0.01 * scale + 1e-9
    estimate = hist.percentile(p)
    assert abs(estimate - exact) <= tolerance, (p, estimate, exact, len(values))


def histogram_of(values: list[float]) -> Histogram:
    hist = Histogram()
    hist.add_many(list(values))
    return hist


def _generated(seed: int, size: int, kind: str) -> list[float]:
    rng = random.Random(seed)
    if kind == "lognormal":
        return [rng.lognormvariate(0.0, 4.0) for _ in range(size)]
    if kind == "signed":
        return [rng.choice((-1, 1)) * rng.lognormvariate(2.0, 3.0) for _ in range(size)]
    if kind == "uniform_ms":
        return [rng.uniform(0.0, 5000.0) for _ in range(size)]
    if kind == "clustered":  # many values in few buckets, with ties and zeros
        return [rng.choice((0.0, 1.0, 1.001, 250.0, 250.5, 1e6)) for _ in range(size)]
    return [rng.uniform(-1e9, 1e9) for _ in range(size)]


large_lists = st.builds(
    _generated,
    st.integers(0, 2**32),
    st.integers(1, 5000),
    st.sampled_from(["lognormal", "signed", "uniform_ms", "clustered", "wide"]),
)
small_lists = st.lists(
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 1e-300, -1e-300]),
    min_size=1,
    max_size=300,
)
value_lists = large_lists | small_lists


@settings(max_examples=150, deadline=None)
@given(value_lists)
def test_percentiles_follow_k6_within_one_percent(values: list[float]) -> None:
    hist = histogram_of(values)
    for p in PERCENTILES:
        assert_close_to_k6(hist, values, p)


@settings(max_examples=150, deadline=None)
@given(value_lists)
def test_count_sum_min_max_are_exact(values: list[float]) -> None:
    hist = histogram_of(values)
    assert hist.count == len(values)
    assert hist.min == min(values)
    assert hist.max == max(values)
    assert hist.sum == pytest.approx(math.fsum(values), rel=1e-9, abs=1e-6)
    assert hist.percentile(0) == min(values)
    assert hist.percentile(100) == max(values)


@settings(max_examples=100, deadline=None)
@given(value_lists, st.floats(0.0, 1.0))
def test_merge_equals_adding_everything_to_one(values: list[float], cut: float) -> None:
    split = int(len(values) * cut)
    a, b = histogram_of(values[:split]), histogram_of(values[split:])
    a.merge(b)
    whole = histogram_of(values)
    assert a.count == whole.count
    assert (a.min, a.max) == (whole.min, whole.max)
    assert a.sum == pytest.approx(whole.sum, rel=1e-9, abs=1e-6)
    for p in (0.0, *PERCENTILES, 99.9, 100.0):
        assert a.percentile(p) == whole.percentile(p)


def test_one_value_is_every_percentile() -> None:
    hist = histogram_of([42.125])
    assert [hist.percentile(p) for p in (0, 50, 99, 100)] == [42.125] * 4


def test_two_values_interpolate_exactly() -> None:
    hist = histogram_of([10.0, 20.0])
    assert hist.percentile(50) == 15.0
    assert hist.percentile(90) == pytest.approx(19.0)


def test_k6_interpolation_between_middle_ranks() -> None:
    values = [float(v) for v in range(1, 102)]  # 1..101: p(95) = v[95] = 96 exactly
    hist = histogram_of(values)
    assert hist.percentile(95) == pytest.approx(96.0, rel=0.003)
    assert hist.percentile(50) == pytest.approx(51.0, rel=0.003)


def test_empty_histogram_reads_zero_like_k6() -> None:
    hist = Histogram()
    assert (hist.count, hist.sum, hist.min, hist.max, hist.mean) == (0, 0.0, 0.0, 0.0, 0.0)
    assert hist.percentile(95) == 0.0


def test_zeros_and_negatives() -> None:
    hist = histogram_of([0.0] * 10)
    assert hist.percentile(50) == 0.0
    hist = histogram_of([-5.0, -3.0, -1.0])
    assert hist.percentile(50) == pytest.approx(-3.0, rel=0.005)
    assert hist.min == -5.0 and hist.max == -1.0
    mixed = [-2.0, 0.0, 0.0, 0.0, 2.0]
    assert histogram_of(mixed).percentile(50) == 0.0


def test_nan_is_ignored() -> None:
    hist = histogram_of([1.0, math.nan, 3.0])
    assert hist.count == 2
    assert hist.sum == 4.0
    assert hist.percentile(50) == pytest.approx(2.0)
    assert histogram_of([math.nan]).count == 0


def test_infinities_are_ordered_at_the_ends() -> None:
    hist = histogram_of([-math.inf, 1.0, 2.0, math.inf])
    assert hist.percentile(0) == -math.inf
    assert hist.percentile(100) == math.inf
    assert hist.count == 4


def test_percentile_out_of_range() -> None:
    for bad in (-0.1, 100.5, math.nan):
        with pytest.raises(ValueError, match="between 0 and 100"):
            histogram_of([1.0]).percentile(bad)


def test_single_adds_past_the_buffer_equal_a_bulk_add() -> None:
    values = [random.Random(7).expovariate(0.01) for _ in range(10_000)]
    one_by_one = Histogram()
    for value in values:
        one_by_one.add(value)
    bulk = histogram_of(values)
    assert one_by_one.count == bulk.count == 10_000
    for p in PERCENTILES:
        assert one_by_one.percentile(p) == bulk.percentile(p)


def test_adding_after_reading_invalidates_the_index() -> None:
    hist = histogram_of([1.0, 2.0, 3.0])
    assert hist.percentile(50) == pytest.approx(2.0, rel=0.005)
    hist.add_many([100.0] * 10)
    assert hist.percentile(50) == pytest.approx(100.0, rel=0.005)


def test_memory_is_bounded_by_the_value_range_not_the_count() -> None:
    rng = random.Random(3)
    hist = histogram_of([rng.uniform(1.0, 1024.0) for _ in range(200_000)])
    assert hist.count == 200_000
    assert hist.bucket_count <= 10 * 256 + 1  # ten powers of two, 256 buckets each


def test_bucket_resolution_is_within_half_a_percent() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        value = rng.lognormvariate(0, 10)
        hist = histogram_of([0.0, value, value * 3])
        # rank 1 is neither the min nor the max: it comes from its bucket.
        assert hist.percentile(50) == pytest.approx(value, rel=0.005)


def test_state_round_trips_through_json() -> None:
    values = [*_generated(11, 3000, "signed"), 0.0, -0.0]
    hist = histogram_of(values)
    state = json.loads(json.dumps(hist.to_state()))
    restored = Histogram.from_state(state)
    assert restored.count == hist.count
    assert (restored.min, restored.max, restored.sum) == (hist.min, hist.max, hist.sum)
    for p in PERCENTILES:
        assert restored.percentile(p) == hist.percentile(p)
    restored.merge(histogram_of([1e9]))
    assert restored.max == 1e9 and restored.count == hist.count + 1


def test_empty_state_round_trips() -> None:
    restored = Histogram.from_state(json.loads(json.dumps(Histogram().to_state())))
    assert restored.count == 0 and restored.percentile(50) == 0.0


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s.update(version=99),
        lambda s: s.update(shift=40),
        lambda s: s.update(count=s["count"] + 1),
        lambda s: s.pop("buckets"),
        lambda s: s.update(buckets=[["x", 1]]),
    ],
)
def test_bad_state_is_refused(mutate: object) -> None:
    state = histogram_of([1.0, 2.0]).to_state()
    mutate(state)  # type: ignore[operator]
    with pytest.raises(HistogramStateError):
        Histogram.from_state(state)


def test_non_numbers_are_refused() -> None:
    hist = Histogram()
    hist.add_many(["fast"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        _ = hist.count
