"""The aggregator: every sample of a run folded into sinks, submetrics, checks and groups.

This is the hot path -- every WebSocket message produces samples, and one Python process must
absorb hundreds of thousands per second. So ``add_batch`` does as little as possible per sample:
one pass that appends each sample to its metric's pending list (a dict lookup keyed by the
identity-hashed Metric, then a bound ``list.append``). Everything else happens once per metric
per batch, with C-level iteration: values are pulled out with ``map(itemgetter)``, sinks take them
with ``add_many``, and anything derived from tags (submetric matches, the group a sample belongs
to, which check a ``checks`` sample counts for) is computed once per distinct TagSet and cached.

Submetrics (``ws_connecting{status:101}``) must name a registered metric: thresholds are bound
after the script is loaded, when every custom metric exists (as k6 requires), so nothing waits.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import compress
from operator import is_not, itemgetter
from typing import Any

from greenws.metrics.breakdown import Breakdown
from greenws.metrics.metric import Metric, MetricError, Registry
from greenws.metrics.sample import Sample
from greenws.metrics.sinks import (
    DEFAULT_TREND_STATS,
    AggregationError,
    GaugeSink,
    Sink,
    TrendSink,
    sink_for,
)
from greenws.metrics.tags import TagSet

__all__ = ["Aggregator", "Submetric", "parse_metric_name", "threshold_aggregation"]

_VALUE = itemgetter(2)
_TAGS = itemgetter(3)
_GROUP_SEPARATOR = "::"
_CHECKS = "checks"
_CACHE_LIMIT = 50_000  # distinct TagSets remembered per cache before it is reset
_MISSING: Any = object()


def _md5(text: str) -> str:
    """k6's opaque group/check id: the md5 hex digest of the path."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def parse_metric_name(text: str) -> tuple[str, str | None, dict[str, str]]:
    """Split ``name{tag:value,...}`` into ``(name, suffix, tags)`` the way k6 reads it.

    ``suffix`` is the text between the braces with outer whitespace trimmed (k6 prints submetrics
    as ``name{suffix}``), or None when there are no braces. Keys and values are trimmed of
    whitespace and of surrounding quotes, so ``{status: "101"}`` matches the tag ``status=101``.
    A value may contain ``:`` (``{url:ws://host}``) but not ``,``.

    Raises:
        MetricError: unmatched or misplaced braces, or a ``key:value`` pair without a value.
    """
    text = text.strip()
    opening, closing = text.find("{"), text.rfind("}")
    if opening == -1 and closing == -1:
        return text, None, {}
    if opening == -1 or closing == -1:
        raise MetricError(f"metric {text!r} has an unmatched opening/closing curly brace")
    if closing < opening:
        raise MetricError(f"metric {text!r}: the closing curly brace comes before the opening one")
    if closing != len(text) - 1:
        raise MetricError(f"metric {text!r} lacks a closing curly brace in its last position")
    name = text[:opening].strip()
    inner = text[opening + 1 : closing]
    tags: dict[str, str] = {}
    for part in inner.split(","):
        key, colon, value = part.partition(":")
        key = key.strip().strip("\"'")
        if not colon or not value or not key:
            raise MetricError(
                f"metric {text!r}: tag expression {part.strip()!r} is malformed, expected key:value"
            )
        tags[key] = value.strip().strip("\"'")
    return name, inner.strip(), tags


class Submetric:
    """The samples of ``parent`` whose tags include every ``key:value`` of ``tags``."""

    __slots__ = ("_items", "name", "parent", "sink", "suffix", "tags")

    def __init__(self, parent: Metric, suffix: str, tags: Mapping[str, str]) -> None:
        self.parent = parent
        self.suffix = suffix
        self.name = f"{parent.name}{{{suffix}}}"
        self.tags = dict(tags)
        self._items = tuple(self.tags.items())
        self.sink: Sink = sink_for(parent.type)

    def matches(self, tags: Mapping[str, str]) -> bool:
        """k6's rule: every key of the submetric is present in ``tags`` with the same value."""
        get = tags.get
        return all(get(key) == value for key, value in self._items)

    def __repr__(self) -> str:
        return f"Submetric({self.name!r})"


