"""Which charts the report draws, from which series, and what each line is called.

Kept apart from the page (``render.py``) because naming lines is where the report explains the
run: an error line called ``1212`` says nothing, ``1212 (dial: connection refused)`` says what
went wrong, in the words k6 tags the samples with.

Pure: plain data in, plain data out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

from greenws.summary.formatting import humanize_bytes, humanize_duration, js_number, percent

from .charts import Line

__all__ = ["chart_specs", "error_label"]

Format = Callable[[float], str]

#: The line that gathers every ``error_code`` past the first twenty (``series.py``).
_OTHER_CODE = "other"


def error_label(code: str, texts: Sequence[str] | None) -> str:
    """``1212 (dial: connection refused)``: an ``error_code`` and what its samples said.

    ``texts`` are the ``error`` tag values the code's samples carried, most frequent first
    (``SeriesAggregator.error_names``); one code can carry several (k6's generic 1000 stands for
    every abnormal close), so the most frequent is shown and the others counted. Data without
    texts (an older report, a sample with no ``error`` tag) leaves the code alone.
    """
    if code == _OTHER_CODE:
        return "other (codes past the first 20)"
    if not texts:
        return code
    first, rest = texts[0], len(texts) - 1
    return f"{code} ({first}; +{rest} more)" if rest else f"{code} ({first})"


#: Formatted values are kept (bounded): the live dashboard redraws every point's hover title on
#: each update, and percentiles of a bucketed histogram repeat the same few values; formatting
#: them again was a quarter of an update's cost on a one-minute test.
_cached = lru_cache(maxsize=16_384)


@cache  # one per base format (a handful), so its cache outlives an update
def _per_second(format_value: Format) -> Format:
    return _cached(lambda value: format_value(value) + "/s")


@_cached
def _rate_number(value: float) -> str:
    return js_number(float(f"{value:.3g}")) if value else "0"


@_cached
def _ms(value: float) -> str:
    return humanize_duration(value)


_bytes = _cached(humanize_bytes)


def chart_specs(series: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The charts to draw, in page order: ``{"id", "title", "lines", "format", "empty"}``.

    A chart whose data is missing keeps its place with an ``empty`` note saying why, so a reader
    sees that nothing happened rather than wondering whether the chart was forgotten.
    """
    rates = series.get("rates", {})
    gauges = series.get("gauges", {})
    trends = series.get("trends", {})
    errors = series.get("errors", {})

    def pick(source: Mapping[str, Any], names: Sequence[str]) -> list[Line]:
        return [Line(name, source[name]) for name in names if name in source]

    specs: list[dict[str, Any]] = [
        {
            "id": "vus",
            "title": "Active VUs",
            "lines": pick(gauges, ("vus", "vus_max")),
            "format": _rate_number,
            "empty": "no vus samples",
        },
        {
            "id": "connections",
            "title": "Open connections",
            "lines": pick(gauges, ("open_connections",)),
            "format": _rate_number,
            "empty": "no open_connections samples",
        },
        {
            "id": "sessions",
            "title": "Sessions and iterations per second",
            "lines": pick(rates, ("ws_sessions", "iterations")),
            "format": _per_second(_rate_number),
            "empty": "no sessions or iterations",
        },
        {
            "id": "messages",
            "title": "Messages per second",
            "lines": pick(rates, ("ws_msgs_sent", "ws_msgs_received")),
            "format": _per_second(_rate_number),
            "empty": "no messages were sent or received",
        },
        {
            "id": "data",
            "title": "Data rate",
            "lines": pick(rates, ("data_sent", "data_received")),
            "format": _per_second(_bytes),
            "empty": "no data was sent or received",
        },
    ]
    for name, empty in (
        ("ws_connecting", "no ws_connecting samples"),
        ("ws_ping", "no ws_ping samples: the script sent no pings"),
        ("ws_request_duration", None),  # only runs that measure requests emit it
    ):
        lines = trends.get(name)
        if lines is None and empty is None:
            continue
        specs.append(
            {
                "id": name,
                "title": f"{name} p50 / p95 / p99",
                "lines": [Line(label, values) for label, values in (lines or {}).items()],
                "format": _ms,
                "empty": empty,
            }
        )
    names = series.get("error_names") or {}
    specs.append(
        {
            "id": "errors",
            "title": "Errors per second by error_code",
            "lines": [
                Line(error_label(code, names.get(code)), values) for code, values in errors.items()
            ],
            "format": _per_second(_rate_number),
            "empty": "no errors: no ws_sessions or ws_request_duration sample carried an "
            "error_code tag",
        }
    )
    specs.extend(_custom_specs(series.get("custom") or {}))
    return specs


def _value_format(contains: str) -> Format:
    if contains == "time":
        return _ms
    if contains == "data":
        return _bytes
    return _rate_number


def _custom_specs(custom: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One chart per other metric (custom ones, kits' ones, built-ins without their own chart),
    in order of first sample: counters per second, gauges as read, Rates as the share of
    non-zero values, Trends as p50 / p95 / p99."""
    specs = []
    for name, entry in custom.items():
        kind = str(entry.get("type", ""))
        contains = str(entry.get("contains", "default"))
        if kind == "trend":
            lines = [Line(label, values) for label, values in (entry.get("lines") or {}).items()]
            title, format_value = f"{name} p50 / p95 / p99", _value_format(contains)
        elif kind == "rate":
            lines = [Line(name, entry.get("values") or [])]
            title, format_value = f"{name} (share of non-zero values)", percent
        elif kind == "counter":
            lines = [Line(name, entry.get("values") or [])]
            title, format_value = f"{name} per second", _per_second(_value_format(contains))
        else:
            lines = [Line(name, entry.get("values") or [])]
            title, format_value = name, _value_format(contains)
        specs.append(
            {
                "id": "metric:" + name,
                "title": title,
                "lines": lines,
                "format": format_value,
                "empty": f"no {name} samples",
            }
        )
    return specs
