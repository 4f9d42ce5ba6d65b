"""Scenarios: k6's executors with their keys and defaults, and one segment's share. Pure.

A scenario comes from ``options.scenarios`` or from k6's shortcuts (``vus``, ``duration``,
``iterations``, ``stages``; see :mod:`greenws.options.derive`) and says which executor runs
``exec`` how. :func:`segment_scenario` cuts it to one execution segment's share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from greenws.options.segments import ExecutionTuple
from greenws.options.values import (
    OptionsError,
    Stage,
    duration_value,
    stages_value,
    tags_value,
    whole_number,
)

__all__ = [
    "COMMON_KEYS",
    "EXECUTOR_KEYS",
    "ScenarioConfig",
    "parse_scenarios",
    "segment_scenario",
]


@dataclass(frozen=True)
class ScenarioConfig:
    """One scenario, after k6's shortcut rules turned ``vus``/``duration``/… into an executor."""

    name: str
    executor: str
    vus: int = 1
    iterations: int | None = None
    duration: float | None = None
    max_duration: float | None = None
    start_vus: int = 1
    stages: tuple[Stage, ...] = ()
    graceful_stop: float = 30.0
    graceful_ramp_down: float = 30.0
    start_time: float = 0.0
    exec_name: str = "default"
    tags: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    # arrival-rate executors
    rate: int = 0
    start_rate: int = 0
    time_unit: float = 1.0
    pre_allocated_vus: int = 0
    max_vus_limit: int = 0
    #: Set when this is one execution segment's share of the scenario (see
    #: :func:`segment_scenario`): the executor consults it while running. ramping-vus keeps the
    #: whole test's ``start_vus`` and ``stages`` and runs this segment's share of the VUs wanted
    #: at each instant; arrival-rate executors keep the whole test's rate and start only the
    #: arrivals this segment owns. The other counts above are already this segment's share.
    segment: ExecutionTuple | None = None

    @property
    def is_arrival_rate(self) -> bool:
        """Iterations start on a schedule rather than when a VU finished its last one."""
        return self.executor in ("constant-arrival-rate", "ramping-arrival-rate")

    @property
    def max_vus(self) -> int:
        """The most VUs this scenario can use (``vus_max`` once all are initialised)."""
        if self.executor == "ramping-vus":
            peak = max([self.start_vus, *(stage.target for stage in self.stages)])
            return peak if self.segment is None else self.segment.scale(peak)
        if self.is_arrival_rate:
            return max(self.pre_allocated_vus, self.max_vus_limit)
        return self.vus

    @property
    def initial_vus(self) -> int:
        """VUs initialised before the scenario starts (arrival-rate: preAllocatedVUs)."""
        return self.pre_allocated_vus if self.is_arrival_rate else self.max_vus

    def describe(self) -> str:
        """k6's one-line description, e.g. ``2 looping VUs for 5s``."""
        from greenws.options.durations import format_duration

        # The share of arrivals this process starts (1 unless cut to a segment).
        share = 1.0 if self.segment is None else float(self.segment.segment.length)
        vus = f"{self.vus} looping VU{'s' if self.vus != 1 else ''}"
        if self.executor == "constant-vus":
            return f"{vus} for {format_duration(self.duration or 0)}"
        if self.executor == "shared-iterations":
            return f"{self.iterations} iterations shared among {self.vus} VU{'s' if self.vus != 1 else ''}"
        if self.executor == "per-vu-iterations":
            return f"{self.iterations} iterations for each of {self.vus} VU{'s' if self.vus != 1 else ''}"
        total = sum(stage.duration for stage in self.stages)
        vu_range = f"maxVUs: {self.pre_allocated_vus}-{self.max_vus}"
        if self.executor == "constant-arrival-rate":
            per_second = self.rate / self.time_unit * share
            return f"{per_second:.2f} iterations/s for {format_duration(self.duration or 0)} ({vu_range})"
        if self.executor == "ramping-arrival-rate":
            peak_rate = max([self.start_rate, *(stage.target for stage in self.stages)])
            peak = peak_rate / self.time_unit * share
            return (
                f"Up to {peak:.2f} iterations/s for {format_duration(total)} over "
                f"{len(self.stages)} stages ({vu_range})"
            )
        return (
            f"Up to {self.max_vus} looping VUs for {format_duration(total)} over "
            f"{len(self.stages)} stages"
        )


