"""A realistic handleSummary data dict: a 5-second k6/ws-style run with 2 VUs.

Values are what such a run produces: four iterations, each opening one WebSocket session that
exchanges a few messages; one custom Counter and one custom Trend; a threshold that passes and
one that fails; a sub-metric created by a threshold; a nested group with a failing check.
"""

from __future__ import annotations

from typing import Any

TREND_STATS = ["avg", "min", "med", "max", "p(90)", "p(95)"]


def _trend(contains: str, avg: float, mn: float, med: float, mx: float, p90: float, p95: float):
    return {
        "type": "trend",
        "contains": contains,
        "values": {"avg": avg, "min": mn, "med": med, "max": mx, "p(90)": p90, "p(95)": p95},
    }


def _counter(contains: str, count: float, rate: float) -> dict[str, Any]:
    return {"type": "counter", "contains": contains, "values": {"count": count, "rate": rate}}


SAMPLE_DATA: dict[str, Any] = {
    "root_group": {
        "name": "",
        "path": "",
        "id": "d41d8cd98f00b204e9800998ecf8427e",
        "groups": [
            {
                "name": "chat",
                "path": "::chat",
                "id": "c1f8e1b5a2a7c3f0d9e4b6a8c2d1e0f3",
                "groups": [
                    {
                        "name": "history",
                        "path": "::chat::history",
                        "id": "9a0e3c1b7d5f2e4a6c8b0d2f4e6a8c0b",
                        "groups": [],
                        "checks": [
                            {
                                "name": "history is complete",
                                "path": "::chat::history::history is complete",
                                "id": "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
                                "passes": 3,
                                "fails": 1,
                            }
                        ],
                    }
                ],
                "checks": [
                    {
                        "name": "echo matches",
                        "path": "::chat::echo matches",
                        "id": "5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b",
                        "passes": 2,
                        "fails": 0,
                    }
                ],
            }
        ],
        "checks": [
            {
                "name": "status is 101",
                "path": "::status is 101",
                "id": "3a1b5c7d9e0f2a4b6c8d0e2f4a6b8c0d",
                "passes": 4,
                "fails": 0,
            }
        ],
    },
    "metrics": {
        "checks": {
            "type": "rate",
            "contains": "default",
            "values": {"rate": 0.9, "passes": 9, "fails": 1},
            "thresholds": {"rate>0.95": {"ok": False}},
        },
        "data_received": _counter("data", 1840, 367.099),
        "data_sent": _counter("data", 1400, 279.313),
        "iteration_duration": _trend("time", 2503.4, 2501.2, 2503.1, 2506.0, 2505.5, 2505.8),
        "iterations": _counter("default", 4, 0.798),
        "vus": {"type": "gauge", "contains": "default", "values": {"value": 2, "min": 2, "max": 2}},
        "vus_max": {
            "type": "gauge",
            "contains": "default",
            "values": {"value": 2, "min": 2, "max": 2},
        },
        "ws_connecting": {
            **_trend("time", 1.234, 0.512, 1.1, 2.3, 2.05, 2.175),
            "thresholds": {"p(95)<500": {"ok": True}},
        },
        "ws_connecting{status:101}": {
            **_trend("time", 1.234, 0.512, 1.1, 2.3, 2.05, 2.175),
            "thresholds": {"max<2": {"ok": False}},
        },
        "ws_msgs_received": _counter("default", 20, 3.99),
        "ws_msgs_sent": _counter("default", 20, 3.99),
        "ws_ping": _trend("time", 0.3125, 0.201, 0.298, 0.4903, 0.45, 0.47),
        "ws_session_duration": _trend("time", 2501.9, 2500.4, 2501.7, 2504.1, 2503.6, 2503.9),
        "ws_sessions": _counter("default", 4, 0.798),
        "chat_messages": _counter("default", 12, 2.394),
        "chat_latency": _trend("time", 42.5, 10.0, 38.25, 120.75, 95.0, 110.0),
        "group_duration": _trend("time", 2502.0, 2500.0, 2502.0, 2504.0, 2503.0, 2503.5),
    },
    "state": {"testRunDurationMs": 5012.3, "isStdOutTTY": False, "isStdErrTTY": False},
    "options": {"summaryTrendStats": TREND_STATS, "summaryTimeUnit": None, "noColor": True},
}