class _Entry:
    """Per-metric state: sink, pending samples of the current batch, submetrics, caches."""

    __slots__ = ("match", "metric", "pending", "samples", "sink", "subs")

    def __init__(self, metric: Metric) -> None:
        self.metric = metric
        self.sink: Sink = sink_for(metric.type)
        self.pending: list[Sample] = []
        self.samples = 0
        self.subs: list[Submetric] = []
        # TagSet -> the submetrics it matches; reset whenever a submetric is added.
        self.match: dict[TagSet, tuple[Submetric, ...]] = {}


class _Check:
    __slots__ = ("fails", "id", "name", "passes", "path")

    def __init__(self, name: str, group_path: str) -> None:
        self.name = name
        self.path = group_path + _GROUP_SEPARATOR + name
        self.id = _md5(self.path)
        self.passes = 0
        self.fails = 0


class _Group:
    __slots__ = ("checks", "groups", "id", "name", "path")

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path
        self.id = _md5(path)
        self.groups: dict[str, _Group] = {}  # by name, in first-seen order
        self.checks: dict[str, _Check] = {}

    def export(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "id": self.id,
            "groups": [group.export() for group in self.groups.values()],
            "checks": [
                {
                    "name": c.name,
                    "path": c.path,
                    "id": c.id,
                    "passes": c.passes,
                    "fails": c.fails,
                }
                for c in self.checks.values()
            ],
        }


