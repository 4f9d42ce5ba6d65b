"""Thresholds: k6's syntax, binding rules, evaluation, abortOnFail/delayAbortEval."""

from __future__ import annotations

import pytest

from greenws.metrics.aggregator import Aggregator
from greenws.metrics.builtin import BuiltinMetrics
from greenws.metrics.metric import MetricType, Registry
from greenws.metrics.tags import TagSet
from greenws.metrics.thresholds import (
    Threshold,
    ThresholdError,
    ThresholdSet,
    evaluate_all,
    parse_threshold,
    parse_thresholds,
)

T0 = 1_700_000_000.0


# -- parsing --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "aggregation", "op", "value"),
    [
        ("count>10", "count", ">", 10.0),
        ("rate>=0.95", "rate", ">=", 0.95),
        ("value<5", "value", "<", 5.0),
        ("avg<=200", "avg", "<=", 200.0),
        ("min==0", "min", "==", 0.0),
        ("max===1000", "max", "===", 1000.0),
        ("med!=3", "med", "!=", 3.0),
        ("p(95)<200", "p(95)", "<", 200.0),
        ("p(99.9)<1.5e3", "p(99.9)", "<", 1500.0),
        ("p(90.0)<1", "p(90)", "<", 1.0),
        ("  p( 99 )  <  -2.5  ", "p(99)", "<", -2.5),
        ("avg>.5", "avg", ">", 0.5),
        ("avg>+7", "avg", ">", 7.0),
        ("count>1E2", "count", ">", 100.0),
    ],
)
def test_parse(source: str, aggregation: str, op: str, value: float) -> None:
    threshold = parse_threshold(source)
    assert (threshold.source, threshold.aggregation, threshold.operator, threshold.value) == (
        source,
        aggregation,
        op,
        value,
    )
    assert threshold.abort_on_fail is False and threshold.delay_abort_eval_s is None


def test_percentile_is_kept_as_a_number() -> None:
    assert parse_threshold("p(99.9)<1").percentile == 99.9
    assert parse_threshold("p(99.9)<1").method == "p(N)"
    assert parse_threshold("avg<1").percentile is None
    assert parse_threshold("avg<1").method == "avg"


@pytest.mark.parametrize(
    ("op", "truths"),  # observed 1, 2, 3 against 2
    [
        ("<", (True, False, False)),
        ("<=", (True, True, False)),
        (">", (False, False, True)),
        (">=", (False, True, True)),
        ("==", (False, True, False)),
        ("===", (False, True, False)),
        ("!=", (True, False, True)),
    ],
)
def test_every_operator(op: str, truths: tuple[bool, bool, bool]) -> None:
    threshold = parse_threshold(f"avg{op}2")
    assert threshold.operator == op
    assert tuple(threshold.evaluate(v) for v in (1.0, 2.0, 3.0)) == truths


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("p(95)<<200", "right-hand side '<200' is not a number"),
        ("p(95)", "malformed expression"),
        ("p(95)<", "malformed expression"),
        ("", "malformed expression"),
        ("p(95) = 200", "malformed expression"),
        ("mean<200", "unknown aggregation method 'mean'"),
        ("<200", "unknown aggregation method ''"),
        ("p95<200", "unknown aggregation method 'p95'"),
        ("p(101)<200", "between 0 and 100"),
        ("p(-1)<200", "between 0 and 100"),
        ("p(abc)<200", "between 0 and 100"),
        ("avg<abc", "right-hand side 'abc' is not a number"),
        ("avg<200ms", "right-hand side '200ms' is not a number"),
        ("avg<inf", "not a number"),
        ("avg<1_000", "not a number"),
    ],
)
def test_bad_syntax_names_expression_and_metric(source: str, reason: str) -> None:
    with pytest.raises(ThresholdError) as info:
        parse_threshold(source, metric="ws_connecting")
    message = str(info.value)
    assert message.startswith(f"invalid threshold {source!r} on metric 'ws_connecting': ")
    assert reason in message


def test_non_string_expression() -> None:
    with pytest.raises(ThresholdError, match="expected a string"):
        parse_threshold(200, metric="m")  # type: ignore[arg-type]


