"""Samples to line protocol in k6's layout, byte for byte what influxdb-client's ``Point`` writes.

k6's layout, which its Grafana dashboards query: measurement = metric name; tags = the sample's
tags minus the tags-as-fields, empty ones dropped; fields = ``value`` plus the moved tags
(``vu`` and ``iter`` as integers, ``url`` as a string by default).

Why not a ``Point`` per sample: measured at 7.3–10 µs a sample (``benchmarks/influx_lines.py``), it
was the whole cost of the output, and 100 VUs ping-ponging make ~140,000 samples a second. But the
line of a sample differs from its neighbours' only in the value and the timestamp: everything
else is fixed per (metric, tag set), and tag sets are interned ``TagSet`` objects. So ``Point``
still renders each series, once, with the value field set to two different digits; the two lines
differ in exactly one character, which splits the line into a prefix and a suffix around the
value. Per sample only the value (``Point``'s own float format: ``str``, ``.0`` trimmed) and the
timestamp are formatted: 0.64 µs a sample, measured alternately with the ``Point`` version
(benchmarks/RESULTS.md, 2026-12-06). A value that
``Point`` would drop (NaN, ±inf) takes ``Point`` itself. ``tests/outputs/test_influx_lines.py``
holds both paths equal on random tags.

InfluxDB keeps one point per (measurement, tag set, timestamp): a second sample of the same
series at the same instant overwrites the first. ``time.time()`` has a resolution of about 240 ns
today and two messages read in one go are stamped within that, so at ``ns``/``u`` precision a
colliding timestamp is moved one unit later. That keeps the point count equal to the sample
count (the summary's), at the price of a nanosecond of skew.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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

#: Series templates kept before the cache is emptied (tag-heavy tests: one URL per request).
_MAX_SERIES = 100_000
#: Before the first timestamp of a series: earlier than any.
_NEVER = -(2**63)


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


class _Series:
    """One (metric, tag set)'s line around its value, and the clock its timestamps are nudged by."""

    __slots__ = ("clock", "fields", "name", "prefix", "suffix", "tags")

    def __init__(self, name: str, tags: dict[str, str], fields: dict[str, Any]) -> None:
        self.name = name
        self.tags = tags
        self.fields = fields
        #: The last timestamp written, shared by every tag set that is this series in InfluxDB
        #: (tag sets that differ only in moved tags, e.g. ``vu``); set by the serializer.
        self.clock = [_NEVER]
        #: None when a tag moved to a field called ``value`` overwrites the sample's value (as
        #: with ``Point``): then ``Point`` renders every line.
        self.prefix: str | None = None
        self.suffix = ""
        if "value" not in fields:
            one = self.point(1.0).to_line_protocol()
            two = self.point(2.0).to_line_protocol()
            at = next(i for i, (a, b) in enumerate(zip(one, two, strict=True)) if a != b)
            self.prefix, self.suffix = one[:at], one[at + 1 :] + " "

    def point(self, value: float) -> Point:
        """The library's own rendering of this series with ``value`` and no time."""
        point = Point(self.name)
        for name, tag_value in self.tags.items():
            point.tag(name, tag_value)
        point.field("value", value)
        for name, field_value in self.fields.items():
            point.field(name, field_value)
        return point


class LineSerializer:
    """Turns sample tuples into line-protocol text; one per output (it remembers timestamps)."""

    def __init__(self, tags_as_fields: Mapping[str, str], precision: str = "ns") -> None:
        self.tags_as_fields = dict(tags_as_fields)
        self.precision = precision
        self.per_second = PRECISIONS[precision]
        self.write_precision = _WRITE_PRECISION[precision]
        #: Only sub-millisecond precisions are nudged; at ms or s a nudge would distort time.
        self.unique_times = precision in ("ns", "u")
        #: (metric, tag set) -> series; both are interned, so equality is identity.
        self._series: dict[tuple[Any, Any], _Series] = {}
        self._clocks: dict[tuple[str, frozenset[Any]], list[int]] = {}
        #: Counters' 1, sizes, VU counts: the text of values seen before (bounded).
        self._texts: dict[float, str] = {}

    def _new_series(self, metric: Any, tags: Mapping[str, str]) -> _Series:
        if len(self._series) >= _MAX_SERIES:  # tag-heavy tests: start again rather than grow
            self._series.clear()
            self._clocks.clear()
        moved = self.tags_as_fields
        point_tags = {k: v for k, v in tags.items() if v != "" and k not in moved}
        fields = {k: _convert(v, moved[k]) for k, v in tags.items() if v != "" and k in moved}
        series = _Series(metric.name, point_tags, fields)
        series.clock = self._clocks.setdefault(
            (metric.name, frozenset(point_tags.items())), [_NEVER]
        )
        self._series[(metric, tags)] = series
        return series

    def _text(self, number: float) -> str | None:
        """``Point``'s float format (``str``, ``.0`` trimmed); None for what it drops."""
        if not math.isfinite(number):
            return None
        text = repr(number)
        if text.endswith(".0"):
            text = text[:-2]
        if number != 0 and len(self._texts) < 4096:  # 0.0 == -0.0, but "0" != "-0"
            self._texts[number] = text
        return text

    def lines(self, samples: Sequence[Any]) -> list[str]:
        """One line per sample, in order."""
        out = []
        append = out.append
        per_second = self.per_second
        unique_times = self.unique_times
        cache = self._series
        texts = self._texts
        for metric, when, value, tags in samples:
            series = cache.get((metric, tags))
            if series is None:
                series = self._new_series(metric, tags)
            stamp = int(when * per_second)
            if unique_times:
                clock = series.clock
                if stamp <= clock[0]:
                    stamp = clock[0] + 1
                clock[0] = stamp
            prefix = series.prefix
            text = texts.get(value)
            if text is None:
                text = self._text(float(value))
            if prefix is None or text is None:
                point = series.point(float(value)).time(stamp, self.write_precision)
                append(point.to_line_protocol())
            else:
                append(f"{prefix}{text}{series.suffix}{stamp}")
        return out
