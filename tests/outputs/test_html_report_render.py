"""The report page and its SVG charts, rendered from plain data (no run, no browser)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from greenws.outputs.html_report.axis import elapsed_labels, time_ticks
from greenws.outputs.html_report.charts import Line, format_elapsed, line_chart, nice_ticks
from greenws.outputs.html_report.render import render_report
from greenws.outputs.html_report.specs import chart_specs


def counter(contains: str, count: float, rate: float) -> dict[str, Any]:
    return {"type": "counter", "contains": contains, "values": {"count": count, "rate": rate}}


def trend(avg: float) -> dict[str, Any]:
    stats = {"avg": avg, "min": avg / 2, "med": avg, "max": avg * 2, "p(90)": avg, "p(95)": avg}
    return {"type": "trend", "contains": "time", "values": stats}


SUMMARY: dict[str, Any] = {
    "root_group": {
        "name": "",
        "path": "",
        "groups": [
            {
                "name": "chat",
                "path": "::chat",
                "groups": [],
                "checks": [{"name": "echo <ok>", "passes": 3, "fails": 1}],
            }
        ],
        "checks": [{"name": "status is 101", "passes": 4, "fails": 0}],
    },
    "metrics": {
        "checks": {
            "type": "rate",
            "contains": "default",
            "values": {"rate": 0.875, "passes": 7, "fails": 1},
            "thresholds": {"rate>0.95": {"ok": False}},
        },
        "data_sent": counter("data", 1400, 279.3),
        "ws_msgs_sent": counter("default", 20, 3.99),
        "ws_connecting": {**trend(1.234), "thresholds": {"p(95)<500": {"ok": True}}},
        "vus": {"type": "gauge", "contains": "default", "values": {"value": 2, "min": 1, "max": 2}},
        "group_duration": trend(5.0),
    },
    "state": {"testRunDurationMs": 5012.3},
    "options": {"summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)"]},
}

SERIES: dict[str, Any] = {
    "start": 0.0,
    "width": 1,
    "times": [0.0, 1.0, 2.0],
    "rates": {"ws_msgs_sent": [4.0, 4.0, 2.0], "data_sent": [300.0, 280.0, 100.0]},
    "gauges": {"vus": [1.0, 2.0, 2.0]},
    "trends": {
        "ws_connecting": {"p50": [1.0, None, 1.2], "p95": [2.0, None, 2.1], "p99": [2, None, 3]}
    },
    "errors": {},
    "totals": {"ws_msgs_sent": 20.0, "data_sent": 1400.0},
}

RUN: dict[str, Any] = {
    "script": "tests/<chat>.py",
    "start": "2026-01-01 10:00:00+00:00",
    "end": "2026-01-01 10:00:05+00:00",
    "duration_s": 5.0123,
    "exit_code": 99,
    "scenarios": [
        {
            "name": "ramp",
            "executor": "ramping-vus",
            "description": "Up to 2 looping VUs for 5s over 2 stages",
            "stages": [("2s", 2), ("3s", 0)],
            "start_time": "0s",
            "graceful_stop": "30s",
        }
    ],
    "dropped": {},
}


def page(**changes: Any) -> str:
    report = {"run": RUN, "summary": SUMMARY, "series": SERIES, **changes}
    return render_report(report)


def test_the_header_shows_script_times_scenarios_and_exit_status() -> None:
    html = page()
    assert "tests/&lt;chat&gt;.py" in html and "<chat>" not in html
    assert "2026-01-01 10:00:00+00:00" in html
    assert 'data-exit-code="99"' in html and "thresholds failed" in html
    assert "ramping-vus" in html and "Up to 2 looping VUs for 5s over 2 stages" in html
    assert "→2 over 2s, →0 over 3s" in html


def test_thresholds_show_pass_and_fail_with_the_observed_value() -> None:
    html = page()
    section = html[html.index('id="thresholds"') : html.index('id="checks"')]
    assert re.search(r"✗ fail.*checks.*rate&gt;0.95.*rate=87.50%", section)
    assert re.search(r"✓ pass.*ws_connecting.*p\(95\)&lt;500.*p\(95\)=1.23ms", section)


def test_checks_list_every_check_with_its_group_and_counts() -> None:
    section = page().split('id="checks"')[1].split('id="charts"')[0]
    assert "checks_succeeded: <b>87.50%</b> — 7 out of 8" in section
    assert "echo &lt;ok&gt;" in section and "::chat" in section and "75.00%" in section


def test_tables_use_the_console_summary_formatting_and_sections() -> None:
    section = page().split('id="totals"')[1].split('id="scenarios"')[0]
    for text in ("NETWORK", "WEBSOCKET", "1.4 kB", "279 B/s", "1.23ms", "min=1 max=2"):
        assert text in section, text
    assert "group_duration" not in section  # hidden, as in the console summary


def test_scenario_and_group_blocks_come_from_the_breakdown_or_the_summary() -> None:
    html = page(
        scenario_metrics={"ramp": {"ws_msgs_sent": counter("default", 20, 3.99)}},
        group_metrics={"::chat": {"ws_msgs_sent": counter("default", 12, 2.0)}},
    )
    assert "SCENARIO: ramp" in html and "GROUP: ::chat" in html
    assert "no scenarios" in page() and "no groups" in page()


def test_every_chart_is_an_svg_with_its_series_named() -> None:
    html = page()
    charts = dict(re.findall(r'<svg class="chart" data-chart="([^"]+)"(.*?)</svg>', html))
    assert set(charts) == {"vus", "messages", "data", "ws_connecting"}
    assert 'data-series="vus"' in charts["vus"]
    assert 'data-series="ws_msgs_sent"' in charts["messages"]
    for label in ("p50", "p95", "p99"):
        assert f'data-series="{label}"' in charts["ws_connecting"]
    # The gap at t=1 s lifts the pen: the p50 path has two separate moves.
    p50 = re.search(r'data-series="p50" d="([^"]*)"', charts["ws_connecting"])
    assert p50 is not None and p50.group(1).count("M") == 2


def test_missing_series_get_an_empty_state_note_and_request_duration_only_when_present() -> None:
    html = page()
    assert "no errors: no ws_sessions or ws_request_duration sample carried an error_code" in html
    assert "no ws_ping samples" in html
    assert 'data-chart="ws_request_duration"' not in html
    with_requests = {**SERIES, "trends": {"ws_request_duration": {"p50": [1.0, 2.0, 3.0]}}}
    assert 'data-chart="ws_request_duration"' in page(series=with_requests)


def test_errors_are_charted_per_error_code() -> None:
    specs = chart_specs({**SERIES, "errors": {"1006": [0.0, 2.0, 0.0]}})
    errors = next(spec for spec in specs if spec["id"] == "errors")
    assert [line.name for line in errors["lines"]] == ["1006"]  # no texts: the code alone


def test_an_error_line_is_named_by_its_code_and_what_the_samples_said() -> None:
    series = {
        **SERIES,
        "errors": {"1000": [1.0, 0.0, 0.0], "1212": [0.0, 2.0, 0.0], "other": [0.0, 0.0, 1.0]},
        "error_names": {
            "1212": ["dial: connection refused"],
            "1000": ["websocket: close 1006 (abnormal closure)", "websocket: close 1011"],
        },
    }
    errors = next(spec for spec in chart_specs(series) if spec["id"] == "errors")
    assert [line.name for line in errors["lines"]] == [
        "1000 (websocket: close 1006 (abnormal closure); +1 more)",
        "1212 (dial: connection refused)",
        "other (codes past the first 20)",
    ]
    chart = page(series=series).split('data-chart="errors"')[1].split("</svg>")[0]
    legend = re.findall(r'<g class="legend".*?<text[^>]*>([^<]*)</text>', chart)
    assert "1212 (dial: connection refused)" in legend


def test_a_long_legend_is_cut_and_wraps_inside_the_chart() -> None:
    names = [f"10{i} ({'x' * 70})" for i in range(3)]
    svg = line_chart("x", "X", [0.0, 1.0], [Line(name, [1.0, 2.0]) for name in names], str)
    texts = re.findall(r'<g class="legend".*?<text x="([\d.]+)" y="([\d.]+)">([^<]*)<', svg)
    assert all(len(text) <= 48 and text.endswith("…") for _, _, text in texts)
    assert len({y for _, y, _ in texts}) == 3  # one row each: none runs off the right edge
    height = float(re.search(r'viewBox="0 0 \d+ ([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    assert max(float(y) for _, y, _ in texts) < height
    for name in names:  # the whole name is still there, on hover
        assert f"<title>{name}</title>" in svg


def x_labels(svg: str) -> list[str]:
    return re.findall(r'<text class="xlabel"[^>]*>([^<]*)</text>', svg)


@pytest.mark.parametrize(
    ("times", "end", "expected"),
    [
        ([0.0], 0.8, ["0ms", "200ms", "400ms", "600ms", "800ms"]),
        ([0.0, 1.0, 2.0], 3.0, ["0s", "1s", "2s", "3s"]),
        ([0.0, 1.0], 1.7, ["0s", "0.5s", "1s", "1.5s"]),
        ([0.0, 1.0, 2.0], None, ["0s", "0.5s", "1s", "1.5s", "2s"]),  # no end: the last point
    ],
    ids=["0.8s", "3s", "1.7s", "no-end"],
)
def test_a_short_runs_time_axis_has_distinct_meaningful_labels(
    times: list[float], end: float | None, expected: list[str]
) -> None:
    svg = line_chart("x", "X", times, [Line("a", [1.0] * len(times))], str, end=end)
    assert x_labels(svg) == expected


def test_the_page_draws_the_time_axis_over_the_runs_length() -> None:
    series = {**SERIES, "times": [0.0], "duration": 0.8, "rates": {"ws_msgs_sent": [5.0]}}
    chart = page(series=series).split('data-chart="messages"')[1].split("</svg>")[0]
    assert x_labels(chart) == ["0ms", "200ms", "400ms", "600ms", "800ms"]


@pytest.mark.parametrize(
    "span", [0.004, 0.05, 0.3, 0.8, 1.0, 1.7, 2.0, 3.0, 4.2, 7.0, 59.0, 100.0, 3000.0, 28800.0]
)
def test_time_labels_never_repeat_and_ticks_stay_inside_the_run(span: float) -> None:
    ticks = time_ticks(span)
    labels = elapsed_labels(ticks)
    assert len(set(labels)) == len(labels) >= 3, labels
    assert ticks[0] == 0 and ticks[-1] <= span * (1 + 1e-9)


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (600.0, ["0s", "2m", "4m", "6m", "8m", "10m"]),  # clock steps, not 200 s
        (4000.0, ["0s", "15m", "30m", "45m", "1h"]),
    ],
)
def test_long_runs_are_marked_at_clock_steps(span: float, expected: list[str]) -> None:
    assert elapsed_labels(time_ticks(span)) == expected


def series_strokes(svg: str) -> dict[str, dict[str, str]]:
    """Each series' drawing attributes (dash, width, marker), by its name."""
    found = {}
    for tag in re.findall(r'<path class="series"[^>]*>', svg):
        attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        found[attributes["data-series"]] = {
            key: attributes.get(key, "")
            for key in ("stroke-dasharray", "stroke-width", "data-marker")
        }
    return found


