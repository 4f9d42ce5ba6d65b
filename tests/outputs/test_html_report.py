"""``--out html=FILE`` end to end: a real run against the echo server, then the page in Chromium.

The browser test is how a person checks the report: open the file in headless Chromium, see the
charts drawn with their series named, no console errors, nothing fetched but the file itself. It
fails (never skips) without Chromium, because CI installs it (``apt-get install -y chromium
chromium-driver``). Its screenshot is kept in ``tests/artifacts/html_report.png``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import ROOT, RunResult, run_greenws
from headless_chromium import HeadlessChromium, find_chromium
from servers import free_port

from greenws.plugins.manager import BUILTIN_PLUGINS

MODULE = "greenws.outputs.html_report.plugin"
ARTIFACTS = ROOT / "tests" / "artifacts"

SCRIPT = """
import os
from greenws import ws, check, group

options = {
    "scenarios": {
        "chatters": {"executor": "constant-vus", "vus": 2, "duration": "2s"},
    },
    "thresholds": {"ws_connecting": ["p(95)<60000"], "checks": ["rate>0.99"]},
}

def default():
    def session(socket):
        sent = []
        def on_message(message):
            if len(sent) < 5:
                sent.append(1)
                socket.send("ping")
            else:
                socket.close(1000)
        def on_open():
            socket.ping()
            socket.send("ping")
        socket.on("open", on_open)
        socket.on("message", on_message)
    def inner():
        res = ws.connect(os.environ["TARGET"], {}, session)
        check(res, {"status is 101": lambda r: r.status == 101})
    group("chat", inner)
"""


def plugin_args() -> list[str]:
    """``-p`` until the report is a built-in plugin; then a plain ``--out html=`` works."""
    return [] if MODULE in BUILTIN_PLUGINS.values() else ["-p", MODULE]


def embedded_data(html: str) -> dict[str, Any]:
    blob = html.split('id="greenws-report-data">', 1)[1].split("</script>", 1)[0]
    return json.loads(blob)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, echo_server: Any) -> tuple[RunResult, Path]:
    directory = tmp_path_factory.mktemp("html")
    path = directory / "report.html"
    result = run_greenws(
        directory,
        SCRIPT,
        *plugin_args(),
        "--out",
        f"html={path}",
        env={"TARGET": echo_server.url},
    )
    assert result.returncode == 0, result.stderr
    return result, path


def test_the_report_holds_the_summarys_numbers(report: tuple[RunResult, Path]) -> None:
    result, path = report
    html = path.read_text(encoding="utf-8")
    data = embedded_data(html)
    totals = data["series"]["totals"]
    for name in ("ws_sessions", "ws_msgs_sent", "ws_msgs_received", "data_sent", "iterations"):
        assert totals[name] == result.metric(name)["count"], name
        assert data["summary"]["metrics"][name]["values"]["count"] == result.metric(name)["count"]
    sessions = int(result.metric("ws_sessions")["count"])
    assert re.search(rf'<td class="metric">ws_sessions</td><td class="num">{sessions}</td>', html)
    assert "ws_sessions" in result.stdout  # the console summary printed the same table


def test_the_report_has_header_thresholds_checks_and_breakdowns(
    report: tuple[RunResult, Path],
) -> None:
    _, path = report
    html = path.read_text(encoding="utf-8")
    assert "constant-vus" in html and "2 looping VUs for 2s" in html
    assert 'data-exit-code="0"' in html
    assert "p(95)&lt;60000" in html and "✓ pass" in html
    assert "status is 101" in html
    assert "SCENARIO: chatters" in html and "GROUP: ::chat" in html
    charts = set(re.findall(r'<svg class="chart" data-chart="([^"]+)"', html))
    assert {"vus", "sessions", "messages", "data", "ws_connecting", "ws_ping"} <= charts


def test_the_environment_variable_asks_for_a_report(tmp_path: Path, echo_server: Any) -> None:
    path = tmp_path / "from-env.html"
    result = run_greenws(
        tmp_path,
        SCRIPT.replace('"duration": "2s"', '"duration": "200ms"'),
        *plugin_args(),
        env={"TARGET": echo_server.url, "GREENWS_HTML_REPORT": str(path)},
        outputs=False,
    )
    assert result.returncode == 0, result.stderr
    assert "<svg" in path.read_text(encoding="utf-8")


REFUSED = """
import os
from greenws import ws

