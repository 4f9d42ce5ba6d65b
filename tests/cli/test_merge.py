"""``greenws merge``: real runs' --summary-export files merged into one summary and one verdict.

The end-to-end tests run k6's ws example (examples/k6_ws_example.py, against the embedded echo
server) twice as real ``greenws run`` processes, each under a threshold it passes alone
(``iterations: count<6`` with 4 iterations), then merge the two exports: the numbers must add
up and the threshold must fail on the sum -- what k6, which judges each instance alone, misses.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import ROOT, RunResult, run_greenws

from greenws.cli.merge import merge_command
from greenws.cli.parser import build_parser
from greenws.metrics.aggregator import Aggregator
from greenws.metrics.builtin import register_builtin
from greenws.metrics.metric import Registry
from greenws.metrics.state import RunState
from greenws.metrics.tags import TagSet
from greenws.summary.export import summary_export_json

EXAMPLE = ROOT / "examples" / "k6_ws_example.py"
THRESHOLDS = {"iterations": ["count<6"], "checks": ["rate>0.9"]}
# Merging involves no plugins: keep whatever is installed on this machine out of the runs.
ENV = {"GREENWS_DISABLE_PLUGIN_AUTOLOAD": "1"}


def merge(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``greenws merge ARGS`` as a child process."""
    return subprocess.run(
        [sys.executable, "-m", "greenws", "merge", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **ENV},
        stdin=subprocess.DEVNULL,
    )


def summary_text(stdout: str) -> str:
    """The end-of-test summary: from the THRESHOLDS title on (the example prints before it)."""
    return stdout[stdout.index("█ THRESHOLDS") :]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, RunResult]]:
    """Two runs of the example; its port is swapped for a free one so parallel runs cannot clash."""
    from servers import free_port

    runs = []
    for name in ("a", "b"):
        directory = tmp_path_factory.mktemp(f"run_{name}")
        port = free_port()
        script = directory / "k6_ws_example.py"
        source = EXAMPLE.read_text(encoding="utf-8")
        assert "ws://127.0.0.1:8765" in source
        script.write_text(source.replace("8765", str(port)), encoding="utf-8")
        (directory / "config.json").write_text(json.dumps({"thresholds": THRESHOLDS}))
        result = run_greenws(
            directory,
            script,
            "--echo-server",
            "--echo-port",
            str(port),
            "-u",
            "2",
            "-i",
            "4",
            "--config",
            str(directory / "config.json"),
            env=ENV,
        )
        assert result.returncode == 0, result.stderr  # each run passes its thresholds alone
        assert result.metric("iterations")["count"] == 4
        runs.append((directory / "summary.json", result))
    return runs


def test_counts_add_up_and_a_threshold_fails_only_on_the_merged_data(
    runs: list[tuple[Path, RunResult]], tmp_path: Path
) -> None:
    (a, run_a), (b, run_b) = runs
    out = tmp_path / "merged.json"
    merged = merge(tmp_path, str(a), str(b), "--summary-export", str(out), "--no-color")
    assert merged.returncode == 99, merged.stderr
    assert merged.stderr == ""
    assert "✗ 'count<6' count=8" in merged.stdout
    assert "✓ 'rate>0.9' rate=100.00%" in merged.stdout
    document = json.loads(out.read_text(encoding="utf-8"))
    metrics = document["metrics"]
    for name in ("iterations", "ws_sessions", "ws_msgs_sent", "data_sent", "data_received"):
        total = run_a.metric(name)["count"] + run_b.metric(name)["count"]
        assert metrics[name]["count"] == total, name
    assert metrics["iterations"]["count"] == 8
    assert metrics["iterations"]["thresholds"] == {"count<6": True}  # k6's export: true = failed
    assert metrics["checks"]["thresholds"] == {"rate>0.9": False}
    for key in ("passes", "fails"):
        assert metrics["checks"][key] == run_a.metric("checks")[key] + run_b.metric("checks")[key]
    check = document["root_group"]["checks"]["status is 101"]
    assert check["passes"] == 8 and check["fails"] == 0
    trends = [name for name, values in run_a.summary["metrics"].items() if "avg" in values]
    assert {"ws_connecting", "ws_session_duration", "iteration_duration"} <= set(trends)
    for name in trends:
        one, two = run_a.metric(name), run_b.metric(name)
        assert metrics[name]["count"] == one["count"] + two["count"], name
        assert metrics[name]["min"] == min(one["min"], two["min"]), name
        assert metrics[name]["max"] == max(one["max"], two["max"]), name
    state = document["greenws_state"]
    durations = [
        json.loads(path.read_text())["greenws_state"]["testRunDurationMs"] for path in (a, b)
    ]
    assert state["testRunDurationMs"] == max(durations)
    assert state["options"]["thresholds"] == THRESHOLDS


