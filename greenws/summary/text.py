"""The end-of-test text summary, laid out as k6 v2.2.0 prints it.

Layout rules come from grafana/k6 ``internal/js/summary.js`` (the renderer),
``internal/output/summary/summary.go`` and ``data.go`` (what goes in each block) and
``internal/js/summary-wrapper.js`` (how it is written to stdout). The shape, for a k6 user to
recognise::

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

``--summary-mode full`` adds, after TOTAL RESULTS, a ``█ GROUP:`` block per top-level group of
the samples outside any named scenario, then a ``█ SCENARIO:`` block per named scenario (by
name), each with its checks, its metrics by section and its nested groups (``↳ GROUP:``, two
spaces deeper per level). The data for them is greenws's ``breakdown`` key
(:mod:`greenws.metrics.breakdown` says which samples count where). Data without it (a compact
run's, an export) prints each group of ``root_group`` with its checks only.

Each block computes its own column widths, so the colons line up within a block (checks,
metrics, one group) but not necessarily across blocks. That is what k6 prints: its renderer
intends one global width but computes it with a ``reduce`` lacking an initial value, which yields
``NaN`` and falls back to per-block widths. The lines of a block are
:mod:`greenws.summary.metric_lines`'s, the checks :mod:`greenws.summary.check_lines`'.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .check_lines import all_checks, as_list, check_counts, check_tokens, own_checks
from .formatting import DEFAULT_TREND_STATS, Ansi, sort_metric_names, sort_names
from .metric_lines import (
    NL,
    Cells,
    Metric,
    RenderOptions,
    compute_cells,
    indent,
    section_tokens,
    title,
)
from .sections import base_name

__all__ = ["MODES", "render_summary", "stdout_summary"]

#: Summary modes this renderer knows. k6 2.x dropped ``legacy``; ``disabled`` is the caller's
#: business (print nothing).
MODES: tuple[str, ...] = ("compact", "full")

_SUBTITLE_PREFIX = "↳"
_PASS = "✓"
_FAIL = "✗"
_HIDDEN_GROUPS = frozenset({"setup", "teardown"})  # k6 leaves their samples out of group blocks


# ------------------------------------------------------------------------------------ thresholds


def _threshold_ok(result: Any) -> bool:
    return bool(result.get("ok")) if isinstance(result, Mapping) else bool(result)


def _threshold_value(
    name: str, metric: Metric, source: str, cells: Cells, opts: RenderOptions
) -> str:
    """The observed value a threshold was judged on, e.g. ``p(95)=1.2ms`` (k6 shows it inline).

    A Trend stat that is not a column comes from the metric's other values, where the
    aggregator puts every stat a threshold needs; ``!`` is cut with the operator (k6 keeps it
    and then finds no value for ``avg!``).
    """
    agg = re.split(r"[=<>!]", source, maxsplit=1)[0].strip()
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


def _threshold_tokens(metrics: Mapping[str, Metric], opts: RenderOptions) -> list[str]:
    with_thresholds = {n: m for n, m in metrics.items() if m.get("thresholds")}
    if not with_thresholds:
        return []
    ansi = opts.ansi
    indentation = indent(2)
    cells = compute_cells(with_thresholds, indentation, opts)
    tokens: list[str] = []
    for name in sort_metric_names(with_thresholds):
        metric = with_thresholds[name]
        parent = base_name(name)
        nested = parent != name and parent in with_thresholds
        # A sub-metric whose parent is listed too shows only its tags, one level deeper.
        inner = indent(3) if nested else indentation
        tokens.append(inner + (name[len(parent) :] if nested else name))
        for source, result in metric["thresholds"].items():
            ok = _threshold_ok(result)
            mark = ansi.decorate(_PASS, "green") if ok else ansi.decorate(_FAIL, "red")
            quoted = ansi.decorate(f"'{source.strip()}'", "white")
            value = _threshold_value(name, metric, source, cells, opts)
            tokens.append(f"{inner}{mark} {quoted} {value}")
        tokens.append(NL)
    return tokens


# ------------------------------------------------------------------------- groups and scenarios


def _block_tokens(block: Mapping[str, Any], level: int, opts: RenderOptions) -> list[str]:
    """A group's or a scenario's checks, metrics and nested groups (``↳ GROUP:``), for full mode.

    ``level`` is the block's nesting (0 for a top-level ``█`` block), as k6's render context.
    """
    metrics = block.get("metrics")
    metrics = metrics if isinstance(metrics, Mapping) else {}
    tokens = check_tokens(own_checks(block), check_counts(metrics), level, opts)
    tokens += section_tokens(metrics, level, opts)
    for child in as_list(block.get("groups")):
        name = f"GROUP: {child.get('name', '')}"
        tokens.append(title(name, level + 2, opts, _SUBTITLE_PREFIX))
        tokens += _block_tokens(child, level + 1, opts)
    return tokens


def _full_mode_sections(
    data: Mapping[str, Any], root: Mapping[str, Any], opts: RenderOptions
) -> list[tuple[str, list[str]]]:
    """The ``█ GROUP:`` blocks, then the ``█ SCENARIO:`` blocks in k6's (locale) name order."""
    breakdown = data.get("breakdown")
    scenarios: Any = None
    if isinstance(breakdown, Mapping):
        groups = as_list(breakdown.get("groups"))
        scenarios = breakdown.get("scenarios")
    else:  # no blocks were aggregated: each group with its checks is all there is to show
        groups = [g for g in as_list(root.get("groups")) if g.get("name") not in _HIDDEN_GROUPS]
    sections = [
        (title(f"GROUP: {group.get('name', '')}", 1, opts), _block_tokens(group, 0, opts))
        for group in groups
    ]
    if isinstance(scenarios, Mapping):
        for name in sort_names(scenarios):
            scenario = scenarios[name]
            if isinstance(scenario, Mapping):
                sections.append(
                    (title(f"SCENARIO: {name}", 1, opts), _block_tokens(scenario, 0, opts))
                )
    return sections


