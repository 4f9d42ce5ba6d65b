"""The lines of one block of metrics, ``name.....: value extras``, aligned as k6 aligns them.

Every block of the text summary (the checks totals, TOTAL RESULTS' sections, a group's or a
scenario's sections, the thresholds) is built the same way, after k6's ``computeSummaryInfo`` and
``renderMetricLine`` (``internal/js/summary.js``): first every value of the block is formatted and
the widths that align them are measured (:class:`Cells`), then each line is padded to them. So
this module is shared, and :mod:`greenws.summary.text` only decides which blocks there are.

Output is a list of tokens for :func:`greenws.summary.text.render_summary`'s assembler: ``NL``
ends the current line (two in a row leave a blank one); any other token is a line of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .formatting import (
    Ansi,
    display_width,
    dotted_leader,
    humanize_value,
    js_number,
    sort_metric_names,
    submetric_display_name,
    trend_stat_value,
)
from .sections import SECTIONS, group_by_section

__all__ = [
    "NL",
    "Cells",
    "Metric",
    "RenderOptions",
    "compute_cells",
    "indent",
    "metric_lines",
    "num",
    "section_tokens",
    "title",
    "values_of",
]

NL = "\n"  # a token that ends the current line (a blank line when it follows another NL)
_TITLE_PREFIX = "█"

Metric = Mapping[str, Any]


@dataclass(frozen=True)
class RenderOptions:
    """What every block needs to know: the run's summary options and the duration."""

    trend_stats: tuple[str, ...]
    time_unit: str | None
    duration_s: float
    mode: str
    ansi: Ansi


def indent(level: int) -> str:
    """k6 indents two spaces per level; level 1 is the top-level title."""
    return " " * (2 * level)


def title(text: str, level: int, opts: RenderOptions, prefix: str = _TITLE_PREFIX) -> str:
    """``█ TITLE`` (or ``↳ GROUP: name``); its trailing newline makes k6's blank line under it."""
    return indent(level) + f"{prefix} {opts.ansi.bold(text)} \n"


@dataclass
class Cells:
    """Pre-formatted values of one block and the widths that align them (k6's SummaryInfo)."""

    max_name_width: int = 0
    trend_cols: dict[str, list[str]] = field(default_factory=dict)
    trend_extra: dict[str, dict[str, str]] = field(default_factory=dict)
    trend_widths: list[int] = field(default_factory=list)
    main: dict[str, str] = field(default_factory=dict)
    extras: dict[str, list[str]] = field(default_factory=dict)
    main_width: int = 0
    extra_widths: list[int] = field(default_factory=list)


def values_of(metric: Metric) -> Mapping[str, Any]:
    """A metric's ``values`` dict, or an empty one when the data lacks it."""
    values = metric.get("values")
    return values if isinstance(values, Mapping) else {}


def num(values: Mapping[str, Any], key: str) -> float | None:
    """``values[key]`` as a float, None when it is missing or not a number."""
    value = values.get(key)
    return float(value) if isinstance(value, (int, float)) else None


def _human(metric: Metric, value: float | None, opts: RenderOptions) -> str:
    return humanize_value(
        value,
        metric_type=str(metric.get("type", "")),
        contains=str(metric.get("contains", "default")),
        time_unit=opts.time_unit,
    )


def _non_trend_cells(metric: Metric, opts: RenderOptions) -> list[str]:
    """Main value then extras: ``[count, rate/s]``, ``[value, min=, max=]``, ``[%, x out of y]``."""
    values = values_of(metric)
    kind = metric.get("type")
    if kind == "counter":
        return [
            _human(metric, num(values, "count"), opts),
            _human(metric, num(values, "rate"), opts) + "/s",
        ]
    if kind == "gauge":
        return [
            _human(metric, num(values, "value"), opts),
            "min=" + _human(metric, num(values, "min"), opts),
            "max=" + _human(metric, num(values, "max"), opts),
        ]
    if kind == "rate":
        passes = num(values, "passes") or 0.0
        fails = num(values, "fails") or 0.0
        return [
            _human(metric, num(values, "rate"), opts),
            f"{js_number(passes)} out of {js_number(passes + fails)}",
        ]
    return ["[no data]"]


