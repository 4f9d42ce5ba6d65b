"""The checks block of the text summary: three totals, a blank line, one line per check.

TOTAL RESULTS and every group or scenario block of full mode open with it (k6's ``renderChecks``
in ``internal/js/summary.js``). Checks arrive as lists (handleSummary data, full mode's
``breakdown``) or as name-keyed dicts (``--summary-export``'s ``root_group``); both read alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .metric_lines import NL, Metric, RenderOptions, compute_cells, indent, metric_lines, num
from .metric_lines import values_of as _values

__all__ = ["Check", "all_checks", "as_list", "check_counts", "check_tokens", "own_checks"]

_SUBTITLE_PREFIX = "↳"
_PASS = "✓"
_FAIL = "✗"


@dataclass
class Check:
    name: str
    passes: int
    fails: int


def as_list(items: Any) -> list[Mapping[str, Any]]:
    """Groups and checks arrive as lists (handleSummary data) or name-keyed dicts (export)."""
    if isinstance(items, Mapping):
        items = list(items.values())
    if not isinstance(items, Sequence):
        return []
    return [i for i in items if isinstance(i, Mapping)]


def own_checks(group: Mapping[str, Any]) -> list[Check]:
    """The checks of ``group`` itself, not of its nested groups."""
    return [
        Check(str(c.get("name", "")), int(c.get("passes", 0)), int(c.get("fails", 0)))
        for c in as_list(group.get("checks"))
    ]


def all_checks(group: Mapping[str, Any]) -> list[Check]:
    """Every check in the tree, merged by name as k6's TOTAL RESULTS does, first seen first."""
    merged: dict[str, Check] = {}

    def walk(node: Mapping[str, Any]) -> None:
        for check in own_checks(node):
            seen = merged.setdefault(check.name, Check(check.name, 0, 0))
            seen.passes += check.passes
            seen.fails += check.fails
        for child in as_list(node.get("groups")):
            walk(child)

    walk(group)
    return list(merged.values())


def check_counts(metrics: Mapping[str, Any]) -> tuple[float, float] | None:
    """(passes, fails) of the ``checks`` metric in ``metrics``; None when there is none."""
    checks_metric = metrics.get("checks")
    if not isinstance(checks_metric, Mapping):
        return None
    values = _values(checks_metric)
    return (num(values, "passes") or 0.0, num(values, "fails") or 0.0)


def _checks_metrics(passes: float, fails: float, opts: RenderOptions) -> dict[str, Metric]:
    """checks_total / checks_succeeded / checks_failed, derived as k6's summary output does.

    checks_failed is a rate *of failures*: its "passes" are failed checks, so it reads
    ``0.00% 0 out of 10`` on a clean run.
    """
    total = passes + fails
    per_s = total / opts.duration_s if opts.duration_s > 0 else 0.0
    return {
        "checks_total": {
            "type": "counter",
            "contains": "default",
            "values": {"count": total, "rate": per_s},
        },
        "checks_succeeded": {
            "type": "rate",
            "contains": "default",
            "values": {"rate": passes / total if total else 0.0, "passes": passes, "fails": fails},
        },
        "checks_failed": {
            "type": "rate",
            "contains": "default",
            "values": {"rate": fails / total if total else 0.0, "passes": fails, "fails": passes},
        },
    }


def check_tokens(
    checks: list[Check], counts: tuple[float, float] | None, level: int, opts: RenderOptions
) -> list[str]:
    """The checks block of a group at ``level`` (0 for TOTAL RESULTS and top-level blocks).

    ``counts`` (passes, fails) overrides the sum over ``checks``; with neither, no block at all.
    """
    if counts is None:
        if not checks:
            return []
        counts = (sum(c.passes for c in checks), sum(c.fails for c in checks))
    ansi = opts.ansi
    indentation = indent(level + 2)
    metrics = _checks_metrics(counts[0], counts[1], opts)
    cells = compute_cells(metrics, indentation, opts)
    tokens = [*metric_lines(metrics, cells, indentation, opts, sort=False), NL]
    for check in checks:
        if check.fails == 0:
            tokens.append(indentation + ansi.decorate(f"{_PASS} {check.name}", "green"))
            continue
        pct = math.floor(100 * check.passes / (check.passes + check.fails))
        detail = f"{_SUBTITLE_PREFIX}  {pct}% — {_PASS} {check.passes} / {_FAIL} {check.fails}"
        # k6 indents this line by its context level twice over (+1): two spaces under the
        # name at the top level, more in nested groups. Kept so the lines match k6's.
        tokens.append(indentation + ansi.decorate(f"{_FAIL} {check.name}", "red"))
        tokens.append(indent(2 * (level + 1) + 1) + ansi.decorate(detail, "red"))
    tokens.append(NL)
    return tokens
