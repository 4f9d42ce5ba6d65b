"""Execution segments with plain values: parsing, k6's striping, and scenarios cut to a segment.

The table tests use values k6's own tests expect (lib/execution_segment_test.go), reached by
working through k6's striping by hand; the property tests check what makes segments useful:
for any sequence and any count, the shares add up exactly and no index belongs to two segments.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenws.options.scenarios import ScenarioConfig, segment_scenario
from greenws.options.schedule import ramping_target, scenario_arrivals, scenario_vus_at
from greenws.options.segments import (
    ExecutionSegment,
    ExecutionTuple,
    SegmentError,
    SegmentSequence,
    even_sequence,
    execution_tuple,
    parse_segment,
    parse_sequence,
)
from greenws.options.values import Stage

THIRDS = "0,1/3,2/3,1"


def tuples_of(sequence: str) -> list[ExecutionTuple]:
    """One tuple per segment of a full sequence, in order."""
    points = parse_sequence(sequence)
    return [
        execution_tuple(ExecutionSegment(a, b), sequence) for a, b in itertools.pairwise(points)
    ]


# -- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0:1/3", "0:1/3"),
        ("1/3:2/3", "1/3:2/3"),
        ("0.5:1.0", "1/2:1"),
        ("50%:75%", "1/2:3/4"),
        ("2/4:75%", "1/2:3/4"),
        ("20%", "0:1/5"),  # a single value is the end of a first segment
        ("0.2", "0:1/5"),
        ("", "0:1"),
    ],
)
def test_segments_parse_like_k6(text: str, expected: str) -> None:
    assert str(parse_segment(text)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1/2:1/3", "less than its end"),
        ("1/2:1/2", "less than its end"),
        ("-1/2:1", "at least 0"),
        ("0:3/2", "not be more than 1"),
        ("a:b", "'a' is not a valid"),
        ("0:1/0", "not a valid"),
    ],
)
def test_bad_segments_say_why(text: str, message: str) -> None:
    with pytest.raises(SegmentError, match=message):
        parse_segment(text)


def test_sequences_parse_and_must_increase_within_zero_and_one() -> None:
    assert parse_sequence("0, 25%, 0.5, 1") == tuple(map(Fraction, ("0", "1/4", "1/2", "1")))
    assert parse_sequence(["0", "1/2", "1"]) == tuple(map(Fraction, ("0", "1/2", "1")))
    for bad, message in [
        ("0,2/3,1/3,1", "less than its end"),  # not ordered
        ("0,1/2,1/2,1", "less than its end"),  # an empty segment
        ("0,1/2,3/2", "not be more than 1"),
        ("-1,0,1", "at least 0"),
        ("1/2", "at least 2 points"),
    ]:
        with pytest.raises(SegmentError, match=message):
            parse_sequence(bad)


def test_the_segment_must_be_one_of_the_sequence() -> None:
    with pytest.raises(SegmentError, match="1/4:1/2 is not one of the segments"):
        execution_tuple("1/4:1/2", THIRDS)
    with pytest.raises(SegmentError, match="0:2/3"):  # overlapping two segments
        execution_tuple("0:2/3", THIRDS)
    with pytest.raises(SegmentError, match="0:1 is not one"):  # a sequence without a segment
        execution_tuple(None, THIRDS)


def test_absurdly_fine_segments_are_refused() -> None:
    with pytest.raises(SegmentError, match="too fine"):
        execution_tuple("0:0.1234567", None)


def test_even_sequence() -> None:
    assert even_sequence(1) == ["0", "1"]
    assert even_sequence(3) == ["0", "1/3", "2/3", "1"]
    assert even_sequence(4) == ["0", "1/4", "1/2", "3/4", "1"]
    with pytest.raises(SegmentError):
        even_sequence(0)


# -- k6's numbers -----------------------------------------------------------------------------


def test_thirds_split_ten_vus_four_three_three() -> None:
    assert [t.scale(10) for t in tuples_of(THIRDS)] == [4, 3, 3]
    assert [t.scale(2) for t in tuples_of(THIRDS)] == [1, 1, 0]
    assert [t.scale(20) for t in tuples_of(THIRDS)] == [7, 7, 6]


def test_half_quarter_quarter_strips_interleaved() -> None:
    """k6's documented example: 0:1/2 takes 0,2,4…; 1/2:3/4 takes 1,5,9…; 3/4:1 takes 3,7,11…"""
    half, quarter, last = tuples_of("0,1/2,3/4,1")
    assert [i for i in range(12) if half.owns(i)] == [0, 2, 4, 6, 8, 10]
    assert [i for i in range(12) if quarter.owns(i)] == [1, 5, 9]
    assert [i for i in range(12) if last.owns(i)] == [3, 7, 11]
    assert [half.scale(n) for n in range(1, 13)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    assert [quarter.scale(n) for n in range(1, 13)] == [0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3]
    assert [last.scale(n) for n in range(1, 13)] == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3]


