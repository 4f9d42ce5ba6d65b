"""Full mode's per-scenario and per-group blocks: which samples count where, and merging them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from greenws.metrics.aggregator import Aggregator
from greenws.metrics.builtin import BuiltinMetrics
from greenws.metrics.metric import MetricType, Registry, ValueType
from greenws.metrics.sample import Sample
from greenws.metrics.state import (
    StateError,
    aggregator_from_state,
    export_aggregator,
    merge_into_aggregator,
)
from greenws.metrics.tags import TagSet

T0 = 1_700_000_000.0


def tags(scenario: str | None, group: str, **extra: str) -> TagSet:
    base = {"group": group, **extra}
    if scenario is not None:
        base["scenario"] = scenario
    return TagSet(base)


@pytest.fixture
def full(registry: Registry, builtin: BuiltinMetrics) -> Aggregator:
    return Aggregator(registry, breakdown=True)


def run_samples(b: BuiltinMetrics) -> list[Sample]:
    """Two named scenarios, a group and a nested group, plus samples that belong to no block."""
    return [
        # readers: two sessions at the root of the iteration, one inside group "chat"
        (b.ws_sessions, T0, 1.0, tags("readers", "")),
        (b.ws_sessions, T0, 1.0, tags("readers", "")),
        (b.ws_sessions, T0, 1.0, tags("readers", "::chat")),
        (b.ws_msgs_sent, T0, 1.0, tags("readers", "::chat")),
        (b.checks, T0, 1.0, tags("readers", "::chat", check="echo")),
        (b.checks, T0, 0.0, tags("readers", "::chat", check="echo")),
        (b.checks, T0, 1.0, tags("readers", "", check="status is 101")),
        # writers: a nested group only
        (b.ws_msgs_sent, T0, 1.0, tags("writers", "::chat::history")),
        (b.ws_msgs_sent, T0, 1.0, tags("writers", "::chat::history")),
        (b.checks, T0, 1.0, tags("writers", "::chat::history", check="echo")),
        # no block: the derived "default" scenario at the root, setup, and the vus gauge
        (b.ws_sessions, T0, 1.0, tags("default", "")),
        (b.ws_sessions, T0, 1.0, tags(None, "::setup")),
        (b.vus, T0, 3.0, TagSet()),
        # the derived "default" scenario inside a group: a top-level GROUP block
        (b.ws_msgs_received, T0, 1.0, tags("default", "::lobby")),
    ]


def counts(block: dict[str, Any]) -> dict[str, float]:
    """Each metric's headline number: count, value, or passes."""
    out = {}
    for name, metric in block["metrics"].items():
        values = metric["values"]
        out[name] = values.get("count", values.get("value", values.get("passes")))
    return out


def test_samples_are_filed_as_k6_files_them(full: Aggregator, builtin: BuiltinMetrics) -> None:
    full.add_batch(run_samples(builtin))
    breakdown = full.summary_data(duration_s=2.0)["breakdown"]

    # Top level: only the groups of samples outside a named scenario; setup is left out.
    assert [g["name"] for g in breakdown["groups"]] == ["lobby"]
    assert counts(breakdown["groups"][0]) == {"ws_msgs_received": 1.0}

    readers = breakdown["scenarios"]["readers"]
    # A scenario block holds every sample of its scenario, groups included, and its checks by
    # name across groups.
    assert counts(readers) == {"checks": 2.0, "ws_msgs_sent": 1.0, "ws_sessions": 3.0}
    assert readers["checks"] == [
        {"name": "echo", "passes": 1, "fails": 1},
        {"name": "status is 101", "passes": 1, "fails": 0},
    ]
    (chat,) = readers["groups"]
    assert chat["name"] == "chat"
    assert counts(chat) == {"checks": 1.0, "ws_msgs_sent": 1.0, "ws_sessions": 1.0}
    assert chat["checks"] == [{"name": "echo", "passes": 1, "fails": 1}]
    # Rates are per second of the whole test, as in TOTAL RESULTS.
    assert readers["metrics"]["ws_sessions"]["values"]["rate"] == 1.5

    writers = breakdown["scenarios"]["writers"]
    (chat,) = writers["groups"]
    # The parent of a nested group exists with no samples of its own.
    assert chat["metrics"] == {} and chat["checks"] == []
    (history,) = chat["groups"]
    assert history["name"] == "history"
    assert counts(history) == {"checks": 1.0, "ws_msgs_sent": 2.0}
    assert list(breakdown["scenarios"]) == ["readers", "writers"]


