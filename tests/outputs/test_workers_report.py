"""``--workers 2`` with the HTML report: the page is built from the workers' report data.

Each worker folds its own samples into a report builder and ships its buckets and tables with its
status (``greenws.outputs.html_report.worker_feed``), instead of pickling every sample for the
coordinator. The page must still hold exactly what the summary counted, in the charts' totals and
in every breakdown table, and must not count twice the samples a JSON output next to it still has
forwarded.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from greenws_runner import run_greenws
from test_html_report import SCRIPT, embedded_data, plugin_args

#: Metric -> the tables it is in: TOTAL, SCENARIO: chatters, TAG scenario=chatters, and
#: GROUP: ::chat for what the group's sessions emit (an iteration belongs to the root group).
TABLES = {
    "ws_sessions": 4,
    "ws_msgs_sent": 4,
    "ws_msgs_received": 4,
    "data_sent": 4,
    "iterations": 3,
}


def _run(tmp_path: Path, echo_server: Any, *, json_output: bool) -> tuple[dict[str, Any], Any, str]:
    """The summary export, the run and the page."""
    path = tmp_path / "report.html"
    export = tmp_path / "exported.json"
    result = run_greenws(
        tmp_path,
        SCRIPT.replace('"vus": 2', '"vus": 4'),
        *plugin_args(),
        "--workers",
        "2",
        "--out",
        f"html={path}",
        "--dashboard-tag",
        "scenario",
        "--summary-export",
        str(export),
        env={"TARGET": echo_server.url},
        outputs=json_output,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(export.read_text(encoding="utf-8"))
    return summary, result, path.read_text(encoding="utf-8")


def _assert_page_holds_the_summary(
    summary: dict[str, Any], html: str, data: dict[str, Any]
) -> None:
    totals = data["series"]["totals"]
    for name, tables in TABLES.items():
        count = summary["metrics"][name]["count"]
        assert count > 0, name
        assert totals[name] == count, name
        # The same figure in every table: each one is the whole test.
        rows = re.findall(rf'<td class="metric">{name}</td><td class="num">([^<]*)</td>', html)
        assert len(rows) == tables, (name, rows)
        assert set(rows) == {rows[0]}, (name, rows)
        if name != "data_sent":  # shown in kB
            assert rows[0] == str(int(count)), (name, rows, count)
    assert summary["metrics"]["vus_max"]["max"] == 4  # both workers' VUs


def test_the_page_is_the_workers_report_data_and_equals_the_summary(
    tmp_path: Path, echo_server: Any
) -> None:
    summary, _, html = _run(tmp_path, echo_server, json_output=False)
    _assert_page_holds_the_summary(summary, html, embedded_data(html))


def test_forwarded_samples_for_a_json_output_are_not_counted_twice(
    tmp_path: Path, echo_server: Any
) -> None:
    summary, result, html = _run(tmp_path, echo_server, json_output=True)
    _assert_page_holds_the_summary(summary, html, embedded_data(html))
    in_json = Counter(point["metric"] for point in result.points)
    for name in ("ws_sessions", "ws_msgs_sent", "iterations"):
        assert in_json[name] == summary["metrics"][name]["count"], name
