"""The ``--summary-export`` document, key by key."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from greenws.summary.export import summary_export_json, to_summary_export


def test_top_level_keys(data: dict[str, Any]) -> None:
    data["setup_data"] = {"token": "abc"}
    data["breakdown"] = {"groups": [], "scenarios": {}}  # full mode's blocks: not k6's file
    exported = to_summary_export(data)
    assert set(exported) == {"root_group", "metrics", "setup_data"}
    assert exported["setup_data"] == {"token": "abc"}


def test_input_is_not_modified(data: dict[str, Any]) -> None:
    before = copy.deepcopy(data)
    exported = to_summary_export(data)
    assert data == before
    exported["metrics"]["vus"]["value"] = 99
    assert data == before


def test_counter_gauge_trend_values(data: dict[str, Any]) -> None:
    metrics = to_summary_export(data)["metrics"]
    assert metrics["iterations"] == {"count": 4, "rate": 0.798}
    assert metrics["data_sent"] == {"count": 1400, "rate": 279.313}
    assert metrics["vus"] == {"value": 2, "min": 2, "max": 2}
    assert metrics["ws_ping"] == {
        "avg": 0.3125,
        "min": 0.201,
        "med": 0.298,
        "max": 0.4903,
        "p(90)": 0.45,
        "p(95)": 0.47,
    }


def test_rate_value_replaces_rate(data: dict[str, Any]) -> None:
    checks = to_summary_export(data)["metrics"]["checks"]
    assert checks == {"passes": 9, "fails": 1, "thresholds": {"rate>0.95": True}, "value": 0.9}
    assert list(checks) == ["passes", "fails", "thresholds", "value"]  # k6's key order


def test_thresholds_are_true_when_failed(data: dict[str, Any]) -> None:
    metrics = to_summary_export(data)["metrics"]
    assert metrics["ws_connecting"]["thresholds"] == {"p(95)<500": False}  # passed
    assert metrics["ws_connecting{status:101}"]["thresholds"] == {"max<2": True}  # failed
    assert "thresholds" not in metrics["ws_ping"]
    data["metrics"]["ws_ping"]["thresholds"] = {}
    assert "thresholds" not in to_summary_export(data)["metrics"]["ws_ping"]


def test_every_metric_including_submetrics_is_exported(data: dict[str, Any]) -> None:
    assert set(to_summary_export(data)["metrics"]) == set(data["metrics"])


def test_groups_and_checks_keyed_by_name(data: dict[str, Any]) -> None:
    root = to_summary_export(data)["root_group"]
    assert set(root) == {"name", "path", "id", "groups", "checks"}
    assert (root["name"], root["path"]) == ("", "")
    assert root["id"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert root["checks"] == {
        "status is 101": {
            "name": "status is 101",
            "path": "::status is 101",
            "id": "3a1b5c7d9e0f2a4b6c8d0e2f4a6b8c0d",
            "passes": 4,
            "fails": 0,
        }
    }
    chat = root["groups"]["chat"]
    assert set(chat) == {"name", "path", "id", "groups", "checks"}
    assert chat["path"] == "::chat"
    assert list(chat["checks"]) == ["echo matches"]
    history = chat["groups"]["history"]
    assert history["groups"] == {}
    assert history["checks"]["history is complete"]["fails"] == 1


def test_already_keyed_groups_are_left_alone(data: dict[str, Any]) -> None:
    once = to_summary_export(data)
    rekeyed = {**data, "root_group": once["root_group"]}
    assert to_summary_export(rekeyed) == once


def test_json_text_looks_like_javascripts(data: dict[str, Any]) -> None:
    data["metrics"]["vus"]["values"]["value"] = 2.0
    data["metrics"]["weird"] = {"type": "gauge", "values": {"value": math.nan}}
    text = summary_export_json(data)
    assert text.startswith('{\n    "root_group": {\n        "name": "",')
    assert '"value": 2,' in text
    assert '"value": null' in text
    assert json.loads(text)["metrics"]["iterations"] == {"count": 4, "rate": 0.798}


# -- greenws_state: the mergeable state greenws adds -----------------------------------------------
def _run_state() -> dict[str, Any]:
    from greenws.metrics.aggregator import Aggregator
    from greenws.metrics.builtin import register_builtin
    from greenws.metrics.metric import Registry
    from greenws.metrics.state import RunState
    from greenws.metrics.tags import TagSet

    registry = Registry()
    metrics = register_builtin(registry)
    aggregator = Aggregator(registry)
    tags = TagSet({"group": ""})
    aggregator.add_batch(
        [(metrics.ws_ping, 1.0, value, tags) for value in (0.1, 0.30000000000000004, 7.0, 1e-7)]
    )
    return RunState(aggregator, duration_s=2.5, thresholds={"ws_ping": ["p(95)<5"]}).to_state()


def test_greenws_state_is_one_extra_top_level_key(data: dict[str, Any]) -> None:
    plain = to_summary_export(data)
    data["state"]["greenwsState"] = _run_state()
    exported = to_summary_export(data)
    assert list(exported) == [*plain, "greenws_state"]
    assert exported["greenws_state"] == data["state"]["greenwsState"]
    assert {k: v for k, v in exported.items() if k != "greenws_state"} == plain  # k6's part


def test_greenws_state_survives_the_json_text_exactly(data: dict[str, Any]) -> None:
    from greenws.metrics.state import RunState

    state = _run_state()
    data["state"]["greenwsState"] = state
    text = summary_export_json(data)
    document = json.loads(text)
    assert list(document)[-1] == "greenws_state"
    assert document["greenws_state"] == state  # floats as they are, not JSON.stringify-style
    rebuilt = RunState.from_state(document["greenws_state"])
    assert rebuilt.to_state() == state
    # k6's part is still indented as k6 writes it, and unchanged by the extra key.
    del data["state"]["greenwsState"]
    assert text.startswith(summary_export_json(data)[:-2] + ',\n    "greenws_state": {')
    assert text.count("\n") == summary_export_json(data).count("\n") + 1


def test_greenws_state_alone(data: dict[str, Any]) -> None:
    document = json.loads(summary_export_json({"state": {"greenwsState": {"version": 1}}}))
    assert document == {"greenws_state": {"version": 1}}
    assert "greenws_state" not in to_summary_export(data)  # only when the runtime put it there
