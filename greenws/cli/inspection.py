"""What ``greenws inspect`` prints: the resolved options and scenarios in k6's spelling.

Kept apart from the CLI's argument handling: this is a pure rendering of :class:`Options` and
:class:`ScenarioConfig` into k6's JSON (camelCase keys, durations as ``"1m30s"``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from greenws.options.layers import Options
from greenws.options.local_ips import LocalIPPool
from greenws.options.scenarios import ScenarioConfig

__all__ = ["inspect_document"]

#: Scenario keys (k6's spelling) whose value is a duration in seconds, printed as "30s".
_DURATION_KEYS = frozenset(
    {"duration", "maxDuration", "gracefulStop", "gracefulRampDown", "startTime", "timeUnit"}
)
#: k6 scenario keys whose ScenarioConfig attribute is not the plain snake_case of the key.
_SCENARIO_ATTRIBUTES = {"exec": "exec_name"}
_SCENARIO_KEYS = {attribute: key for key, attribute in _SCENARIO_ATTRIBUTES.items()}


def _snake(key: str) -> str:
    """``gracefulRampDown`` → ``graceful_ramp_down``, ``preAllocatedVUs`` → ``pre_allocated_vus``."""
    key = key.replace("VUs", "Vus").replace("TLS", "Tls")
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _jsonable(value: Any, *, duration: bool = False) -> Any:
    """Plain JSON values; durations (seconds) as k6 prints them (``"30s"``, ``"1m30s"``)."""
    from greenws.options.durations import format_duration

    if value is None or isinstance(value, (bool, str)):
        return value
    if duration and isinstance(value, (int, float)):
        return format_duration(float(value))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, LocalIPPool):  # as written: "127.0.0.2-127.0.0.20"
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # a Stage: {"duration": "30s", "target": 10}
        return {
            _camel(field.name): _jsonable(
                getattr(value, field.name), duration=_camel(field.name) in _DURATION_KEYS
            )
            for field in dataclasses.fields(value)
        }
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item, duration=duration) for item in value]
    return str(value)


def _options_document(options: Options) -> dict[str, Any]:
    """The resolved options in k6's camelCase; ``null`` where no layer set a value."""
    from greenws.options import layers as options_module

    setters: dict[str, tuple[str, Any]] = getattr(options_module, "_SETTERS", {})
    parse_duration_option = getattr(options_module, "_duration", None)
    by_attribute = {attribute: (key, parse) for key, (attribute, parse) in setters.items()}
    document: dict[str, Any] = {}
    for field in dataclasses.fields(options):
        if field.name in {"scenarios", "warnings"}:
            continue  # scenarios get their own section; warnings went to stderr
        key, parse = by_attribute.get(field.name, (_camel(field.name), None))
        is_duration = parse is not None and parse is parse_duration_option
        document[key] = _jsonable(getattr(options, field.name), duration=is_duration)
    return document


def _scenario_document(scenario: ScenarioConfig) -> dict[str, Any]:
    """One scenario as k6 writes it in ``options.scenarios``: its executor's keys, then common ones."""
    from greenws.options.scenarios import COMMON_KEYS, EXECUTOR_KEYS

    executor_keys: dict[str, set[str]] = EXECUTOR_KEYS
    common_keys: set[str] = COMMON_KEYS
    own = executor_keys.get(scenario.executor)
    pairs: list[tuple[str, str]]  # (k6 key, ScenarioConfig attribute)
    if own is None:  # an executor whose keys options.py does not list: show every field
        pairs = [
            (_SCENARIO_KEYS.get(field.name, _camel(field.name)), field.name)
            for field in dataclasses.fields(scenario)
            if field.name != "name"
        ]
    else:
        keys = ["executor", *sorted(own), *sorted(set(common_keys) - {"executor"})]
        pairs = [(key, _SCENARIO_ATTRIBUTES.get(key, _snake(key))) for key in keys]
    return {
        key: _jsonable(getattr(scenario, attribute), duration=key in _DURATION_KEYS)
        for key, attribute in pairs
        if hasattr(scenario, attribute)
    }


def inspect_document(options: Options, scenarios: Sequence[ScenarioConfig]) -> dict[str, Any]:
    """What ``greenws inspect`` prints: options, derived scenarios, and the execution requirements
    k6's ``inspect --execution-requirements`` adds (``totalDuration`` incl. graceful stops, ``maxVUs``).
    """
    from greenws.options.durations import format_duration
    from greenws.outputs.console import max_test_duration

    return {
        "options": _options_document(options),
        "scenarios": {scenario.name: _scenario_document(scenario) for scenario in scenarios},
        "totalDuration": format_duration(max_test_duration(scenarios)),
        "maxVUs": sum(scenario.max_vus for scenario in scenarios),
    }
