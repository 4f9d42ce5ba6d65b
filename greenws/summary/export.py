"""The ``--summary-export`` file: k6's legacy JSON summary.

k6 derives this file from the handleSummary data in ``internal/js/summary-wrapper.js``
(``oldJSONSummary``); its expected shape is pinned by ``expectedOldJSONExportResult`` in
``internal/js/summary_test.go``. The transformation, reproduced here:

- ``options`` and ``state`` are dropped; every other top-level key (``setup_data`` too) stays,
  except greenws's ``breakdown`` (full mode's per-scenario and per-group blocks): k6's file has
  no such blocks, and ``greenws_state`` holds them mergeably (``greenws merge --summary-mode full``
  prints them again).
- Each metric is replaced by its ``values`` dict: counters ``{count, rate}``, gauges
  ``{value, min, max}``, trends their summary stats, rates ``{passes, fails, value}`` (the rate's
  ``rate`` key is renamed ``value``).
- A metric with thresholds gets ``"thresholds": {source: failed}``. The boolean is **true when
  the threshold failed** (k6 writes ``!threshold.ok``), the opposite of the handleSummary ``ok``.
- In ``root_group`` (recursively) the ``groups`` and ``checks`` lists become dicts keyed by name.

greenws adds one top-level key, ``greenws_state``: the run's mergeable state
(:class:`greenws.metrics.state.RunState`), which the runtime puts in ``data["state"]["greenwsState"]``.
Tools that read k6's export ignore a key they do not know; ``greenws merge`` reads it to combine
several runs' files into one summary and evaluate the thresholds on the combined data. The
runtime's top-level ``greenws`` key (samples given to the outputs, what each output lost and why)
is kept like every other top-level key.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "DATA_STATE_KEY",
    "EXPORT_STATE_KEY",
    "GREENWS_KEY",
    "summary_export_json",
    "to_summary_export",
]

DATA_STATE_KEY = "greenwsState"
"""Where the handleSummary data carries the mergeable run state: ``data["state"][DATA_STATE_KEY]``."""
EXPORT_STATE_KEY = "greenws_state"
"""The top-level key of the export file that holds the same state."""
GREENWS_KEY = "greenws"
"""greenws's own top-level key of the data and the export: ``samples`` (given to the outputs),
``dropped_samples`` and ``output_errors`` (by output name)."""


_NOT_EXPORTED = frozenset({"options", "state", "breakdown"})


def _export_metric(metric: Mapping[str, Any]) -> dict[str, Any]:
    values = metric.get("values")
    flat: dict[str, Any] = dict(values) if isinstance(values, Mapping) else {}
    thresholds = metric.get("thresholds")
    if isinstance(thresholds, Mapping) and thresholds:
        flat["thresholds"] = {
            source: not bool(result.get("ok")) if isinstance(result, Mapping) else not result
            for source, result in thresholds.items()
        }
    if metric.get("type") == "rate" and "rate" in flat:
        flat["value"] = flat.pop("rate")
    return flat


def _export_group(group: Mapping[str, Any]) -> dict[str, Any]:
    exported = dict(group)
    groups = group.get("groups")
    if isinstance(groups, list):
        exported["groups"] = {g["name"]: _export_group(g) for g in groups}
    checks = group.get("checks")
    if isinstance(checks, list):
        exported["checks"] = {c["name"]: dict(c) for c in checks}
    return exported


def to_summary_export(data: Mapping[str, Any]) -> dict[str, Any]:
    """The ``--summary-export`` document for ``data`` (the handleSummary data dict).

    ``data`` is not modified. Groups or checks already keyed by name are kept as they are, as
    k6 only converts lists.
    """
    result = {k: copy.deepcopy(v) for k, v in data.items() if k not in _NOT_EXPORTED}
    metrics = result.get("metrics")
    if isinstance(metrics, Mapping):
        result["metrics"] = {
            name: _export_metric(m) if isinstance(m, Mapping) else m for name, m in metrics.items()
        }
    root = result.get("root_group")
    if isinstance(root, Mapping):
        result["root_group"] = _export_group(root)
    state = data.get("state")
    if isinstance(state, Mapping) and isinstance(state.get(DATA_STATE_KEY), Mapping):
        result[EXPORT_STATE_KEY] = copy.deepcopy(state[DATA_STATE_KEY])
    return result


def _js_json_value(value: Any) -> Any:
    """Make Python's JSON look like ``JSON.stringify``'s: ``3`` not ``3.0``, ``null`` for NaN."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    if isinstance(value, Mapping):
        return {k: _js_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_js_json_value(v) for v in value]
    return value


def summary_export_json(data: Mapping[str, Any]) -> str:
    """The export file's text, indented by four spaces as k6 writes it.

    ``greenws_state`` comes last and on one line: it is for machines, and indenting it would
    spend a line on every histogram bucket. Its numbers are written as they are (not
    ``JSON.stringify``-style), so they read back exactly.
    """
    exported = to_summary_export(data)
    state = exported.pop(EXPORT_STATE_KEY, None)
    text = json.dumps(_js_json_value(exported), indent=4, ensure_ascii=False)
    if state is None:
        return text
    line = f'    "{EXPORT_STATE_KEY}": {json.dumps(state, ensure_ascii=False)}\n}}'
    return "{\n" + line if text == "{}" else text[: -len("\n}")] + ",\n" + line