def test_lines_that_coincide_stay_distinguishable() -> None:
    """An echo test sends and receives the same number of messages: one line would hide the
    other, so they differ in dash, width and marker, and the legend draws each the same way."""
    same = [40.0, 50.0, 45.0]
    series = {**SERIES, "rates": {"ws_msgs_sent": same, "ws_msgs_received": list(same)}}
    chart = page(series=series).split('data-chart="messages"')[1].split("</svg>")[0]
    strokes = series_strokes(chart)
    sent, received = strokes["ws_msgs_sent"], strokes["ws_msgs_received"]
    assert sent["stroke-dasharray"] != received["stroke-dasharray"]
    assert sent["data-marker"] != received["data-marker"]
    assert float(sent["stroke-width"]) > float(received["stroke-width"])  # the lower one shows
    for name, stroke in strokes.items():
        legend = chart.split(f'<g class="legend" data-series="{name}"')[1].split("</g>")[0]
        sample = re.search(r'<line class="sample"[^>]*>', legend)
        assert sample is not None, legend
        assert f'stroke-width="{stroke["stroke-width"]}"' in sample.group(0)
        if stroke["stroke-dasharray"]:
            assert f'stroke-dasharray="{stroke["stroke-dasharray"]}"' in sample.group(0)
        else:
            assert "stroke-dasharray" not in sample.group(0)
    # the markers differ in shape, and the top one is hollow so the one under it shows
    assert "<circle" in chart and '<rect class="marker hollow"' in chart


