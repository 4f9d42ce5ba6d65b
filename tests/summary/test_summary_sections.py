"""Which TOTAL RESULTS section each metric lands in."""

from __future__ import annotations

import pytest

from greenws.summary.sections import (
    CUSTOM,
    SECTIONS,
    Section,
    base_name,
    group_by_section,
    is_hidden,
    section_for,
)


def test_sections_print_in_k6_order_custom_first() -> None:
    assert [s.title for s in SECTIONS] == [
        "CUSTOM",
        "HTTP",
        "EXECUTION",
        "NETWORK",
        "BROWSER",
        "WEB_VITALS",
        "GRPC",
        "WEBSOCKET",
        # greenws's protocol kits, after k6's own sections
        "SOCKETIO",
        "GRAPHQL",
        "STOMP",
        "MQTT",
        "JSONRPC",
    ]


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("ws_connecting", "WEBSOCKET"),
        ("socketio_ack_duration{event:chat}", "SOCKETIO"),
        ("mqtt_publish_duration", "MQTT"),
        ("jsonrpc_duration", "JSONRPC"),
        ("jsonrpcish_latency", "CUSTOM"),
        ("ws_connecting{status:101}", "WEBSOCKET"),
        ("ws_msgs_received", "WEBSOCKET"),
        ("ws_msgs_sent", "WEBSOCKET"),
        ("ws_ping", "WEBSOCKET"),
        ("ws_session_duration", "WEBSOCKET"),
        ("ws_sessions", "WEBSOCKET"),
        ("data_sent", "NETWORK"),
        ("data_received", "NETWORK"),
        ("vus", "EXECUTION"),
        ("vus_max", "EXECUTION"),
        ("iterations", "EXECUTION"),
        ("iterations{scenario:default}", "EXECUTION"),
        ("iteration_duration", "EXECUTION"),
        ("dropped_iterations", "EXECUTION"),
        ("http_reqs", "HTTP"),
        ("http_req_duration{expected_response:true}", "HTTP"),
        ("grpc_req_duration", "GRPC"),
        ("browser_data_received", "BROWSER"),
        ("browser_web_vital_lcp", "WEB_VITALS"),
        ("chat_latency", "CUSTOM"),
        ("vus_active", "CUSTOM"),  # exact names, not k6's accidental prefix match
        ("wsx_thing", "CUSTOM"),
    ],
)
def test_section_for(name: str, title: str) -> None:
    assert section_for(name).title == title


def test_hidden_metrics() -> None:
    assert is_hidden("checks")
    assert is_hidden("checks{scenario:default}")
    assert is_hidden("group_duration", "full")
    assert is_hidden("http_req_waiting", "compact")
    assert not is_hidden("http_req_waiting", "full")
    assert not is_hidden("checks_latency")
    assert not is_hidden("ws_connecting")


def test_group_by_section_drops_empty_and_hidden() -> None:
    metrics = {
        "ws_ping": 1,
        "checks": 2,
        "vus": 3,
        "my_counter": 4,
        "group_duration": 5,
        "http_req_blocked": 6,
    }
    grouped = group_by_section(metrics)
    assert [(s.title, list(b)) for s, b in grouped] == [
        ("CUSTOM", ["my_counter"]),
        ("EXECUTION", ["vus"]),
        ("WEBSOCKET", ["ws_ping"]),
    ]
    full = group_by_section(metrics, mode="full")
    assert [s.title for s, _ in full] == ["CUSTOM", "HTTP", "EXECUTION", "WEBSOCKET"]


def test_a_new_protocol_slots_in_as_a_table_row() -> None:
    sse = Section("sse", prefixes=("sse_",))
    table = (*SECTIONS, sse)
    assert section_for("sse_events", table) is sse
    assert section_for("sse_events") is CUSTOM
    grouped = group_by_section({"sse_events": 1, "x": 2}, sections=table)
    assert [s.title for s, _ in grouped] == ["CUSTOM", "SSE"]
    # A table without CUSTOM still gets a CUSTOM section, printed first.
    grouped = group_by_section([("sse_events", 1), ("x", 2)], sections=(sse,))
    assert [s.title for s, _ in grouped] == ["CUSTOM", "SSE"]


def test_base_name() -> None:
    assert base_name("ws_connecting{status:101}") == "ws_connecting"
    assert base_name("ws_connecting") == "ws_connecting"
