"""The report page: plain data in, one self-contained HTML document out.

Pure: no clock, no files. Which charts there are, and what their lines are called, is
``specs.py``. Every number in the tables goes through the console summary's own
formatters (``greenws.summary.formatting``) and section rules (``greenws.summary.sections``), so
``1.23ms`` or ``1.4 kB`` reads the same on the page as in the terminal. Charts are inline SVG
(``charts.py``); styles are inlined; the page loads nothing, so it opens from a ticket attachment
on a machine without network access. A JSON copy of the data sits in a non-executed
``<script type="application/json" id="greenws-report-data">`` for anyone who wants to re-plot it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from greenws.summary.formatting import (
    DEFAULT_TREND_STATS,
    humanize_duration,
    humanize_value,
    js_number,
    percent,
    plain_number,
    sort_metric_names,
    submetric_display_name,
    trend_stat_value,
)
from greenws.summary.sections import group_by_section

from .charts import line_chart
from .live_script import live_script
from .specs import chart_specs
from .style import STYLE

__all__ = ["EXIT_MEANINGS", "render_main", "render_report", "report_data"]

#: k6's exit codes, as the README lists them.
EXIT_MEANINGS: dict[int, str] = {
    0: "ok",
    99: "thresholds failed",
    100: "setup timed out",
    101: "teardown timed out",
    104: "invalid options or output",
    105: "interrupted",
    107: "script error",
    108: "aborted by the script",
}

Metric = Mapping[str, Any]


# -------------------------------------------------------------------------------------- values


def _values(metric: Metric) -> Mapping[str, Any]:
    values = metric.get("values")
    return values if isinstance(values, Mapping) else {}


def _num(values: Mapping[str, Any], key: str) -> float | None:
    value = values.get(key)
    return float(value) if isinstance(value, (int, float)) else None


def _human(metric: Metric, value: float | None, time_unit: str | None) -> str:
    return humanize_value(
        value,
        metric_type=str(metric.get("type", "")),
        contains=str(metric.get("contains", "default")),
        time_unit=time_unit,
    )


def _plain_cells(metric: Metric, time_unit: str | None) -> tuple[str, str]:
    """Value and detail of a non-trend metric, worded as the console summary words them."""
    values = _values(metric)
    kind = metric.get("type")
    if kind == "counter":
        return (
            _human(metric, _num(values, "count"), time_unit),
            _human(metric, _num(values, "rate"), time_unit) + "/s",
        )
    if kind == "gauge":
        low = _human(metric, _num(values, "min"), time_unit)
        high = _human(metric, _num(values, "max"), time_unit)
        return _human(metric, _num(values, "value"), time_unit), f"min={low} max={high}"
    if kind == "rate":
        passes = _num(values, "passes") or 0.0
        fails = _num(values, "fails") or 0.0
        return (
            _human(metric, _num(values, "rate"), time_unit),
            f"{js_number(passes)} out of {js_number(passes + fails)}",
        )
    return "[no data]", ""


def _metric_tables(
    metrics: Mapping[str, Metric], trend_stats: Sequence[str], unit: str | None
) -> str:
    """One table per kind of row (trends have a column per stat), grouped by summary section."""
    grouped = group_by_section(metrics)
    if not grouped:
        return '<p class="empty">no metrics</p>'
    trend_rows: list[str] = []
    plain_rows: list[str] = []
    for section, bucket in grouped:
        names = sort_metric_names(bucket)
        trends = [n for n in names if bucket[n].get("type") == "trend"]
        plain = [n for n in names if bucket[n].get("type") != "trend"]
        if plain:
            plain_rows.append(f'<tr class="section"><th colspan="3">{section.title}</th></tr>')
            for name in plain:
                value, detail = _plain_cells(bucket[name], unit)
                plain_rows.append(
                    f'<tr><td class="metric">{escape(submetric_display_name(name))}</td>'
                    f'<td class="num">{escape(value)}</td><td class="num">{escape(detail)}</td></tr>'
                )
        if trends:
            trend_rows.append(
                f'<tr class="section"><th colspan="{len(trend_stats) + 1}">{section.title}</th></tr>'
            )
            for name in trends:
                metric = bucket[name]
                values = _values(metric)
                contains = str(metric.get("contains", "default"))
                cells = "".join(
                    '<td class="num">'
                    + escape(
                        trend_stat_value(s, _num(values, s), contains=contains, time_unit=unit)
                    )
                    + "</td>"
                    for s in trend_stats
                )
                trend_rows.append(
                    f'<tr><td class="metric">{escape(submetric_display_name(name))}</td>{cells}</tr>'
                )
    html = []
    if plain_rows:
        html.append(
            '<table class="metrics plain"><thead><tr><th>metric</th><th>value</th>'
            f"<th>detail</th></tr></thead><tbody>{''.join(plain_rows)}</tbody></table>"
        )
    if trend_rows:
        head = "".join(f"<th>{escape(s)}</th>" for s in trend_stats)
        html.append(
            f'<table class="metrics trends"><thead><tr><th>trend</th>{head}</tr></thead>'
            f"<tbody>{''.join(trend_rows)}</tbody></table>"
        )
    return "".join(html)


# ---------------------------------------------------------------------------- page sections


def _run_header(run: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    code = int(run.get("exit_code", 0))
    meaning = EXIT_MEANINGS.get(code, "unknown")
    status = "passed" if code == 0 else "failed"
    badge = (
        f'<span class="badge {status}" data-exit-code="{code}">{code} — {escape(meaning)}</span>'
    )
    if run.get("running"):
        badge = '<span class="badge running" data-running="1">running</span>'
    duration = float(run.get("duration_s", 0.0))
    dropped = run.get("dropped") or {}
    rows = [
        ("script", escape(str(run.get("script", "")))),
        ("start", escape(str(run.get("start", "")))),
        ("end", escape(str(run.get("end", "")))),
        ("duration", escape(humanize_duration(duration * 1000.0))),
        ("exit status", badge),
    ]
    if any(dropped.values()):
        lost = ", ".join(f"{escape(k)}: {int(v)}" for k, v in dropped.items() if v)
        rows.append(("dropped samples", lost))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    scenario_rows = []
    for scenario in run.get("scenarios", []):
        stages = scenario.get("stages") or []
        shape = escape(str(scenario.get("description", "")))
        if stages:
            steps = ", ".join(f"→{int(t)} over {escape(d)}" for d, t in stages)
            shape += f'<div class="stages">stages: {steps}</div>'
        scenario_rows.append(
            f"<tr><td>{escape(str(scenario.get('name', '')))}</td>"
            f"<td>{escape(str(scenario.get('executor', '')))}</td><td>{shape}</td>"
            f"<td>{escape(str(scenario.get('start_time', '0s')))}</td>"
            f"<td>{escape(str(scenario.get('graceful_stop', '')))}</td></tr>"
        )
    scenarios = (
        '<table class="scenarios"><thead><tr><th>scenario</th><th>executor</th>'
        "<th>load shape</th><th>start time</th><th>graceful stop</th></tr></thead>"
        f"<tbody>{''.join(scenario_rows)}</tbody></table>"
        if scenario_rows
        else ""
    )
    return f'<section id="run"><table class="header">{table}</table>{scenarios}</section>'


def _threshold_observed(metric: Metric, source: str, unit: str | None) -> str:
    """The value the threshold judged, e.g. ``p(95)=1.2ms``, as the console shows it inline."""
    aggregation = re.split(r"[=><!]", source, maxsplit=1)[0].strip()
    values = _values(metric)
    value = _num(values, aggregation)
    if value is None and aggregation == "rate":
        value = _num(values, "rate")
    if value is None:
        return f"{aggregation}=n/a"
    if metric.get("type") == "counter" and aggregation == "rate":
        return f"rate={_human(metric, value, unit)}/s"
    if metric.get("type") == "counter" and aggregation == "count":
        return f"count={plain_number(value)}"
    return f"{aggregation}={_human(metric, value, unit)}"


def _thresholds(metrics: Mapping[str, Metric], unit: str | None) -> str:
    rows = []
    for name in sort_metric_names(n for n, m in metrics.items() if m.get("thresholds")):
        metric = metrics[name]
        for source, result in metric["thresholds"].items():
            ok = bool(result.get("ok")) if isinstance(result, Mapping) else bool(result)
            mark = '<span class="pass">✓ pass</span>' if ok else '<span class="fail">✗ fail</span>'
            rows.append(
                f'<tr class="{"ok" if ok else "failed"}"><td>{mark}</td>'
                f'<td class="metric">{escape(name)}</td><td><code>{escape(source.strip())}</code>'
                f'</td><td class="num">{escape(_threshold_observed(metric, source, unit))}</td></tr>'
            )
    if not rows:
        return '<p class="empty">no thresholds were set</p>'
    return (
        '<table class="thresholds"><thead><tr><th>result</th><th>metric</th><th>threshold</th>'
        f"<th>observed</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _all_checks(group: Mapping[str, Any], path: str = "") -> list[tuple[str, str, int, int]]:
    """(group path, check name, passes, fails) for every check in the tree."""
    found = []
    for check in group.get("checks") or []:
        found.append(
            (
                path,
                str(check.get("name", "")),
                int(check.get("passes", 0)),
                int(check.get("fails", 0)),
            )
        )
    for child in group.get("groups") or []:
        found += _all_checks(child, f"{path}::{child.get('name', '')}")
    return found


def _checks(summary: Mapping[str, Any]) -> str:
    root = summary.get("root_group")
    checks = _all_checks(root) if isinstance(root, Mapping) else []
    if not checks:
        return '<p class="empty">the script made no checks</p>'
    passes = sum(c[2] for c in checks)
    total = passes + sum(c[3] for c in checks)
    rows = "".join(
        f'<tr class="{"ok" if fails == 0 else "failed"}">'
        f"<td>{'<span class=pass>✓</span>' if fails == 0 else '<span class=fail>✗</span>'}</td>"
        f"<td>{escape(name)}</td><td>{escape(path or '(root)')}</td>"
        f'<td class="num">{passes_}</td><td class="num">{fails}</td>'
        f'<td class="num">{percent(passes_ / (passes_ + fails)) if passes_ + fails else "n/a"}</td></tr>'
        for path, name, passes_, fails in checks
    )
    rate = percent(passes / total) if total else "n/a"
    return (
        f'<p class="totals">checks_succeeded: <b>{rate}</b> — {passes} out of {total}</p>'
        '<table class="checks"><thead><tr><th></th><th>check</th><th>group</th><th>passes</th>'
        f"<th>fails</th><th>passed</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _charts(series: Mapping[str, Any]) -> str:
    times = series.get("times", [])
    width = float(series.get("width", 1))
    figures = []
    for spec in chart_specs(series):
        if spec["lines"] and any(v is not None for line in spec["lines"] for v in line.values):
            body = line_chart(
                spec["id"],
                spec["title"],
                times,
                spec["lines"],
                spec["format"],
                bucket_seconds=width,
                end=series.get("duration"),
            )
        else:
            body = f'<p class="empty" data-chart="{escape(spec["id"])}">{escape(spec["empty"])}</p>'
        figures.append(f"<figure><figcaption>{escape(spec['title'])}</figcaption>{body}</figure>")
    return f'<section id="charts"><h2>Over time</h2><div class="charts-grid">{"".join(figures)}</div></section>'


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def render_main(report: Mapping[str, Any]) -> str:
    """The page's ``<main>``: run header, thresholds, checks, charts and every table.

    The frozen report embeds it once; the live dashboard sends it again on every update and the
    page swaps it in, so a running test and its final report are drawn by this one function.

    ``report`` holds ``run`` (script, start, end, duration_s, exit_code, scenarios, dropped,
    and ``running`` while the test runs), ``summary`` (the handleSummary data the console summary
    printed, or the live aggregates), ``series`` (``SeriesAggregator.to_data()``),
    ``scenario_metrics`` / ``group_metrics`` (name -> metrics, handleSummary-shaped) and
    ``tag_metrics`` (tag -> value -> metrics, for the tags the user asked to break down by). The
    scenario blocks the summary itself carries in full mode (``summary["breakdown"]["scenarios"]``)
    take precedence over the report's own tables.
    """
    run = report.get("run", {})
    summary = report.get("summary", {})
    metrics = summary.get("metrics", {}) or {}
    options = summary.get("options", {}) or {}
    trend_stats = list(options.get("summaryTrendStats") or DEFAULT_TREND_STATS)
    unit = options.get("summaryTimeUnit") or None

    scenario_metrics = dict(report.get("scenario_metrics", {}))
    for name, block in ((summary.get("breakdown") or {}).get("scenarios") or {}).items():
        if isinstance(block, Mapping) and isinstance(block.get("metrics"), Mapping):
            scenario_metrics[name] = block["metrics"]
    group_metrics = dict(report.get("group_metrics", {}))

    def blocks(kind: str, tables: Mapping[str, Mapping[str, Metric]]) -> str:
        if not tables:
            return f'<p class="empty">no {escape(kind)}s</p>'
        return "".join(
            f'<details class="block" open><summary>{escape(kind.upper())}: {escape(name)}'
            f"</summary>{_metric_tables(m, trend_stats, unit)}</details>"
            for name, m in tables.items()
        )

    by_tag = "".join(
        f'<section class="tag-breakdown" data-tag="{escape(tag)}"><h2>Per {escape(tag)}</h2>'
        f"{blocks(tag, tables)}</section>"
        for tag, tables in (report.get("tag_metrics") or {}).items()
    )
    return (
        f"{_run_header(run, summary)}"
        f'<section id="thresholds"><h2>Thresholds</h2>{_thresholds(metrics, unit)}</section>'
        f'<section id="checks"><h2>Checks</h2>{_checks(summary)}</section>'
        f"{_charts(report.get('series', {}))}"
        '<section id="totals"><h2>Total results</h2>'
        f"{_metric_tables(metrics, trend_stats, unit)}</section>"
        f'<section id="scenarios"><h2>Per scenario</h2>{blocks("scenario", scenario_metrics)}'
        "</section>"
        f'<section id="groups"><h2>Per group</h2>{blocks("group", group_metrics)}</section>'
        f"{by_tag}"
    )


def report_data(report: Mapping[str, Any]) -> str:
    """The JSON copy of the data the page embeds (safe inside a ``<script>`` block)."""
    data = {
        "run": report.get("run", {}),
        "series": report.get("series", {}),
        "summary": report.get("summary", {}),
    }
    return json.dumps(_json_safe(data), separators=(",", ":"), ensure_ascii=False).replace(
        "<", "\\u003c"
    )  # nothing in the data can end or confuse the script block


def render_report(report: Mapping[str, Any], *, live_events: str | None = None) -> str:
    """The whole page for ``report`` (see :func:`render_main` for its keys).

    Frozen (the default): everything is in the file, which runs no script. With ``live_events``
    (the URL of the dashboard's server-sent events), the same page also carries a few lines of
    inline script that swap in each new ``<main>`` the server sends, and the final page, with its
    data, when the test ends.
    """
    run = report.get("run", {})
    script = str(run.get("script", ""))
    kind = "dashboard" if live_events else "report"
    title = f"greenws {kind} — {Path(script).name or 'run'}"
    status = (
        '<p id="greenws-live-status" class="live-status">live: waiting for the first update</p>'
        if live_events
        else ""
    )
    code = live_script(live_events) if live_events else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{escape(title)}</h1>{status}</header><main>{render_main(report)}</main>"
        "<footer>Generated by greenws. Every table uses the numbers of the end-of-test "
        "summary (while the test runs, the totals so far); charts aggregate the same samples "
        "per time bucket.</footer>"
        f'<script type="application/json" id="greenws-report-data">{report_data(report)}</script>'
        f"{code}</body></html>"
    )