def test_the_page_loads_nothing_and_embeds_its_data() -> None:
    html = page()
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<link" not in html and "@import" not in html
    blob = html.split('id="greenws-report-data">')[1].split("</script>")[0]
    data = json.loads(blob)
    assert data["series"]["totals"]["ws_msgs_sent"] == 20
    assert data["summary"]["metrics"]["ws_msgs_sent"]["values"]["count"] == 20


def test_a_script_tag_in_data_cannot_end_the_data_block() -> None:
    run = {**RUN, "script": "</script><script>alert(1)</script>"}
    html = page(run=run)
    assert html.count("<script") == 1


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (0, [0.0, 1.0]),
        (3, [0.0, 1.0, 2.0, 3.0]),
        (7, [0.0, 2.0, 4.0, 6.0, 8.0]),
        (0.3, [0.0, 0.1, 0.2, 0.3]),
    ],
)
def test_nice_ticks(maximum: float, ticks: list[float]) -> None:
    assert nice_ticks(maximum) == ticks


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (60, "1m"), (150, "2m30s"), (3900, "1h05m"), (7200, "2h")],
)
def test_format_elapsed(seconds: float, text: str) -> None:
    assert format_elapsed(seconds) == text


def test_a_single_point_still_draws_a_marker() -> None:
    svg = line_chart("x", "X", [0.0], [Line("a", [5.0])], str)
    assert "<circle" in svg and 'data-series="a" d="M' in svg