EXECUTOR_KEYS = {
    "shared-iterations": {"vus", "iterations", "maxDuration"},
    "per-vu-iterations": {"vus", "iterations", "maxDuration"},
    "constant-vus": {"vus", "duration"},
    "ramping-vus": {"startVUs", "stages", "gracefulRampDown"},
    "constant-arrival-rate": {"rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"},
    "ramping-arrival-rate": {"startRate", "timeUnit", "stages", "preAllocatedVUs", "maxVUs"},
}
COMMON_KEYS = {"executor", "startTime", "gracefulStop", "exec", "env", "tags"}


def parse_scenarios(value: Any) -> dict[str, ScenarioConfig]:
    if not isinstance(value, Mapping) or not value:
        raise OptionsError(
            "invalid option scenarios: expected a non-empty mapping of names to scenarios"
        )
    scenarios = {}
    for name, raw in value.items():
        where = f"scenarios.{name}"
        if not isinstance(raw, Mapping):
            raise OptionsError(f"invalid option {where}: expected a mapping")
        executor = raw.get("executor")
        if executor == "externally-controlled":
            raise OptionsError(f"{where}: executor {executor!r} is not supported (k6 Cloud only)")
        if executor not in EXECUTOR_KEYS:
            raise OptionsError(
                f"{where}: unknown executor {executor!r} (one of {', '.join(EXECUTOR_KEYS)})"
            )
        unknown = set(raw) - EXECUTOR_KEYS[executor] - COMMON_KEYS
        if unknown:
            raise OptionsError(f"{where}: key {sorted(unknown)[0]!r} is not valid for {executor}")
        common: dict[str, Any] = {
            "name": str(name),
            "executor": executor,
            "graceful_stop": duration_value(
                f"{where}.gracefulStop", raw.get("gracefulStop", "30s")
            ),
            "start_time": duration_value(f"{where}.startTime", raw.get("startTime", "0s")),
            "exec_name": str(raw.get("exec", "default")),
            "tags": tags_value(f"{where}.tags", raw.get("tags", {})),
            "env": tags_value(f"{where}.env", raw.get("env", {})),
        }
        if executor in {"shared-iterations", "per-vu-iterations"}:
            scenario = ScenarioConfig(
                vus=whole_number(f"{where}.vus", raw.get("vus", 1), minimum=1),
                iterations=whole_number(f"{where}.iterations", raw.get("iterations", 1), minimum=1),
                max_duration=duration_value(f"{where}.maxDuration", raw.get("maxDuration", "10m")),
                **common,
            )
            iterations, vus = scenario.iterations or 0, scenario.vus
            if executor == "shared-iterations" and iterations < vus:
                raise OptionsError(
                    f"{where}: the number of iterations ({iterations}) can't be less than the "
                    f"number of VUs ({vus}), as in k6"
                )
        elif executor == "constant-vus":
            if "duration" not in raw:
                raise OptionsError(f"{where}: constant-vus needs a duration")
            scenario = ScenarioConfig(
                vus=whole_number(f"{where}.vus", raw.get("vus", 1), minimum=1),
                duration=duration_value(f"{where}.duration", raw["duration"]),
                **common,
            )
        elif executor in {"constant-arrival-rate", "ramping-arrival-rate"}:
            scenario = _arrival_scenario(where, executor, raw, common)
        else:
            stages = stages_value(f"{where}.stages", raw.get("stages", []))
            if not stages:
                raise OptionsError(f"{where}: ramping-vus needs at least one stage")
            scenario = ScenarioConfig(
                start_vus=whole_number(f"{where}.startVUs", raw.get("startVUs", 1)),
                stages=stages,
                graceful_ramp_down=duration_value(
                    f"{where}.gracefulRampDown", raw.get("gracefulRampDown", "30s")
                ),
                **common,
            )
        scenarios[str(name)] = scenario
    return scenarios


