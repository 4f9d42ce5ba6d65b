"""Executor maths with plain numbers: ramping VU targets and arrival-rate schedules."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenws.options.scenarios import ScenarioConfig
from greenws.options.schedule import (
    arrival_offsets,
    constant_arrival_stages,
    ramping_target,
    scenario_arrivals,
    scenario_length,
)
from greenws.options.values import Stage


def test_ramping_target_interpolates_linearly_and_holds_the_last_target() -> None:
    stages = (Stage(10.0, 10), Stage(10.0, 0))
    assert ramping_target(0, stages, 0.0) == 0
    assert ramping_target(0, stages, 5.0) == 5
    assert ramping_target(0, stages, 10.0) == 10
    assert ramping_target(0, stages, 15.0) == 5
    assert ramping_target(0, stages, 25.0) == 0
    assert ramping_target(4, (Stage(0.0, 8), Stage(2.0, 8)), 0.0) == 8  # zero-length stage jumps


def test_constant_arrival_rate_is_evenly_spaced() -> None:
    offsets = list(arrival_offsets(10, constant_arrival_stages(10, 2.0), 1.0))
    assert len(offsets) == 20
    assert offsets[:3] == pytest.approx([0.0, 0.1, 0.2])
    assert offsets[-1] == pytest.approx(1.9)


def test_time_unit_scales_the_rate() -> None:
    offsets = list(arrival_offsets(30, constant_arrival_stages(30, 120.0), 60.0))
    assert len(offsets) == 60 and offsets[1] == pytest.approx(2.0)


def test_ramping_arrival_rate_starts_slow_and_speeds_up() -> None:
    offsets = list(arrival_offsets(0, (Stage(2.0, 10),), 1.0))
    assert len(offsets) == 10  # the integral of a 0→10/s ramp over 2 s
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert all(later < earlier for earlier, later in itertools.pairwise(gaps))
    assert offsets[1] == pytest.approx(math.sqrt(2 * 1 * 2 / 10))  # rate·t²/(2·d) = 1


@settings(max_examples=200, deadline=None)
@given(
    rate=st.integers(min_value=1, max_value=500),
    seconds=st.integers(min_value=1, max_value=120),
    unit=st.sampled_from([1.0, 2.0, 10.0, 60.0]),
)
def test_constant_arrival_rate_starts_exactly_rate_times_duration_over_time_unit(
    rate: int, seconds: int, unit: float
) -> None:
    offsets = list(arrival_offsets(rate, constant_arrival_stages(rate, float(seconds)), unit))
    assert len(offsets) == math.ceil(rate * seconds / unit - 1e-9)
    assert all(0 <= offset < seconds for offset in offsets)
    assert offsets == sorted(offsets)


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=50),
    stages=st.lists(
        st.tuples(st.integers(min_value=0, max_value=20), st.integers(min_value=0, max_value=50)),
        min_size=1,
        max_size=5,
    ),
)
def test_ramping_arrival_rate_starts_the_integral_of_its_rate(
    start: int, stages: list[tuple[int, int]]
) -> None:
    plan = tuple(Stage(float(duration), target) for duration, target in stages)
    offsets = list(arrival_offsets(start, plan, 1.0))
    integral, previous = 0.0, float(start)
    for stage in plan:
        integral += (previous + stage.target) / 2 * stage.duration
        previous = stage.target
    assert len(offsets) == math.ceil(integral - 1e-9)
    assert offsets == sorted(offsets)
    assert all(0 <= offset < sum(s.duration for s in plan) + 1e-9 for offset in offsets)


def test_scenario_helpers() -> None:
    steady = ScenarioConfig(
        "s", "constant-arrival-rate", rate=5, duration=2.0, pre_allocated_vus=1, max_vus_limit=3
    )
    assert scenario_length(steady) == 2.0
    assert len(list(scenario_arrivals(steady))) == 10
    assert steady.max_vus == 3 and steady.initial_vus == 1
    shared = ScenarioConfig("s", "shared-iterations", vus=2, iterations=5)
    assert scenario_length(shared) is None


def test_segments_follow_the_whole_ramp_and_own_their_arrivals() -> None:
    from greenws.options.scenarios import segment_scenario
    from greenws.options.schedule import scenario_vus_at
    from greenws.options.segments import execution_tuple

    ramp = ScenarioConfig("r", "ramping-vus", start_vus=0, stages=(Stage(10.0, 10),))
    first, second = (
        segment_scenario(ramp, execution_tuple(part, "0,1/2,1")) for part in ("0:1/2", "1/2:1")
    )
    assert first is not None and second is not None
    # the first half takes VUs 1, 3, 5…, the second 2, 4, 6…: together always the whole count
    assert [scenario_vus_at(first, t) for t in (0.0, 1.0, 2.0, 3.0, 10.0)] == [0, 1, 1, 2, 5]
    assert [scenario_vus_at(second, t) for t in (0.0, 1.0, 2.0, 3.0, 10.0)] == [0, 0, 1, 1, 5]
    assert scenario_vus_at(ramp, 3.0) == ramping_target(0, ramp.stages, 3.0) == 3
    steady = ScenarioConfig(
        "s", "constant-arrival-rate", rate=4, duration=1.0, pre_allocated_vus=2, max_vus_limit=2
    )
    half = segment_scenario(steady, execution_tuple("0:1/2", "0,1/2,1"))
    assert half is not None
    assert list(scenario_arrivals(half)) == pytest.approx([0.0, 0.5])  # arrivals 0 and 2 of 4
