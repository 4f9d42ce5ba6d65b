"""Executor maths, pure: how many VUs a ramping scenario wants at time t, and how long it runs.

The gevent executors ask these functions and never do arithmetic on stages themselves, so the load
shape is tested with plain numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from greenws.options.scenarios import ScenarioConfig
from greenws.options.values import Stage

__all__ = [
    "arrival_offsets",
    "constant_arrival_stages",
    "ramping_target",
    "scenario_arrivals",
    "scenario_length",
    "scenario_vus_at",
]


def ramping_target(start_vus: int, stages: Sequence[Stage], elapsed: float) -> int:
    """VUs wanted ``elapsed`` seconds into a ramping-vus scenario (k6 interpolates linearly).

    A zero-length stage jumps straight to its target. After the last stage the last target holds.
    """
    current = float(start_vus)
    stage_start = 0.0
    for stage in stages:
        stage_end = stage_start + stage.duration
        if elapsed < stage_end and stage.duration > 0:
            progress = (elapsed - stage_start) / stage.duration
            return int(current + (stage.target - current) * progress)
        current = float(stage.target)
        stage_start = stage_end
    return int(current)


def scenario_vus_at(scenario: ScenarioConfig, elapsed: float) -> int:
    """VUs a ramping-vus scenario wants ``elapsed`` seconds in: its segment's share, if cut to one.

    The share is taken of the whole test's count at that instant (k6 does the same), so the
    segments of a sequence add up to the whole test's VUs at every moment of the ramp.
    """
    wanted = ramping_target(scenario.start_vus, scenario.stages, elapsed)
    return wanted if scenario.segment is None else scenario.segment.scale(wanted)


def scenario_length(scenario: ScenarioConfig) -> float | None:
    """Planned seconds of the scenario without its graceful stop; None when bounded by iterations."""
    if scenario.executor == "constant-vus":
        return scenario.duration
    if scenario.executor == "constant-arrival-rate":
        return scenario.duration
    if scenario.executor in ("ramping-vus", "ramping-arrival-rate"):
        return sum(stage.duration for stage in scenario.stages)
    return None


def scenario_arrivals(scenario: ScenarioConfig) -> Iterator[float]:
    """Start offsets of an arrival-rate scenario's iterations (see :func:`arrival_offsets`).

    Cut to an execution segment, only the arrivals that segment owns, at the whole schedule's
    times: the segments of a sequence start every arrival exactly once between them.
    """
    if scenario.executor == "constant-arrival-rate":
        stages = constant_arrival_stages(scenario.rate, scenario.duration or 0.0)
        offsets = arrival_offsets(scenario.rate, stages, scenario.time_unit)
    else:
        offsets = arrival_offsets(scenario.start_rate, scenario.stages, scenario.time_unit)
    segment = scenario.segment
    if segment is None:
        return offsets
    return (offset for index, offset in enumerate(offsets) if segment.owns(index))


def arrival_offsets(
    start_rate: float, stages: Sequence[Stage], time_unit: float
) -> Iterator[float]:
    """Start offsets (seconds from the scenario start) of an arrival-rate executor's iterations.

    Iteration ``i`` (0-based) starts when the integral of the rate since the start reaches ``i``,
    and only while that is inside the run (half-open: an iteration due exactly at the end does
    not start). The rate changes linearly within a stage, from the previous target to this one,
    as in k6. A constant-arrival-rate scenario is one stage at a constant rate. Over a run the
    count is therefore ``ceil(∫rate)``: exactly ``rate × duration / timeUnit`` when that is whole.
    """
    if time_unit <= 0:
        raise ValueError("timeUnit must be positive")
    index = 0
    done = 0.0  # iterations "owed" by the start of the current stage (the integral so far)
    stage_start = 0.0
    rate = start_rate / time_unit  # per second
    for stage in stages:
        end_rate = stage.target / time_unit
        length = stage.duration
        if length <= 0:
            rate = end_rate
            continue
        slope = (end_rate - rate) / length
        stage_total = (rate + end_rate) / 2 * length
        while index < done + stage_total - 1e-9:
            owed = index - done  # iterations to go within this stage
            yield stage_start + _time_to_reach(owed, rate, slope)
            index += 1
        done += stage_total
        stage_start += length
        rate = end_rate


def _time_to_reach(amount: float, rate: float, slope: float) -> float:
    """Smallest t ≥ 0 with ``rate·t + slope·t²/2 == amount`` (the rate never goes negative)."""
    if amount <= 0:
        return 0.0
    if abs(slope) < 1e-12:
        return amount / rate
    # slope/2·t² + rate·t − amount = 0; the root that is ≥ 0, written to avoid cancellation.
    discriminant = max(rate * rate + 2 * slope * amount, 0.0)
    return 2 * amount / (rate + math.sqrt(discriminant))


def constant_arrival_stages(rate: float, duration: float) -> tuple[Stage, ...]:
    """A constant-arrival-rate scenario expressed as one flat stage (``rate`` per timeUnit)."""
    return (Stage(duration, int(rate)),)
