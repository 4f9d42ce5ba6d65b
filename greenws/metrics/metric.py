"""Metric definitions and the registry that hands them out, with k6's naming rules.

A :class:`Metric` is only a definition (name, type, what its values contain). It holds no data:
values live in sinks owned by an aggregator, so the same definitions can feed the live aggregator,
a per-process aggregator and a merged one. Metrics hash by identity, so a dict keyed by Metric
costs one C-level hash per lookup on the hot path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import Enum

__all__ = ["NAME_PATTERN", "Metric", "MetricError", "MetricType", "Registry", "ValueType"]


class MetricType(str, Enum):
    """How a metric's samples are combined (k6's four metric types)."""

    COUNTER = "counter"
    GAUGE = "gauge"
    RATE = "rate"
    TREND = "trend"

    def __str__(self) -> str:
        return self.value


class ValueType(str, Enum):
    """What a metric's values are: plain numbers, milliseconds, or bytes (for formatting)."""

    DEFAULT = "default"
    TIME = "time"
    DATA = "data"

    def __str__(self) -> str:
        return self.value


class MetricError(ValueError):
    """An invalid metric name, or a name re-registered with another type or value type."""


# k6's current rule (metrics/registry.go, since v0.45 "enforce more otel/prometheus aligned
# names"): an ASCII letter or underscore, then 1-128 ASCII letters, digits or underscores. Note the
# quirk we keep for parity: a one-character name such as "x" is rejected, as in k6.
NAME_PATTERN = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{1,128}")
_BAD_NAME = (
    "Metric names must only include up to 128 ASCII letters, numbers, or underscores "
    "and start with a letter or an underscore."
)


class Metric:
    """A named metric definition; compared and hashed by identity (one per registry and name)."""

    __slots__ = ("contains", "name", "type")

    def __init__(
        self, name: str, type: MetricType, contains: ValueType = ValueType.DEFAULT
    ) -> None:
        self.name = name
        self.type = type
        self.contains = contains
        # Filled by the aggregator when a threshold (or anyone) asks for `name{tag:value}`.

    def __repr__(self) -> str:
        return f"Metric({self.name!r}, {self.type.value}, {self.contains.value})"


class Registry:
    """All metrics of a test run, by name: built-ins first, then the script's custom metrics."""

    __slots__ = ("_metrics",)

    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}

    def get_or_create(
        self, name: str, type: MetricType, contains: ValueType = ValueType.DEFAULT
    ) -> Metric:
        """Return the metric called ``name``, creating it on first use.

        Re-registering is how a script and the runtime share a metric, so it is allowed, but only
        with the same type and value type -- otherwise the two users would disagree about what
        the numbers mean.

        Raises:
            MetricError: for a name k6 would reject, or a conflicting re-registration.
        """
        type = MetricType(type)
        contains = ValueType(contains)
        existing = self._metrics.get(name)
        if existing is None:
            if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
                raise MetricError(f"Invalid metric name: {name!r}. {_BAD_NAME}")
            metric = Metric(name, type, contains)
            self._metrics[name] = metric
            return metric
        if existing.type is not type:
            raise MetricError(
                f"metric '{name}' already exists but with type {existing.type.value}, "
                f"instead of {type.value}"
            )
        if existing.contains is not contains:
            raise MetricError(
                f"metric '{name}' already exists but with a value type "
                f"{existing.contains.value}, instead of {contains.value}"
            )
        return existing

    def get(self, name: str) -> Metric | None:
        """The metric called ``name``, or None."""
        return self._metrics.get(name)

    def __iter__(self) -> Iterator[Metric]:
        return iter(list(self._metrics.values()))

    def __contains__(self, name: object) -> bool:
        if isinstance(name, Metric):
            return self._metrics.get(name.name) is name
        return name in self._metrics

    def __len__(self) -> int:
        return len(self._metrics)