def test_blocks_hold_no_submetrics(full: Aggregator, builtin: BuiltinMetrics) -> None:
    full.add_submetric("ws_sessions{status:101}")
    full.add_batch([(builtin.ws_sessions, T0, 1.0, tags("a", "", status="101"))])
    data = full.summary_data(duration_s=1.0)
    assert "ws_sessions{status:101}" in data["metrics"]
    assert list(data["breakdown"]["scenarios"]["a"]["metrics"]) == ["ws_sessions"]


def test_one_batch_or_many_gives_the_same_blocks(
    registry: Registry, builtin: BuiltinMetrics
) -> None:
    samples = run_samples(builtin)
    whole = Aggregator(registry, breakdown=True)
    whole.add_batch(samples)
    piecewise = Aggregator(registry, breakdown=True)
    for sample in samples:
        piecewise.add_batch([sample])
    assert piecewise.summary_data(duration_s=1.0) == whole.summary_data(duration_s=1.0)


def test_compact_mode_keeps_no_blocks(agg: Aggregator, builtin: BuiltinMetrics) -> None:
    agg.add_batch(run_samples(builtin))
    assert agg.breakdown is None
    state = export_aggregator(agg)
    assert "breakdown" not in agg.summary_data(duration_s=1.0)
    assert "breakdown" not in state


def test_state_round_trip_and_merge(full: Aggregator, builtin: BuiltinMetrics) -> None:
    full.add_batch(run_samples(builtin))
    state = json.loads(json.dumps(export_aggregator(full)))
    rebuilt = aggregator_from_state(state)
    assert rebuilt.summary_data(duration_s=1.0) == full.summary_data(duration_s=1.0)

    # Two workers' states merge block by block: every count doubles, the tree stays one tree.
    merge_into_aggregator(rebuilt, state)
    breakdown = rebuilt.summary_data(duration_s=1.0)["breakdown"]
    readers = breakdown["scenarios"]["readers"]
    assert counts(readers) == {"checks": 4.0, "ws_msgs_sent": 2.0, "ws_sessions": 6.0}
    assert readers["checks"][0] == {"name": "echo", "passes": 2, "fails": 2}
    history = breakdown["scenarios"]["writers"]["groups"][0]["groups"][0]
    assert counts(history)["ws_msgs_sent"] == 4.0
    assert len(breakdown["groups"]) == 1


def test_a_state_with_blocks_switches_them_on(
    agg: Aggregator, full: Aggregator, builtin: BuiltinMetrics
) -> None:
    full.add_batch([(builtin.ws_sessions, T0, 1.0, tags("a", ""))])
    assert agg.breakdown is None
    merge_into_aggregator(agg, export_aggregator(full))
    assert counts(agg.summary_data(duration_s=1.0)["breakdown"]["scenarios"]["a"]) == {
        "ws_sessions": 1.0
    }


@pytest.mark.parametrize(
    ("breakdown", "message"),
    [
        ("nope", "expected an object"),
        ({"root": {"metrics": {"nope": {"type": "counter", "value": 1}}}}, "'nope' is not defined"),
        (
            {"root": {"metrics": {"ws_sessions": {"type": "rate", "trues": 1, "total": 1}}}},
            "counter with a rate sink",
        ),
        ({"root": {"checks": [["echo", -1, 0]]}}, "malformed check"),
        ({"root": {}, "scenarios": {"a": {"groups": [["g"]]}}}, "malformed group"),
    ],
)
def test_bad_breakdown_states_change_nothing(
    full: Aggregator, builtin: BuiltinMetrics, breakdown: Any, message: str
) -> None:
    state = export_aggregator(full)
    state["breakdown"] = breakdown
    target = Aggregator(Registry(), breakdown=True)
    with pytest.raises(StateError, match=message):
        merge_into_aggregator(target, state)
    assert target.registry.get("ws_sessions") is None  # checked before anything changed


def test_gauges_in_blocks_keep_the_latest_value(full: Aggregator) -> None:
    gauge = full.registry.get_or_create("queue", MetricType.GAUGE, ValueType.DEFAULT)
    full.add_batch([(gauge, T0 + 1, 5.0, tags("a", "")), (gauge, T0, 7.0, tags("b", ""))])
    other = Aggregator(full.registry, breakdown=True)
    other.add_batch([(gauge, T0 + 2, 1.0, tags("a", ""))])
    merged = aggregator_from_state(export_aggregator(other))
    merge_into_aggregator(merged, export_aggregator(full))
    values = merged.summary_data(duration_s=1.0)["breakdown"]["scenarios"]["a"]["metrics"]
    assert values["queue"]["values"] == {"value": 1.0, "min": 1.0, "max": 5.0}
