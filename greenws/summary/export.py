"""The ``--summary-export`` file: k6's legacy JSON summary.

k6 derives this file from the handleSummary data in ``internal/js/summary-wrapper.js``
(``oldJSONSummary``); its expected shape is pinned by ``expectedOldJSONExportResult`` in
``internal/js/summary_test.go``. The transformation, reproduced here:

- ``options`` and ``state`` are dropped; every other top-level key (``setup_data`` too) stays.
- Each metric is replaced by its ``values`` dict: counters ``{count, rate}``, gauges
  ``{value, min, max}``, trends their summary stats, rates ``{passes, fails, value}`` (the rate's
  ``rate`` key is renamed ``value``).
- A metric with thresholds gets ``"thresholds": {source: failed}``. The boolean is **true when
  the threshold failed** (k6 writes ``!threshold.ok``), the opposite of the handleSummary ``ok``.
- In ``root_group`` (recursively) the ``groups`` and ``checks`` lists become dicts keyed by name.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["summary_export_json", "to_summary_export"]


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
    result = {k: copy.deepcopy(v) for k, v in data.items() if k not in ("options", "state")}
    metrics = result.get("metrics")
    if isinstance(metrics, Mapping):
        result["metrics"] = {
            name: _export_metric(m) if isinstance(m, Mapping) else m for name, m in metrics.items()
        }
    root = result.get("root_group")
    if isinstance(root, Mapping):
        result["root_group"] = _export_group(root)
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
    """The export file's text, indented by four spaces as k6 writes it."""
    return json.dumps(_js_json_value(to_summary_export(data)), indent=4, ensure_ascii=False)