@pytest.mark.parametrize(
    ("sequence", "segment", "positions", "lcd"),
    [  # k6's TestGetStripedOffsets (start + offsets) written as the positions of one cycle
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0:0.3", (0, 4, 7), 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.3:0.5", (1, 5), 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.5:0.6", (2,), 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.6:0.7", (3,), 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.8:0.9", (8,), 10),
        ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", "0.9:1", (9,), 10),
        ("0,0.2,0.5,0.6,0.7,0.8,0.9,1", "0:0.2", (1, 5), 10),
        ("0,0.2,0.5", "0:0.2", (3, 9), 10),  # not full: 0.5:1 fills the gap
        ("0,0.2,0.5", "0.2:0.5", (1, 5, 7), 10),
        ("0,2/5,4/5", "0:2/5", (0, 3), 5),
        ("0,2/5,4/5", "2/5:4/5", (1, 4), 5),
        (None, "0:0.2", (1,), 5),  # no sequence: 0,1/5,1
        (None, "0:0.4", (1, 3), 5),
        (None, "2/5:4/5", (1, 4), 5),
    ],
)
def test_striped_positions_match_k6(
    sequence: str | None, segment: str, positions: tuple[int, ...], lcd: int
) -> None:
    found = execution_tuple(segment, sequence)
    assert found.sequence.lcd == lcd
    assert found.sequence.positions[found.index] == positions


def test_a_segment_alone_implies_zero_a_b_one() -> None:
    assert str(execution_tuple("1/3:2/3", None).sequence) == THIRDS
    assert str(execution_tuple("0:1/2", None).sequence) == "0,1/2,1"
    assert str(execution_tuple("1/2:1", None).sequence) == "0,1/2,1"
    first, second = execution_tuple("0.5", None), execution_tuple("0.5:1.0", None)
    assert (first.scale(2), first.scale(3)) == (1, 2)  # k6's TestExecutionTupleScale
    assert (second.scale(2), second.scale(3)) == (1, 1)


def test_recut_by_a_total_follows_how_it_splits() -> None:
    recut = execution_tuple("0:1/3", THIRDS).for_total(20)
    assert recut is not None and str(recut.sequence) == "0,7/20,7/10,1"  # k6's own example
    # one VU in thirds: only the first segment has it, so it gets all the work
    assert execution_tuple("1/3:2/3", THIRDS).for_total(1) is None
    only = execution_tuple("0:1/3", THIRDS).for_total(1)
    assert only is not None and only.is_full and only.scale(7) == 7


# -- properties -------------------------------------------------------------------------------


@st.composite
def sequences(draw: st.DrawFn) -> SegmentSequence:
    """A full sequence with small denominators (as people write them: halves, thirds, 10 %)."""
    inner = draw(
        st.sets(
            st.builds(Fraction, st.integers(1, 23), st.integers(2, 24)).filter(
                lambda value: 0 < value < 1
            ),
            max_size=6,
        )
    )
    return SegmentSequence((Fraction(0), *sorted(inner), Fraction(1)))


def _tuples(sequence: SegmentSequence) -> list[ExecutionTuple]:
    return [ExecutionTuple(sequence, index) for index in range(len(sequence.segments))]


@settings(max_examples=300, deadline=None)
@given(sequence=sequences(), total=st.integers(0, 2000))
def test_shares_add_up_to_the_total_and_only_grow(sequence: SegmentSequence, total: int) -> None:
    shares = [share.scale(total) for share in _tuples(sequence)]
    assert sum(shares) == total
    grown = [share.scale(total + 1) for share in _tuples(sequence)]
    assert all(after >= before for after, before in zip(grown, shares, strict=True))
    # over whole cycles every segment gets exactly its length
    for share in _tuples(sequence):
        cycles = total * sequence.lcd
        assert share.scale(cycles) == share.segment.length * cycles


@settings(max_examples=300, deadline=None)
@given(sequence=sequences(), count=st.integers(1, 300))
def test_every_index_belongs_to_exactly_one_segment(sequence: SegmentSequence, count: int) -> None:
    tuples = _tuples(sequence)
    for item in range(count):
        assert sum(share.owns(item) for share in tuples) == 1
    for share in tuples:  # striping and scaling agree: the first N hold scale(N) of its own
        assert sum(share.owns(item) for item in range(count)) == share.scale(count)


@settings(max_examples=200, deadline=None)
@given(sequence=sequences(), vus=st.integers(1, 60), iterations=st.integers(0, 500))
def test_recut_shares_add_up_and_skip_segments_without_vus(
    sequence: SegmentSequence, vus: int, iterations: int
) -> None:
    total = 0
    for share in _tuples(sequence):
        recut = share.for_total(vus)
        if share.scale(vus) == 0:
            assert recut is None
            continue
        assert recut is not None
        total += recut.scale(iterations)
    assert total == iterations


@given(total=st.integers(0, 10_000), item=st.integers(0, 10_000))
def test_the_full_segment_is_the_identity(total: int, item: int) -> None:
    for whole in (execution_tuple(None, None), execution_tuple("0:1", "0,1")):
        assert whole.is_full and whole.scale(total) == total and whole.owns(item)
        assert whole.for_total(max(total, 1)) is whole


