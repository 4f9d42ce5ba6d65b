"""Parsers of single option values, shared by :mod:`greenws.options.layers` and :mod:`greenws.options.scenarios`.

Pure. Each takes the option's key (for the message) and the raw value from any layer (a script's
``options``, JSON, an environment variable, a flag) and returns the typed value, or raises
:class:`OptionsError` naming the key and the value, which the CLI turns into exit code 104.
They live apart from both users so that options can parse ``scenarios`` and scenarios can be
derived from options without either module importing the other in a circle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from greenws.options.durations import DurationError, parse_duration

__all__ = [
    "OptionsError",
    "Stage",
    "bool_value",
    "duration_value",
    "stages_value",
    "tags_value",
    "trend_stats_value",
    "whole_number",
]


class OptionsError(ValueError):
    """An option k6 would reject; the message names the option and the value."""


@dataclass(frozen=True)
class Stage:
    """One ramping stage: reach ``target`` VUs linearly over ``duration`` seconds."""

    duration: float
    target: int


def whole_number(key: str, value: Any, *, minimum: int = 0) -> int:
    """An integer ≥ ``minimum``; ``"3"`` and ``3.0`` are accepted, ``True`` and ``3.5`` are not."""
    if isinstance(value, bool) or not isinstance(value, (int, str, float)):
        raise OptionsError(f"invalid option {key}={value!r}: expected a whole number")
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise OptionsError(f"invalid option {key}={value!r}: expected a whole number >= {minimum}")
    return number


def duration_value(key: str, value: Any) -> float:
    """A k6 duration (``"1m30s"``, a bare number of milliseconds) in seconds."""
    try:
        return parse_duration(value, name=f"option {key}")
    except DurationError as error:
        raise OptionsError(str(error)) from None


def bool_value(key: str, value: Any) -> bool:
    """A boolean, or its environment spellings ``true``/``1``/``yes`` and ``false``/``0``/``no``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "yes", "false", "0", "no", ""}:
        return value.lower() in {"true", "1", "yes"}
    raise OptionsError(f"invalid option {key}={value!r}: expected true or false")


def stages_value(key: str, value: Any) -> tuple[Stage, ...]:
    """``[{duration, target}, …]``, or the CLI's ``["30s:10", …]``."""
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
                duration_value(f"{key}[{index}].duration", raw["duration"]),
                whole_number(f"{key}[{index}].target", raw.get("target", 0)),
            )
        )
    return tuple(stages)


def tags_value(key: str, value: Any) -> dict[str, str]:
    """A mapping of names to values, both as strings (tags, a scenario's ``env``)."""
    if not isinstance(value, Mapping):
        raise OptionsError(
            f"invalid option {key}={value!r}: expected a mapping of tag names to values"
        )
    return {str(name): str(tag) for name, tag in value.items()}


def trend_stats_value(key: str, value: Any) -> tuple[str, ...]:
    """``summaryTrendStats``: a list or a comma-separated string of avg, min, med, max, count, p(N)."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    stats = tuple(value)
    for stat in stats:
        if stat not in {"avg", "min", "med", "max", "count"} and not re.fullmatch(
            r"p\(\d+(\.\d+)?\)", str(stat)
        ):
            raise OptionsError(
                f"invalid option {key}: stat {stat!r} is not one of avg, min, med, max, count, p(N)"
            )
    return stats