def compute_cells(metrics: Mapping[str, Metric], indentation: str, opts: RenderOptions) -> Cells:
    """Format every value of the block and measure the widths its lines are padded to."""
    cells = Cells(trend_widths=[0] * len(opts.trend_stats))
    for name, metric in metrics.items():
        shown = indentation + submetric_display_name(name)
        cells.max_name_width = max(cells.max_name_width, display_width(shown))
        values = values_of(metric)
        contains = str(metric.get("contains", "default"))
        if metric.get("type") == "trend":
            cols = [
                trend_stat_value(s, num(values, s), contains=contains, time_unit=opts.time_unit)
                for s in opts.trend_stats
            ]
            for i, col in enumerate(cols):
                cells.trend_widths[i] = max(cells.trend_widths[i], display_width(col))
            cells.trend_cols[name] = cols
            # Stats outside the columns, for the thresholds that are judged on them.
            cells.trend_extra[name] = {
                k: trend_stat_value(k, num(values, k), contains=contains, time_unit=opts.time_unit)
                for k in values
                if k not in opts.trend_stats
            }
            continue
        main, *extras = _non_trend_cells(metric, opts)
        cells.main[name] = main
        cells.extras[name] = extras
        cells.main_width = max(cells.main_width, display_width(main))
        for i, extra in enumerate(extras):
            if i == len(cells.extra_widths):
                cells.extra_widths.append(0)
            cells.extra_widths[i] = max(cells.extra_widths[i], display_width(extra))
    return cells


def _metric_line(
    name: str, metric: Metric, cells: Cells, indentation: str, opts: RenderOptions
) -> str:
    """``name.....: data`` with the dots sized so every colon in the block lines up."""
    ansi = opts.ansi
    shown = submetric_display_name(name)
    leader = dotted_leader(display_width(shown) + len(indentation), cells.max_name_width)
    head = shown + ansi.decorate(leader, "white", "faint")
    if metric.get("type") == "trend":
        data = " ".join(
            f"{stat}={ansi.decorate(col, 'cyan')}" + " " * (width - display_width(col))
            for stat, col, width in zip(
                opts.trend_stats, cells.trend_cols[name], cells.trend_widths, strict=True
            )
        )
    else:
        main = cells.main[name]
        data = ansi.decorate(main, "cyan") + " " * (cells.main_width - display_width(main))
        extras = cells.extras[name]
        if len(extras) == 1:
            data += " " + ansi.decorate(extras[0], "cyan", "faint")
        elif extras:
            data += " " + " ".join(
                ansi.decorate(v, "cyan", "faint") + " " * (w - display_width(v))
                for v, w in zip(extras, cells.extra_widths, strict=False)
            )
    return indentation + head + " " + data


def metric_lines(
    metrics: Mapping[str, Metric],
    cells: Cells,
    indentation: str,
    opts: RenderOptions,
    *,
    sort: bool = True,
) -> list[str]:
    """One line per metric, by name in k6's order unless ``sort`` is False."""
    names = sort_metric_names(metrics) if sort else list(metrics)
    return [_metric_line(n, metrics[n], cells, indentation, opts) for n in names]


def section_tokens(metrics: Mapping[str, Metric], level: int, opts: RenderOptions) -> list[str]:
    """CUSTOM, HTTP, EXECUTION... each a bold title, its metrics by name, a blank line.

    ``level`` is the enclosing group's (0 for TOTAL RESULTS and top-level blocks); one width is
    computed over all sections of the block so their colons line up.
    """
    indentation = indent(level + 2)
    grouped = group_by_section(metrics, mode=opts.mode, sections=SECTIONS)
    visible = {name: m for _, bucket in grouped for name, m in bucket.items()}
    cells = compute_cells(visible, indentation, opts)
    tokens: list[str] = []
    for section, bucket in grouped:
        tokens.append(indentation + opts.ansi.bold(section.title))
        tokens.extend(metric_lines(bucket, cells, indentation, opts))
        tokens.append(NL)
    return tokens
