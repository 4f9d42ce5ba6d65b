"""Test options with k6's names, validation and precedence, and the scenarios they imply.

Pure: the CLI hands in plain values from each layer and gets back :class:`Options` or an
:class:`OptionsError` whose message names the bad key and value (exit code 104).

Precedence, lowest first: defaults < ``--config`` file < the script's ``options`` < environment
(``GREENWS_VUS``… with k6's ``K6_VUS``… accepted) < command-line flags.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from greenws.durations import DurationError, parse_duration

__all__ = [
    "DEFAULT_TREND_STATS",
    "Options",
    "OptionsError",
    "ScenarioConfig",
    "Stage",
    "derive_scenarios",
    "options_from_env",
    "resolve_options",
]

DEFAULT_TREND_STATS = ("avg", "min", "med", "max", "p(90)", "p(95)")

#: k6 options that mean nothing to a WebSocket test (HTTP, browser, cloud); accepted with a warning
#: so that a ported ``options`` block loads unchanged.
IGNORED_K6_OPTIONS = frozenset(
    {
        "batch",
        "batchPerHost",
        "blacklistIPs",
        "blockHostnames",
        "cloud",
        "discardResponseBodies",
        "dns",
        "ext",
        "hosts",
        "httpDebug",
        "linger",
        "maxRedirects",
        "minIterationDuration",
        "noConnectionReuse",
        "noCookiesReset",
        "noVUConnectionReuse",
        "paused",
        "rps",
        "systemTags",
        "throw",
        "tlsAuth",
        "tlsCipherSuites",
        "tlsVersion",
        "userAgent",
        "localIPs",
        "console",
    }
)


class OptionsError(ValueError):
    """An option k6 would reject; the message names the option and the value."""


@dataclass(frozen=True)
class Stage:
    """One ramping stage: reach ``target`` VUs linearly over ``duration`` seconds."""

    duration: float
    target: int


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

    @property
    def is_arrival_rate(self) -> bool:
        """Iterations start on a schedule rather than when a VU finished its last one."""
        return self.executor in ("constant-arrival-rate", "ramping-arrival-rate")

    @property
    def max_vus(self) -> int:
        """The most VUs this scenario can use (``vus_max`` once all are initialised)."""
        if self.executor == "ramping-vus":
            return max([self.start_vus, *(stage.target for stage in self.stages)])
        if self.is_arrival_rate:
            return max(self.pre_allocated_vus, self.max_vus_limit)
        return self.vus

    @property
    def initial_vus(self) -> int:
        """VUs initialised before the scenario starts (arrival-rate: preAllocatedVUs)."""
        return self.pre_allocated_vus if self.is_arrival_rate else self.max_vus

    def describe(self) -> str:
        """k6's one-line description, e.g. ``2 looping VUs for 5s``."""
        from greenws.durations import format_duration

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
            per_second = self.rate / self.time_unit
            return f"{per_second:.2f} iterations/s for {format_duration(self.duration or 0)} ({vu_range})"
        if self.executor == "ramping-arrival-rate":
            peak = max([self.start_rate, *(stage.target for stage in self.stages)]) / self.time_unit
            return (
                f"Up to {peak:.2f} iterations/s for {format_duration(total)} over "
                f"{len(self.stages)} stages ({vu_range})"
            )
        return (
            f"Up to {self.max_vus} looping VUs for {format_duration(total)} over "
            f"{len(self.stages)} stages"
        )


@dataclass
class Options:
    """Resolved options; ``None`` means "not set by anyone" so shortcut rules can tell."""

    vus: int | None = None
    duration: float | None = None
    iterations: int | None = None
    stages: tuple[Stage, ...] | None = None
    scenarios: dict[str, ScenarioConfig] | None = None
    graceful_stop: float | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    summary_trend_stats: tuple[str, ...] = DEFAULT_TREND_STATS
    summary_time_unit: str | None = None
    insecure_skip_tls_verify: bool = False
    setup_timeout: float = 60.0
    teardown_timeout: float = 60.0
    no_color: bool = False
    max_message_size: int = 32 * 1024 * 1024
    warnings: list[str] = field(default_factory=list)


