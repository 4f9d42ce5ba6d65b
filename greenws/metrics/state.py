"""Mergeable state: an aggregator (and a run) as a JSON-able dict that another process can merge.

k6 evaluates thresholds per instance. greenws can do better because every sink merges exactly:
counters add, rates add passes and totals, trends merge their histograms bucket by bucket (so
percentiles of the merged state equal those of one aggregator fed every sample), checks add passes
and fails. This module turns an :class:`~greenws.metrics.aggregator.Aggregator` into such a dict
and back; ``--summary-export`` carries it, ``greenws merge`` reads it, and a parent process can
merge its workers' states the same way.

Two layers:

- **aggregator state** (:func:`export_aggregator`, :func:`merge_into_aggregator`,
  :func:`aggregator_from_state`): every
  registered metric's definition (name, type, contains) with its sink and submetric sinks, and the
  group tree with check counts. The definitions travel too, so a process that never imported the
  script can rebuild the registry. In full mode, also the per-scenario and per-group blocks
  (``breakdown``, :mod:`greenws.metrics.breakdown`): without them ``--workers`` and ``greenws
  merge`` could not print full mode's blocks.
- **run state** (:class:`RunState`): the aggregator state plus what the end-of-test summary and
  thresholds need -- the test run duration, the ``thresholds`` option, ``summaryTrendStats`` and
  ``summaryTimeUnit``.

Merge rules (all commutative and associative, except where noted):

- counter: values and sample counts add; rate: passes and totals add; trend: histograms merge
  (count, min, max and every percentile exact; the sum, hence ``avg``, up to float rounding).
- gauge: min of mins, max of maxes, and the last value is the one with the latest timestamp (ties:
  the larger value). A gauge without a timestamp loses to one with (see ``GaugeSink``).
- submetrics: merged by parent and tag set. A submetric only counts samples from the moment it is
  added (as in k6), so a state that did not track it contributes nothing to it.
- breakdown: block by block, as the sinks and checks above. A state without one merged into an
  aggregator with one adds nothing to its blocks (the blocks then hold the other states' samples
  only: ``greenws merge`` says so); a state with one switches them on.
- groups and checks: passes and fails add per check path. Groups and checks keep first-seen order
  (the summary lists them in script order), so that order -- and only that -- depends on the order
  of the merge.
- run: the duration is the longest of the runs (merged runs are taken to have run side by side);
  thresholds are the union of every run's expressions per metric (the same expression with other
  ``abortOnFail``/``delayAbortEval`` settings is a conflict: :class:`StateError`); the summary
  options are the first run's that set them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from greenws.metrics.aggregator import Aggregator, parse_metric_name
from greenws.metrics.breakdown import Breakdown, BreakdownStateError, parse_breakdown_state
from greenws.metrics.metric import NAME_PATTERN, MetricType, Registry, ValueType
from greenws.metrics.sinks import AggregationError, Sink, sink_for, sink_from_state

__all__ = [
    "STATE_VERSION",
    "RunState",
    "StateError",
    "aggregator_from_state",
    "export_aggregator",
    "merge_into_aggregator",
    "merge_thresholds",
]

STATE_VERSION = 1
"""Version of both state layers; a reader refuses any other (the format is not negotiated)."""


class StateError(ValueError):
    """A state dict that is malformed, of another version, or conflicts with what it merges into."""


# -- aggregator state -------------------------------------------------------------------------------


def export_aggregator(aggregator: Aggregator, *, sampled_only: bool = False) -> dict[str, Any]:
    """``aggregator`` as a JSON-able dict; see the module docstring for what it holds.

    This module is the aggregator's other half (split off to keep both short), so it reads the
    aggregator's per-metric entries directly. ``sampled_only``: the metrics it has samples of,
    whatever its registry holds (the report's per-scenario tables share an empty registry).
    """
    metrics: dict[str, Any] = {}
    chosen = list(aggregator._entries) if sampled_only else aggregator.registry
    for metric in chosen:
        entry = aggregator._entries.get(metric)
        sink = entry.sink if entry is not None else sink_for(metric.type)
        metrics[metric.name] = {
            "type": metric.type.value,
            "contains": metric.contains.value,
            "samples": entry.samples if entry is not None else 0,
            "sink": sink.to_state(),
            "submetrics": {sub.suffix: sub.sink.to_state() for sub in entry.subs}
            if entry is not None
            else {},
        }
    state = {"version": STATE_VERSION, "metrics": metrics, "root_group": aggregator.root_group()}
    if aggregator.breakdown is not None:
        state["breakdown"] = aggregator.breakdown.to_state()
    return state


def aggregator_from_state(state: Mapping[str, Any]) -> Aggregator:
    """A new aggregator, with its own registry, holding exactly ``state``."""
    aggregator = Aggregator(Registry())
    merge_into_aggregator(aggregator, state)
    return aggregator


@dataclass
class _MetricState:
    name: str
    type: MetricType
    contains: ValueType
    samples: int
    sink: Sink
    submetrics: list[tuple[str, Sink]]


def merge_into_aggregator(aggregator: Aggregator, state: Mapping[str, Any]) -> None:
    """Add ``state`` (from :func:`export_aggregator`) to ``aggregator``.

    The whole state is read and checked before anything changes, so a bad state leaves the
    aggregator as it was.

    Raises:
        StateError: another version, a malformed field, or a metric whose type or value type
            differs from the one ``aggregator`` already has under that name.
    """
    _check_version(state, "aggregator state")
    metrics = _parse_metrics(state.get("metrics"))
    checks = _parse_groups(state.get("root_group"))
    breakdown = None
    if state.get("breakdown") is not None:
        try:
            breakdown = parse_breakdown_state(
                state["breakdown"], {parsed.name: parsed.type for parsed in metrics}
            )
        except BreakdownStateError as error:
            raise StateError(f"aggregator state: {error}") from None
    registry = aggregator.registry
    for parsed in metrics:
        existing = registry.get(parsed.name)
        if existing is not None and (existing.type, existing.contains) != (
            parsed.type,
            parsed.contains,
        ):
            raise StateError(
                f"metric {parsed.name!r} is a {parsed.type.value} ({parsed.contains.value}) here "
                f"but a {existing.type.value} ({existing.contains.value}) in the merged data"
            )
    for parsed in metrics:
        metric = registry.get_or_create(parsed.name, parsed.type, parsed.contains)
        entry = aggregator._entry(metric)
        _merge_sink(entry.sink, parsed.sink)
        entry.samples += parsed.samples
        for suffix, sink in parsed.submetrics:
            _merge_sink(aggregator.add_submetric(f"{metric.name}{{{suffix}}}").sink, sink)
    for group_path, name, passes, fails in checks:
        if name is None:
            aggregator._group(group_path)
            continue
        check = aggregator._check_at(group_path, name)
        check.passes += passes
        check.fails += fails
    if breakdown is not None:
        if aggregator.breakdown is None:  # what was merged before has no blocks: see merge
            aggregator.breakdown = Breakdown()
        aggregator.breakdown.merge(breakdown, registry)


def _merge_sink(target: Sink, other: Sink) -> None:
    # The types match: the parsed sink was checked against the metric's type.
    merge: Any = target.merge
    merge(other)


def _check_version(state: Any, what: str) -> None:
    if not isinstance(state, Mapping):
        raise StateError(f"{what}: expected an object, got {type(state).__name__}")
    version = state.get("version")
    if version != STATE_VERSION:
        raise StateError(
            f"{what}: version {version!r} is not supported (this greenws reads version "
            f"{STATE_VERSION})"
        )


def _parse_metrics(value: Any) -> list[_MetricState]:
    if not isinstance(value, Mapping):
        raise StateError("aggregator state: 'metrics' must be an object")
    parsed: list[_MetricState] = []
    for name, item in value.items():
        where = f"metric {name!r}"
        if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
            raise StateError(f"{where}: not a valid metric name")
        if not isinstance(item, Mapping):
            raise StateError(f"{where}: expected an object")
        try:
            metric_type = MetricType(item.get("type"))
            contains = ValueType(item.get("contains", ValueType.DEFAULT.value))
        except ValueError as exc:
            raise StateError(f"{where}: {exc}") from None
        sink = _parse_sink(item.get("sink"), metric_type, where)
        samples = _count(item.get("samples"), f"{where} samples")
        submetrics: list[tuple[str, Sink]] = []
        subs = item.get("submetrics", {})
        if not isinstance(subs, Mapping):
            raise StateError(f"{where}: 'submetrics' must be an object")
        for suffix, sub_state in subs.items():
            text = f"{name}{{{suffix}}}"
            try:
                parse_metric_name(text)
            except ValueError as exc:
                raise StateError(f"submetric {text!r}: {exc}") from None
            submetrics.append((suffix, _parse_sink(sub_state, metric_type, repr(text))))
        parsed.append(_MetricState(name, metric_type, contains, samples, sink, submetrics))
    return parsed


def _parse_sink(value: Any, metric_type: MetricType, where: str) -> Sink:
    if not isinstance(value, Mapping):
        raise StateError(f"{where}: 'sink' must be an object")
    try:
        sink = sink_from_state(dict(value))
    except AggregationError as exc:
        raise StateError(f"{where}: {exc}") from None
    if sink.type is not metric_type:
        raise StateError(f"{where}: a {metric_type.value} with a {sink.type.value} sink")
    return sink


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StateError(f"{where}: expected a non-negative integer, got {value!r}")
    return value


def _parse_groups(value: Any) -> list[tuple[str, str | None, int, int]]:
    """Flatten the group tree into ``(group path, check name or None, passes, fails)`` rows.

    A row with no check name stands for the group itself, so groups without checks survive too;
    rows come in the tree's first-seen order.
    """
    rows: list[tuple[str, str | None, int, int]] = []

    def walk(node: Any, depth: int) -> None:
        if not isinstance(node, Mapping) or depth > 100:
            raise StateError("aggregator state: malformed 'root_group'")
        path = node.get("path", "")
        groups, checks = node.get("groups", []), node.get("checks", [])
        if (
            not isinstance(path, str)
            or not isinstance(groups, list)
            or not isinstance(checks, list)
        ):
            raise StateError(f"aggregator state: malformed group {path!r}")
        rows.append((path, None, 0, 0))
        for check in checks:
            if not isinstance(check, Mapping) or not isinstance(check.get("name"), str):
                raise StateError(f"aggregator state: malformed check in group {path!r}")
            where = f"check {check['name']!r}"
            passes = _count(check.get("passes"), f"{where} passes")
            rows.append((path, check["name"], passes, _count(check.get("fails"), f"{where} fails")))
        for group in groups:
            walk(group, depth + 1)

    walk(value, 0)
    return rows


# -- thresholds -------------------------------------------------------------------------------------


def _threshold_key(metric_name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What makes two keys of ``thresholds`` the same metric: the name and the tag set."""
    try:
        name, _, tags = parse_metric_name(metric_name)
    except ValueError as exc:
        raise StateError(f"thresholds: {exc}") from None
    return name, tuple(sorted(tags.items()))


def _threshold_item(item: Any, metric_name: str) -> tuple[str, bool, Any]:
    """``(expression, abortOnFail, delayAbortEval)`` of one threshold, either spelling."""
    if isinstance(item, str):
        return item, False, None
    if isinstance(item, Mapping) and isinstance(item.get("threshold"), str):
        return item["threshold"], item.get("abortOnFail", False), item.get("delayAbortEval")
    raise StateError(f"thresholds of {metric_name!r}: malformed threshold {item!r:.100}")


def merge_thresholds(into: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The union of two ``thresholds`` options: per metric, every expression of either.

    Keys naming the same metric (``ws_sessions{status:101}`` and ``ws_sessions{ status: 101 }``)
    are one metric, spelt as in ``into``. An expression both have is kept once; if they disagree
    on ``abortOnFail`` or ``delayAbortEval`` that is a conflict.

    Raises:
        StateError: a conflict, or a value that is not k6's thresholds shape.
    """
    merged: dict[str, list[Any]] = {}
    keys: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
    for source in (into, other):
        if not isinstance(source, Mapping):
            raise StateError("thresholds: expected an object of metric name to expressions")
        for metric_name, items in source.items():
            if not isinstance(metric_name, str) or not isinstance(items, (list, tuple)):
                raise StateError(f"thresholds of {metric_name!r}: expected a list of expressions")
            key = keys.setdefault(_threshold_key(metric_name), metric_name)
            present = merged.setdefault(key, [])  # a new list: the inputs stay as they were
            known = {_threshold_item(item, key)[0]: _threshold_item(item, key) for item in present}
            for item in items:
                parsed = _threshold_item(item, metric_name)
                before = known.get(parsed[0])
                if before is None:
                    present.append(item)
                    known[parsed[0]] = parsed
                elif before != parsed:
                    raise StateError(
                        f"conflicting definitions of threshold {parsed[0]!r} on {key!r}: "
                        f"abortOnFail/delayAbortEval {before[1:]!r} vs {parsed[1:]!r}"
                    )
    return merged


# -- run state --------------------------------------------------------------------------------------

#: Gauges that say how big the test is. Runs merged by ``greenws merge`` ran side by side (the
#: segments of one test), so their sizes add: two 5-VU runs were a 10-VU test.
SIZE_GAUGES = ("vus", "vus_max", "open_connections")


def _size_gauges(aggregator: Aggregator) -> dict[str, tuple[float, float, float]]:
    """``(value, min, max)`` of each size gauge that has samples."""
    found = {}
    for name in SIZE_GAUGES:
        sink = aggregator.sink(name)
        if sink is not None and not sink.is_empty:
            values = sink.values(1.0)
            found[name] = (values["value"], values["min"], values["max"])
    return found


def _add_side_by_side(
    aggregator: Aggregator, before: Mapping[str, tuple[float, float, float]], other: Aggregator
) -> None:
    """Make each size gauge the sum of this run's and ``other``'s (the merge kept only one)."""
    theirs = _size_gauges(other)
    for name, (value, low, high) in before.items():
        if name not in theirs:
            continue
        sink: Any = aggregator.sink(name)
        other_value, other_low, other_high = theirs[name]
        sink.value, sink.min, sink.max = value + other_value, low + other_low, high + other_high


@dataclass
class RunState:
    """A run as ``greenws merge`` needs it: aggregated data, duration, thresholds, summary options.

    Attributes:
        aggregator: every metric, submetric, group and check of the run.
        duration_s: the test run duration (the summary's ``testRunDurationMs``; Counter rates).
        thresholds: the ``thresholds`` option as the script wrote it (k6's shape).
        trend_stats: ``summaryTrendStats``, None when the state did not say.
        time_unit: ``summaryTimeUnit``, None for k6's automatic units.
    """

    aggregator: Aggregator
    duration_s: float = 0.0
    thresholds: dict[str, list[Any]] = field(default_factory=dict)
    trend_stats: tuple[str, ...] | None = None
    time_unit: str | None = None
    #: Which part of which test each merged run was (``greenws.options.run_parts.run_part``):
    #: one entry for a run, every run's for a merge, so ``greenws merge`` can tell a lost or
    #: duplicated segment. Empty for states written before parts were recorded.
    parts: list[dict[str, Any]] = field(default_factory=list)

    def to_state(self) -> dict[str, Any]:
        """The JSON-able run state (``--summary-export`` puts it under ``greenws_state``)."""
        return {
            "version": STATE_VERSION,
            "testRunDurationMs": self.duration_s * 1000.0,
            "options": {
                # Plain lists and dicts: a script may write its thresholds with any iterable.
                "thresholds": {
                    str(name): [dict(i) if isinstance(i, Mapping) else i for i in items]
                    for name, items in self.thresholds.items()
                },
                "summaryTrendStats": None if self.trend_stats is None else list(self.trend_stats),
                "summaryTimeUnit": self.time_unit,
            },
            "aggregator": export_aggregator(self.aggregator),
            "parts": [dict(part) for part in self.parts],
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> RunState:
        """A run rebuilt from :meth:`to_state` alone (its own registry, no script needed).

        Raises:
            StateError: for anything this version cannot read.
        """
        run = cls(Aggregator(Registry()))
        run.merge_state(state)
        return run

    def merge_state(self, state: Mapping[str, Any]) -> None:
        """Merge another run's :meth:`to_state` into this one (rules in the module docstring).

        Everything is checked before anything changes: after a StateError this run is unchanged.
        """
        _check_version(state, "greenws state")
        duration_ms = state.get("testRunDurationMs")
        if (
            isinstance(duration_ms, bool)
            or not isinstance(duration_ms, (int, float))
            or not math.isfinite(duration_ms)
            or duration_ms < 0
        ):
            raise StateError(f"greenws state: bad testRunDurationMs {duration_ms!r}")
        options = state.get("options", {})
        if not isinstance(options, Mapping):
            raise StateError("greenws state: 'options' must be an object")
        thresholds = merge_thresholds(self.thresholds, options.get("thresholds", {}))
        trend_stats = options.get("summaryTrendStats")
        if trend_stats is not None and (
            not isinstance(trend_stats, list) or not all(isinstance(s, str) for s in trend_stats)
        ):
            raise StateError("greenws state: summaryTrendStats must be a list of strings")
        time_unit = options.get("summaryTimeUnit")
        if time_unit is not None and not isinstance(time_unit, str):
            raise StateError("greenws state: summaryTimeUnit must be a string")
        aggregator_state = state.get("aggregator")
        if not isinstance(aggregator_state, Mapping):
            raise StateError("greenws state: no 'aggregator' object")
        parts = state.get("parts", [])
        if not isinstance(parts, list) or not all(isinstance(p, Mapping) for p in parts):
            raise StateError("greenws state: 'parts' must be a list of objects")
        before = _size_gauges(self.aggregator)
        merge_into_aggregator(
            self.aggregator, aggregator_state
        )  # checks before it changes anything
        if before:
            _add_side_by_side(self.aggregator, before, aggregator_from_state(aggregator_state))
        self.duration_s = max(self.duration_s, float(duration_ms) / 1000.0)
        self.thresholds = thresholds
        self.parts.extend(dict(part) for part in parts)
        if self.trend_stats is None and trend_stats is not None:
            self.trend_stats = tuple(trend_stats)
        if self.time_unit is None:
            self.time_unit = time_unit
