"""check_parts: one whole test, or each problem named (lost, duplicated, foreign runs)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from greenws.options.layers import resolve_options
from greenws.options.run_parts import check_parts, options_fingerprint, run_part

SEQUENCE = "0,1/3,2/3,1"


def part(
    segment: str, script: str = "aaaa", options: str = "oooo", sequence: str = SEQUENCE
) -> Any:
    return run_part(
        segment=segment, sequence=sequence, script="t.py", script_sha=script, options_sha=options
    )


def test_every_segment_once_is_complete() -> None:
    parts = [("a", part("0:1/3")), ("b", part("1/3:2/3")), ("c", part("2/3:1"))]
    report = check_parts(parts)
    assert report.complete and report.covered == 1 and report.problems == []


def test_a_lost_runner_is_named_by_segment() -> None:
    report = check_parts([("a", part("0:1/3")), ("c", part("2/3:1"))])
    assert report.missing == ["1/3:2/3"]
    assert report.covered == Fraction(2, 3)
    assert report.problems == [
        "segment 1/3:2/3 of sequence 0,1/3,2/3,1 is missing: 2 of 3 runs are here (a lost runner?)"
    ]


def test_a_retried_runner_is_a_duplicate() -> None:
    parts = [("a", part("0:1/3")), ("b", part("1/3:2/3")), ("b2", part("1/3:2/3"))]
    parts.append(("c", part("2/3:1")))
    report = check_parts(parts)
    assert report.duplicated == {"1/3:2/3": ["b", "b2"]}
    assert report.missing == [] and not report.complete


def test_other_scripts_options_and_sequences_are_named() -> None:
    parts = [
        ("a", part("0:1/2", sequence="0,1/2,1")),
        ("b", part("1/2:1", script="bbbb", options="pppp", sequence="0,1/2,1")),
    ]
    problems = check_parts(parts).problems
    assert problems == [
        "the runs are of different scripts: a: t.py (aaaa); b: t.py (bbbb)",
        "the runs are of different options (vus, duration, stages, scenarios…): a: t.py (oooo); "
        "b: t.py (pppp)",
    ]
    parts = [("a", part("0:1/2", sequence="0,1/2,1")), ("b", part("2/3:1"))]
    assert "different execution segment sequences" in check_parts(parts).problems[0]


def test_unsegmented_runs_are_independent_and_complete() -> None:
    assert check_parts([("a", part("0:1", sequence="")), ("b", part("0:1", sequence=""))]).complete


def test_a_segment_without_a_sequence_implies_one() -> None:
    recorded = part("0:1/2", sequence="")
    assert recorded["sequence"] == "0,1/2,1"
    assert check_parts([("a", recorded)]).missing == ["1/2:1"]


def test_the_options_fingerprint_ignores_what_differs_by_design() -> None:
    base = resolve_options(("script", {"vus": 10, "duration": "1m"}))
    other = resolve_options(
        ("script", {"vus": 10, "duration": "1m", "localIPs": "127.0.0.2", "tags": {"pod": "3"}}),
        ("cli", {"executionSegment": "0:1/2", "executionSegmentSequence": "0,1/2,1"}),
    )
    assert options_fingerprint(base) == options_fingerprint(other)
    assert options_fingerprint(base) != options_fingerprint(
        resolve_options(("script", {"vus": 11, "duration": "1m"}))
    )