_SECONDS = SAMPLE_DATA["state"]["testRunDurationMs"] / 1000


def _count(contains: str, count: float) -> dict[str, Any]:
    return _counter(contains, count, count / _SECONDS)


def _checks(passes: int, fails: int) -> dict[str, Any]:
    values = {"rate": passes / (passes + fails), "passes": passes, "fails": fails}
    return {"type": "rate", "contains": "default", "values": values}


# Full mode's blocks (greenws's ``breakdown``) for the same run, split in two named scenarios:
# "lurkers" only connect and listen; "talkers" chat in a group with a nested group. With named
# scenarios k6 prints no top-level GROUP block: the groups show inside their scenario.
SAMPLE_DATA["breakdown"] = {
    "groups": [],
    "scenarios": {
        "talkers": {
            "checks": [
                {"name": "status is 101", "passes": 2, "fails": 0},
                {"name": "echo matches", "passes": 2, "fails": 0},
                {"name": "history is complete", "passes": 3, "fails": 1},
            ],
            "metrics": {
                "chat_latency": _trend("time", 42.5, 10.0, 38.25, 120.75, 95.0, 110.0),
                "chat_messages": _count("default", 12),
                "checks": _checks(7, 1),
                "data_received": _count("data", 1140),
                "data_sent": _count("data", 900),
                "group_duration": _trend("time", 2502.0, 2500.0, 2502.0, 2504.0, 2503.0, 2503.5),
                "iteration_duration": _trend(
                    "time", 2504.1, 2502.3, 2504.1, 2506.0, 2505.6, 2505.8
                ),
                "iterations": _count("default", 2),
                "ws_msgs_received": _count("default", 12),
                "ws_msgs_sent": _count("default", 12),
                "ws_sessions": _count("default", 2),
            },
            "groups": [
                {
                    "name": "chat",
                    "checks": [{"name": "echo matches", "passes": 2, "fails": 0}],
                    "metrics": {
                        "checks": _checks(2, 0),
                        "group_duration": _trend(
                            "time", 2502.0, 2500.0, 2502.0, 2504.0, 2503.0, 2503.5
                        ),
                        "ws_msgs_received": _count("default", 4),
                        "ws_msgs_sent": _count("default", 4),
                        "ws_sessions": _count("default", 2),
                    },
                    "groups": [
                        {
                            "name": "history",
                            "checks": [{"name": "history is complete", "passes": 3, "fails": 1}],
                            "metrics": {
                                "chat_latency": _trend(
                                    "time", 42.5, 10.0, 38.25, 120.75, 95.0, 110.0
                                ),
                                "chat_messages": _count("default", 12),
                                "checks": _checks(3, 1),
                                "ws_msgs_received": _count("default", 8),
                                "ws_msgs_sent": _count("default", 8),
                            },
                            "groups": [],
                        }
                    ],
                }
            ],
        },
        "lurkers": {
            "checks": [{"name": "status is 101", "passes": 2, "fails": 0}],
            "metrics": {
                "checks": _checks(2, 0),
                "data_received": _count("data", 700),
                "data_sent": _count("data", 500),
                "iteration_duration": _trend(
                    "time", 2502.7, 2501.2, 2502.7, 2504.2, 2503.9, 2504.0
                ),
                "iterations": _count("default", 2),
                "ws_connecting": _trend("time", 1.234, 0.512, 1.1, 2.3, 2.05, 2.175),
                "ws_msgs_received": _count("default", 8),
                "ws_msgs_sent": _count("default", 8),
                "ws_sessions": _count("default", 2),
            },
            "groups": [],
        },
    },
}