class Aggregator:
    """Folds sample batches into per-metric sinks and answers the summary's questions."""

    def __init__(self, registry: Registry, *, breakdown: bool = False) -> None:
        self.registry = registry
        #: Per-scenario and per-group blocks, for ``--summary-mode full`` only: None otherwise,
        #: so compact mode pays one ``is None`` test per metric per batch and nothing per sample.
        self.breakdown: Breakdown | None = Breakdown() if breakdown else None
        #: Called per metric per batch as ``(metric, samples, values, tags)`` (``tags``: the
        #: batch's distinct TagSets by id), after the sinks: a live view (the dashboard) gets the
        #: batch grouped by metric for free, not a pass of its own. Lists are reused: copy them.
        self.observers: list[Callable[[Metric, list[Sample], list[float], Any], None]] = []
        self._entries: dict[Metric, _Entry] = {}
        self._appends: dict[Metric, Any] = {}  # Metric -> its pending list's bound append
        self._subs_by_name: dict[str, Submetric] = {}
        self._root = _Group("", "")
        self._groups: dict[str, _Group] = {"": self._root}
        self._known_tags: dict[int, TagSet] = {}  # id -> TagSet (kept alive, so ids stay unique)
        self._check_of: dict[TagSet, _Check | None] = {}

    # -- configuration -------------------------------------------------------------------------
    def add_submetric(self, text: str) -> Submetric:
        """Start aggregating ``name{tag:value,...}`` separately; idempotent for equal tag sets.

        Only samples added after this call are counted in the submetric, as in k6.

        Raises:
            MetricError: bad syntax, or no metric of that name is registered.
        """
        name, suffix, tags = parse_metric_name(text)
        if suffix is None:
            raise MetricError(f"{text!r} is not a submetric: expected name{{tag:value}}")
        metric = self.registry.get(name)
        if metric is None:
            raise MetricError(f"no metric name {name!r} found")
        entry = self._entry(metric)
        for sub in entry.subs:
            if sub.tags == tags:
                return sub
        sub = Submetric(metric, suffix, tags)
        entry.subs.append(sub)
        entry.match.clear()
        self._subs_by_name.setdefault(sub.name, sub)
        return sub

    def submetric(self, text: str) -> Submetric | None:
        """The submetric already added for ``text`` (any spelling of the same tags), or None."""
        sub = self._subs_by_name.get(text)
        if sub is not None:
            return sub
        try:
            name, suffix, tags = parse_metric_name(text)
        except MetricError:
            return None
        metric = self.registry.get(name)
        entry = self._entries.get(metric) if metric is not None else None
        if suffix is None or entry is None:
            return None
        return next((s for s in entry.subs if s.tags == tags), None)

    def _entry(self, metric: Metric) -> _Entry:
        entry = self._entries.get(metric)
        if entry is None:
            entry = self._entries[metric] = _Entry(metric)
            self._appends[metric] = entry.pending.append
        return entry

    # -- the hot path --------------------------------------------------------------------------
    def add_batch(self, samples: Iterable[Sample]) -> None:
        """Aggregate ``samples`` (``(metric, time, value, tags)`` tuples)."""
        batch = samples if isinstance(samples, list) else list(samples)
        if not batch:
            return
        appends = self._appends
        for sample in batch:
            try:
                appends[sample[0]](sample)
            except KeyError:
                self._entry(sample[0]).pending.append(sample)
        tags = self._note_tags(batch)
        for entry in self._entries.values():
            pending = entry.pending
            if not pending:
                continue
            try:
                values = list(map(_VALUE, pending))
                self._fold(entry, pending, values)
                for observe in tuple(self.observers):  # one may drop out meanwhile
                    observe(entry.metric, pending, values, tags)
            finally:
                pending.clear()  # a bad value must not poison every later batch

    def add_samples_of(
        self, metric: Metric, samples: list[Sample], values: list[float], distinct: Any = None
    ) -> None:
        """Samples of one ``metric`` (``values[i]`` is ``samples[i]``'s), from a caller that
        grouped them already; ``distinct``: their TagSets by ``id``, when it has them."""
        self._note_tags(samples, distinct)
        self._fold(self._entry(metric), samples, values)

    def _fold(self, entry: _Entry, pending: list[Sample], values: list[float]) -> None:
        entry.samples += len(values)
        sink = entry.sink
        sink.add_many(values)
        if isinstance(sink, GaugeSink):  # its merge rule needs the last value's time
            sink.time = pending[-1][1]
        if entry.subs:
            self._feed_submetrics(entry, pending, values)
        if entry.metric.name == _CHECKS:
            self._count_checks(pending)
        if self.breakdown is not None:
            self.breakdown.add(entry.metric, pending, values)

    def _note_tags(
        self, batch: list[Sample], distinct: Mapping[int, TagSet] | None = None
    ) -> Mapping[int, TagSet]:
        """Grow the group tree from the ``group`` tag of every TagSet not seen before; returns
        the batch's distinct TagSets, found by identity (``id``) in C, not by content."""
        if distinct is None:
            column = list(map(_TAGS, batch))
            # A new TagSet only starts a run (VUs push runs of one session's set): id(), ~400
            # instructions with its audit hook and dict insert, runs on run starts only.
            changes = column[:1] + list(compress(column[1:], map(is_not, column[1:], column)))
            distinct = dict(zip(map(id, changes), changes, strict=True))  # first-seen order
        known = self._known_tags
        if known.keys() >= distinct.keys():  # every set seen before, checked in C: the usual
            return distinct
        if len(known) + len(distinct) > _CACHE_LIMIT:
            known.clear()
        for key, tags in distinct.items():
            if key in known:
                continue
            known[key] = tags  # holding `tags` keeps its id from being reused
            path = tags.get("group")
            if path is not None:
                self._group(path)
        return distinct

    def _feed_submetrics(self, entry: _Entry, pending: list[Sample], values: list[float]) -> None:
        column = list(map(_TAGS, pending))
        ids = list(map(id, column))
        distinct = dict(zip(ids, column, strict=True))
        cache = entry.match
        if len(cache) + len(distinct) > _CACHE_LIMIT:
            cache.clear()
        matched: dict[int, tuple[Submetric, ...]] = {}
        for key, tags in distinct.items():
            subs = cache.get(tags)
            if subs is None:
                subs = cache[tags] = tuple(sub for sub in entry.subs if sub.matches(tags))
            matched[key] = subs
        for sub in entry.subs:
            flags = {key: sub in subs for key, subs in matched.items()}
            hits = sum(flags.values())
            if hits == len(flags):
                sub.sink.add_many(values)
                if isinstance(sub.sink, GaugeSink):
                    sub.sink.time = pending[-1][1]
            elif hits:
                selected = list(map(flags.__getitem__, ids))
                sub.sink.add_many(list(compress(values, selected)))
                if isinstance(sub.sink, GaugeSink):
                    sub.sink.time = list(compress(pending, selected))[-1][1]

    def _count_checks(self, pending: list[Sample]) -> None:
        column = list(map(_TAGS, pending))
        check_of = self._check_of
        if len(check_of) >= _CACHE_LIMIT:
            check_of.clear()
        by_id: dict[int, _Check | None] = {}
        for key, tags in dict(zip(map(id, column), column, strict=True)).items():
            check = check_of.get(tags, _MISSING)
            if check is _MISSING:
                check = check_of[tags] = self._check(tags)
            by_id[key] = check
        for (_, _, value, _), key in zip(pending, map(id, column), strict=True):
            check = by_id[key]
            if check is None:
                continue
            if value:
                check.passes += 1
            else:
                check.fails += 1

    def _check(self, tags: TagSet) -> _Check | None:
        name = tags.get("check")
        if name is None:
            return None
        return self._check_at(tags.get("group") or "", name)

    def _check_at(self, group_path: str, name: str) -> _Check:
        """The check ``name`` of the group at ``group_path``, created with its groups."""
        group = self._group(group_path)
        check = group.checks.get(name)
        if check is None:
            check = group.checks[name] = _Check(name, group.path)
        return check

    def _group(self, path: str) -> _Group:
        """The group at ``path`` (``""`` root, ``"::a::b"`` nested), created with its parents."""
        group = self._groups.get(path)
        if group is not None:
            return group
        names = path.split(_GROUP_SEPARATOR)
        if names[0]:  # not k6's "::a" form; read "a::b" as the same groups under the root
            names.insert(0, "")
        group = self._root
        current = ""
        for name in names[1:]:
            current = current + _GROUP_SEPARATOR + name
            child = group.groups.get(name)
            if child is None:
                child = group.groups[name] = _Group(name, current)
                self._groups[current] = child
            group = child
        self._groups[path] = group
        return group

    # -- reading -------------------------------------------------------------------------------
    def sink(self, name: str) -> Sink | None:
        """The sink of a metric or submetric by name; None if no such metric is registered.

        A registered metric that has no samples yet gets an (empty) sink, so thresholds can be
        evaluated on it.
        """
        metric = self.registry.get(name)
        if metric is not None:
            return self._entry(metric).sink
        sub = self.submetric(name)
        return sub.sink if sub is not None else None

    @property
    def sample_counts(self) -> dict[str, int]:
        """Samples aggregated so far per metric name (not counting submetric copies)."""
        return {e.metric.name: e.samples for e in self._entries.values() if e.samples}

    def root_group(self) -> dict[str, Any]:
        """The group tree with its checks, in k6's ``root_group`` shape."""
        return self._root.export()

    # -- mergeable state (the code lives in greenws.metrics.state) ---------------------------------
    def summary_data(
        self,
        *,
        duration_s: float,
        trend_stats: Sequence[str] = DEFAULT_TREND_STATS,
        thresholds: Mapping[str, Mapping[str, bool]] | None = None,
    ) -> dict[str, Any]:
        """The ``data`` k6 passes to ``handleSummary``.

        ``metrics`` holds every metric and submetric that received a sample, plus -- as in k6,
        which marks them observed when thresholds are set up -- every metric or submetric that
        has thresholds (and a submetric's parent), even with no samples. Keys are sorted, as Go's
        JSON encoder sorts map keys. ``thresholds`` maps a metric or submetric name to
        ``{expression: ok}`` (see ``ThresholdReport.summary_thresholds``).

        A Trend's ``values`` also hold what its thresholds are judged on when that is not a
        ``summaryTrendStats`` column (``p(99)`` of ``p(99)<500``), so the THRESHOLDS block and the
        export show the real number, as k6 >= 1.1 prints it (grafana/k6#4698; k6 does it for
        percentiles only and leaves them out of the data).

        With a breakdown (full mode) the data has greenws's ``breakdown`` key: the blocks
        ``--summary-mode full`` prints after TOTAL RESULTS (see :mod:`greenws.metrics.breakdown`).

        ``options`` carries ``summaryTrendStats``; the runtime adds ``summaryTimeUnit``,
        ``noColor``, the TTY flags of ``state`` and ``setup_data``, which it alone knows.
        """
        observed: dict[str, tuple[Metric, Sink]] = {}
        for entry in self._entries.values():
            if entry.samples:
                observed[entry.metric.name] = (entry.metric, entry.sink)
            for sub in entry.subs:
                if not sub.sink.is_empty:
                    observed[sub.name] = (entry.metric, sub.sink)
        results_of: dict[str, dict[str, bool]] = {}
        for name, results in (thresholds or {}).items():
            canonical = self._observe_threshold_target(name, observed)
            if canonical is not None:
                results_of.setdefault(canonical, {}).update(results)

        metrics: dict[str, Any] = {}
        for name in sorted(observed):
            metric, sink = observed[name]
            data: dict[str, Any] = {
                "type": metric.type.value,
                "contains": metric.contains.value,
                "values": sink.values(duration_s, trend_stats),
            }
            verdicts = results_of.get(name)
            if verdicts:
                data["thresholds"] = {source: {"ok": bool(ok)} for source, ok in verdicts.items()}
                if isinstance(sink, TrendSink):
                    _add_threshold_stats(data["values"], sink, verdicts)
            metrics[name] = data
        summary = {
            "root_group": self._root.export(),
            "options": {"summaryTrendStats": list(trend_stats)},
            "state": {"testRunDurationMs": duration_s * 1000.0},
            "metrics": metrics,
        }
        if self.breakdown is not None:
            summary["breakdown"] = self.breakdown.summary(duration_s, trend_stats)
        return summary

    def _observe_threshold_target(
        self, name: str, observed: dict[str, tuple[Metric, Sink]]
    ) -> str | None:
        """Make a threshold's metric (and a submetric's parent) appear; its canonical name."""
        metric = self.registry.get(name)
        if metric is not None:
            observed.setdefault(name, (metric, self._entry(metric).sink))
            return name
        try:
            sub = self.submetric(name) or self.add_submetric(name)
        except MetricError:
            return None  # bind() reported it already; the summary is not the place to fail
        observed.setdefault(sub.name, (sub.parent, sub.sink))
        observed.setdefault(sub.parent.name, (sub.parent, self._entry(sub.parent).sink))
        return sub.name


def threshold_aggregation(source: str) -> str:
    """The left-hand side of a threshold expression as written: ``p(99)`` of ``p(99) < 500``.

    k6's renderer splits on ``=``, ``<`` and ``>``, which leaves ``avg!`` for ``avg!=3``; ``!`` is
    cut too, so that value can be found and shown.
    """
    return re.split(r"[=<>!]", source, maxsplit=1)[0].strip()


def _add_threshold_stats(values: dict[str, float], sink: TrendSink, sources: Iterable[str]) -> None:
    for source in sources:
        stat = threshold_aggregation(source)
        if stat not in values:
            with contextlib.suppress(AggregationError):  # not a Trend's: bind() reported it
                values[stat] = sink.stat(stat)
