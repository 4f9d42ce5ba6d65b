"""The rendered end-of-test summary, line by line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from summary_sample import SAMPLE_DATA

from greenws.summary.formatting import strip_ansi
from greenws.summary.text import render_summary, stdout_summary

GOLDEN = Path(__file__).with_name("sample_summary.txt")


def _lines(data: dict[str, Any], **kwargs: Any) -> list[str]:
    return render_summary(data, **kwargs).split("\n")


def _block(lines: list[str], first: str) -> list[str]:
    """The lines from the one equal to ``first`` up to the next blank line."""
    start = lines.index(first)
    end = lines.index("", start)
    return lines[start:end]


def test_golden_sample_stays_in_sync() -> None:
    """``sample_summary.txt`` shows reviewers the full output; regenerate it with
    ``GREENWS_UPDATE_GOLDEN=1 pytest tests/summary``."""
    rendered = render_summary(SAMPLE_DATA, mode="full")
    if os.environ.get("GREENWS_UPDATE_GOLDEN"):
        GOLDEN.write_text(rendered, encoding="utf-8")
    assert rendered == GOLDEN.read_text(encoding="utf-8")


def test_top_level_layout(data: dict[str, Any]) -> None:
    lines = _lines(data)
    titles = [line for line in lines if line.startswith("  █")]
    assert titles == ["  █ THRESHOLDS", "  █ TOTAL RESULTS"]
    # k6's framing: a leading newline, a blank line under each title, two between blocks.
    assert lines[:4] == ["", "  █ THRESHOLDS", "", "    checks"]
    i = lines.index("  █ TOTAL RESULTS")
    assert lines[i - 2 : i] == ["", ""]
    assert lines[i + 1] == ""
    assert lines[-2:] == ["", ""]
    sections = [line.strip() for line in lines if line.strip().isupper() and "█" not in line]
    assert sections == ["CUSTOM", "EXECUTION", "NETWORK", "WEBSOCKET"]


def test_thresholds_block(data: dict[str, Any]) -> None:
    lines = _lines(data)
    start = lines.index("  █ THRESHOLDS") + 2
    end = lines.index("  █ TOTAL RESULTS")
    assert lines[start:end] == [
        "    checks",
        "    ✗ 'rate>0.95' rate=90.00%",
        "",
        "    ws_connecting",
        "    ✓ 'p(95)<500' p(95)=2.17ms",
        "",
        "      {status:101}",
        "      ✗ 'max<2' max=2.29ms",
        "",
        "",
    ]


def test_checks_block(data: dict[str, Any]) -> None:
    lines = _lines(data)
    start = lines.index("  █ TOTAL RESULTS") + 2
    assert lines[start : start + 10] == [
        "    checks_total.......: 10     1.995092/s",
        "    checks_succeeded...: 90.00% 9 out of 10",
        "    checks_failed......: 10.00% 1 out of 10",
        "",
        "    ✓ status is 101",
        "    ✓ echo matches",
        "    ✗ history is complete",
        "      ↳  75% — ✓ 3 / ✗ 1",
        "",
        "    CUSTOM",
    ]


def test_metric_lines_are_sorted_formatted_and_aligned(data: dict[str, Any]) -> None:
    lines = _lines(data)
    assert _block(lines, "    EXECUTION")[1:] == [
        "    iteration_duration....: avg=2.5s    min=2.5s  med=2.5s    max=2.5s     p(90)=2.5s"
        "   p(95)=2.5s",
        "    iterations............: 4      0.798/s",
        "    vus...................: 2      min=2   max=2",
        "    vus_max...............: 2      min=2   max=2",
    ]
    assert _block(lines, "    NETWORK")[1:] == [
        "    data_received.........: 1.8 kB 367 B/s",
        "    data_sent.............: 1.4 kB 279 B/s",
    ]
    websocket = _block(lines, "    WEBSOCKET")[1:]
    assert [line.split(".")[0].strip() for line in websocket] == [
        "ws_connecting",
        "{ status:101 }",
        "ws_msgs_received",
        "ws_msgs_sent",
        "ws_ping",
        "ws_session_duration",
        "ws_sessions",
    ]
    assert websocket[1] == (
        "      { status:101 }......: avg=1.23ms  min=512µs med=1.1ms   max=2.29ms   p(90)=2.04ms"
        " p(95)=2.17ms"
    )
    assert websocket[4] == (
        "    ws_ping...............: avg=312.5µs min=201µs med=298µs   max=490.3µs  p(90)=450µs"
        "  p(95)=470µs"
    )


def test_colons_and_columns_line_up_across_sections(data: dict[str, Any]) -> None:
    lines = _lines(data)
    start = lines.index("    CUSTOM")
    metric_lines = [line for line in lines[start:] if "..:" in line]
    assert len(metric_lines) == 15
    # The longest name gets exactly three dots; every colon sits in the same column.
    colons = {line.index("..: ") + 2 for line in metric_lines}
    assert colons == {len("    ws_session_duration...")}
    assert any(line.startswith("    ws_session_duration...: ") for line in metric_lines)
    trends = [line for line in metric_lines if "avg=" in line]
    for stat in ("min=", "med=", "max=", "p(90)=", "p(95)="):
        assert len({line.index(stat) for line in trends}) == 1, stat
    # Non-trend values are padded to the widest ("1.8 kB"), so extras start in one column.
    extras_at = len("    ws_session_duration...: 1.8 kB ")
    non_trends = [line for line in metric_lines if "avg=" not in line]
    assert len(non_trends) == 9
    for line in non_trends:
        assert line[extras_at - 1] == " " and line[extras_at] != " ", line


def test_hidden_metrics_are_left_out(data: dict[str, Any]) -> None:
    data["metrics"]["http_req_waiting"] = {
        "type": "trend",
        "contains": "time",
        "values": dict.fromkeys(["avg", "min", "med", "max", "p(90)", "p(95)"], 1.0),
    }
    compact = render_summary(data)
    assert "group_duration" not in compact
    assert "checks....." not in compact  # only checks_total & co.
    assert "http_req_waiting" not in compact
    assert "http_req_waiting" in render_summary(data, mode="full")


def test_full_mode_prints_each_scenario_and_its_groups(data: dict[str, Any]) -> None:
    """k6 v2.2.0's full mode: after TOTAL RESULTS, a ``█ SCENARIO:`` block per named scenario,
    by name, each with its checks, its metrics by section (its own widths) and its groups one
    level deeper as ``↳ GROUP:``; group_duration is never listed."""
    lines = _lines(data, mode="full")
    titles = [line for line in lines if "█" in line or "↳ GROUP" in line]
    assert titles == [
        "  █ THRESHOLDS",
        "  █ TOTAL RESULTS",
        "  █ SCENARIO: lurkers",
        "  █ SCENARIO: talkers",
        "    ↳ GROUP: chat",
        "      ↳ GROUP: history",
    ]
    start = lines.index("  █ SCENARIO: lurkers")
    assert lines[start : lines.index("  █ SCENARIO: talkers")] == [
        "  █ SCENARIO: lurkers",
        "",
        "    checks_total.......: 2       0.399018/s",
        "    checks_succeeded...: 100.00% 2 out of 2",
        "    checks_failed......: 0.00%   0 out of 2",
        "",
        "    ✓ status is 101",
        "",
        "    EXECUTION",
        "    iteration_duration...: avg=2.5s   min=2.5s  med=2.5s  max=2.5s   p(90)=2.5s"
        "   p(95)=2.5s",
        "    iterations...........: 2     0.399018/s",
        "",
        "    NETWORK",
        "    data_received........: 700 B 140 B/s",
        "    data_sent............: 500 B 100 B/s",
        "",
        "    WEBSOCKET",
        "    ws_connecting........: avg=1.23ms min=512µs med=1.1ms max=2.29ms p(90)=2.04ms"
        " p(95)=2.17ms",
        "    ws_msgs_received.....: 8     1.596074/s",
        "    ws_msgs_sent.........: 8     1.596074/s",
        "    ws_sessions..........: 2     0.399018/s",
        "",
        "",
    ]
    chat = lines.index("    ↳ GROUP: chat")
    assert lines[chat:] == [
        "    ↳ GROUP: chat",
        "",
        "      checks_total.......: 2       0.399018/s",
        "      checks_succeeded...: 100.00% 2 out of 2",
        "      checks_failed......: 0.00%   0 out of 2",
        "",
        "      ✓ echo matches",
        "",
        "      WEBSOCKET",
        "      ws_msgs_received...: 4 0.798037/s",
        "      ws_msgs_sent.......: 4 0.798037/s",
        "      ws_sessions........: 2 0.399018/s",
        "",
        "      ↳ GROUP: history",
        "",
        "        checks_total.......: 4      0.798037/s",
        "        checks_succeeded...: 75.00% 3 out of 4",
        "        checks_failed......: 25.00% 1 out of 4",
        "",
        "        ✗ history is complete",
        "              ↳  75% — ✓ 3 / ✗ 1",
        "",
        "        CUSTOM",
        "        chat_latency.......: avg=42.5ms min=10ms med=38.25ms max=120.75ms p(90)=95ms"
        " p(95)=110ms",
        "        chat_messages......: 12 2.39411/s",
        "",
        "        WEBSOCKET",
        "        ws_msgs_received...: 8  1.596074/s",
        "        ws_msgs_sent.......: 8  1.596074/s",
        "",
        "",
    ]
    assert not any("group_duration" in line for line in lines)
    assert "SCENARIO" not in render_summary(data)


def test_full_mode_top_level_groups_come_before_the_scenarios(data: dict[str, Any]) -> None:
    """Groups of samples outside a named scenario (a script without ``scenarios``) print as
    top-level ``█ GROUP:`` blocks, in the order they were first seen."""
    talkers = data["breakdown"]["scenarios"].pop("talkers")
    data["breakdown"]["groups"] = [*talkers["groups"], {"name": "idle", "groups": []}]
    lines = _lines(data, mode="full")
    titles = [line for line in lines if "█" in line or "↳ GROUP" in line]
    assert titles[2:] == [
        "  █ GROUP: chat",
        "    ↳ GROUP: history",
        "  █ GROUP: idle",
        "  █ SCENARIO: lurkers",
    ]
    chat = lines.index("  █ GROUP: chat")
    assert lines[chat : chat + 3] == [
        "  █ GROUP: chat",
        "",
        "    checks_total.......: 2       0.399018/s",
    ]
    idle = lines.index("  █ GROUP: idle")
    # No checks, no metrics: the title alone (k6's TestGroupsOrderInFullSummary prints so).
    assert lines[idle : idle + 4] == ["  █ GROUP: idle", "", "", "  █ SCENARIO: lurkers"]


def test_full_mode_without_blocks_shows_each_group_with_its_checks(data: dict[str, Any]) -> None:
    """Data with no ``breakdown`` (a compact run's, an export) has the group tree only."""
    del data["breakdown"]
    data["root_group"]["groups"].append({"name": "setup", "groups": [], "checks": []})
    lines = _lines(data, mode="full")
    start = lines.index("  █ GROUP: chat")
    assert lines[start:] == [
        "  █ GROUP: chat",
        "",
        "    checks_total.......: 2       0.399018/s",
        "    checks_succeeded...: 100.00% 2 out of 2",
        "    checks_failed......: 0.00%   0 out of 2",
        "",
        "    ✓ echo matches",
        "",
        "    ↳ GROUP: history",
        "",
        "      checks_total.......: 4      0.798037/s",
        "      checks_succeeded...: 75.00% 3 out of 4",
        "      checks_failed......: 25.00% 1 out of 4",
        "",
        "      ✗ history is complete",
        "          ↳  75% — ✓ 3 / ✗ 1",
        "",
        "",
    ]
    assert "GROUP" not in render_summary(data)


def test_scenario_blocks_sort_as_javascripts_locale_compare(data: dict[str, Any]) -> None:
    blocks = data["breakdown"]["scenarios"]
    for name in ("Zeta", "alpha", "beta_2", "beta-1"):
        blocks[name] = {"checks": [], "metrics": {}, "groups": []}
    lines = _lines(data, mode="full")
    names = [line.split(": ", 1)[1] for line in lines if line.startswith("  █ SCENARIO: ")]
    assert names == ["alpha", "beta_2", "beta-1", "lurkers", "talkers", "Zeta"]


def test_trend_stats_follow_options(data: dict[str, Any]) -> None:
    data["options"]["summaryTrendStats"] = ["p(99)", "avg", "count"]
    data["metrics"]["ws_ping"]["values"].update({"p(99)": 0.48, "count": 20})
    line = next(x for x in _lines(data) if x.startswith("    ws_ping."))
    assert line.split(": ", 1)[1].split() == ["p(99)=480µs", "avg=312.5µs", "count=20"]
    line = next(x for x in _lines(data) if x.startswith("    ws_connecting."))
    assert "p(99)=n/a" in line


def test_summary_time_unit(data: dict[str, Any]) -> None:
    data["options"]["summaryTimeUnit"] = "ms"
    line = next(x for x in _lines(data) if x.startswith("    iteration_duration."))
    assert "avg=2503.40ms" in line
    assert "min=2501.20ms" in line


def test_threshold_values_shown_per_aggregation(data: dict[str, Any]) -> None:
    m = data["metrics"]
    m["iterations"]["thresholds"] = {"count>=4": {"ok": True}, "rate<10": {"ok": True}}
    m["vus"]["thresholds"] = {"value<3": {"ok": True}}
    m["ws_ping"]["values"]["p(99)"] = 0.48
    m["ws_ping"]["thresholds"] = {" p(99)<1 ": {"ok": True}, "p(99.9)<1": {"ok": True}}
    lines = _lines(data)
    assert "    ✓ 'count>=4' count=4" in lines
    assert "    ✓ 'rate<10' rate=0.798/s" in lines
    assert "    ✓ 'value<3' value=2" in lines
    assert "    ✓ 'p(99)<1' p(99)=480µs" in lines  # a stat not in summaryTrendStats
    assert "    ✓ 'p(99.9)<1' p(99.9)=n/a" in lines  # not computed at all


def test_threshold_on_a_stat_outside_the_columns_shows_its_real_value() -> None:
    """grafana/k6#4698: the aggregator computes ``p(99)`` (and ``avg``) for thresholds on them
    with the default trend stats; the THRESHOLDS block and the export show it, TOTAL RESULTS
    keeps its columns."""
    from greenws.metrics.aggregator import Aggregator
    from greenws.metrics.builtin import register_builtin
    from greenws.metrics.metric import Registry
    from greenws.metrics.tags import TagSet
    from greenws.summary.export import to_summary_export

    registry = Registry()
    builtin = register_builtin(registry)
    aggregator = Aggregator(registry)
    aggregator.add_batch([(builtin.ws_ping, 0.0, float(v), TagSet()) for v in range(1, 101)])
    verdicts = {"ws_ping": {"p(99)<500": True, "avg!=0": True, "max<50": False}}
    data = aggregator.summary_data(duration_s=1.0, trend_stats=["max"], thresholds=verdicts)
    lines = _lines(data)
    # The histogram's p(99) of 1..100 is within 0.39 % of k6's exact 99.01.
    assert any(line.startswith("    ✓ 'p(99)<500' p(99)=99.") for line in lines)
    assert "    ✓ 'avg!=0' avg=50.5ms" in lines
    assert "    ✗ 'max<50' max=100ms" in lines
    ws_ping = next(line for line in lines if line.startswith("    ws_ping..."))
    assert ws_ping.split(": ", 1)[1] == "max=100ms"
    exported = to_summary_export(data)["metrics"]["ws_ping"]
    assert exported["p(99)"] == pytest.approx(99.01, rel=0.005)
    assert exported["thresholds"] == {"p(99)<500": False, "avg!=0": False, "max<50": True}


def test_submetric_threshold_without_parent_shows_full_name(data: dict[str, Any]) -> None:
    del data["metrics"]["ws_connecting"]["thresholds"]
    lines = _lines(data)
    assert "    ws_connecting{status:101}" in lines
    assert "    ✗ 'max<2' max=2.29ms" in lines


def test_without_thresholds_or_checks(data: dict[str, Any]) -> None:
    for metric in data["metrics"].values():
        metric.pop("thresholds", None)
    del data["metrics"]["checks"]
    data["root_group"] = {"name": "", "path": "", "id": "", "groups": [], "checks": []}
    lines = _lines(data)
    assert lines[:4] == ["", "  █ TOTAL RESULTS", "", "    CUSTOM"]
    assert not any("checks_" in line for line in lines)


def test_checks_counted_from_tree_when_metric_absent(data: dict[str, Any]) -> None:
    del data["metrics"]["checks"]
    assert "    checks_total.......: 10     1.995092/s" in _lines(data)


def test_same_check_name_in_two_groups_is_merged(data: dict[str, Any]) -> None:
    data["root_group"]["groups"][0]["checks"][0]["name"] = "status is 101"
    lines = _lines(data)
    assert lines.count("    ✓ status is 101") == 1
    assert "    ✓ echo matches" not in lines


def test_color_decorates_without_moving_anything(data: dict[str, Any]) -> None:
    plain = render_summary(data, mode="full")
    colored = render_summary(data, mode="full", color=True)
    assert colored != plain
    assert strip_ansi(colored) == plain
    assert "\x1b[32m✓ status is 101\x1b[0m" in colored
    assert "\x1b[31m✗ history is complete\x1b[0m" in colored
    assert (
        "\x1b[31m✗\x1b[0m \x1b[37m'max<2'\x1b[0m \x1b[37mmax\x1b[0m=\x1b[36m2.29ms\x1b[0m"
        in colored
    )
    assert "\x1b[1mTOTAL RESULTS\x1b[0m" in colored
    assert "\x1b[1mWEBSOCKET\x1b[0m" in colored
    assert "\x1b[36m4\x1b[0m" in colored
    assert "\x1b[2;36m0.798/s\x1b[0m" in colored
    assert "\x1b[2;37m...:\x1b[0m" in colored


def test_stdout_framing(data: dict[str, Any]) -> None:
    assert stdout_summary(data) == "\n" + render_summary(data) + "\n\n"


def test_unknown_mode_is_rejected(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="legacy"):
        render_summary(data, mode="legacy")


def test_missing_parts_do_not_crash() -> None:
    text = render_summary({})
    assert text.split("\n")[:2] == ["", "  █ TOTAL RESULTS"]
    odd = {
        "metrics": {"weird": {"type": "histogram", "values": {}}},
        "options": {"summaryTrendStats": None},
    }
    assert "    weird...: [no data]" in render_summary(odd).split("\n")


def test_export_shaped_groups_render_too(data: dict[str, Any]) -> None:
    from greenws.summary.export import to_summary_export

    exported = to_summary_export(data)
    reshaped = {**data, "root_group": exported["root_group"]}
    assert render_summary(reshaped, mode="full") == render_summary(data, mode="full")
