"""Per-scenario and per-group metric tables, built with the summary's own aggregator.

The console's full summary prints ``█ SCENARIO:`` and ``█ GROUP:`` blocks from the summary data's
``breakdown``, which the engine aggregates only with ``--summary-mode full`` and files as k6
does (a group inside its scenario). The report has tables whatever the mode, per group path
across scenarios, so it aggregates them itself: one
:class:`~greenws.metrics.aggregator.Aggregator` per scenario
and per group, fed the very samples this output receives. Sinks are the summary's sinks, so a
scenario's table computes its numbers exactly as the TOTAL table does, and memory is bounded by
the number of scenarios and groups, not by the test's length.

A group's table holds the samples tagged with exactly that group (samples of a nested group
belong to the nested one), and ``setup``/``teardown`` are left out, as in the console summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

from greenws.metrics.aggregator import Aggregator
from greenws.metrics.metric import Registry

__all__ = ["Breakdown"]

_TAGS = itemgetter(3)
_ROUTE = itemgetter(1)
_HIDDEN_GROUPS = frozenset({"::setup", "::teardown"})
_MAX_KEYS = 200  # scenarios or groups beyond this are not broken out (tag explosion guard)


class Breakdown:
    """Aggregators keyed by the ``scenario`` tag and by the ``group`` tag."""

    def __init__(self, tags: Sequence[str] = ()) -> None:
        self._registry = Registry()  # Aggregator only looks names up for submetrics: none here
        self.scenarios: dict[str, Aggregator] = {}
        self.groups: dict[str, Aggregator] = {}
        #: The tags the user asked to break down by (``--dashboard-tag``): tag -> value -> sinks.
        self.by_tag: dict[str, dict[str, Aggregator]] = {tag: {} for tag in tags}
        self._route: dict[Any, tuple[Aggregator | None, ...]] = {}
        #: The same by the TagSet's id (kept alive beside it, so the id is not reused): found
        #: without TagSet.__eq__, which costs a dict comparison for every equal session's set.
        self._route_by_id: dict[int, tuple[Any, tuple[Aggregator | None, ...]]] = {}
        self._batch_tags: Any = None  # the last batch's TagSets, and where they lead
        self._batch_routes: set[tuple[Aggregator | None, ...]] = set()

    def _aggregator(self, table: dict[str, Aggregator], key: str | None) -> Aggregator | None:
        if key is None:
            return None
        aggregator = table.get(key)
        if aggregator is None and len(table) < _MAX_KEYS:
            aggregator = table[key] = Aggregator(self._registry)
        return aggregator

    def add_batch(self, samples: Iterable[Any]) -> None:
        """Split ``samples`` by scenario and by group (once per distinct tag set), then add."""
        by_tags: dict[Any, list[Any]] = {}
        for sample in samples:
            tags = sample[3]
            batch = by_tags.get(tags)
            if batch is None:
                batch = by_tags[tags] = []
            batch.append(sample)
        pending: dict[int, tuple[Aggregator, list[Any]]] = {}
        if len(self._route) > 50_000:
            self._route.clear()
            self._route_by_id.clear()
        for tags, batch in by_tags.items():
            for aggregator in self._targets(tags):
                if aggregator is not None:
                    pending.setdefault(id(aggregator), (aggregator, []))[1].extend(batch)
        for aggregator, batch in pending.values():
            aggregator.add_batch(batch)

    def _targets(self, tags: Any) -> tuple[Aggregator | None, ...]:
        """The tables a sample with ``tags`` counts in (worked out once per distinct TagSet)."""
        targets = self._route.get(tags)
        if targets is None:
            group = tags.get("group")
            targets = self._route[tags] = (
                self._aggregator(self.scenarios, tags.get("scenario")),
                None
                if not group or group in _HIDDEN_GROUPS  # "" is the root: TOTAL shows it
                else self._aggregator(self.groups, group),
                *(self._aggregator(table, tags.get(tag)) for tag, table in self.by_tag.items()),
            )
        return targets

    def add_metric(
        self, metric: Any, samples: list[Any], values: list[float], tags: Any = None
    ) -> None:
        """One metric's samples of a batch, already grouped (see ``SeriesAggregator.add_metric``).

        ``tags`` are the whole batch's distinct TagSets by id, when the caller (the engine's
        aggregator) has them. When they all lead to the same tables (one scenario, one group:
        most batches), each table takes the samples whole, with no step per sample."""
        if tags is None:
            column = list(map(_TAGS, samples))
            tags = dict(zip(map(id, column), column, strict=True))
        if tags is self._batch_tags:  # the batch's other metrics: routed already
            routes = self._batch_routes
        else:
            if len(self._route) > 50_000:
                self._route.clear()
                self._route_by_id.clear()
            by_id = self._route_by_id
            # Looked up in C, a step per TagSet only for those not seen before: a flush of fifty
            # sessions' samples has fifty sets. An id found here is the same TagSet, since the
            # cache holds the set alive and so its id cannot be reused.
            if None in map(by_id.get, tags):
                for key, tagset in tags.items():
                    if key not in by_id:
                        by_id[key] = (tagset, self._targets(tagset))
            routes = set(map(_ROUTE, map(by_id.__getitem__, tags)))
            self._batch_tags, self._batch_routes = tags, routes
        if len(routes) > 1:
            self.add_batch(samples)
            return
        for aggregator in next(iter(routes)):
            if aggregator is not None:
                aggregator.add_samples_of(metric, samples, values, tags)

    def tables(
        self, duration_s: float, trend_stats: Sequence[str]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """``({scenario: metrics}, {group path: metrics})``, each in handleSummary's shape."""

        def metrics_of(table: dict[str, Aggregator]) -> dict[str, dict[str, Any]]:
            return {
                key: aggregator.summary_data(duration_s=duration_s, trend_stats=trend_stats)[
                    "metrics"
                ]
                for key, aggregator in sorted(table.items())
            }

        return metrics_of(self.scenarios), metrics_of(self.groups)

    def tag_tables(
        self, duration_s: float, trend_stats: Sequence[str]
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """``{tag: {value: metrics}}`` for each tag asked for, in handleSummary's shape."""
        return {
            tag: {
                value: aggregator.summary_data(duration_s=duration_s, trend_stats=trend_stats)[
                    "metrics"
                ]
                for value, aggregator in sorted(table.items())
            }
            for tag, table in self.by_tag.items()
        }
