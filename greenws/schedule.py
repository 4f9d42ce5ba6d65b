"""Executor maths, pure: how many VUs a ramping scenario wants at time t, and how long it runs.

The gevent executors ask these functions and never do arithmetic on stages themselves, so the load
shape is tested with plain numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from greenws.options import ScenarioConfig, Stage

__all__ = ["ramping_target", "scenario_length"]


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


def scenario_length(scenario: ScenarioConfig) -> float | None:
    """Planned seconds of the scenario without its graceful stop; None when bounded by iterations."""
    if scenario.executor == "constant-vus":
        return scenario.duration
    if scenario.executor == "ramping-vus":
        return sum(stage.duration for stage in scenario.stages)
    return None