def test_one_file_merged_alone_prints_the_runs_own_summary(
    runs: list[tuple[Path, RunResult]], tmp_path: Path
) -> None:
    (a, run_a), _ = runs
    merged = merge(tmp_path, str(a), "--no-color")
    assert merged.returncode == 0, merged.stderr
    assert summary_text(merged.stdout) == summary_text(run_a.stdout)


def test_a_merged_export_merges_again(runs: list[tuple[Path, RunResult]], tmp_path: Path) -> None:
    (a, run_a), (b, run_b) = runs
    out = tmp_path / "ab.json"
    assert merge(tmp_path, str(a), str(b), "--summary-export", str(out)).returncode == 99
    again = tmp_path / "aba.json"
    merged = merge(tmp_path, str(out), str(a), "--summary-export", str(again), "--no-color")
    assert merged.returncode == 99, merged.stderr
    metrics = json.loads(again.read_text())["metrics"]
    assert metrics["iterations"]["count"] == 12
    expected = 2 * run_a.metric("ws_sessions")["count"] + run_b.metric("ws_sessions")["count"]
    assert metrics["ws_sessions"]["count"] == expected


def test_no_thresholds_and_summary_flags(
    runs: list[tuple[Path, RunResult]], tmp_path: Path
) -> None:
    (a, _), (b, _) = runs
    merged = merge(
        tmp_path,
        str(a),
        str(b),
        "--no-thresholds",
        "--no-color",
        "--summary-trend-stats",
        "min,p(99),count",
        "--summary-time-unit",
        "ms",
    )
    assert merged.returncode == 0, merged.stderr
    assert "THRESHOLDS" not in merged.stdout
    line = next(line for line in merged.stdout.splitlines() if "ws_session_duration" in line)
    assert "min=" in line and "p(99)=" in line and "count=" in line and "avg=" not in line
    assert "ms" in line and "s " not in line.replace("ms", "")


def _without_state(path: Path, target: Path) -> None:
    document = json.loads(path.read_text())
    del document["greenws_state"]
    target.write_text(json.dumps(document))


def _other_version(path: Path, target: Path) -> None:
    document = json.loads(path.read_text())
    document["greenws_state"]["version"] = 99
    target.write_text(json.dumps(document))


def _conflicting_thresholds(path: Path, target: Path) -> None:
    document = json.loads(path.read_text())
    document["greenws_state"]["options"]["thresholds"] = {
        "iterations": [{"threshold": "count<6", "abortOnFail": True}]
    }
    target.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (None, "no such file"),
        (lambda source, target: target.write_text("{not json"), "not JSON"),
        (_without_state, "no greenws state in it"),
        (_other_version, "version 99 is not supported"),
        (_conflicting_thresholds, "conflicting definitions of threshold 'count<6'"),
        (
            lambda source, target: target.write_text(
                (source.parent / "samples.ndjson").read_text()
            ),
            "this is --out json output (one JSON object per line); greenws merge reads the "
            "--summary-export files",
        ),
    ],
    ids=["missing", "not-json", "no-state", "version", "conflict", "ndjson"],
)
def test_bad_input_exits_104_with_one_line_naming_the_file(
    runs: list[tuple[Path, RunResult]], tmp_path: Path, make: Any, message: str
) -> None:
    (a, _), _ = runs
    bad = tmp_path / "bad.json"
    if make is not None:
        make(a, bad)
    merged = merge(tmp_path, str(a), str(bad))
    assert merged.returncode == 104, merged.stdout + merged.stderr
    assert merged.stderr.count("\n") == 1
    assert merged.stderr.startswith(f"greenws: error: {bad}: ")
    assert message in merged.stderr
    assert merged.stdout == ""


def test_bad_flags_exit_104(runs: list[tuple[Path, RunResult]], tmp_path: Path) -> None:
    (a, _), _ = runs
    merged = merge(tmp_path, str(a), "--summary-trend-stats", "avg,p(x)")
    assert merged.returncode == 104
    assert "stat 'p(x)'" in merged.stderr
    assert merge(tmp_path).returncode == 104  # no files at all


