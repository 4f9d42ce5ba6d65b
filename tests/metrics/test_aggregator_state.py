"""Aggregator and run state: a JSON round trip, exact merges, and the merge rules' algebra.

The property the rest of greenws builds on: the states of aggregators that each saw part of the
samples merge into exactly what one aggregator fed every sample reports -- counters, rates, checks,
groups, and trend counts, minima, maxima and percentiles; only float sums (a trend's ``avg``) may
differ by rounding, since float addition is not associative.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenws.metrics.aggregator import Aggregator
from greenws.metrics.builtin import register_builtin
from greenws.metrics.metric import MetricType, Registry, ValueType
from greenws.metrics.sample import Sample
from greenws.metrics.sinks import GaugeSink, TrendSink
from greenws.metrics.state import (
    STATE_VERSION,
    RunState,
    StateError,
    aggregator_from_state,
    export_aggregator,
    merge_into_aggregator,
    merge_thresholds,
)
from greenws.metrics.tags import TagSet

T0 = 1_700_000_000.0
CUSTOM = {
    "my_count": (MetricType.COUNTER, ValueType.DEFAULT),
    "my_level": (MetricType.GAUGE, ValueType.DEFAULT),
    "my_ok": (MetricType.RATE, ValueType.DEFAULT),
    "my_time": (MetricType.TREND, ValueType.TIME),
}
SUBMETRICS = ("my_time{status:101}", "my_count{status:101}", "my_level{status:101}")
# Tag sets the samples choose from: groups (nested too), checks in groups, a submetric's tag.
TAGS = [
    TagSet({"group": ""}),
    TagSet({"group": "::chat"}),
    TagSet({"group": "::chat::inner", "status": "101"}),
    TagSet({"group": "", "status": "101"}),
    TagSet({"group": "", "check": "is 101"}),
    TagSet({"group": "::chat", "check": "is 101"}),
    TagSet({"group": "::chat", "check": "has body", "status": "101"}),
    TagSet({"group": "::other", "status": "404"}),
]
STATS = ("count", "min", "max", "med", "p(0)", "p(33.3)", "p(90)", "p(99.9)", "p(100)")

# (metric name, value, index into TAGS); times come from the position in the list.
sample_specs = st.lists(
    st.tuples(
        st.sampled_from([*CUSTOM, "checks", "iterations", "ws_ping"]),
        st.one_of(
            st.integers(-1000, 1000).map(float),
            st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False),
        ),
        st.integers(0, len(TAGS) - 1),
    ),
    max_size=120,
)
# Dyadic values (multiples of 1/8, bounded) add without rounding, so sums merge exactly too.
exact_specs = st.lists(
    st.tuples(
        st.sampled_from([*CUSTOM, "checks", "iterations", "ws_ping"]),
        st.integers(-8_000_000, 8_000_000).map(lambda k: k / 8),
        st.integers(0, len(TAGS) - 1),
    ),
    max_size=60,
)


def new_aggregator(*, extra: str | None = None) -> Aggregator:
    registry = Registry()
    register_builtin(registry)
    for name, (metric_type, contains) in CUSTOM.items():
        registry.get_or_create(name, metric_type, contains)
    if extra is not None:
        registry.get_or_create(extra, MetricType.COUNTER)
    aggregator = Aggregator(registry)
    for text in SUBMETRICS:
        aggregator.add_submetric(text)
    return aggregator


def samples_of(
    aggregator: Aggregator, specs: list[tuple[str, float, int]], start: int = 0
) -> list[Sample]:
    out: list[Sample] = []
    for i, (name, value, tag) in enumerate(specs, start):
        metric = aggregator.registry.get(name)
        assert metric is not None
        if metric.type is MetricType.COUNTER:
            value = float(abs(int(value)))  # counters add whole numbers here: exact sums
        out.append((metric, T0 + i, value, TAGS[tag]))
    return out


def feed(aggregator: Aggregator, specs: list[tuple[str, float, int]], start: int = 0) -> None:
    samples = samples_of(aggregator, specs, start)
    for i in range(0, len(samples), 7):  # several batches: per-batch paths get exercised
        aggregator.add_batch(samples[i : i + 7])


def round_trip(state: dict[str, Any]) -> dict[str, Any]:
    """Through JSON text, as it travels between processes and files."""
    return json.loads(json.dumps(state))  # type: ignore[no-any-return]


def merged(*states: dict[str, Any]) -> Aggregator:
    aggregator = aggregator_from_state(round_trip(states[0]))
    for state in states[1:]:
        merge_into_aggregator(aggregator, round_trip(state))
    return aggregator


def canonical(state: dict[str, Any]) -> dict[str, Any]:
    """The state with groups and checks sorted: their first-seen order is the one thing a merge's
    order may change (by design: the summary lists them in script order)."""
    state = copy.deepcopy(state)

    def walk(group: dict[str, Any]) -> None:
        group["checks"].sort(key=lambda c: c["name"])
        group["groups"].sort(key=lambda g: g["name"])
        for child in group["groups"]:
            walk(child)

    walk(state["root_group"])
    return state


def numbers(aggregator: Aggregator) -> dict[str, Any]:
    """Everything the summary shows, except the float sums (``avg``)."""
    data = aggregator.summary_data(duration_s=3.0, trend_stats=STATS)
    return {"metrics": data["metrics"], "root_group": data["root_group"]}


def averages(aggregator: Aggregator) -> dict[str, float]:
    data = aggregator.summary_data(duration_s=3.0, trend_stats=("avg",))
    return {name: m["values"]["avg"] for name, m in data["metrics"].items() if m["type"] == "trend"}


# -- the properties -----------------------------------------------------------------------------
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=sample_specs, cut=st.integers(0, 120))
def test_merged_halves_equal_one_aggregator_fed_everything(
    specs: list[tuple[str, float, int]], cut: int
) -> None:
    cut = min(cut, len(specs))
    whole, first, second = new_aggregator(), new_aggregator(), new_aggregator()
    feed(whole, specs)
    feed(first, specs[:cut])
    feed(second, specs[cut:], start=cut)
    combined = merged(export_aggregator(first), export_aggregator(second))
    assert numbers(combined) == numbers(whole)
    assert combined.sample_counts == whole.sample_counts
    for name, avg in averages(whole).items():
        assert math.isclose(averages(combined)[name], avg, rel_tol=1e-9, abs_tol=1e-6), name
    # Merging in the other order differs in first-seen order of groups and checks at most.
    other_way = merged(export_aggregator(second), export_aggregator(first))
    assert canonical(export_aggregator(other_way)) == canonical(export_aggregator(combined))


@settings(max_examples=150, deadline=None)
@given(a=sample_specs, b=sample_specs, extra=st.booleans())
def test_merge_is_commutative(
    a: list[tuple[str, float, int]], b: list[tuple[str, float, int]], extra: bool
) -> None:
    left, right = new_aggregator(), new_aggregator(extra="only_left" if extra else None)
    feed(left, a)
    feed(right, b)  # same timestamps as `left`: gauges tie, and the tie rule must commute too
    ab = export_aggregator(merged(export_aggregator(left), export_aggregator(right)))
    ba = export_aggregator(merged(export_aggregator(right), export_aggregator(left)))
    assert canonical(ab) == canonical(ba)


@settings(max_examples=100, deadline=None)
@given(a=exact_specs, b=exact_specs, c=exact_specs)
def test_merge_is_associative(
    a: list[tuple[str, float, int]],
    b: list[tuple[str, float, int]],
    c: list[tuple[str, float, int]],
) -> None:
    states = []
    for specs in (a, b, c):
        aggregator = new_aggregator()
        feed(aggregator, specs)
        states.append(export_aggregator(aggregator))
    left = export_aggregator(merged(export_aggregator(merged(states[0], states[1])), states[2]))
    right = export_aggregator(merged(states[0], export_aggregator(merged(states[1], states[2]))))
    assert canonical(left) == canonical(right)
    assert left == export_aggregator(merged(*states))


@settings(max_examples=60, deadline=None)
@given(specs=sample_specs)
def test_state_round_trips_exactly(specs: list[tuple[str, float, int]]) -> None:
    aggregator = new_aggregator()
    feed(aggregator, specs)
    state = export_aggregator(aggregator)
    assert round_trip(state) == state  # JSON-serialisable, and nothing is lost on the way
    rebuilt = aggregator_from_state(round_trip(state))
    assert export_aggregator(rebuilt) == state
    assert numbers(rebuilt) == numbers(aggregator)
    assert averages(rebuilt) == averages(aggregator)


# -- what a state carries -----------------------------------------------------------------------
def test_state_rebuilds_the_registry_and_submetrics_without_the_script() -> None:
    aggregator = new_aggregator()
    feed(aggregator, [("my_time", 2.5, 3), ("my_count", 4.0, 2), ("my_level", 7.0, 0)])
    rebuilt = aggregator_from_state(round_trip(export_aggregator(aggregator)))
    for name, (metric_type, contains) in CUSTOM.items():
        metric = rebuilt.registry.get(name)
        assert metric is not None
        assert (metric.type, metric.contains) == (metric_type, contains)
    assert rebuilt.registry.get("ws_ping") is not None  # built-ins travel like the rest
    sub = rebuilt.submetric("my_time{status:101}")
    assert sub is not None
    assert isinstance(sub.sink, TrendSink)
    assert sub.sink.histogram.count == 1
    assert rebuilt.submetric("my_count{status:101}") is not None
    assert [m.name for m in rebuilt.registry] == [m.name for m in aggregator.registry]


def test_groups_without_checks_and_check_counts_survive() -> None:
    aggregator = new_aggregator()
    feed(aggregator, [("iterations", 1.0, 2), ("checks", 1.0, 5), ("checks", 0.0, 5)])
    tree = aggregator_from_state(round_trip(export_aggregator(aggregator))).root_group()
    chat = tree["groups"][0]
    assert chat["name"] == "chat"
    assert chat["checks"] == [
        {
            "name": "is 101",
            "path": "::chat::is 101",
            "id": chat["checks"][0]["id"],
            "passes": 1,
            "fails": 1,
        }
    ]
    assert chat["groups"][0]["path"] == "::chat::inner"  # a group with no check of its own


def test_merge_keeps_first_seen_order_of_checks() -> None:
    first, second = new_aggregator(), new_aggregator()
    feed(first, [("checks", 1.0, 4)])
    feed(second, [("checks", 1.0, 6), ("checks", 1.0, 5)])
    tree = merged(export_aggregator(first), export_aggregator(second)).root_group()
    assert [c["name"] for c in tree["checks"]] == ["is 101"]
    assert [c["name"] for c in tree["groups"][0]["checks"]] == ["has body", "is 101"]


def test_counter_rate_and_trend_numbers_add_up() -> None:
    first, second = new_aggregator(), new_aggregator()
    feed(first, [("my_count", 3.0, 0), ("my_ok", 1.0, 0), ("my_time", 1.0, 0)])
    feed(
        second, [("my_count", 4.0, 0), ("my_ok", 0.0, 0), ("my_time", 3.0, 0), ("my_time", 5.0, 0)]
    )
    data = merged(export_aggregator(first), export_aggregator(second)).summary_data(
        duration_s=2.0, trend_stats=("count", "avg", "min", "max", "med")
    )["metrics"]
    assert data["my_count"]["values"] == {"count": 7.0, "rate": 3.5}
    assert data["my_ok"]["values"] == {"rate": 0.5, "passes": 1.0, "fails": 1.0}
    values = data["my_time"]["values"]
    assert (values["count"], values["avg"], values["min"], values["max"]) == (3.0, 3.0, 1.0, 5.0)
    assert values["med"] == pytest.approx(3.0, rel=0.004)  # a bucket estimate, as for one run


# -- gauges ---------------------------------------------------------------------------------------
def gauge(value: float, time: float | None, low: float | None = None) -> GaugeSink:
    sink = GaugeSink()
    sink.add_many([value] if low is None else [low, value])
    sink.time = time
    return sink


@pytest.mark.parametrize(
    ("a", "b", "value"),
    [
        (gauge(5.0, T0 + 2), gauge(9.0, T0 + 1), 5.0),  # the later one wins, whichever side
        (gauge(9.0, T0 + 1), gauge(5.0, T0 + 2), 5.0),
        (gauge(5.0, T0), gauge(9.0, T0), 9.0),  # a tie: the larger value
        (gauge(9.0, T0), gauge(5.0, T0), 9.0),
        (gauge(5.0, None), gauge(9.0, T0), 9.0),  # a known time beats an unknown one
        (gauge(9.0, T0), gauge(5.0, None), 9.0),
        (gauge(5.0, None), gauge(9.0, None), 9.0),  # neither known: the one merged in
    ],
)
def test_gauge_last_value_rule(a: GaugeSink, b: GaugeSink, value: float) -> None:
    a.merge(b)
    assert a.value == value
    assert a.samples == 2


def test_gauge_min_max_and_time_through_the_aggregator() -> None:
    first, second = new_aggregator(), new_aggregator()
    feed(first, [("my_level", 3.0, 3), ("my_level", -2.0, 0)])  # times T0, T0+1
    feed(second, [("my_level", 10.0, 3), ("my_level", 4.0, 3)], start=5)  # T0+5, T0+6
    combined = merged(export_aggregator(second), export_aggregator(first))
    sink = combined.sink("my_level")
    assert isinstance(sink, GaugeSink)
    assert (sink.value, sink.min, sink.max, sink.time) == (4.0, -2.0, 10.0, T0 + 6)
    sub = combined.sink("my_level{status:101}")
    assert isinstance(sub, GaugeSink)
    assert (sub.value, sub.min, sub.max, sub.time) == (4.0, 3.0, 10.0, T0 + 6)
    first_sub = first.sink("my_level{status:101}")
    assert isinstance(first_sub, GaugeSink)
    assert first_sub.time == T0  # the last *matching* sample's time, not the batch's


# -- bad states -----------------------------------------------------------------------------------
def a_state() -> dict[str, Any]:
    aggregator = new_aggregator()
    feed(aggregator, [("my_time", 2.0, 3), ("checks", 1.0, 4), ("my_count", 2.0, 0)])
    return round_trip(export_aggregator(aggregator))


def _set(path: list[Any], value: Any) -> Any:
    def change(state: dict[str, Any]) -> None:
        node: Any = state
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set(["version"], STATE_VERSION + 1), "version"),
        (_set(["metrics"], []), "'metrics' must be an object"),
        (_set(["metrics", "my_time", "type"], "histogram"), "my_time"),
        (
            _set(["metrics", "my_time", "sink"], {"type": "counter", "value": 1, "samples": 1}),
            "trend with a counter sink",
        ),
        (_set(["metrics", "my_time", "sink", "histogram", "count"], 99), "do not add up"),
        (_set(["metrics", "my_count", "samples"], -1), "non-negative"),
        (_set(["metrics", "my_count", "sink", "value"], "x"), "my_count"),
        (_set(["metrics", "my_time", "submetrics"], {"status:": {}}), "malformed"),
        (_set(["root_group", "checks", 0, "passes"], 1.5), "passes"),
        (_set(["root_group", "groups"], {}), "malformed group"),
    ],
)
def test_bad_states_are_refused_and_change_nothing(change: Any, message: str) -> None:
    target = new_aggregator()
    feed(target, [("my_count", 1.0, 0), ("checks", 1.0, 4)])
    before = export_aggregator(target)
    state = a_state()
    change(state)
    with pytest.raises(StateError, match=message):
        merge_into_aggregator(target, state)
    assert export_aggregator(target) == before


def test_a_metric_of_another_type_is_a_conflict() -> None:
    target = Aggregator(Registry())
    target.registry.get_or_create("my_count", MetricType.TREND)
    with pytest.raises(StateError, match="'my_count' is a counter"):
        merge_into_aggregator(target, a_state())
    registry = Registry()
    registry.get_or_create("my_time", MetricType.TREND)  # contains default, not time
    with pytest.raises(StateError, match="my_time"):
        merge_into_aggregator(Aggregator(registry), a_state())


def test_an_invalid_metric_name_is_refused() -> None:
    state = a_state()
    state["metrics"]["x"] = state["metrics"].pop("my_count")
    with pytest.raises(StateError, match="valid metric name"):
        aggregator_from_state(state)


# -- run state ------------------------------------------------------------------------------------
def run_state(duration_s: float, thresholds: dict[str, Any], **options: Any) -> dict[str, Any]:
    aggregator = new_aggregator()
    feed(aggregator, [("iterations", 1.0, 0)])
    return round_trip(
        RunState(aggregator, duration_s=duration_s, thresholds=thresholds, **options).to_state()
    )


def test_run_state_merge_rules() -> None:
    run = RunState.from_state(
        run_state(4.0, {"iterations": ["count<6"]}, trend_stats=("avg", "p(99)"))
    )
    run.merge_state(
        run_state(
            9.5,
            {"iterations": ["count<6", "rate>0"], "ws_sessions{ status : 101 }": ["count>1"]},
            trend_stats=("min",),
            time_unit="ms",
        )
    )
    run.merge_state(run_state(2.0, {"ws_sessions{status:101}": ["count>1", "count<100"]}))
    assert run.duration_s == 9.5  # the longest
    assert run.thresholds == {
        "iterations": ["count<6", "rate>0"],
        "ws_sessions{ status : 101 }": ["count>1", "count<100"],  # one metric, first spelling
    }
    assert run.trend_stats == ("avg", "p(99)")  # the first that said
    assert run.time_unit == "ms"
    counts = run.aggregator.summary_data(duration_s=1.0)["metrics"]["iterations"]["values"]
    assert counts["count"] == 3.0
    assert round_trip(run.to_state()) == run.to_state()


def test_runs_merged_side_by_side_add_their_sizes() -> None:
    """Two 5-VU segments of one test were a 10-VU test: vus and vus_max add across the runs
    that ``greenws merge`` reads (every other gauge keeps its merge rule)."""

    def sized(vus: list[float]) -> dict[str, Any]:
        aggregator = new_aggregator()
        feed(aggregator, [("vus", value, 0) for value in vus] + [("vus_max", 5.0, 0)])
        return round_trip(RunState(aggregator, duration_s=3.0).to_state())

    run = RunState.from_state(sized([1.0, 5.0, 4.0]))
    run.merge_state(sized([2.0, 5.0, 3.0]))
    metrics = run.aggregator.summary_data(duration_s=3.0)["metrics"]
    assert metrics["vus_max"]["values"] == {"value": 10.0, "min": 10.0, "max": 10.0}
    assert metrics["vus"]["values"] == {"value": 7.0, "min": 3.0, "max": 10.0}
    run.merge_state(run_state(2.0, {}))  # a run without the gauges changes nothing
    assert run.aggregator.summary_data(duration_s=3.0)["metrics"]["vus_max"]["values"]["max"] == 10


def test_threshold_conflicts() -> None:
    plain = {"checks": ["rate>0.9"]}
    aborting = {"checks": [{"threshold": "rate>0.9", "abortOnFail": True}]}
    assert merge_thresholds(plain, plain) == plain
    assert merge_thresholds(aborting, aborting) == aborting
    assert merge_thresholds(plain, {"checks": [{"threshold": "rate>0.9"}]}) == plain
    with pytest.raises(StateError, match=r"conflicting definitions of threshold 'rate>0\.9'"):
        merge_thresholds(plain, aborting)
    with pytest.raises(StateError, match="malformed threshold"):
        merge_thresholds(plain, {"checks": [42]})
    with pytest.raises(StateError, match="expected a list"):
        merge_thresholds(plain, {"checks": "rate>0.9"})


def test_a_conflicting_run_state_changes_nothing() -> None:
    run = RunState.from_state(run_state(1.0, {"checks": ["rate>0.9"]}))
    before = run.to_state()
    bad = run_state(5.0, {"checks": [{"threshold": "rate>0.9", "abortOnFail": True}]})
    with pytest.raises(StateError, match="conflicting"):
        run.merge_state(bad)
    assert run.to_state() == before


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("version", 7, "version 7 is not supported"),
        ("testRunDurationMs", -1, "testRunDurationMs"),
        ("testRunDurationMs", "1s", "testRunDurationMs"),
        ("aggregator", None, "no 'aggregator'"),
        ("options", [], "'options' must be an object"),
    ],
)
def test_bad_run_states(key: str, value: Any, message: str) -> None:
    state = run_state(1.0, {})
    state[key] = value
    with pytest.raises(StateError, match=message):
        RunState.from_state(state)


def test_thresholds_written_with_any_iterable_become_json() -> None:
    thresholds: Any = {"checks": {"rate>0.9"}, "iterations": ({"threshold": "count<6"},)}
    state = RunState(new_aggregator(), duration_s=1.0, thresholds=thresholds).to_state()
    assert json.loads(json.dumps(state))["options"]["thresholds"] == {
        "checks": ["rate>0.9"],
        "iterations": [{"threshold": "count<6"}],
    }