# -- options form ---------------------------------------------------------------------------------
def test_parse_thresholds_options_form() -> None:
    sets = parse_thresholds(
        {
            "ws_connecting": ["p(95)<200", "max<1000"],
            "checks": [
                {"threshold": "rate>0.9", "abortOnFail": True, "delayAbortEval": "10s"},
                {"threshold": "rate>0.5", "abortOnFail": True},
                {"threshold": "rate>0.1", "delayAbortEval": 1500},
            ],
            "ws_sessions{status:101}": [],
        }
    )
    assert [s.metric_name for s in sets] == ["ws_connecting", "checks", "ws_sessions{status:101}"]
    assert [t.source for t in sets[0].thresholds] == ["p(95)<200", "max<1000"]
    first, second, third = sets[1].thresholds
    assert (first.abort_on_fail, first.delay_abort_eval_s) == (True, 10.0)
    assert (second.abort_on_fail, second.delay_abort_eval_s) == (True, None)
    assert (third.abort_on_fail, third.delay_abort_eval_s) == (False, 1.5)  # a number is ms
    assert sets[2].thresholds == []
    assert parse_thresholds(None) == [] and parse_thresholds({}) == []


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (["p(95)<1"], "must be an object"),
        ({"ws_ping": "p(95)<1"}, "expected a list"),
        ({"ws_ping": {"threshold": "p(95)<1"}}, "expected a list"),
        ({"ws_ping": 5}, "expected a list"),
        ({"": ["avg<1"]}, "invalid threshold metric name"),
        ({"ws_ping": [5]}, "expected a string or an object"),
        ({"ws_ping": [{"abortOnFail": True}]}, "missing 'threshold'"),
        ({"ws_ping": [{"threshold": "avg<1", "abortOnfail": True}]}, "unknown key.*abortOnfail"),
        ({"ws_ping": [{"threshold": "avg<1", "abortOnFail": "yes"}]}, "abortOnFail must be"),
        ({"ws_ping": [{"threshold": "avg<1", "delayAbortEval": "soon"}]}, "delayAbortEval"),
        ({"ws_ping": ["avg<1", "avg<<1"]}, "'avg<<1' on metric 'ws_ping'"),
    ],
)
def test_parse_thresholds_errors(value: object, match: str) -> None:
    with pytest.raises(ThresholdError, match=match):
        parse_thresholds(value)  # type: ignore[arg-type]


# -- binding --------------------------------------------------------------------------------------
def test_bind_unknown_metric_in_k6s_words(registry: Registry, builtin: BuiltinMetrics) -> None:
    (ts,) = parse_thresholds({"ws_nope": ["count>0"]})
    with pytest.raises(ThresholdError) as info:
        ts.bind(registry)
    assert str(info.value).startswith(
        "invalid threshold defined on ws_nope; reason: no metric name 'ws_nope' found"
    )
    (typo,) = parse_thresholds({"ws_msg_sent": ["count>0"]})
    with pytest.raises(ThresholdError, match=r"found \(did you mean 'ws_msgs_sent'\?\)$"):
        typo.bind(registry)
    (far,) = parse_thresholds({"zzzz": ["count>0"]})
    with pytest.raises(ThresholdError, match=r"no metric name 'zzzz' found$"):
        far.bind(registry)  # nothing close: no suggestion
    (sub,) = parse_thresholds({"ws_nope{a:b}": ["count>0"]})
    with pytest.raises(ThresholdError, match="no metric name 'ws_nope\\{a:b\\}' found"):
        sub.bind(Aggregator(registry))


