"""Samples to line protocol in k6's layout, through influxdb-client's ``Point`` serialiser.

k6's layout, which its Grafana dashboards query: measurement = metric name; tags = the sample's
tags minus the tags-as-fields, empty ones dropped; fields = ``value`` plus the moved tags
(``vu`` and ``iter`` as integers, ``url`` as a string by default).

InfluxDB keeps one point per (measurement, tag set, timestamp): a second sample of the same
series at the same instant overwrites the first. ``time.time()`` has a resolution of about 240 ns
today and two messages read in one go are stamped within that, so at ``ns``/``u`` precision a
colliding timestamp is moved one unit later. That keeps the point count equal to the sample
count (the summary's), at the price of a nanosecond of skew.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from influxdb_client import Point, WritePrecision

from greenws_influxdb.settings import PRECISIONS

__all__ = ["LineSerializer"]

_WRITE_PRECISION = {
    "ns": WritePrecision.NS,
    "u": WritePrecision.US,
    "ms": WritePrecision.MS,
    "s": WritePrecision.S,
}


def _convert(value: str, kind: str) -> Any:
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            return value
    if kind == "float":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "bool":
        return value.strip().lower() in ("1", "true")
    return value


class LineSerializer:
    """Turns sample tuples into line-protocol text; one per output (it remembers timestamps)."""

    def __init__(self, tags_as_fields: dict[str, str], precision: str = "ns") -> None:
        self.tags_as_fields = tags_as_fields
        self.precision = precision
        self.per_second = PRECISIONS[precision]
        self.write_precision = _WRITE_PRECISION[precision]
        #: Only sub-millisecond precisions are nudged; at ms or s a nudge would distort time.
        self.unique_times = precision in ("ns", "u")
        self._split: dict[Any, tuple[dict[str, str], dict[str, Any], frozenset[Any]]] = {}
        self._last_time: dict[tuple[str, frozenset[Any]], int] = {}

    def _split_tags(self, tags: Any) -> tuple[dict[str, str], dict[str, Any], frozenset[Any]]:
        cached = self._split.get(tags)
        if cached is None:
            moved = self.tags_as_fields
            point_tags = {k: v for k, v in tags.items() if v != "" and k not in moved}
            fields = {k: _convert(v, moved[k]) for k, v in tags.items() if v != "" and k in moved}
            cached = (point_tags, fields, frozenset(point_tags.items()))
            if len(self._split) > 100_000:  # bound the cache on tag-heavy tests
                self._split.clear()
            self._split[tags] = cached
        return cached

    def lines(self, samples: Sequence[Any]) -> list[str]:
        """One line per sample, in order."""
        out = []
        per_second = self.per_second
        last_time = self._last_time
        write_precision = self.write_precision
        for metric, when, value, tags in samples:
            point_tags, fields, series = self._split_tags(tags)
            stamp = int(when * per_second)
            if self.unique_times:
                key = (metric.name, series)
                previous = last_time.get(key)
                if previous is not None and stamp <= previous:
                    stamp = previous + 1
                last_time[key] = stamp
            point = Point(metric.name)
            for name, tag_value in point_tags.items():
                point.tag(name, tag_value)
            point.field("value", float(value))
            for name, field_value in fields.items():
                point.field(name, field_value)
            point.time(stamp, write_precision)
            out.append(point.to_line_protocol())
        if len(last_time) > 200_000:
            last_time.clear()
        return out
