"""Under ``--workers``: the report's aggregates, sent by each worker instead of its samples.

A worker used to forward every sample to the coordinator for the dashboard: a Python step and a
pickled row per sample on the VUs' own core, then the coordinator unpickled and folded them all
again. Now each worker folds its samples into a report builder of its own, as a single process
does (through its aggregator's observers, with no step per sample), and its status, once a
second, carries what the coordinator's page needs:

- the series' buckets filled since the last status, stamped with their middle (the worker's
  series counts from the coordinator's start, so buckets line up), the custom metrics' kinds
  and the error texts: deltas, added into the coordinator's series;
- each breakdown table's aggregator state: cumulative, so the latest replaces the one before and
  a status that never arrives loses nothing the next one does not bring.

This module reads the series' and the breakdown's internals: it is their other half (as
``greenws.metrics.state`` is the aggregator's), kept apart so each stays short. Pure: no clock,
no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from greenws.metrics.aggregator import Aggregator
from greenws.metrics.histogram import Histogram
from greenws.metrics.metric import Registry
from greenws.metrics.state import export_aggregator, merge_into_aggregator

from .breakdown import Breakdown
from .frozen import thawed
from .series import (
    _OTHER_CODE,
    CUSTOM_PREFIX,
    Bucket,
    SeriesAggregator,
)

__all__ = ["export_series", "export_tables", "merge_series", "merged_tables"]

_ERROR_PREFIX = "error_code:"


def export_series(series: SeriesAggregator) -> dict[str, Any]:
    """A worker's series (the one it filled since its last status) as JSON-able data."""
    buckets = []
    for index, bucket in enumerate(series.buckets):
        if bucket is None:
            continue
        middle = series.start + (index + 0.5) * series.width
        trends = {key: thawed(hist).to_state() for key, hist in bucket.trends.items()}
        buckets.append([middle, bucket.counters, bucket.gauges, trends])
    return {
        "buckets": buckets,
        "custom": series.custom,
        "error_texts": series.error_texts,
        "error_texts_dropped": series.error_texts_dropped,
    }


def merge_series(into: SeriesAggregator, data: Mapping[str, Any]) -> None:
    """Add a worker's :func:`export_series` into the coordinator's series, within its limits
    (60 custom metrics, 20 error codes, 5 texts a code) as if the samples had come here."""
    for name, (kind_name, contains) in data["custom"].items():
        if name not in into.custom:
            into.classify(name, kind_name, contains)
    for middle, counters, gauges, trends in data["buckets"]:
        incoming = Bucket()
        for key, value in counters.items():
            if key.startswith(_ERROR_PREFIX):
                key = _ERROR_PREFIX + into.error_code(key[len(_ERROR_PREFIX) :])
            elif not _charted(into, key):
                continue
            incoming.counters[key] = incoming.counters.get(key, 0.0) + value
        incoming.gauges = {key: value for key, value in gauges.items() if _charted(into, key)}
        incoming.trends = {
            key: Histogram.from_state(state) for key, state in trends.items() if _charted(into, key)
        }
        into._bucket(middle).merge(incoming)
    for code, texts in data["error_texts"].items():
        code = into.error_code(code)
        if code != _OTHER_CODE:
            for text, count in texts.items():
                into.note_error_text(code, text, count)
    for code, count in data["error_texts_dropped"].items():
        code = into.error_code(code)
        if code != _OTHER_CODE:
            into.error_texts_dropped[code] = into.error_texts_dropped.get(code, 0) + count


def _charted(series: SeriesAggregator, key: str) -> bool:
    """A fixed series, or a custom metric the coordinator's series has room for."""
    if not key.startswith(CUSTOM_PREFIX):
        return True
    name = key[len(CUSTOM_PREFIX) :]
    return (name[:-2] if name.endswith("#n") else name) in series.custom


def export_tables(breakdown: Breakdown) -> dict[str, Any]:
    """Every breakdown table's aggregator state (cumulative)."""

    def states(table: Mapping[str, Aggregator]) -> dict[str, Any]:
        return {key: export_aggregator(agg, sampled_only=True) for key, agg in table.items()}

    return {
        "scenarios": states(breakdown.scenarios),
        "groups": states(breakdown.groups),
        "by_tag": {tag: states(table) for tag, table in breakdown.by_tag.items()},
    }


def merged_tables(own: Breakdown, reports: Iterable[Mapping[str, Any]]) -> Breakdown:
    """The coordinator's own tables and every worker's latest, merged into new ones."""
    merged = Breakdown(tuple(own.by_tag))

    def fold(table: dict[str, Aggregator], states: Mapping[str, Any]) -> None:
        for key, state in states.items():
            aggregator = table.get(key)
            if aggregator is None:
                aggregator = table[key] = Aggregator(Registry())
            merge_into_aggregator(aggregator, state)

    for report in (export_tables(own), *reports):
        fold(merged.scenarios, report["scenarios"])
        fold(merged.groups, report["groups"])
        for tag, states in report["by_tag"].items():
            if tag in merged.by_tag:
                fold(merged.by_tag[tag], states)
    return merged