@pytest.mark.parametrize(
    ("metric", "expression", "metric_type"),
    [
        ("ws_ping", "count>1", "trend"),
        ("ws_ping", "rate>1", "trend"),
        ("ws_ping", "value>1", "trend"),
        ("ws_sessions", "p(95)<1", "counter"),
        ("ws_sessions", "avg<1", "counter"),
        ("ws_sessions", "value<1", "counter"),
        ("checks", "count>1", "rate"),
        ("checks", "value>1", "rate"),
        ("vus", "max<10", "gauge"),
        ("vus", "rate<10", "gauge"),
    ],
)
def test_bind_rejects_aggregations_the_type_lacks(
    registry: Registry, builtin: BuiltinMetrics, metric: str, expression: str, metric_type: str
) -> None:
    (ts,) = parse_thresholds({metric: ["avg<1" if metric_type == "trend" else expression]})
    ts.thresholds.append(parse_threshold(expression))
    with pytest.raises(ThresholdError) as info:
        ts.bind(registry)
    message = str(info.value)
    assert f"invalid threshold {expression!r} applied on metric {metric}" in message
    assert f"of type {metric_type}" in message
    assert "supported aggregation methods for this metric are:" in message


@pytest.mark.parametrize(
    ("metric", "expressions"),
    [
        ("ws_ping", ["avg<1", "min<1", "max<1", "med<1", "p(99.99)<1"]),
        ("ws_sessions", ["count>1", "rate>1"]),
        ("checks", ["rate>0.9"]),
        ("vus", ["value<10"]),
    ],
)
def test_bind_accepts_the_types_aggregations(
    registry: Registry, builtin: BuiltinMetrics, metric: str, expressions: list[str]
) -> None:
    (ts,) = parse_thresholds({metric: expressions})
    ts.bind(registry)
    assert ts.name == metric


def test_bind_submetric_starts_it_and_canonicalises_the_name(
    agg: Aggregator, registry: Registry
) -> None:
    (ts,) = parse_thresholds({" ws_connecting{ status : 101 } ": ["p(95)<500"]})
    ts.bind(registry)
    assert ts.name == "ws_connecting{status : 101}"
    assert agg.submetric(ts.name) is None
    ts.bind(agg)
    sub = agg.submetric("ws_connecting{status:101}")
    assert sub is not None and sub.name == ts.name


def test_bind_malformed_submetric(registry: Registry, builtin: BuiltinMetrics) -> None:
    (ts,) = parse_thresholds({"ws_ping{status}": ["avg<1"]})
    with pytest.raises(ThresholdError, match="invalid threshold defined on ws_ping\\{status\\}"):
        ts.bind(registry)


def test_bind_custom_metric(registry: Registry, builtin: BuiltinMetrics) -> None:
    (ts,) = parse_thresholds({"my_rate": ["rate>0.5"]})
    with pytest.raises(ThresholdError):
        ts.bind(registry)
    registry.get_or_create("my_rate", MetricType.RATE)
    ts.bind(registry)


# -- evaluation -----------------------------------------------------------------------------------
def _sets(registry: Registry | Aggregator, options: dict[str, list[object]]) -> list[ThresholdSet]:
    sets = parse_thresholds(options)
    for ts in sets:
        ts.bind(registry)
    return sets


def test_evaluate_pass_and_fail(agg: Aggregator, builtin: BuiltinMetrics) -> None:
    tags = TagSet({"group": ""})
    agg.add_batch([(builtin.ws_connecting, T0, float(v), tags) for v in range(1, 101)])
    agg.add_batch([(builtin.ws_msgs_sent, T0, 1.0, tags)] * 30)
    agg.add_batch([(builtin.vus, T0, 7.0, tags)])
    agg.add_batch([(builtin.checks, T0, float(i % 4 != 0), tags) for i in range(8)])
    sets = _sets(
        agg,
        {
            "ws_connecting": ["p(95)<200", "avg<50", "max<=100", "min>1", "med===50.5"],
            "ws_msgs_sent": ["count==30", "rate>10", "rate>=3"],
            "vus": ["value!=7"],
            "checks": ["rate>=0.75", "rate>0.75"],
        },
    )
    report = evaluate_all(sets, agg, 10.0, elapsed_s=10.0)
    verdicts = {(r.name, r.threshold.source): (r.ok, r.observed) for r in report.results}
    assert verdicts[("ws_connecting", "p(95)<200")][0] is True
    assert verdicts[("ws_connecting", "p(95)<200")][1] == pytest.approx(95.05, rel=0.005)
    assert verdicts[("ws_connecting", "avg<50")] == (False, 50.5)
    assert verdicts[("ws_connecting", "max<=100")] == (True, 100.0)
    assert verdicts[("ws_connecting", "min>1")] == (False, 1.0)
    assert verdicts[("ws_msgs_sent", "count==30")] == (True, 30.0)
    assert verdicts[("ws_msgs_sent", "rate>10")] == (False, 3.0)
    assert verdicts[("ws_msgs_sent", "rate>=3")] == (True, 3.0)
    assert verdicts[("vus", "value!=7")] == (False, 7.0)
    assert verdicts[("checks", "rate>=0.75")] == (True, 0.75)
    assert verdicts[("checks", "rate>0.75")] == (False, 0.75)
    assert report.failed and not report.abort
    assert report.failed_metrics == ["checks", "vus", "ws_connecting", "ws_msgs_sent"]
    summary = report.summary_thresholds()
    assert summary["ws_msgs_sent"] == {"count==30": True, "rate>10": False, "rate>=3": True}
    assert summary["checks"] == {"rate>=0.75": True, "rate>0.75": False}