# -- in process: files built from aggregators ----------------------------------------------------
def export_file(
    path: Path, sessions: list[str], thresholds: dict[str, Any], *, full: bool = False
) -> Path:
    """An export of a run whose ws_sessions samples carry these statuses, in scenario "s";
    ``full``: a run with --summary-mode full (its state holds the per-scenario blocks)."""
    registry = Registry()
    builtin = register_builtin(registry)
    aggregator = Aggregator(registry, breakdown=full)
    for key in thresholds:
        if "{" in key:
            aggregator.add_submetric(key)
    aggregator.add_batch(
        [
            (builtin.ws_sessions, 1.0, 1.0, TagSet({"status": status, "scenario": "s"}))
            for status in sessions
        ]
    )
    data = aggregator.summary_data(duration_s=1.0)
    data["state"]["greenwsState"] = RunState(
        aggregator, duration_s=1.0, thresholds=thresholds
    ).to_state()
    path.write_text(summary_export_json(data), encoding="utf-8")
    return path


def run_merge(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = merge_command(build_parser().parse_args(["merge", *args]), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_a_submetric_only_some_files_tracked_is_warned_about(tmp_path: Path) -> None:
    first = export_file(
        tmp_path / "a.json", ["101", "101", "500"], {"ws_sessions{status:101}": ["count<3"]}
    )
    second = export_file(tmp_path / "b.json", ["101", "101"], {})
    export = tmp_path / "merged.json"
    code, out, err = run_merge(
        str(first), str(second), "--no-color", "--summary-export", str(export)
    )
    assert code == 0  # only a.json's two 101s are in the submetric: 2 < 3
    assert "✓ 'count<3' count=2" in out
    metrics = json.loads(export.read_text())["metrics"]
    assert metrics["ws_sessions"]["count"] == 5
    assert metrics["ws_sessions{status:101}"]["count"] == 2
    assert err == (
        f"greenws: warning: submetric ws_sessions{{status:101}} was not tracked in {second}: "
        f"its merged values come from {first} only\n"
    )
    both = export_file(tmp_path / "c.json", ["101", "101"], {"ws_sessions{status:101}": []})
    code, out, err = run_merge(str(first), str(both), "--no-color")
    assert (code, err) == (99, "")  # tracked by both: 4 sessions with status 101
    assert "✗ 'count<3' count=4" in out


def test_thresholds_of_every_file_are_judged(tmp_path: Path) -> None:
    first = export_file(tmp_path / "a.json", ["101"], {"ws_sessions": ["count<5"]})
    second = export_file(tmp_path / "b.json", ["101"], {"ws_sessions": ["count>2"]})
    code, out, _ = run_merge(str(first), str(second), "--no-color")
    assert code == 99
    assert "✓ 'count<5' count=2" in out and "✗ 'count>2' count=2" in out
    code, _, _ = run_merge(str(first), str(first))
    assert code == 0


def test_full_mode_blocks_merge_and_runs_without_them_are_warned_about(tmp_path: Path) -> None:
    first = export_file(tmp_path / "a.json", ["101", "101"], {}, full=True)
    second = export_file(tmp_path / "b.json", ["101"], {}, full=True)
    compact = export_file(tmp_path / "c.json", ["101"], {})
    assert "breakdown" not in json.loads(first.read_text())  # the blocks are in greenws_state

    code, out, err = run_merge(str(first), str(second), "--no-color", "--summary-mode", "full")
    assert (code, err) == (0, "")
    scenario = out[out.index("  █ SCENARIO: s") :]
    assert "    ws_sessions...: 3 3/s" in scenario.split("\n")

    code, out, err = run_merge(str(first), str(compact), "--no-color", "--summary-mode", "full")
    assert code == 0
    assert err == (
        f"greenws: warning: {compact} ran without --summary-mode full: the per-scenario and "
        f"per-group blocks hold {first} only\n"
    )
    assert "    ws_sessions...: 2 2/s" in out[out.index("  █ SCENARIO: s") :].split("\n")
    assert run_merge(str(first), str(compact), "--no-color")[2] == ""  # compact: no blocks shown

    code, out, err = run_merge(str(compact), "--no-color", "--summary-mode", "full")
    assert code == 0
    assert "SCENARIO" not in out
    assert err.startswith("greenws: warning: no file holds the per-scenario and per-group blocks")