# -- scenarios cut to segments ----------------------------------------------------------------

SCENARIOS = [
    ScenarioConfig("shared", "shared-iterations", vus=5, iterations=23),
    ScenarioConfig("per_vu", "per-vu-iterations", vus=5, iterations=3),
    ScenarioConfig("constant", "constant-vus", vus=7, duration=2.0),
    ScenarioConfig(
        "ramp", "ramping-vus", start_vus=1, stages=(Stage(4.0, 10), Stage(2.0, 3), Stage(0.0, 7))
    ),
    ScenarioConfig(
        "car", "constant-arrival-rate", rate=17, duration=3.0, pre_allocated_vus=2, max_vus_limit=5
    ),
    ScenarioConfig(
        "rar",
        "ramping-arrival-rate",
        start_rate=3,
        stages=(Stage(2.0, 20), Stage(1.0, 20)),
        pre_allocated_vus=4,
        max_vus_limit=7,
    ),
]


def planned_iterations(scenario: ScenarioConfig) -> int:
    if scenario.executor == "per-vu-iterations":
        return scenario.vus * (scenario.iterations or 0)
    return scenario.iterations or 0


@pytest.mark.parametrize("sequence", [THIRDS, "0,1/2,1", "0,1/4,1/2,3/4,1", "0,0.1,0.7,1"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.executor)
def test_scenario_shares_add_up_to_the_whole(scenario: ScenarioConfig, sequence: str) -> None:
    shares = [segment_scenario(scenario, share) for share in tuples_of(sequence)]
    worked = [share for share in shares if share is not None]
    assert sum(share.max_vus for share in worked) == scenario.max_vus
    if scenario.executor in ("shared-iterations", "per-vu-iterations"):
        assert sum(planned_iterations(s) for s in worked) == planned_iterations(scenario)
    if scenario.is_arrival_rate:
        assert sum(s.pre_allocated_vus for s in worked) == scenario.pre_allocated_vus
        whole = list(scenario_arrivals(scenario))
        parts = sorted(offset for share in worked for offset in scenario_arrivals(share))
        assert parts == whole  # every start exactly once, at its own time
    if scenario.executor == "ramping-vus":
        for tenth in range(70):
            elapsed = tenth / 10
            wanted = ramping_target(scenario.start_vus, scenario.stages, elapsed)
            assert sum(scenario_vus_at(share, elapsed) for share in worked) == wanted


def test_a_segment_without_vus_has_no_work() -> None:
    lone = ScenarioConfig("one", "constant-vus", vus=1, duration=1.0)
    assert [segment_scenario(lone, share) is None for share in tuples_of(THIRDS)] == [
        False,
        True,
        True,
    ]
    shared = ScenarioConfig("s", "shared-iterations", vus=2, iterations=10)
    cut = [segment_scenario(shared, share) for share in tuples_of(THIRDS)]
    # the VU-less third gets none of the iterations; the two with a VU share all ten
    assert cut[2] is None
    assert [(s.vus, s.iterations) for s in cut if s is not None] == [(1, 5), (1, 5)]


def test_the_segment_maths_and_scenarios_import_no_io() -> None:
    """Pure like the protocol core: a fresh interpreter loads neither gevent nor socket."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import json, sys, types\n"
        "stub = types.ModuleType('greenws'); stub.__path__ = [sys.argv[1] + '/greenws']\n"
        "sys.modules['greenws'] = stub\n"
        "import greenws.options.segments, greenws.options.scenarios, greenws.options.layers, greenws.options.schedule\n"
        "bad = ('gevent', 'socket', '_socket', 'asyncio', 'ssl', 'select', 'selectors')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in bad)))\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", probe, str(root)], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []


def test_vu_ids_of_the_segments_of_a_sequence_are_the_whole_tests_ids_once_each() -> None:
    from greenws.options.derive import global_vu_ids
    from greenws.options.layers import resolve_options

    scenarios = {
        "a": {"executor": "constant-vus", "vus": 5, "duration": "1s"},
        "b": {"executor": "per-vu-iterations", "vus": 3, "iterations": 1},
        "c": {
            "executor": "constant-arrival-rate",
            "rate": 5,
            "duration": "1s",
            "preAllocatedVUs": 2,
            "maxVUs": 7,
        },
    }
    whole = global_vu_ids(resolve_options(("script", {"scenarios": scenarios})))
    assert whole == {"a": [1, 2, 3, 4, 5], "b": [6, 7, 8], "c": list(range(9, 16))}
    for sequence in ("0,1/2,1", "0,1/3,2/3,1", "0,1/4,1/2,3/4,1", "0,1/2,3/4,1"):
        points = sequence.split(",")
        seen: list[int] = []
        for start, end in itertools.pairwise(points):
            layer = {"scenarios": scenarios, "executionSegment": f"{start}:{end}"}
            layer["executionSegmentSequence"] = sequence
            ids = global_vu_ids(resolve_options(("script", layer)))
            seen += [vu_id for scenario_ids in ids.values() for vu_id in scenario_ids]
        assert sorted(seen) == list(range(1, 16)), sequence
