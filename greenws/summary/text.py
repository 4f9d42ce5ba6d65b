"""The end-of-test text summary, laid out as k6 (>= 1.0) prints it.

Layout rules come from grafana/k6 ``internal/js/summary.js`` (the renderer),
``internal/output/summary/data.go`` (what goes in each block) and ``internal/js/summary-wrapper.js``
(how it is written to stdout). The shape, for a k6 user to recognise::

      █ THRESHOLDS

        ws_connecting
        ✓ 'p(95)<500' p(95)=1.2ms


      █ TOTAL RESULTS

        checks_total.......: 10      1.99/s
        ...
        ✓ status is 101

        CUSTOM
        my_counter.........: 4      0.79/s

        EXECUTION
        ...

Each block computes its own column widths, so the colons line up within a block (checks,
metrics, one group) but not necessarily across blocks. That is what k6 prints today: its renderer
intends one global width but computes it with a ``reduce`` lacking an initial value, which yields
``NaN`` and falls back to per-block widths.

The input is the ``handleSummary`` data dict. Two optional extensions feed ``mode="full"``:
a group dict may carry ``"metrics"`` (same shape as the top-level ones, aggregated over that
group's samples only) and the data may carry ``"scenarios"`` (name -> group-shaped dict), which
print as ``█ SCENARIO:`` blocks. Without them a group block lists only its checks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .formatting import (
    DEFAULT_TREND_STATS,
    Ansi,
    display_width,
    dotted_leader,
    humanize_value,
    js_number,
    sort_metric_names,
    submetric_display_name,
    trend_stat_value,
)
from .sections import SECTIONS, base_name, group_by_section

__all__ = ["MODES", "render_summary", "stdout_summary"]

#: Summary modes this renderer knows. k6 2.x dropped ``legacy``; ``disabled`` is the caller's
#: business (print nothing).
MODES: tuple[str, ...] = ("compact", "full")

_NL = "\n"  # a token that ends the current line (a blank line when it follows another _NL)
_TITLE_PREFIX = "█"
_SUBTITLE_PREFIX = "↳"
_PASS = "✓"
_FAIL = "✗"
_HIDDEN_GROUPS = frozenset({"setup", "teardown"})  # k6 leaves their samples out of group blocks

Metric = Mapping[str, Any]


@dataclass(frozen=True)
class _Options:
    trend_stats: tuple[str, ...]
    time_unit: str | None
    duration_s: float
    mode: str
    ansi: Ansi


def _indent(level: int) -> str:
    """k6 indents two spaces per level; level 1 is the top-level title."""
    return " " * (2 * level)


# ------------------------------------------------------------------------ per-block column widths


@dataclass
class _Cells:
    """Pre-formatted values of one block and the widths that align them (k6's SummaryInfo)."""

    max_name_width: int = 0
    trend_cols: dict[str, list[str]] = field(default_factory=dict)
    trend_extra: dict[str, dict[str, str]] = field(default_factory=dict)
    trend_widths: list[int] = field(default_factory=list)
    main: dict[str, str] = field(default_factory=dict)
    extras: dict[str, list[str]] = field(default_factory=dict)
    main_width: int = 0
    extra_widths: list[int] = field(default_factory=list)


def _values(metric: Metric) -> Mapping[str, Any]:
    values = metric.get("values")
    return values if isinstance(values, Mapping) else {}


def _num(values: Mapping[str, Any], key: str) -> float | None:
    value = values.get(key)
    return float(value) if isinstance(value, (int, float)) else None


def _human(metric: Metric, value: float | None, opts: _Options) -> str:
    return humanize_value(
        value,
        metric_type=str(metric.get("type", "")),
        contains=str(metric.get("contains", "default")),
        time_unit=opts.time_unit,
    )


def _non_trend_cells(metric: Metric, opts: _Options) -> list[str]:
    """Main value then extras: ``[count, rate/s]``, ``[value, min=, max=]``, ``[%, x out of y]``."""
    values = _values(metric)
    kind = metric.get("type")
    if kind == "counter":
        return [
            _human(metric, _num(values, "count"), opts),
            _human(metric, _num(values, "rate"), opts) + "/s",
        ]
    if kind == "gauge":
        return [
            _human(metric, _num(values, "value"), opts),
            "min=" + _human(metric, _num(values, "min"), opts),
            "max=" + _human(metric, _num(values, "max"), opts),
        ]
    if kind == "rate":
        passes = _num(values, "passes") or 0.0
        fails = _num(values, "fails") or 0.0
        return [
            _human(metric, _num(values, "rate"), opts),
            f"{js_number(passes)} out of {js_number(passes + fails)}",
        ]
    return ["[no data]"]


def _compute_cells(metrics: Mapping[str, Metric], indent: str, opts: _Options) -> _Cells:
    cells = _Cells(trend_widths=[0] * len(opts.trend_stats))
    for name, metric in metrics.items():
        shown = indent + submetric_display_name(name)
        cells.max_name_width = max(cells.max_name_width, display_width(shown))
        values = _values(metric)
        contains = str(metric.get("contains", "default"))
        if metric.get("type") == "trend":
            cols = [
                trend_stat_value(s, _num(values, s), contains=contains, time_unit=opts.time_unit)
                for s in opts.trend_stats
            ]
            for i, col in enumerate(cols):
                cells.trend_widths[i] = max(cells.trend_widths[i], display_width(col))
            cells.trend_cols[name] = cols
            cells.trend_extra[name] = {
                k: trend_stat_value(k, _num(values, k), contains=contains, time_unit=opts.time_unit)
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


def _metric_line(name: str, metric: Metric, cells: _Cells, indent: str, opts: _Options) -> str:
    """``name.....: data`` with the dots sized so every colon in the block lines up."""
    ansi = opts.ansi
    shown = submetric_display_name(name)
    leader = dotted_leader(display_width(shown) + len(indent), cells.max_name_width)
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
    return indent + head + " " + data


def _metric_lines(
    metrics: Mapping[str, Metric],
    cells: _Cells,
    indent: str,
    opts: _Options,
    *,
    sort: bool = True,
) -> list[str]:
    names = sort_metric_names(metrics) if sort else list(metrics)
    return [_metric_line(n, metrics[n], cells, indent, opts) for n in names]


# ------------------------------------------------------------------------------------ thresholds


def _threshold_ok(result: Any) -> bool:
    return bool(result.get("ok")) if isinstance(result, Mapping) else bool(result)


def _threshold_value(name: str, metric: Metric, source: str, cells: _Cells, opts: _Options) -> str:
    """The observed value a threshold was judged on, e.g. ``p(95)=1.2ms`` (k6 shows it inline)."""
    agg = re.split(r"[=><]", source, maxsplit=1)[0].strip()
    kind = metric.get("type")
    if kind == "trend":
        if agg in opts.trend_stats:
            value = cells.trend_cols[name][opts.trend_stats.index(agg)]
        else:
            value = cells.trend_extra[name].get(agg, "n/a")
    elif kind == "counter" and agg != "count":
        extras = cells.extras[name]
        value = extras[0] if extras else "n/a"
    else:
        value = cells.main[name]
    return opts.ansi.decorate(agg, "white") + "=" + opts.ansi.decorate(value, "cyan")


def _threshold_tokens(metrics: Mapping[str, Metric], opts: _Options) -> list[str]:
    with_thresholds = {n: m for n, m in metrics.items() if m.get("thresholds")}
    if not with_thresholds:
        return []
    ansi = opts.ansi
    indent = _indent(2)
    cells = _compute_cells(with_thresholds, indent, opts)
    tokens: list[str] = []
    for name in sort_metric_names(with_thresholds):
        metric = with_thresholds[name]
        parent = base_name(name)
        nested = parent != name and parent in with_thresholds
        # A sub-metric whose parent is listed too shows only its tags, one level deeper.
        inner = _indent(3) if nested else indent
        tokens.append(inner + (name[len(parent) :] if nested else name))
        for source, result in metric["thresholds"].items():
            ok = _threshold_ok(result)
            mark = ansi.decorate(_PASS, "green") if ok else ansi.decorate(_FAIL, "red")
            quoted = ansi.decorate(f"'{source.strip()}'", "white")
            value = _threshold_value(name, metric, source, cells, opts)
            tokens.append(f"{inner}{mark} {quoted} {value}")
        tokens.append(_NL)
    return tokens


# ---------------------------------------------------------------------------------------- checks


@dataclass
class _Check:
    name: str
    passes: int
    fails: int


def _as_list(items: Any) -> list[Mapping[str, Any]]:
    """Groups and checks arrive as lists (handleSummary data) or name-keyed dicts (export)."""
    if isinstance(items, Mapping):
        items = list(items.values())
    if not isinstance(items, Sequence):
        return []
    return [i for i in items if isinstance(i, Mapping)]


def _own_checks(group: Mapping[str, Any]) -> list[_Check]:
    return [
        _Check(str(c.get("name", "")), int(c.get("passes", 0)), int(c.get("fails", 0)))
        for c in _as_list(group.get("checks"))
    ]


def _all_checks(group: Mapping[str, Any]) -> list[_Check]:
    """Every check in the tree, merged by name as k6's TOTAL RESULTS does, first seen first."""
    merged: dict[str, _Check] = {}

    def walk(node: Mapping[str, Any]) -> None:
        for check in _own_checks(node):
            seen = merged.setdefault(check.name, _Check(check.name, 0, 0))
            seen.passes += check.passes
            seen.fails += check.fails
        for child in _as_list(node.get("groups")):
            walk(child)

    walk(group)
    return list(merged.values())


def _checks_metrics(passes: float, fails: float, opts: _Options) -> dict[str, Metric]:
    """checks_total / checks_succeeded / checks_failed, derived as k6's summary output does.

    checks_failed is a rate *of failures*: its "passes" are failed checks, so it reads
    ``0.00% 0 out of 10`` on a clean run.
    """
    total = passes + fails
    per_s = total / opts.duration_s if opts.duration_s > 0 else 0.0
    return {
        "checks_total": {
            "type": "counter",
            "contains": "default",
            "values": {"count": total, "rate": per_s},
        },
        "checks_succeeded": {
            "type": "rate",
            "contains": "default",
            "values": {"rate": passes / total if total else 0.0, "passes": passes, "fails": fails},
        },
        "checks_failed": {
            "type": "rate",
            "contains": "default",
            "values": {"rate": fails / total if total else 0.0, "passes": fails, "fails": passes},
        },
    }


def _check_tokens(
    checks: list[_Check], counts: tuple[float, float] | None, level: int, opts: _Options
) -> list[str]:
    """The checks block of a group at ``level`` (0 for TOTAL RESULTS): three totals, a blank
    line, one line per check. ``counts`` (passes, fails) overrides the sum over ``checks``."""
    if counts is None:
        if not checks:
            return []
        counts = (sum(c.passes for c in checks), sum(c.fails for c in checks))
    ansi = opts.ansi
    indent = _indent(level + 2)
    metrics = _checks_metrics(counts[0], counts[1], opts)
    cells = _compute_cells(metrics, indent, opts)
    tokens = [*_metric_lines(metrics, cells, indent, opts, sort=False), _NL]
    for check in checks:
        if check.fails == 0:
            tokens.append(indent + ansi.decorate(f"{_PASS} {check.name}", "green"))
            continue
        pct = math.floor(100 * check.passes / (check.passes + check.fails))
        detail = f"{_SUBTITLE_PREFIX}  {pct}% — {_PASS} {check.passes} / {_FAIL} {check.fails}"
        # k6 indents this line by its context level twice over (+1): two spaces under the
        # name at the top level, more in nested groups. Kept so the lines match k6's.
        tokens.append(indent + ansi.decorate(f"{_FAIL} {check.name}", "red"))
        tokens.append(_indent(2 * (level + 1) + 1) + ansi.decorate(detail, "red"))
    tokens.append(_NL)
    return tokens


# --------------------------------------------------------------------------------------- metrics


def _section_tokens(metrics: Mapping[str, Metric], level: int, opts: _Options) -> list[str]:
    """CUSTOM, HTTP, EXECUTION... each a bold title, its metrics by name, a blank line.

    ``level`` is the enclosing group's (0 for TOTAL RESULTS); one width is computed over all
    sections so their colons line up.
    """
    indent = _indent(level + 2)
    grouped = group_by_section(metrics, mode=opts.mode, sections=SECTIONS)
    visible = {name: m for _, bucket in grouped for name, m in bucket.items()}
    cells = _compute_cells(visible, indent, opts)
    tokens: list[str] = []
    for section, bucket in grouped:
        tokens.append(indent + opts.ansi.bold(section.title))
        tokens.extend(_metric_lines(bucket, cells, indent, opts))
        tokens.append(_NL)
    return tokens


def _title(text: str, level: int, opts: _Options, prefix: str = _TITLE_PREFIX) -> str:
    # The trailing newline makes the title's own blank line, as in k6.
    return _indent(level) + f"{prefix} {opts.ansi.bold(text)} \n"


def _group_tokens(group: Mapping[str, Any], level: int, opts: _Options) -> list[str]:
    """One group's checks, metrics and nested groups (``↳ GROUP:``), for full mode."""
    metrics = group.get("metrics")
    metrics = metrics if isinstance(metrics, Mapping) else {}
    checks_metric = metrics.get("checks")
    counts = _check_counts(checks_metric) if isinstance(checks_metric, Mapping) else None
    tokens = _check_tokens(_own_checks(group), counts, level, opts)
    tokens += _section_tokens(metrics, level, opts)
    for child in _as_list(group.get("groups")):
        tokens.append(_title(f"GROUP: {child.get('name', '')}", level + 2, opts, _SUBTITLE_PREFIX))
        tokens += _group_tokens(child, level + 1, opts)
    return tokens


def _check_counts(checks_metric: Mapping[str, Any]) -> tuple[float, float]:
    values = _values(checks_metric)
    return (_num(values, "passes") or 0.0, _num(values, "fails") or 0.0)


# ----------------------------------------------------------------------------------------- entry


def _options(data: Mapping[str, Any], mode: str, color: bool) -> _Options:
    if mode not in MODES:
        raise ValueError(f"unknown summary mode {mode!r}; expected one of {', '.join(MODES)}")
    options = data.get("options")
    options = options if isinstance(options, Mapping) else {}
    state = data.get("state")
    state = state if isinstance(state, Mapping) else {}
    stats = options.get("summaryTrendStats") or DEFAULT_TREND_STATS
    duration_ms = state.get("testRunDurationMs")
    return _Options(
        trend_stats=tuple(str(s) for s in stats),
        time_unit=options.get("summaryTimeUnit") or None,
        duration_s=float(duration_ms) / 1000 if isinstance(duration_ms, (int, float)) else 0.0,
        mode=mode,
        ansi=Ansi(color),
    )


def _assemble(sections: list[tuple[str, list[str]]]) -> str:
    """Join titled sections the way k6 does, then drop trailing blanks on every line.

    A token ``"\\n"`` ends the line (so two in a row leave a blank line); any other token starts
    a new line. k6 leaves padding spaces at line ends; they are invisible, so we trim them.
    """
    out: list[str] = []
    for title, content in sections:
        for token in (title, *content, _NL):
            out.append(token if token == _NL else _NL + token)
    return "\n".join(line.rstrip() for line in "".join(out).split("\n"))


def render_summary(data: Mapping[str, Any], *, mode: str = "compact", color: bool = False) -> str:
    """Render k6's end-of-test summary for ``data`` (the ``handleSummary`` data dict).

    Args:
        data: ``root_group``, ``metrics``, ``state`` and ``options`` as handleSummary gets them.
        mode: ``"compact"`` (k6's default) or ``"full"``, which also shows the HTTP timing
            breakdown and a ``█ GROUP:`` block per top-level group (plus ``█ SCENARIO:`` blocks
            when ``data["scenarios"]`` is given).
        color: emit ANSI colours (green ✓, red ✗, cyan values, faint dots, bold titles).

    Returns:
        The summary text as k6's ``textSummary`` returns it: it starts with a newline and ends
        with a blank line. :func:`stdout_summary` adds the framing k6 writes to stdout.
    """
    opts = _options(data, mode, color)
    metrics = data.get("metrics")
    metrics = metrics if isinstance(metrics, Mapping) else {}
    root = data.get("root_group")
    root = root if isinstance(root, Mapping) else {}

    sections: list[tuple[str, list[str]]] = []
    thresholds = _threshold_tokens(metrics, opts)
    if thresholds:
        sections.append((_title("THRESHOLDS", 1, opts), thresholds))

    checks_metric = metrics.get("checks")
    counts = _check_counts(checks_metric) if isinstance(checks_metric, Mapping) else None
    total = _check_tokens(_all_checks(root), counts, 0, opts) + _section_tokens(metrics, 0, opts)
    sections.append((_title("TOTAL RESULTS", 1, opts), total))

    if mode == "full":
        for group in _as_list(root.get("groups")):
            name = str(group.get("name", ""))
            if name not in _HIDDEN_GROUPS:
                sections.append((_title(f"GROUP: {name}", 1, opts), _group_tokens(group, 0, opts)))
        scenarios = data.get("scenarios")
        if isinstance(scenarios, Mapping):
            for name in sorted(scenarios):
                scenario = scenarios[name]
                if isinstance(scenario, Mapping):
                    tokens = _group_tokens(scenario, 0, opts)
                    sections.append((_title(f"SCENARIO: {name}", 1, opts), tokens))
    return _assemble(sections)


def stdout_summary(data: Mapping[str, Any], *, mode: str = "compact", color: bool = False) -> str:
    """What k6 writes to stdout when the script has no ``handleSummary``: the summary framed by
    one leading and two trailing newlines."""
    return "\n" + render_summary(data, mode=mode, color=color) + "\n\n"
