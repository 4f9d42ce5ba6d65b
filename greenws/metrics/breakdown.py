"""Per-scenario and per-group aggregates for ``--summary-mode full``, filed as k6 v2.2.0 files them.

k6's summary output (``internal/output/summary/summary.go``, ``flushSample``) keeps, in full mode
only, one more copy of every sample's value:

- in its **scenario**'s block, when it has a ``scenario`` tag other than ``default``. A script
  without ``scenarios`` runs the derived scenario ``default``, and its samples count as having no
  scenario: such a run prints no ``SCENARIO`` block, only top-level ``GROUP`` blocks;
- in the block of **exactly the group** its ``group`` tag names, inside its scenario's tree (or
  the top-level tree without a scenario). A nested group's samples are not its parent's; the
  parents exist anyway, in first-seen order, so the tree prints whole. The ``::setup`` and
  ``::teardown`` groups are left out.

A block keeps one sink per metric (no submetrics: k6's blocks have none) and its checks by name,
in first-seen order, merged across groups in a scenario block, as k6 does.

Why it is its own object: compact mode, k6's default, must not pay for it. The aggregator holds
None then and tests that once per metric per batch; the VUs never see it. In full mode each
distinct TagSet of a batch is routed once (cached), one pass deals a batch's values out by route
when it mixes several, and values reach the sinks in bulk through ``add_many``: about 0.1 µs a
sample more for the flusher when every sample lands in one scenario, 0.15 µs in a batch mixing
two scenarios and their groups (on top of ~0.12 µs a sample in compact mode).

The blocks travel in the mergeable state too (``--workers``, ``greenws merge``): :meth:`to_state`
and :func:`parse_breakdown_state`, which checks everything before :meth:`Breakdown.merge`
changes anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, compress
from operator import itemgetter
from typing import Any

from greenws.metrics.metric import Metric, MetricType, Registry
from greenws.metrics.sample import Sample
from greenws.metrics.sinks import AggregationError, GaugeSink, Sink, sink_for, sink_from_state
from greenws.metrics.tags import TagSet

__all__ = ["Breakdown", "BreakdownNode", "BreakdownStateError", "parse_breakdown_state"]

_TAGS = itemgetter(3)
_SEPARATOR = "::"
_CHECKS = "checks"
#: The scenario a script without ``scenarios`` runs: k6 files its samples as scenario-less.
DEFAULT_SCENARIO = "default"
_HIDDEN_GROUPS = frozenset({"setup", "teardown"})
_CACHE_LIMIT = 50_000  # distinct TagSets whose route is remembered before the cache is reset
_MAX_DEPTH = 100  # nesting a state may claim before it is taken to be malformed


class BreakdownStateError(ValueError):
    """A breakdown state that is malformed or names a metric its state does not define."""


class BreakdownNode:
    """One block: a scenario, or a group inside a scenario or the top-level tree."""

    __slots__ = ("checks", "children", "sinks")

    def __init__(self) -> None:
        self.sinks: dict[Metric, Sink] = {}
        self.checks: dict[str, list[int]] = {}  # name -> [passes, fails], first seen first
        self.children: dict[str, BreakdownNode] = {}  # by group name, first seen first

    def child(self, name: str) -> BreakdownNode:
        node = self.children.get(name)
        if node is None:
            node = self.children[name] = BreakdownNode()
        return node

    def sink(self, metric: Metric) -> Sink:
        sink = self.sinks.get(metric)
        if sink is None:
            sink = self.sinks[metric] = sink_for(metric.type)
        return sink

    def add(self, metric: Metric, samples: Sequence[Sample], values: list[float]) -> None:
        """Fold ``samples`` (all of ``metric``; ``values`` are their values) into this block.

        ``samples`` are read only for a Gauge (the last one's time) and for ``checks`` (each
        one's check): for other metrics the caller may pass any sequence.
        """
        sink = self.sink(metric)
        sink.add_many(values)
        if isinstance(sink, GaugeSink):  # its merge rule needs the last value's time
            sink.time = samples[-1][1]
        if metric.name == _CHECKS:
            checks = self.checks
            for _, _, value, tags in samples:
                name = tags.get("check")
                if name is None:
                    continue
                counts = checks.get(name)
                if counts is None:
                    counts = checks[name] = [0, 0]
                counts[0 if value else 1] += 1

    def summary(self, duration_s: float, trend_stats: Sequence[str]) -> dict[str, Any]:
        """``{checks, metrics, groups}`` in handleSummary's shapes (metrics sorted by name)."""
        metrics = {
            metric.name: {
                "type": metric.type.value,
                "contains": metric.contains.value,
                "values": sink.values(duration_s, trend_stats),
            }
            for metric, sink in sorted(self.sinks.items(), key=lambda item: item[0].name)
        }
        return {
            "checks": [
                {"name": name, "passes": passes, "fails": fails}
                for name, (passes, fails) in self.checks.items()
            ],
            "metrics": metrics,
            "groups": [
                {"name": name, **child.summary(duration_s, trend_stats)}
                for name, child in self.children.items()
            ],
        }

    def to_state(self) -> dict[str, Any]:
        return {
            "metrics": {metric.name: sink.to_state() for metric, sink in self.sinks.items()},
            "checks": [[name, passes, fails] for name, (passes, fails) in self.checks.items()],
            "groups": [[name, child.to_state()] for name, child in self.children.items()],
        }


class Breakdown:
    """Every block of a run: the top-level group tree and one tree per named scenario."""

    __slots__ = ("_routes", "root", "scenarios")

    def __init__(self) -> None:
        #: Groups of samples outside any named scenario; its own sinks stay empty (k6 files
        #: such a sample in its group only, TOTAL RESULTS holds the rest).
        self.root = BreakdownNode()
        self.scenarios: dict[str, BreakdownNode] = {}
        self._routes: dict[TagSet, tuple[BreakdownNode, ...]] = {}

    def _route(self, tags: TagSet) -> tuple[BreakdownNode, ...]:
        """The blocks a sample with ``tags`` counts in: its scenario's and its group's."""
        nodes: list[BreakdownNode] = []
        tree = self.root
        scenario = tags.get("scenario")
        if scenario is not None and scenario != DEFAULT_SCENARIO:
            tree = self.scenarios.setdefault(scenario, BreakdownNode())  # once per TagSet
            nodes.append(tree)
        group = tags.get("group")
        if group:
            path = group.removeprefix(_SEPARATOR)  # k6's "::a::b"; "a::b" reads the same
            if path not in _HIDDEN_GROUPS:
                node = tree
                for name in path.split(_SEPARATOR):
                    node = node.child(name)
                nodes.append(node)
        return tuple(nodes)

    def add(self, metric: Metric, pending: list[Sample], values: list[float]) -> None:
        """Fold one batch's samples of ``metric`` (``values`` are their values) into the blocks."""
        column = list(map(_TAGS, pending))
        ids = list(map(id, column))
        distinct = dict(zip(ids, column, strict=True))
        routes = self._routes
        if len(routes) + len(distinct) > _CACHE_LIMIT:
            routes.clear()
        routed: dict[int, tuple[BreakdownNode, ...]] = {}
        for key, tags in distinct.items():
            nodes = routes.get(tags)
            if nodes is None:
                nodes = routes[tags] = self._route(tags)
            routed[key] = nodes
        if len(routed) == 1:  # the common batch: one session's, or one scenario's
            for node in next(iter(routed.values())):
                node.add(metric, pending, values)
            return
        if metric.type is MetricType.GAUGE or metric.name == _CHECKS:
            self._add_selected(metric, pending, values, ids, routed)
            return
        # Several routes: one pass deals the values out by route, then each block takes the
        # routes through it. Counters, rates and trends do not care about the order of values.
        by_route: dict[tuple[BreakdownNode, ...], list[float]] = {}
        append_of = {}
        for key, nodes in routed.items():
            bucket = by_route.get(nodes)
            if bucket is None:
                bucket = by_route[nodes] = []
            append_of[key] = bucket.append
        for value, key in zip(values, ids, strict=True):
            append_of[key](value)
        targets = {id(node): node for nodes in by_route for node in nodes}
        for node in targets.values():
            buckets = [bucket for nodes, bucket in by_route.items() if node in nodes]
            node.add(metric, pending, buckets[0] if len(buckets) == 1 else list(chain(*buckets)))

    @staticmethod
    def _add_selected(
        metric: Metric,
        pending: list[Sample],
        values: list[float],
        ids: list[int],
        routed: dict[int, tuple[BreakdownNode, ...]],
    ) -> None:
        """Each block takes its samples in their order: a Gauge's last value, checks' names."""
        targets = {id(node): node for nodes in routed.values() for node in nodes}
        for node in targets.values():
            flags = {key: node in nodes for key, nodes in routed.items()}
            selected = list(map(flags.__getitem__, ids))
            node.add(metric, list(compress(pending, selected)), list(compress(values, selected)))

    def summary(self, duration_s: float, trend_stats: Sequence[str]) -> dict[str, Any]:
        """``{"groups": [...], "scenarios": {name: block}}``: what full mode prints after TOTAL."""
        return {
            "groups": self.root.summary(duration_s, trend_stats)["groups"],
            "scenarios": {
                name: node.summary(duration_s, trend_stats)
                for name, node in sorted(self.scenarios.items())
            },
        }

    def to_state(self) -> dict[str, Any]:
        return {
            "root": self.root.to_state(),
            "scenarios": {name: node.to_state() for name, node in self.scenarios.items()},
        }

    def merge(self, parsed: ParsedBreakdown, registry: Registry) -> None:
        """Add a state read by :func:`parse_breakdown_state`; its metrics must be registered."""
        _merge_node(self.root, parsed.root, registry)
        for name, node in parsed.scenarios:
            _merge_node(self.scenarios.setdefault(name, BreakdownNode()), node, registry)


# -- state ------------------------------------------------------------------------------------


@dataclass
class ParsedNode:
    """One block of a state, checked, with its sinks rebuilt; metrics by name."""

    sinks: list[tuple[str, Sink]] = field(default_factory=list)
    checks: list[tuple[str, int, int]] = field(default_factory=list)
    groups: list[tuple[str, ParsedNode]] = field(default_factory=list)


@dataclass
class ParsedBreakdown:
    """A whole breakdown state, checked: merging it can no longer fail half-way."""

    root: ParsedNode
    scenarios: list[tuple[str, ParsedNode]]


def parse_breakdown_state(value: Any, types: Mapping[str, MetricType]) -> ParsedBreakdown:
    """Read :meth:`Breakdown.to_state`'s dict; ``types`` are the metric definitions beside it.

    Raises:
        BreakdownStateError: a malformed field, a metric ``types`` lacks, or a sink of another
            type than its metric's.
    """
    if not isinstance(value, Mapping) or not isinstance(value.get("scenarios", {}), Mapping):
        raise BreakdownStateError("breakdown: expected an object with 'root' and 'scenarios'")
    scenarios = [
        (str(name), _parse_node(node, types, f"scenario {name!r}", 0))
        for name, node in value.get("scenarios", {}).items()
    ]
    return ParsedBreakdown(_parse_node(value.get("root"), types, "top-level groups", 0), scenarios)


def _parse_node(value: Any, types: Mapping[str, MetricType], where: str, depth: int) -> ParsedNode:
    if not isinstance(value, Mapping) or depth > _MAX_DEPTH:
        raise BreakdownStateError(f"breakdown {where}: expected an object")
    metrics, checks, groups = (
        value.get("metrics", {}),
        value.get("checks", []),
        value.get("groups", []),
    )
    if (
        not isinstance(metrics, Mapping)
        or not isinstance(checks, list)
        or not isinstance(groups, list)
    ):
        raise BreakdownStateError(f"breakdown {where}: malformed metrics, checks or groups")
    node = ParsedNode()
    for name, state in metrics.items():
        metric_type = types.get(name)
        if metric_type is None:
            raise BreakdownStateError(f"breakdown {where}: metric {name!r} is not defined")
        try:
            sink = sink_from_state(dict(state) if isinstance(state, Mapping) else {})
        except AggregationError as error:
            raise BreakdownStateError(f"breakdown {where}, metric {name!r}: {error}") from None
        if sink.type is not metric_type:
            raise BreakdownStateError(
                f"breakdown {where}: metric {name!r} is a {metric_type.value} with a "
                f"{sink.type.value} sink"
            )
        node.sinks.append((name, sink))
    for check in checks:
        if not (
            isinstance(check, list)
            and len(check) == 3
            and isinstance(check[0], str)
            and all(_is_count(n) for n in check[1:])
        ):
            raise BreakdownStateError(f"breakdown {where}: malformed check {check!r:.100}")
        node.checks.append((check[0], check[1], check[2]))
    for group in groups:
        if not (isinstance(group, list) and len(group) == 2 and isinstance(group[0], str)):
            raise BreakdownStateError(f"breakdown {where}: malformed group {group!r:.100}")
        node.groups.append(
            (group[0], _parse_node(group[1], types, f"{where} group {group[0]!r}", depth + 1))
        )
    return node


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _merge_node(node: BreakdownNode, parsed: ParsedNode, registry: Registry) -> None:
    for name, sink in parsed.sinks:
        metric = registry.get(name)
        if metric is None:  # pragma: no cover - the state's metrics are registered first
            raise BreakdownStateError(f"breakdown: metric {name!r} is not registered")
        target: Any = node.sink(metric)  # the types match: parse checked them
        target.merge(sink)
    for name, passes, fails in parsed.checks:
        counts = node.checks.setdefault(name, [0, 0])
        counts[0] += passes
        counts[1] += fails
    for name, child in parsed.groups:
        _merge_node(node.child(name), child, registry)
