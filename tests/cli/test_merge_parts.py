"""``greenws merge`` of real runs' exports: a whole test merges, a lost or duplicated segment or a
run of another script is named and exits 122, ``--allow-partial`` marks what it prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.greenws_runner import ROOT, run_greenws, write_script

SCRIPT = """
options = {"scenarios": {"s": {"executor": "shared-iterations", "vus": 3, "iterations": 9}}}

def default():
    pass
"""
SEQUENCE = "0,1/3,2/3,1"
SEGMENTS = ("0:1/3", "1/3:2/3", "2/3:1")


def merge(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenws", "merge", "--no-color", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=directory,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One export per segment, plus one of another script's."""
    directory = tmp_path_factory.mktemp("parts")
    found = {}
    for index, segment in enumerate(SEGMENTS):
        run_dir = directory / f"run{index}"
        run_dir.mkdir()
        result = run_greenws(
            run_dir,
            SCRIPT,
            "--execution-segment",
            segment,
            "--execution-segment-sequence",
            SEQUENCE,
        )
        assert result.returncode == 0, result.stderr
        found[segment] = run_dir / "summary.json"
    other = directory / "other"
    other.mkdir()
    script = write_script(other, SCRIPT + "\n# another version of the script\n")
    result = run_greenws(
        other, script, "--execution-segment", "2/3:1", "--execution-segment-sequence", SEQUENCE
    )
    assert result.returncode == 0, result.stderr
    found["other"] = other / "summary.json"
    return found


def test_the_whole_test_merges_to_one_processs_totals(exports: dict[str, Path]) -> None:
    directory = exports["0:1/3"].parent.parent
    out = directory / "merged.json"
    done = merge(directory, *(str(exports[s]) for s in SEGMENTS), "--summary-export", str(out))
    assert done.returncode == 0, done.stderr
    merged = json.loads(out.read_text())
    assert merged["metrics"]["iterations"]["count"] == 9
    assert "partial" not in merged.get("greenws", {})
    assert [p["segment"] for p in merged["greenws_state"]["parts"]] == list(SEGMENTS)


def test_a_lost_segment_exits_122_naming_it(exports: dict[str, Path]) -> None:
    directory = exports["0:1/3"].parent.parent
    done = merge(directory, str(exports["0:1/3"]), str(exports["2/3:1"]))
    assert done.returncode == 122
    assert done.stdout == ""
    assert "incomplete test: segment 1/3:2/3 of sequence 0,1/3,2/3,1 is missing" in done.stderr
    assert "--allow-partial" in done.stderr


def test_a_duplicated_segment_and_another_script_are_named(exports: dict[str, Path]) -> None:
    directory = exports["0:1/3"].parent.parent
    files = [str(exports[s]) for s in SEGMENTS] + [str(exports["2/3:1"])]
    done = merge(directory, *files)
    assert done.returncode == 122
    assert "segment 2/3:1 is in 2 files" in done.stderr
    files = [str(exports["0:1/3"]), str(exports["1/3:2/3"]), str(exports["other"])]
    done = merge(directory, *files)
    assert done.returncode == 122
    assert "the runs are of different scripts" in done.stderr
    assert str(exports["other"]) in done.stderr


def test_allow_partial_prints_and_exports_what_is_there_marked(exports: dict[str, Path]) -> None:
    directory = exports["0:1/3"].parent.parent
    out = directory / "partial.json"
    done = merge(
        directory,
        str(exports["0:1/3"]),
        str(exports["2/3:1"]),
        "--allow-partial",
        "--summary-export",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "PARTIAL RESULTS: 2/3 of the test (sequence 0,1/3,2/3,1, missing 1/3:2/3)" in done.stdout
    assert "warning: incomplete test: segment 1/3:2/3" in done.stderr
    merged = json.loads(out.read_text())
    assert merged["metrics"]["iterations"]["count"] == 6
    assert merged["greenws"]["partial"]["missing_segments"] == ["1/3:2/3"]
    # the partial export merged with the lost segment's file later is the whole test again
    done = merge(directory, str(out), str(exports["1/3:2/3"]))
    assert done.returncode == 0, done.stderr