def test_all_passing_report(agg: Aggregator, builtin: BuiltinMetrics) -> None:
    agg.add_batch([(builtin.ws_sessions, T0, 1.0, TagSet())])
    report = evaluate_all(_sets(agg, {"ws_sessions": ["count>0"]}), agg, 1.0, elapsed_s=1.0)
    assert not report.failed and not report.abort and report.failed_metrics == []
    assert report.summary_thresholds() == {"ws_sessions": {"count>0": True}}


def test_no_value_passes_like_k6(agg: Aggregator, builtin: BuiltinMetrics) -> None:
    sets = _sets(agg, {"checks": ["rate>0.99"], "ws_sessions": ["rate>5", "count>0"]})
    report = evaluate_all(sets, agg, 0.0, elapsed_s=0.0)
    by_source = {r.threshold.source: r for r in report.results}
    assert by_source["rate>0.99"].ok and by_source["rate>0.99"].observed is None
    assert by_source["rate>5"].ok and by_source["rate>5"].observed is None  # zero duration
    assert not by_source["count>0"].ok  # an empty Counter still counts 0, and fails
    assert report.failed_metrics == ["ws_sessions"]


def test_ignore_empty_skips_metrics_without_samples(
    agg: Aggregator, builtin: BuiltinMetrics
) -> None:
    sets = _sets(agg, {"ws_sessions": ["count>0"], "ws_ping": ["avg<10"]})
    agg.add_batch([(builtin.ws_ping, T0, 50.0, TagSet())])
    running = evaluate_all(sets, agg, 1.0, elapsed_s=1.0, ignore_empty=True)
    by_name = {r.name: r for r in running.results}
    assert by_name["ws_sessions"].ok and not by_name["ws_sessions"].evaluated
    assert not by_name["ws_ping"].ok and by_name["ws_ping"].evaluated
    final = evaluate_all(sets, agg, 1.0, elapsed_s=1.0)
    assert final.failed_metrics == ["ws_ping", "ws_sessions"]


def test_submetric_thresholds_see_only_matching_samples(
    agg: Aggregator, builtin: BuiltinMetrics
) -> None:
    sets = _sets(
        agg,
        {
            "ws_connecting{status:101}": ["max<100"],
            "ws_connecting": ["max<100"],
            "ws_sessions{status:500}": ["count<1"],
        },
    )
    m = builtin.ws_connecting
    ok, bad = TagSet({"status": "101"}), TagSet({"status": "500"})
    agg.add_batch([(m, T0, 20.0, ok), (m, T0, 900.0, bad), (builtin.ws_sessions, T0, 1.0, ok)])
    report = evaluate_all(sets, agg, 1.0, elapsed_s=1.0)
    verdicts = {r.name: (r.ok, r.observed) for r in report.results}
    assert verdicts == {
        "ws_connecting{status:101}": (True, 20.0),
        "ws_connecting": (False, 900.0),
        "ws_sessions{status:500}": (True, 0.0),
    }
    data = agg.summary_data(duration_s=1.0, thresholds=report.summary_thresholds())
    metrics = data["metrics"]
    assert metrics["ws_connecting{status:101}"]["thresholds"] == {"max<100": {"ok": True}}
    assert metrics["ws_connecting"]["thresholds"] == {"max<100": {"ok": False}}
    assert metrics["ws_sessions{status:500}"]["values"] == {"count": 0.0, "rate": 0.0}


