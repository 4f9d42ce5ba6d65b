"""Registry: k6's naming rule, re-registration rules, and the built-in metrics."""

from __future__ import annotations

import pytest

from greenws.metrics.builtin import SECTION_OF, register_builtin, section_of
from greenws.metrics.metric import Metric, MetricError, MetricType, Registry, ValueType


def test_get_or_create_returns_the_same_metric_for_the_same_name() -> None:
    registry = Registry()
    first = registry.get_or_create("my_trend", MetricType.TREND, ValueType.TIME)
    again = registry.get_or_create("my_trend", MetricType.TREND, ValueType.TIME)
    assert first is again
    assert (first.name, first.type, first.contains) == (
        "my_trend",
        MetricType.TREND,
        ValueType.TIME,
    )
    assert registry.get("my_trend") is first
    assert registry.get("nope") is None


def test_accepts_the_string_values_of_the_enums() -> None:
    registry = Registry()
    metric = registry.get_or_create("c1", "counter", "data")  # type: ignore[arg-type]
    assert metric.type is MetricType.COUNTER and metric.contains is ValueType.DATA


def test_metrics_hash_by_identity() -> None:
    a = Registry().get_or_create("same", MetricType.COUNTER)
    b = Registry().get_or_create("same", MetricType.COUNTER)
    assert a != b
    assert len({a, b}) == 2
    assert a == a


def test_conflicting_type_names_both_types() -> None:
    registry = Registry()
    registry.get_or_create("mine", MetricType.COUNTER)
    with pytest.raises(MetricError, match=r"'mine'.*type counter, instead of trend"):
        registry.get_or_create("mine", MetricType.TREND)


def test_conflicting_value_type_names_both() -> None:
    registry = Registry()
    registry.get_or_create("mine", MetricType.TREND, ValueType.TIME)
    with pytest.raises(MetricError, match=r"'mine'.*value type time, instead of default"):
        registry.get_or_create("mine", MetricType.TREND)


@pytest.mark.parametrize(
    "name", ["ws_ping", "_private", "A1", "my_metric_2", "ab", "x" * 129, "Metric_Name"]
)
def test_valid_names(name: str) -> None:
    assert Registry().get_or_create(name, MetricType.GAUGE).name == name


@pytest.mark.parametrize(
    "name",
    [
        "x",  # k6's regex wants at least two characters
        "1abc",
        "with space",
        "ws-ping",
        "ws.ping",
        "Ünits",
        "x" * 130,
        "",
        "name\n",
        "a{b:c}",
    ],
)
def test_invalid_names_are_rejected_with_k6s_explanation(name: str) -> None:
    with pytest.raises(MetricError, match=r"Invalid metric name.*128 ASCII letters"):
        Registry().get_or_create(name, MetricType.COUNTER)


def test_iteration_and_membership() -> None:
    registry = Registry()
    a = registry.get_or_create("aa", MetricType.COUNTER)
    b = registry.get_or_create("bb", MetricType.RATE)
    assert list(registry) == [a, b]
    assert len(registry) == 2
    assert "aa" in registry and "cc" not in registry
    assert a in registry
    assert Metric("aa", MetricType.COUNTER) not in registry


EXPECTED_BUILTINS = {
    "vus": (MetricType.GAUGE, ValueType.DEFAULT, "EXECUTION"),
    "vus_max": (MetricType.GAUGE, ValueType.DEFAULT, "EXECUTION"),
    "iterations": (MetricType.COUNTER, ValueType.DEFAULT, "EXECUTION"),
    "iteration_duration": (MetricType.TREND, ValueType.TIME, "EXECUTION"),
    "dropped_iterations": (MetricType.COUNTER, ValueType.DEFAULT, "EXECUTION"),
    "data_sent": (MetricType.COUNTER, ValueType.DATA, "NETWORK"),
    "data_received": (MetricType.COUNTER, ValueType.DATA, "NETWORK"),
    "checks": (MetricType.RATE, ValueType.DEFAULT, "CHECKS"),
    "group_duration": (MetricType.TREND, ValueType.TIME, "SKIPPED"),
    "ws_sessions": (MetricType.COUNTER, ValueType.DEFAULT, "WEBSOCKET"),
    "ws_connecting": (MetricType.TREND, ValueType.TIME, "WEBSOCKET"),
    # Not in k6: greenws.websockets request/reply time (added to builtin.py by another change).
    "ws_request_duration": (MetricType.TREND, ValueType.TIME, "WEBSOCKET"),
    "ws_session_duration": (MetricType.TREND, ValueType.TIME, "WEBSOCKET"),
    "ws_msgs_sent": (MetricType.COUNTER, ValueType.DEFAULT, "WEBSOCKET"),
    "ws_msgs_received": (MetricType.COUNTER, ValueType.DEFAULT, "WEBSOCKET"),
    "ws_ping": (MetricType.TREND, ValueType.TIME, "WEBSOCKET"),
    # Not in k6: WebSocket connections open now, a socket count beside data_sent/data_received.
    "open_connections": (MetricType.GAUGE, ValueType.DEFAULT, "NETWORK"),
    # k6/http (greenws.http)
    "http_reqs": (MetricType.COUNTER, ValueType.DEFAULT, "HTTP"),
    "http_req_failed": (MetricType.RATE, ValueType.DEFAULT, "HTTP"),
    **{
        f"http_req_{phase}": (MetricType.TREND, ValueType.TIME, "HTTP")
        for phase in (
            "duration",
            "blocked",
            "connecting",
            "tls_handshaking",
            "sending",
            "waiting",
            "receiving",
        )
    },
}


def test_register_builtin_matches_k6() -> None:
    registry = Registry()
    builtin = register_builtin(registry)
    seen = {}
    for name, (type_, contains, section) in EXPECTED_BUILTINS.items():
        metric = getattr(builtin, name)
        assert registry.get(name) is metric
        seen[name] = (metric.type, metric.contains, SECTION_OF[name])
        assert seen[name] == (type_, contains, section), name
    assert {m.name for m in builtin} == set(EXPECTED_BUILTINS)
    assert set(SECTION_OF) == set(EXPECTED_BUILTINS)


def test_register_builtin_twice_shares_the_metrics() -> None:
    registry = Registry()
    assert register_builtin(registry).ws_ping is register_builtin(registry).ws_ping


def test_register_builtin_refuses_a_clashing_custom_metric() -> None:
    registry = Registry()
    registry.get_or_create("ws_ping", MetricType.COUNTER)
    with pytest.raises(MetricError):
        register_builtin(registry)


@pytest.mark.parametrize(
    ("name", "section"),
    [
        ("ws_ping{status:101}", "WEBSOCKET"),
        ("ws_custom_thing", "WEBSOCKET"),
        ("iterations", "EXECUTION"),
        ("data_sent{tag:x}", "NETWORK"),
        ("my_counter", "CUSTOM"),
        ("checks_extra", "CUSTOM"),
        ("vus_peak", "CUSTOM"),
        ("checks{check:x}", "CHECKS"),
        ("group_duration", "SKIPPED"),
        ("grpc_req_duration", "GRPC"),
    ],
)
def test_section_of(name: str, section: str) -> None:
    assert section_of(name) == section
