"""``--barrier DIR`` and ``--start-at``: runners started apart agree on one start instant, and a
runner that never arrives fails the others (or is named when they start without it)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from greenws.execution.start_gate import parse_start_at
from tests.greenws_runner import ROOT, write_script

SCRIPT = """
options = {"scenarios": {"s": {"executor": "shared-iterations", "vus": 3, "iterations": 3}}}

def default():
    pass
"""
SEQUENCE = "0,1/3,2/3,1"
SEGMENTS = ("0:1/3", "1/3:2/3", "2/3:1")
STARTING = re.compile(r'msg="starting at ([^"]+)"')


def runner(script: Path, barrier: Path, segment: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "greenws",
            "run",
            str(script),
            "-q",
            "--summary-mode",
            "disabled",
            "--barrier",
            str(barrier),
            "--execution-segment",
            segment,
            "--execution-segment-sequence",
            SEQUENCE,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = process.communicate(timeout=90)
    return process.returncode, err


def test_runners_started_apart_start_at_one_instant(tmp_path: Path) -> None:
    script = write_script(tmp_path, SCRIPT)
    processes = []
    for segment in SEGMENTS:
        processes.append(runner(script, tmp_path / "barrier", segment))
        time.sleep(1.0)  # the runners come up apart, as pods do
    results = [finish(p) for p in processes]
    assert [code for code, _ in results] == [0, 0, 0], results
    instants = {STARTING.search(err).group(1) for _, err in results}  # type: ignore[union-attr]
    assert len(instants) == 1  # every runner computed the same start from the same files
    assert sorted(p.name for p in (tmp_path / "barrier").iterdir()) == [
        "segment-0-1_3.json",
        "segment-1_3-2_3.json",
        "segment-2_3-1.json",
    ]


def test_a_runner_that_never_arrives_fails_the_others_with_123(tmp_path: Path) -> None:
    script = write_script(tmp_path, SCRIPT)
    processes = [runner(script, tmp_path / "b", s, "--barrier-timeout", "1s") for s in SEGMENTS[:2]]
    for code, err in (finish(p) for p in processes):
        assert code == 123
        assert "2 of 3 runners checked in within 1s; missing segment(s) 2/3:1" in err


def test_start_without_the_missing_runner_then_refuse_it_late(tmp_path: Path) -> None:
    script = write_script(tmp_path, SCRIPT)
    barrier = tmp_path / "b"
    flags = ("--barrier-timeout", "1s", "--barrier-missing", "start")
    results = [finish(runner(script, barrier, s, *flags)) for s in SEGMENTS[:1]]
    results += [finish(runner(script, barrier, SEGMENTS[1], *flags))]
    code, err = results[0]
    assert code == 0, err
    assert "starting without segment(s) 1/3:2/3, 2/3:1" in err
    # the second arrived after the start: it must not run a late, partial segment
    code, err = results[1]
    assert code == 123
    assert "without segment 1/3:2/3 (it arrived after --barrier-timeout)" in err


def test_a_segment_checked_in_twice_is_refused(tmp_path: Path) -> None:
    script = write_script(tmp_path, SCRIPT)
    barrier = tmp_path / "b"
    first = runner(script, barrier, SEGMENTS[0], "--barrier-timeout", "1s")
    time.sleep(0.5)
    code, err = finish(runner(script, barrier, SEGMENTS[0]))
    finish(first)
    assert code == 104
    assert "segment 0:1/3 has already checked in there" in err


def test_barrier_without_a_segment_and_bad_start_times_are_one_line(tmp_path: Path) -> None:
    script = write_script(tmp_path, SCRIPT)
    command = [sys.executable, "-m", "greenws", "run", str(script), "-q"]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [*command, "--barrier", str(tmp_path)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 104
    assert done.stderr.strip().splitlines() == [
        "greenws: error: --barrier needs --execution-segment and --execution-segment-sequence: "
        "the sequence says how many runners to wait for"
    ]
    done = subprocess.run(
        [*command, "--start-at", "soon"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 104
    assert "--start-at 'soon': expected an RFC 3339 time" in done.stderr


@pytest.mark.parametrize(
    ("text", "unix"),
    [
        ("2026-12-06T18:30:00Z", 1796581800.0),
        ("2026-12-06T19:30:00+01:00", 1796581800.0),
        ("2026-12-06T18:30:00", 1796581800.0),  # no zone: UTC
        ("1796581800.5", 1796581800.5),
    ],
)
def test_start_at_spellings(text: str, unix: float) -> None:
    assert parse_start_at(text) == unix