def _int(key: str, value: Any, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str, float)):
        raise OptionsError(f"invalid option {key}={value!r}: expected a whole number")
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise OptionsError(f"invalid option {key}={value!r}: expected a whole number >= {minimum}")
    return number


def _duration(key: str, value: Any) -> float:
    try:
        return parse_duration(value, name=f"option {key}")
    except DurationError as error:
        raise OptionsError(str(error)) from None


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "yes", "false", "0", "no", ""}:
        return value.lower() in {"true", "1", "yes"}
    raise OptionsError(f"invalid option {key}={value!r}: expected true or false")


def _stages(key: str, value: Any) -> tuple[Stage, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise OptionsError(f"invalid option {key}: expected a list of {{duration, target}} stages")
    stages = []
    for index, raw in enumerate(value):
        if isinstance(raw, str):  # CLI form "30s:10"
            duration_text, _, target_text = raw.partition(":")
            raw = {"duration": duration_text, "target": target_text or 0}
        if not isinstance(raw, Mapping) or "duration" not in raw:
            raise OptionsError(
                f"invalid option {key}[{index}]={raw!r}: expected duration and target"
            )
        stages.append(
            Stage(
                _duration(f"{key}[{index}].duration", raw["duration"]),
                _int(f"{key}[{index}].target", raw.get("target", 0)),
            )
        )
    return tuple(stages)


def _tags(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise OptionsError(
            f"invalid option {key}={value!r}: expected a mapping of tag names to values"
        )
    return {str(name): str(tag) for name, tag in value.items()}


def _trend_stats(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    import re

    stats = tuple(value)
    for stat in stats:
        if stat not in {"avg", "min", "med", "max", "count"} and not re.fullmatch(
            r"p\(\d+(\.\d+)?\)", str(stat)
        ):
            raise OptionsError(
                f"invalid option {key}: stat {stat!r} is not one of avg, min, med, max, count, p(N)"
            )
    return stats


_SETTERS: dict[str, tuple[str, Any]] = {
    "vus": ("vus", lambda k, v: _int(k, v)),
    "duration": ("duration", _duration),
    "iterations": ("iterations", lambda k, v: _int(k, v, minimum=1)),
    "stages": ("stages", _stages),
    "gracefulStop": ("graceful_stop", _duration),
    "thresholds": ("thresholds", lambda k, v: dict(v) if isinstance(v, Mapping) else _bad(k, v)),
    "tags": ("tags", _tags),
    "summaryTrendStats": ("summary_trend_stats", _trend_stats),
    "summaryTimeUnit": ("summary_time_unit", lambda k, v: _unit(k, v)),
    "insecureSkipTLSVerify": ("insecure_skip_tls_verify", _bool),
    "setupTimeout": ("setup_timeout", _duration),
    "teardownTimeout": ("teardown_timeout", _duration),
    "noColor": ("no_color", _bool),
    "maxMessageSize": ("max_message_size", lambda k, v: _int(k, v, minimum=1)),
    "scenarios": ("scenarios", lambda k, v: _scenarios(v)),
}


def _bad(key: str, value: Any) -> Any:
    raise OptionsError(f"invalid option {key}={value!r}")


def _unit(key: str, value: Any) -> str | None:
    if value in (None, ""):
        return None
    if value not in {"s", "ms", "us"}:
        raise OptionsError(f"invalid option {key}={value!r}: expected one of s, ms, us")
    return str(value)


def _apply(options: Options, layer: Mapping[str, Any], where: str) -> None:
    for key, value in layer.items():
        if key in IGNORED_K6_OPTIONS:
            options.warnings.append(f"option {key!r} ({where}) has no effect on WebSocket tests")
            continue
        setter = _SETTERS.get(key)
        if setter is None:
            hint = difflib.get_close_matches(key, list(_SETTERS), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise OptionsError(f"unknown option {key!r} in {where}{suggestion}")
        attribute, parse = setter
        try:
            setattr(options, attribute, parse(key, value))
        except OptionsError as error:
            raise OptionsError(f"{error} (in {where})") from None


_ENV_KEYS = {
    "VUS": "vus",
    "DURATION": "duration",
    "ITERATIONS": "iterations",
    "STAGES": "stages",
    "SUMMARY_TREND_STATS": "summaryTrendStats",
    "SUMMARY_TIME_UNIT": "summaryTimeUnit",
    "INSECURE_SKIP_TLS_VERIFY": "insecureSkipTLSVerify",
    "NO_COLOR": "noColor",
    "SETUP_TIMEOUT": "setupTimeout",
    "TEARDOWN_TIMEOUT": "teardownTimeout",
}


def options_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Options set through ``GREENWS_*`` variables (k6's ``K6_*`` spellings are aliases)."""
    layer: dict[str, Any] = {}
    for suffix, key in _ENV_KEYS.items():
        for prefix in ("K6_", "GREENWS_"):  # GREENWS_ wins when both are set
            raw = environ.get(prefix + suffix)
            if raw is not None:
                layer[key] = raw.split(",") if key == "stages" else raw
    return layer


_SHORTCUTS = ("vus", "duration", "iterations", "stages")


def resolve_options(*layers: tuple[str, Mapping[str, Any]]) -> Options:
    """Fold option layers (lowest precedence first), each given as ``(where, mapping)``.

    As in k6, a run-shape shortcut (``vus``, ``duration``, ``iterations``, ``stages``) set in a
    higher layer replaces ``scenarios`` from a lower one (``greenws run -d 10s script.py`` works on
    a script with scenarios), and ``scenarios`` in a higher layer replaces lower shortcuts. Both
    in the same layer is a conflict, reported by :func:`derive_scenarios`.
    """
    options = Options()
    for where, layer in layers:
        if not isinstance(layer, Mapping):
            raise OptionsError(f"{where}: options must be a mapping, not {type(layer).__name__}")
        sets_shortcut = any(key in layer for key in _SHORTCUTS)
        if sets_shortcut and "scenarios" not in layer:
            options.scenarios = None
        elif "scenarios" in layer and not sets_shortcut:
            for key in _SHORTCUTS:
                setattr(options, key, None)
        _apply(options, layer, where)
    return options


_EXECUTOR_KEYS = {
    "shared-iterations": {"vus", "iterations", "maxDuration"},
    "per-vu-iterations": {"vus", "iterations", "maxDuration"},
    "constant-vus": {"vus", "duration"},
    "ramping-vus": {"startVUs", "stages", "gracefulRampDown"},
    "constant-arrival-rate": {"rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"},
    "ramping-arrival-rate": {"startRate", "timeUnit", "stages", "preAllocatedVUs", "maxVUs"},
}
_COMMON_KEYS = {"executor", "startTime", "gracefulStop", "exec", "env", "tags"}


def _scenarios(value: Any) -> dict[str, ScenarioConfig]:
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
        if executor not in _EXECUTOR_KEYS:
            raise OptionsError(
                f"{where}: unknown executor {executor!r} (one of {', '.join(_EXECUTOR_KEYS)})"
            )
        unknown = set(raw) - _EXECUTOR_KEYS[executor] - _COMMON_KEYS
        if unknown:
            raise OptionsError(f"{where}: key {sorted(unknown)[0]!r} is not valid for {executor}")
        common: dict[str, Any] = {
            "name": str(name),
            "executor": executor,
            "graceful_stop": _duration(f"{where}.gracefulStop", raw.get("gracefulStop", "30s")),
            "start_time": _duration(f"{where}.startTime", raw.get("startTime", "0s")),
            "exec_name": str(raw.get("exec", "default")),
            "tags": _tags(f"{where}.tags", raw.get("tags", {})),
            "env": _tags(f"{where}.env", raw.get("env", {})),
        }
        if executor in {"shared-iterations", "per-vu-iterations"}:
            scenario = ScenarioConfig(
                vus=_int(f"{where}.vus", raw.get("vus", 1), minimum=1),
                iterations=_int(f"{where}.iterations", raw.get("iterations", 1), minimum=1),
                max_duration=_duration(f"{where}.maxDuration", raw.get("maxDuration", "10m")),
                **common,
            )
        elif executor == "constant-vus":
            if "duration" not in raw:
                raise OptionsError(f"{where}: constant-vus needs a duration")
            scenario = ScenarioConfig(
                vus=_int(f"{where}.vus", raw.get("vus", 1), minimum=1),
                duration=_duration(f"{where}.duration", raw["duration"]),
                **common,
            )
        elif executor in {"constant-arrival-rate", "ramping-arrival-rate"}:
            scenario = _arrival_scenario(where, executor, raw, common)
        else:
            stages = _stages(f"{where}.stages", raw.get("stages", []))
            if not stages:
                raise OptionsError(f"{where}: ramping-vus needs at least one stage")
            scenario = ScenarioConfig(
                start_vus=_int(f"{where}.startVUs", raw.get("startVUs", 1)),
                stages=stages,
                graceful_ramp_down=_duration(
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
    pre_allocated = _int(f"{where}.preAllocatedVUs", raw["preAllocatedVUs"])
    max_vus = _int(f"{where}.maxVUs", raw.get("maxVUs", pre_allocated))
    if max_vus < pre_allocated:
        raise OptionsError(
            f"{where}: maxVUs ({max_vus}) must not be less than preAllocatedVUs ({pre_allocated})"
        )
    if max_vus == 0:
        raise OptionsError(f"{where}: preAllocatedVUs and maxVUs can't both be 0")
    time_unit = _duration(f"{where}.timeUnit", raw.get("timeUnit", "1s"))
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
        arrival["rate"] = _int(f"{where}.rate", raw["rate"], minimum=1)
        arrival["duration"] = _duration(f"{where}.duration", raw["duration"])
    else:
        stages = _stages(f"{where}.stages", raw.get("stages", []))
        if not stages:
            raise OptionsError(f"{where}: ramping-arrival-rate needs at least one stage")
        arrival["stages"] = stages
        arrival["start_rate"] = _int(f"{where}.startRate", raw.get("startRate", 0))
    return ScenarioConfig(**common, **arrival)


def derive_scenarios(options: Options) -> list[ScenarioConfig]:
    """Apply k6's shortcut rules: the run shape as one ``default`` scenario, or the scenarios.

    - ``stages`` → ramping-vus (starting from ``vus``, default 1)
    - ``iterations`` → shared-iterations (``duration`` then bounds it as maxDuration)
    - ``duration`` → constant-vus
    - nothing → one VU running one iteration
    """
    graceful_stop = options.graceful_stop if options.graceful_stop is not None else 30.0
    if options.scenarios:
        for key in ("vus", "duration", "iterations", "stages"):
            if getattr(options, key) not in (None, ()):
                raise OptionsError(
                    f"options {key!r} and 'scenarios' conflict: move {key!r} into a scenario"
                )
        return list(options.scenarios.values())
    vus = options.vus if options.vus is not None else 1
    if options.stages:
        if options.iterations is not None:
            raise OptionsError("options 'iterations' and 'stages' conflict: use one of them")
        if options.duration is not None:
            raise OptionsError("options 'duration' and 'stages' conflict: use one of them")
        return [
            ScenarioConfig(
                "default",
                "ramping-vus",
                start_vus=vus,
                stages=options.stages,
                graceful_stop=graceful_stop,
            )
        ]
    if vus == 0 and options.iterations is None:
        raise OptionsError("option 'vus' is 0: at least one VU is needed to run anything")
    if options.iterations is not None:
        if options.iterations < vus:
            vus = options.iterations  # k6 never starts more VUs than iterations
        return [
            ScenarioConfig(
                "default",
                "shared-iterations",
                vus=max(vus, 1),
                iterations=options.iterations,
                max_duration=options.duration if options.duration is not None else 600.0,
                graceful_stop=graceful_stop,
            )
        ]
    if options.duration is not None and options.duration > 0:
        return [
            ScenarioConfig(
                "default",
                "constant-vus",
                vus=vus,
                duration=options.duration,
                graceful_stop=graceful_stop,
            )
        ]
    return [
        ScenarioConfig(
            "default",
            "per-vu-iterations",
            vus=1,
            iterations=1,
            max_duration=600.0,
            graceful_stop=graceful_stop,
        )
    ]