options = {"iterations": 3}

def default():
    ws.connect(os.environ["TARGET"], {}, lambda socket: None)
"""


def test_the_error_legend_names_the_code(tmp_path: Path) -> None:
    """Sessions to a port nobody listens on fail with k6's 1212; the legend says what it is."""
    path = tmp_path / "refused.html"
    target = f"ws://127.0.0.1:{free_port()}"
    result = run_greenws(
        tmp_path, REFUSED, *plugin_args(), "--out", f"html={path}", env={"TARGET": target}
    )
    assert result.returncode == 0, result.stderr
    html = path.read_text(encoding="utf-8")
    chart = html.split('data-chart="errors"')[1].split("</svg>")[0]
    legend = re.findall(r'<g class="legend".*?<text[^>]*>([^<]*)</text>', chart)
    assert legend == ["1212 (dial: connection refused)"]
    assert embedded_data(html)["series"]["error_names"] == {"1212": ["dial: connection refused"]}


def test_a_missing_directory_is_an_option_error(tmp_path: Path) -> None:
    result = run_greenws(
        tmp_path,
        "def default():\n    pass\n",
        *plugin_args(),
        "--out",
        f"html={tmp_path / 'nowhere' / 'r.html'}",
        outputs=False,
    )
    assert result.returncode == 104
    assert "does not exist" in result.stderr


CHART_STATE = """
Array.from(document.querySelectorAll('svg.chart')).map(svg => ({
  chart: svg.dataset.chart,
  width: svg.getBoundingClientRect().width,
  height: svg.getBoundingClientRect().height,
  drawn: Array.from(svg.querySelectorAll('path.series'))
    .filter(p => p.getAttribute('d') && p.getTotalLength() > 0).map(p => p.dataset.series),
  marked: Array.from(svg.querySelectorAll('path.series')).map(p => p.dataset.series),
  legend: Array.from(svg.querySelectorAll('g.legend text')).map(t => t.textContent),
  xlabels: Array.from(svg.querySelectorAll('text.xlabel')).map(t => t.textContent),
  strokes: Object.fromEntries(Array.from(svg.querySelectorAll('path.series')).map(p => [
    p.dataset.series,
    getComputedStyle(p).strokeDasharray + ' ' + getComputedStyle(p).strokeWidth,
  ])),
}))
"""


def test_the_page_renders_its_charts_in_chromium(report: tuple[RunResult, Path]) -> None:
    _, path = report
    executable = find_chromium()
    if executable is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium chromium-driver")
    ARTIFACTS.mkdir(exist_ok=True)
    with HeadlessChromium(executable) as browser:
        browser.open(path.as_uri())
        charts = {chart["chart"]: chart for chart in browser.evaluate(CHART_STATE)}
        assert browser.problems() == []
        assert browser.requests() == [path.as_uri()]  # nothing fetched but the file
        browser.screenshot(ARTIFACTS / "html_report.png")
    expected = {
        "vus": {"vus", "vus_max"},
        "sessions": {"ws_sessions", "iterations"},
        "messages": {"ws_msgs_sent", "ws_msgs_received"},
        "data": {"data_sent", "data_received"},
        "ws_connecting": {"p50", "p95", "p99"},
        "ws_ping": {"p50", "p95", "p99"},
    }
    for chart_id, names in expected.items():
        chart = charts[chart_id]
        assert chart["width"] > 100 and chart["height"] > 50, chart
        assert set(chart["legend"]) == names, chart
        assert set(chart["marked"]) == names, chart
    # A line with two or more points has length; a 2-second run has at least two buckets.
    assert {"ws_msgs_sent", "ws_msgs_received"} <= set(charts["messages"]["drawn"])
    for chart in charts.values():  # a 2-second run: half seconds, never "0s 0s 1s"
        assert len(set(chart["xlabels"])) == len(chart["xlabels"]) >= 3, chart
    # An echo test's sent and received coincide: as the browser styles them, they still differ.
    strokes = charts["messages"]["strokes"]
    assert strokes["ws_msgs_sent"] != strokes["ws_msgs_received"], strokes
    png = (ARTIFACTS / "html_report.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