def test_evaluate_binds_sets_that_were_only_checked_against_a_registry(
    registry: Registry, agg: Aggregator, builtin: BuiltinMetrics
) -> None:
    sets = _sets(registry, {"ws_sessions{status:101}": ["count>=1"]})
    report = evaluate_all(sets, agg, 1.0, elapsed_s=1.0)
    assert report.results[0].observed == 0.0  # bound now, empty; the next batch is counted
    assert agg.submetric("ws_sessions{status:101}") is not None
    agg.add_batch([(builtin.ws_sessions, T0, 1.0, TagSet({"status": "101"}))])
    report = evaluate_all(sets, agg, 1.0, elapsed_s=1.0)
    assert report.results[0].observed == 1.0 and not report.failed


def test_evaluate_unknown_metric_raises(agg: Aggregator) -> None:
    (ts,) = parse_thresholds({"ws_nope": ["count>0"]})
    with pytest.raises(ThresholdError, match="no metric name 'ws_nope' found"):
        evaluate_all([ts], agg, 1.0, elapsed_s=1.0)


def test_unbound_bad_aggregation_is_reported_at_evaluation(
    agg: Aggregator, builtin: BuiltinMetrics
) -> None:
    ts = ThresholdSet("vus", [parse_threshold("p(95)<1")])
    agg.add_batch([(builtin.vus, T0, 1.0, TagSet())])
    with pytest.raises(ThresholdError, match="'p\\(95\\)<1' on metric 'vus'"):
        evaluate_all([ts], agg, 1.0, elapsed_s=1.0)


# -- abortOnFail ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "elapsed", "abort"),
    [
        ({"threshold": "count>5", "abortOnFail": True}, 0.5, True),
        ({"threshold": "count>5", "abortOnFail": True, "delayAbortEval": "10s"}, 9.0, False),
        ({"threshold": "count>5", "abortOnFail": True, "delayAbortEval": "10s"}, 10.0, False),
        ({"threshold": "count>5", "abortOnFail": True, "delayAbortEval": "10s"}, 10.5, True),
        ({"threshold": "count>5", "abortOnFail": False}, 100.0, False),
        ({"threshold": "count>5", "delayAbortEval": "1s"}, 100.0, False),
        ({"threshold": "count>0", "abortOnFail": True}, 100.0, False),  # passing
    ],
)
def test_abort_on_fail(
    agg: Aggregator, builtin: BuiltinMetrics, config: dict[str, object], elapsed: float, abort: bool
) -> None:
    agg.add_batch([(builtin.iterations, T0, 1.0, TagSet())])
    report = evaluate_all(_sets(agg, {"iterations": [config]}), agg, elapsed, elapsed_s=elapsed)
    assert report.abort is abort


def test_one_aborting_threshold_among_others(agg: Aggregator, builtin: BuiltinMetrics) -> None:
    agg.add_batch([(builtin.ws_ping, T0, 500.0, TagSet())])
    sets = _sets(
        agg,
        {
            "ws_ping": ["p(95)<100", {"threshold": "max<1000", "abortOnFail": True}],
            "iterations": [{"threshold": "count>0", "abortOnFail": True}],
        },
    )
    report = evaluate_all(sets, agg, 1.0, elapsed_s=1.0, ignore_empty=True)
    assert report.failed and not report.abort  # the failing one has no abortOnFail
    sets[0].thresholds[1] = parse_threshold("max<100", abort_on_fail=True)
    assert evaluate_all(sets, agg, 1.0, elapsed_s=1.0, ignore_empty=True).abort


def test_threshold_is_a_value_object() -> None:
    assert parse_threshold("avg<1") == Threshold("avg<1", "avg", "<", 1.0)
    assert parse_threshold("avg<1", abort_on_fail=True) != parse_threshold("avg<1")