def _arrival_scenario(
    where: str, executor: str, raw: Mapping[str, Any], common: dict[str, Any]
) -> ScenarioConfig:
    """constant-arrival-rate / ramping-arrival-rate, with k6's required keys and defaults."""
    if "preAllocatedVUs" not in raw:
        raise OptionsError(f"{where}: {executor} needs preAllocatedVUs")
    pre_allocated = whole_number(f"{where}.preAllocatedVUs", raw["preAllocatedVUs"])
    max_vus = whole_number(f"{where}.maxVUs", raw.get("maxVUs", pre_allocated))
    if max_vus < pre_allocated:
        raise OptionsError(
            f"{where}: maxVUs ({max_vus}) must not be less than preAllocatedVUs ({pre_allocated})"
        )
    if max_vus == 0:
        raise OptionsError(f"{where}: preAllocatedVUs and maxVUs can't both be 0")
    time_unit = duration_value(f"{where}.timeUnit", raw.get("timeUnit", "1s"))
    if time_unit <= 0:
        raise OptionsError(f"{where}: timeUnit must be positive")
    arrival: dict[str, Any] = {
        "pre_allocated_vus": pre_allocated,
        "max_vus_limit": max_vus,
        "time_unit": time_unit,
    }
    if executor == "constant-arrival-rate":
        for key in ("rate", "duration"):
            if key not in raw:
                raise OptionsError(f"{where}: constant-arrival-rate needs {key}")
        arrival["rate"] = whole_number(f"{where}.rate", raw["rate"], minimum=1)
        arrival["duration"] = duration_value(f"{where}.duration", raw["duration"])
    else:
        stages = stages_value(f"{where}.stages", raw.get("stages", []))
        if not stages:
            raise OptionsError(f"{where}: ramping-arrival-rate needs at least one stage")
        arrival["stages"] = stages
        arrival["start_rate"] = whole_number(f"{where}.startRate", raw.get("startRate", 0))
    return ScenarioConfig(**common, **arrival)


def segment_scenario(scenario: ScenarioConfig, segment: ExecutionTuple) -> ScenarioConfig | None:
    """One segment's share of a scenario, with k6's rules; None when it has no work there.

    - constant-vus, per-vu-iterations: the segment's share of ``vus`` (each VU still runs its
      own ``iterations`` in per-vu-iterations).
    - shared-iterations: the share of ``vus``, and of ``iterations`` dealt among the segments
      that have a VU (in proportion to their VUs), so no iteration waits on a VU-less process.
    - ramping-vus: the whole shape, followed at the share of the VUs wanted at each instant.
    - arrival-rate: the share of ``preAllocatedVUs`` and ``maxVUs``; the arrivals (iteration
      starts) are dealt among the segments that have a VU, in proportion to their maxVUs, each
      keeping the whole schedule's start times for the arrivals it owns.
    """
    if segment.is_full:
        return scenario
    executor = scenario.executor
    if executor in ("constant-vus", "per-vu-iterations"):
        vus = segment.scale(scenario.vus)
        return replace(scenario, vus=vus) if vus else None
    if executor == "shared-iterations":
        vus = segment.scale(scenario.vus)
        by_vus = segment.for_total(scenario.vus)
        iterations = by_vus.scale(scenario.iterations or 0) if by_vus is not None else 0
        return replace(scenario, vus=vus, iterations=iterations) if vus and iterations else None
    if executor == "ramping-vus":
        shared = replace(scenario, segment=segment)
        return shared if shared.max_vus else None
    arrivals = segment.for_total(scenario.max_vus_limit)
    if arrivals is None:
        return None
    return replace(
        scenario,
        pre_allocated_vus=segment.scale(scenario.pre_allocated_vus),
        max_vus_limit=segment.scale(scenario.max_vus_limit),
        segment=arrivals,
    )