# ----------------------------------------------------------------------------------------- entry


def _options(data: Mapping[str, Any], mode: str, color: bool) -> RenderOptions:
    if mode not in MODES:
        raise ValueError(f"unknown summary mode {mode!r}; expected one of {', '.join(MODES)}")
    options = data.get("options")
    options = options if isinstance(options, Mapping) else {}
    state = data.get("state")
    state = state if isinstance(state, Mapping) else {}
    stats = options.get("summaryTrendStats") or DEFAULT_TREND_STATS
    duration_ms = state.get("testRunDurationMs")
    return RenderOptions(
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
    for heading, content in sections:
        for token in (heading, *content, NL):
            out.append(token if token == NL else NL + token)
    return "\n".join(line.rstrip() for line in "".join(out).split("\n"))


def render_summary(data: Mapping[str, Any], *, mode: str = "compact", color: bool = False) -> str:
    """Render k6's end-of-test summary for ``data`` (the ``handleSummary`` data dict).

    Args:
        data: ``root_group``, ``metrics``, ``state`` and ``options`` as handleSummary gets them,
            and in full mode greenws's ``breakdown`` (``groups``, ``scenarios``).
        mode: ``"compact"`` (k6's default) or ``"full"``, which also shows the HTTP timing
            breakdown and the ``█ GROUP:`` and ``█ SCENARIO:`` blocks (module docstring).
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
        sections.append((title("THRESHOLDS", 1, opts), thresholds))

    total = check_tokens(all_checks(root), check_counts(metrics), 0, opts)
    total += section_tokens(metrics, 0, opts)
    sections.append((title("TOTAL RESULTS", 1, opts), total))

    if mode == "full":
        sections += _full_mode_sections(data, root, opts)
    return _assemble(sections)


def stdout_summary(data: Mapping[str, Any], *, mode: str = "compact", color: bool = False) -> str:
    """What k6 writes to stdout when the script has no ``handleSummary``: the summary framed by
    one leading and two trailing newlines."""
    return "\n" + render_summary(data, mode=mode, color=color) + "\n\n"
