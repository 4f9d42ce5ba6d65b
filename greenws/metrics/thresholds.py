"""k6 thresholds: parse ``options["thresholds"]``, check them against metrics, evaluate them.

The syntax and the rules are k6's (``metrics/thresholds_parser.go``, ``metrics/thresholds.go``,
``internal/metrics/engine/engine.go``)::

    thresholds = {
        "ws_connecting": ["p(95)<200", "max<1000"],
        "ws_sessions{status:101}": [{"threshold": "count>10", "abortOnFail": True,
                                      "delayAbortEval": "10s"}],
    }

An expression is ``aggregation operator number``: aggregation one of ``count rate value avg min
max med p(N)`` (which ones are allowed depends on the metric type), operator one of ``< <= > >=
== === !=``. Three steps, each failing early with a message naming the expression and metric:

1. :func:`parse_thresholds` -- syntax, when options are read.
2. :meth:`ThresholdSet.bind` -- the metric exists and supports the aggregation; with an
   aggregator, a ``name{tag:value}`` key also starts its submetric. The runtime calls this after
   the script is imported, when every custom metric exists.
3. :func:`evaluate_all` -- every couple of seconds (``ignore_empty=True``, as k6 skips metrics
   without samples while the test runs) and once at the end.

As in k6, a threshold whose value does not exist yet -- the ``rate`` of a Rate with no samples,
a Counter's ``rate`` over a zero duration -- passes.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from greenws.metrics.aggregator import Aggregator, parse_metric_name
from greenws.metrics.metric import MetricError, Registry
from greenws.metrics.sinks import (
    AGGREGATIONS,
    AggregationError,
    format_percentile,
    parse_percentile,
)
from greenws.options.durations import DurationError, parse_duration

__all__ = [
    "Threshold",
    "ThresholdError",
    "ThresholdReport",
    "ThresholdResult",
    "ThresholdSet",
    "evaluate_all",
    "parse_threshold",
    "parse_thresholds",
]

# k6 scans for operators in this order, so "<=" is found before "<" and "===" before "==".
_OPERATORS = ("<=", "<", ">=", ">", "===", "==", "!=")
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "===": operator.eq,  # every value is a float64 in k6, so strict equality is plain equality
    "==": operator.eq,
    "!=": operator.ne,
}
_METHODS = ("count", "rate", "value", "avg", "min", "max", "med")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_CONFIG_KEYS = frozenset({"threshold", "abortOnFail", "delayAbortEval"})


class ThresholdError(ValueError):
    """A threshold k6 would reject; the message names the expression and the metric."""


@dataclass(frozen=True)
class Threshold:
    """One parsed expression, e.g. ``p(95)<200``.

    Attributes:
        source: the expression as written (the key k6 uses in the summary).
        aggregation: canonical left-hand side: ``count``, ``med``, ``p(99.9)``...
        operator: one of ``< <= > >= == === !=``.
        value: the right-hand side.
        abort_on_fail: stop the test when this threshold fails.
        delay_abort_eval_s: with ``abort_on_fail``, how long into the test a failure is
            tolerated before it aborts (None: abort at the first failure).
    """

    source: str
    aggregation: str
    operator: str
    value: float
    abort_on_fail: bool = False
    delay_abort_eval_s: float | None = None
    percentile: float | None = field(default=None, compare=False)

    @property
    def method(self) -> str:
        """The aggregation method for type checks: ``p(N)`` for any percentile."""
        return "p(N)" if self.percentile is not None else self.aggregation

    def evaluate(self, observed: float) -> bool:
        """Whether ``observed`` (the aggregation's current value) satisfies the threshold."""
        return _COMPARE[self.operator](observed, self.value)


def parse_threshold(
    source: str,
    *,
    metric: str = "?",
    abort_on_fail: bool = False,
    delay_abort_eval: str | float | None = None,
) -> Threshold:
    """Parse one expression (``metric`` is only used in error messages).

    Raises:
        ThresholdError: bad syntax, an unknown aggregation, a non-numeric right-hand side, or a
            ``delayAbortEval`` that is not a duration.
    """

    def error(reason: str) -> ThresholdError:
        return ThresholdError(f"invalid threshold {source!r} on metric {metric!r}: {reason}")

    if not isinstance(source, str):
        raise ThresholdError(
            f"invalid threshold {source!r} on metric {metric!r}: expected a string like 'p(95)<200'"
        )
    for op in _OPERATORS:
        left, _, right = source.partition(op)
        if right:
            break
    else:
        raise error(
            "malformed expression, expected 'aggregation operator number', like 'p(95)<200'"
        )
    left, right = left.strip(), right.strip()

    percentile: float | None = None
    if left in _METHODS:
        aggregation = left
    else:
        try:
            percentile = parse_percentile(left)
        except AggregationError as exc:
            raise error(str(exc)) from None
        if percentile is None:
            raise error(
                f"unknown aggregation method {left!r}; expected one of "
                f"{', '.join(_METHODS)} or p(N)"
            )
        aggregation = format_percentile(percentile)

    if _NUMBER.fullmatch(right) is None:
        raise error(f"right-hand side {right!r} is not a number")

    delay: float | None = None
    if delay_abort_eval is not None:
        try:
            delay = parse_duration(delay_abort_eval, name="delayAbortEval")
        except DurationError as exc:
            raise error(str(exc)) from None
    if not isinstance(abort_on_fail, bool):
        raise error(f"abortOnFail must be true or false, not {abort_on_fail!r}")
    return Threshold(source, aggregation, op, float(right), abort_on_fail, delay, percentile)


class ThresholdSet:
    """The thresholds of one metric or submetric (one key of ``options["thresholds"]``).

    ``metric_name`` is the key as written; ``name`` is how the summary spells it (``bind``
    normalises ``ws_ping{ status : 101 }`` to ``ws_ping{status : 101}`` as k6 does).
    """

    __slots__ = ("metric_name", "name", "thresholds")

    def __init__(self, metric_name: str, thresholds: Sequence[Threshold]) -> None:
        self.metric_name = metric_name
        self.name = metric_name.strip()
        self.thresholds = list(thresholds)

    def bind(self, target: Registry | Aggregator) -> None:
        """Check the metric exists and supports every aggregation; start its submetric.

        Raises:
            ThresholdError: in k6's words, e.g. ``invalid threshold defined on ws_foo; reason:
                no metric name 'ws_foo' found``.
        """
        registry = target.registry if isinstance(target, Aggregator) else target
        try:
            base, suffix, _ = parse_metric_name(self.metric_name)
        except MetricError as exc:
            raise ThresholdError(
                f"invalid threshold defined on {self.metric_name}; reason: {exc}"
            ) from None
        metric = registry.get(base)
        if metric is None:
            known = [m.name for m in registry]
            hint = difflib.get_close_matches(base, known, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ThresholdError(
                f"invalid threshold defined on {self.metric_name}; "
                f"reason: no metric name '{self.metric_name}' found{suggestion}"
            )
        supported = AGGREGATIONS[metric.type]
        for threshold in self.thresholds:
            if threshold.method not in supported:
                raise ThresholdError(
                    f"invalid threshold {threshold.source!r} applied on metric "
                    f"{self.metric_name}; reason: unsupported aggregation method "
                    f"{threshold.aggregation} on metric of type {metric.type.value}. "
                    f"supported aggregation methods for this metric are: {', '.join(supported)}"
                )
        if suffix is None:
            self.name = base
        elif isinstance(target, Aggregator):
            self.name = target.add_submetric(self.metric_name).name
        else:
            self.name = f"{base}{{{suffix}}}"

    def __repr__(self) -> str:
        return f"ThresholdSet({self.name!r}, {[t.source for t in self.thresholds]!r})"


def parse_thresholds(options_value: Mapping[str, Any] | None) -> list[ThresholdSet]:
    """Parse ``options["thresholds"]`` (k6's shape) into one ThresholdSet per key.

    Each key maps to a list whose items are expression strings or
    ``{"threshold": str, "abortOnFail": bool, "delayAbortEval": duration}`` objects.

    Raises:
        ThresholdError: for the first invalid entry, naming it.
    """
    if options_value is None:
        return []
    if not isinstance(options_value, Mapping):
        raise ThresholdError(
            f"thresholds must be an object of metric name -> list of expressions, "
            f"not {type(options_value).__name__}"
        )
    sets: list[ThresholdSet] = []
    for metric_name, items in options_value.items():
        if not isinstance(metric_name, str) or not metric_name.strip():
            raise ThresholdError(f"invalid threshold metric name {metric_name!r}")
        if isinstance(items, (str, Mapping)) or not isinstance(items, Iterable):
            raise ThresholdError(
                f"invalid thresholds for metric {metric_name!r}: expected a list like "
                f"['p(95)<200'], got {items!r}"
            )
        sets.append(ThresholdSet(metric_name, [_parse_item(metric_name, i) for i in items]))
    return sets


def _parse_item(metric_name: str, item: Any) -> Threshold:
    if isinstance(item, str):
        return parse_threshold(item, metric=metric_name)
    if not isinstance(item, Mapping):
        raise ThresholdError(
            f"invalid threshold {item!r} on metric {metric_name!r}: expected a string or an "
            "object with 'threshold', 'abortOnFail', 'delayAbortEval'"
        )
    unknown = sorted(set(item) - _CONFIG_KEYS, key=str)
    if unknown:
        raise ThresholdError(
            f"invalid threshold {item!r} on metric {metric_name!r}: unknown key(s) "
            f"{', '.join(map(repr, unknown))}; expected 'threshold', 'abortOnFail', "
            "'delayAbortEval'"
        )
    if "threshold" not in item:
        raise ThresholdError(
            f"invalid threshold {item!r} on metric {metric_name!r}: missing 'threshold'"
        )
    return parse_threshold(
        item["threshold"],
        metric=metric_name,
        abort_on_fail=item.get("abortOnFail", False),
        delay_abort_eval=item.get("delayAbortEval"),
    )


@dataclass(frozen=True)
class ThresholdResult:
    """One threshold's verdict.

    ``observed`` is None when there was no value to judge (no samples yet, or k6's "no rate
    without samples"); such a threshold passes. ``evaluated`` is False when the set was skipped
    because its metric had no samples (``ignore_empty``).
    """

    name: str
    threshold: Threshold
    observed: float | None
    ok: bool
    evaluated: bool = True


@dataclass
class ThresholdReport:
    """All verdicts of one evaluation round."""

    results: list[ThresholdResult] = field(default_factory=list)
    abort: bool = False
    """A failed ``abortOnFail`` threshold whose ``delayAbortEval`` has passed: stop the test."""

    @property
    def failed(self) -> bool:
        return any(not r.ok for r in self.results)

    @property
    def failed_metrics(self) -> list[str]:
        """Names of metrics with a failed threshold, sorted (k6's "thresholds on metrics ...")."""
        return sorted({r.name for r in self.results if not r.ok})

    def summary_thresholds(self) -> dict[str, dict[str, bool]]:
        """``{metric or submetric name: {expression: ok}}`` for ``Aggregator.summary_data``."""
        out: dict[str, dict[str, bool]] = {}
        for r in self.results:
            per_metric = out.setdefault(r.name, {})
            per_metric[r.threshold.source] = per_metric.get(r.threshold.source, True) and r.ok
        return out


def evaluate_all(
    threshold_sets: Iterable[ThresholdSet],
    aggregator: Aggregator,
    duration_s: float,
    *,
    elapsed_s: float,
    ignore_empty: bool = False,
) -> ThresholdReport:
    """Evaluate every threshold against the aggregator's current numbers.

    Args:
        duration_s: test time so far, for Counter ``rate``.
        elapsed_s: time since the test started, compared with ``delayAbortEval``.
        ignore_empty: skip metrics without samples (k6 does this on the periodic checks while
            the test runs, not on the final one).

    Raises:
        ThresholdError: a set names a metric that does not exist, or an aggregation its type
            does not have (call :meth:`ThresholdSet.bind` first to get this at start-up).
    """
    report = ThresholdReport()
    for threshold_set in threshold_sets:
        sink = aggregator.sink(threshold_set.name)
        if sink is None:
            threshold_set.bind(aggregator)
            sink = aggregator.sink(threshold_set.name)
            if sink is None:  # pragma: no cover - bind() raises first
                raise ThresholdError(f"no metric name '{threshold_set.metric_name}' found")
        name = threshold_set.name
        if ignore_empty and sink.is_empty:
            report.results.extend(
                ThresholdResult(name, t, None, True, evaluated=False)
                for t in threshold_set.thresholds
            )
            continue
        for threshold in threshold_set.thresholds:
            try:
                observed = sink.threshold_value(threshold.aggregation, duration_s)
            except AggregationError as exc:
                raise ThresholdError(
                    f"invalid threshold {threshold.source!r} on metric {name!r}: {exc}"
                ) from None
            ok = observed is None or threshold.evaluate(observed)
            report.results.append(ThresholdResult(name, threshold, observed, ok))
            if not ok and threshold.abort_on_fail:
                delay = threshold.delay_abort_eval_s
                if delay is None or delay < elapsed_s:
                    report.abort = True
    return report
