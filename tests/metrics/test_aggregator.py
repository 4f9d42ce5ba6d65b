"""Aggregator: batches of sample tuples in, k6's handleSummary data out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from greenws.metrics import aggregator as aggregator_module
from greenws.metrics.aggregator import Aggregator, parse_metric_name
from greenws.metrics.builtin import BuiltinMetrics
from greenws.metrics.metric import MetricError, MetricType, Registry, ValueType
from greenws.metrics.sample import Sample
from greenws.metrics.sinks import CounterSink, GaugeSink, TrendSink
from greenws.metrics.tags import TagSet

T0 = 1_700_000_000.0


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


# -- parse_metric_name ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ws_ping", ("ws_ping", None, {})),
        ("ws_ping{status:101}", ("ws_ping", "status:101", {"status": "101"})),
        (
            " ws_ping{ status : 101 , name:'x y' } ",
            ("ws_ping", "status : 101 , name:'x y'", {"status": "101", "name": "x y"}),
        ),
        ('a_b{"k":"v"}', ("a_b", '"k":"v"', {"k": "v"})),
        ("a_b{url:ws://h:1/p}", ("a_b", "url:ws://h:1/p", {"url": "ws://h:1/p"})),
        ("a_b{k:''}", ("a_b", "k:''", {"k": ""})),
    ],
)
def test_parse_metric_name(text: str, expected: tuple[str, str | None, dict[str, str]]) -> None:
    assert parse_metric_name(text) == expected


@pytest.mark.parametrize(
    "text",
    ["a{b:c", "ab:c}", "a}b:c{", "a{b:c}x", "a{b}", "a{b:}", "a{}", "a{b:c,}", "a{:c}"],
)
def test_parse_metric_name_errors(text: str) -> None:
    with pytest.raises(MetricError):
        parse_metric_name(text)


# -- plain aggregation ----------------------------------------------------------------------------
def test_batches_fill_sinks_and_counts(agg: Aggregator, builtin: BuiltinMetrics) -> None:
    tags = TagSet({"group": ""})
    agg.add_batch(
        [
            (builtin.ws_msgs_sent, T0, 1.0, tags),
            (builtin.ws_ping, T0, 12.5, tags),
            (builtin.ws_msgs_sent, T0, 1.0, tags),
            (builtin.vus, T0, 3.0, tags),
        ]
    )
    agg.add_batch([(builtin.ws_msgs_sent, T0, 1.0, tags), (builtin.vus, T0, 5.0, tags)])
    agg.add_batch([])
    assert agg.sample_counts == {"ws_msgs_sent": 3, "ws_ping": 1, "vus": 2}
    assert sum(agg.sample_counts.values()) == 6
    sent = agg.sink("ws_msgs_sent")
    assert isinstance(sent, CounterSink) and sent.value == 3.0
    vus = agg.sink("vus")
    assert isinstance(vus, GaugeSink) and (vus.value, vus.min, vus.max) == (5.0, 3.0, 5.0)
    ping = agg.sink("ws_ping")
    assert isinstance(ping, TrendSink) and ping.histogram.count == 1


def test_observers_get_each_batch_grouped_by_metric(
    agg: Aggregator, builtin: BuiltinMetrics, registry: Registry
) -> None:
    """A live view sees every sample once, grouped by metric with its values and the batch's
    distinct TagSets; a second aggregator fed those groups through ``add_samples_of`` (what
    the dashboard's tables do) ends with the same sinks, checks and groups as one fed batches."""
    seen: list[tuple[str, list[Sample], list[float], dict[int, TagSet]]] = []
    agg.observers.append(lambda m, s, v, t: seen.append((m.name, list(s), list(v), dict(t))))
    chat, root = TagSet({"group": "::chat"}), TagSet({"group": ""})
    ok = TagSet({"group": "::chat", "check": "ok"})
    batch = [
        (builtin.ws_msgs_sent, T0, 1.0, chat),
        (builtin.ws_ping, T0, 12.5, root),
        (builtin.ws_msgs_sent, T0 + 1, 2.0, root),
        (builtin.checks, T0, 1.0, ok),
        (builtin.vus, T0, 3.0, root),
    ]
    agg.add_batch(batch)
    assert [(name, values) for name, _s, values, _t in seen] == [
        ("ws_msgs_sent", [1.0, 2.0]),
        ("ws_ping", [12.5]),
        ("checks", [1.0]),
        ("vus", [3.0]),
    ]
    assert seen[0][1] == [batch[0], batch[2]]
    assert set(seen[0][3].values()) == {chat, root, ok}
    grouped = Aggregator(registry)
    for name, samples, values, tags in seen:
        grouped.add_samples_of(registry.get(name), samples, values, tags)
    stats = ["avg", "count"]
    assert grouped.summary_data(duration_s=1, trend_stats=stats) == agg.summary_data(
        duration_s=1, trend_stats=stats
    )


def test_any_iterable_is_accepted(agg: Aggregator, builtin: BuiltinMetrics) -> None:
    def samples() -> Iterator[Sample]:
        for i in range(5):
            yield (builtin.iterations, T0 + i, 1.0, TagSet())

    agg.add_batch(samples())
    assert agg.sample_counts == {"iterations": 5}


def test_custom_metric_registered_after_the_aggregator(agg: Aggregator, registry: Registry) -> None:
    mine = registry.get_or_create("my_gauge", MetricType.GAUGE)
    agg.add_batch([(mine, T0, 2.0, TagSet()), (mine, T0, -1.0, TagSet())])
    assert agg.sink("my_gauge").values(1.0, ()) == {"value": -1.0, "min": -1.0, "max": 2.0}  # type: ignore[union-attr]


def test_sink_of_unknown_and_unsampled_metrics(agg: Aggregator) -> None:
    assert agg.sink("no_such_metric") is None
    assert agg.sink("no_such_metric{a:b}") is None
    empty = agg.sink("ws_sessions")
    assert isinstance(empty, CounterSink) and empty.is_empty
    assert agg.sample_counts == {}
    assert agg.summary_data(duration_s=1.0)["metrics"] == {}  # looked at, never sampled


# -- submetrics -----------------------------------------------------------------------------------
def test_submetric_gets_only_matching_samples(agg: Aggregator, builtin: BuiltinMetrics) -> None:
    ok = agg.add_submetric("ws_connecting{status:101}")
    both = agg.add_submetric("ws_connecting{status:101,name:b}")
    assert ok.name == "ws_connecting{status:101}" and ok.parent is builtin.ws_connecting
    assert ok.tags == {"status": "101"}
    assert agg.submetric("ws_connecting{status:101}") is ok
    assert agg.submetric("ws_connecting{name:b,status:101}") is both
    a101 = TagSet({"status": "101", "name": "a"})
    b101 = TagSet({"status": "101", "name": "b"})
    b404 = TagSet({"status": "404", "name": "b"})
    m = builtin.ws_connecting
    agg.add_batch([(m, T0, 10.0, a101), (m, T0, 20.0, b101), (m, T0, 99.0, b404)])
    agg.add_batch([(m, T0, 30.0, b101)])
    assert ok.sink.values(1.0, ["count", "min", "max"]) == {"count": 3.0, "min": 10.0, "max": 30.0}
    assert both.sink.values(1.0, ["count", "min", "max"]) == {
        "count": 2.0,
        "min": 20.0,
        "max": 30.0,
    }
    parent = agg.sink("ws_connecting")
    assert isinstance(parent, TrendSink) and parent.histogram.count == 4
    assert agg.sample_counts == {"ws_connecting": 4}


def test_submetric_matching_rules() -> None:
    registry = Registry()
    metric = registry.get_or_create("m_x", MetricType.COUNTER)
    sub = Aggregator(registry).add_submetric("m_x{a:1,b:''}")
    assert sub.matches({"a": "1", "b": "", "c": "3"})
    assert not sub.matches({"a": "1"})  # an empty value still has to be present
    assert not sub.matches({"a": "2", "b": ""})
    assert not sub.matches({})
    assert sub.parent is metric


def test_submetric_gauge_keeps_sample_order(agg: Aggregator, builtin: BuiltinMetrics) -> None:
    sub = agg.add_submetric("vus{scenario:s1}")
    s1, s2 = TagSet({"scenario": "s1"}), TagSet({"scenario": "s2"})
    agg.add_batch([(builtin.vus, T0, v, s1 if v % 2 else s2) for v in (1.0, 2.0, 3.0, 4.0, 5.0)])
    assert sub.sink.values(1.0, ()) == {"value": 5.0, "min": 1.0, "max": 5.0}


def test_equal_tagsets_from_different_sessions_match_alike(
    agg: Aggregator, builtin: BuiltinMetrics
) -> None:
    sub = agg.add_submetric("ws_sessions{status:101}")
    batch = [
        (builtin.ws_sessions, T0, 1.0, TagSet({"status": "101" if i % 3 else "500"}))
        for i in range(30)
    ]
    agg.add_batch(batch)
    agg.add_batch(batch[:3])
    assert sub.sink.values(1.0, ()) == {"count": 22.0, "rate": 22.0}


def test_samples_before_the_submetric_existed_are_not_counted(
    agg: Aggregator, builtin: BuiltinMetrics
) -> None:
    tags = TagSet({"status": "101"})
    agg.add_batch([(builtin.ws_sessions, T0, 1.0, tags)])
    sub = agg.add_submetric("ws_sessions{status:101}")
    agg.add_batch([(builtin.ws_sessions, T0, 1.0, tags)])
    assert sub.sink.values(1.0, ()) == {"count": 1.0, "rate": 1.0}


def test_add_submetric_is_idempotent_across_spellings(agg: Aggregator) -> None:
    first = agg.add_submetric("ws_ping{status:101,name:x}")
    assert agg.add_submetric(" ws_ping{ name : 'x', status: \"101\" }") is first
    assert agg.submetric("ws_ping{name:x,status:101}") is first
    assert agg.sink("ws_ping{ status:101 , name:x }") is first.sink
    assert agg.submetric("ws_ping{status:500}") is None
    assert agg.submetric("ws_ping{oops") is None


def test_add_submetric_errors(agg: Aggregator) -> None:
    with pytest.raises(MetricError, match="no metric name 'ws_nope' found"):
        agg.add_submetric("ws_nope{a:b}")
    with pytest.raises(MetricError, match="not a submetric"):
        agg.add_submetric("ws_ping")
    with pytest.raises(MetricError, match="malformed"):
        agg.add_submetric("ws_ping{status}")


def test_caches_stay_correct_when_they_overflow(
    agg: Aggregator, builtin: BuiltinMetrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aggregator_module, "_CACHE_LIMIT", 3)
    sub = agg.add_submetric("ws_msgs_received{odd:yes}")
    expected = 0
    for batch_no in range(5):
        batch = []
        for i in range(20):
            odd = "yes" if i % 2 else "no"
            tags = TagSet({"odd": odd, "i": str(i), "group": f"::g{batch_no}", "check": "c"})
            batch.append((builtin.ws_msgs_received, T0, 1.0, tags))
            batch.append((builtin.checks, T0, 1.0 if odd == "yes" else 0.0, tags))
            expected += odd == "yes"
        agg.add_batch(batch)
    assert sub.sink.values(1.0, ()) == {"count": float(expected), "rate": float(expected)}
    groups = agg.root_group()["groups"]
    assert [g["name"] for g in groups] == [f"g{n}" for n in range(5)]
    assert all(g["checks"][0]["passes"] == 10 and g["checks"][0]["fails"] == 10 for g in groups)


# -- checks and groups ----------------------------------------------------------------------------
def test_checks_and_groups_tree(agg: Aggregator, builtin: BuiltinMetrics) -> None:
    checks = builtin.checks

    def check(group: str, name: str, ok: bool) -> Sample:
        return (checks, T0, 1.0 if ok else 0.0, TagSet({"group": group, "check": name}))

    agg.add_batch(
        [
            (builtin.iterations, T0, 1.0, TagSet({"group": ""})),
            check("", "status is 101", True),
            check("::outer", "got echo", True),
            check("", "status is 101", False),
            check("", "another", True),
        ]
    )
    agg.add_batch(
        [
            (builtin.group_duration, T0, 5.0, TagSet({"group": "::outer::inner"})),
            (builtin.ws_ping, T0, 5.0, TagSet({"group": "::second"})),
            check("::outer::inner", "deep", False),
            check("::outer", "got echo", False),
            check("::outer", "got echo", True),
        ]
    )
    root = agg.summary_data(duration_s=1.0)["root_group"]
    assert root["name"] == "" and root["path"] == ""
    assert root["id"] == md5("") == "d41d8cd98f00b204e9800998ecf8427e"
    assert root["checks"] == [
        {"name": "status is 101", "path": "::status is 101", "id": md5("::status is 101"),
         "passes": 1, "fails": 1},
        {"name": "another", "path": "::another", "id": md5("::another"), "passes": 1, "fails": 0},
    ]  # fmt: skip
    outer, second = root["groups"]
    assert (outer["name"], outer["path"], outer["id"]) == ("outer", "::outer", md5("::outer"))
    assert outer["checks"] == [
        {"name": "got echo", "path": "::outer::got echo", "id": md5("::outer::got echo"),
         "passes": 2, "fails": 1},
    ]  # fmt: skip
    (inner,) = outer["groups"]
    assert inner["path"] == "::outer::inner" and inner["groups"] == []
    assert inner["checks"][0]["fails"] == 1 and inner["checks"][0]["passes"] == 0
    assert (second["name"], second["checks"], second["groups"]) == ("second", [], [])
    checks_values = agg.sink("checks").values(1.0, ())  # type: ignore[union-attr]
    assert checks_values == {"rate": 4 / 7, "passes": 4.0, "fails": 3.0}


def test_checks_without_a_check_tag_only_feed_the_rate(
    agg: Aggregator, builtin: BuiltinMetrics
) -> None:
    agg.add_batch([(builtin.checks, T0, 1.0, TagSet({"group": ""}))])
    assert agg.root_group()["checks"] == []
    assert agg.sample_counts == {"checks": 1}


def test_distinct_tagsets_in_runs_are_all_seen_once_in_first_seen_order(
    agg: Aggregator, builtin: BuiltinMetrics
) -> None:
    """The batch's TagSets are found where the TagSet changes from one sample to the next
    (VUs push runs of one session's set): one that comes back after another, and one that only
    appears inside a run of equal-content but distinct sets, are each reported once."""
    seen: list[dict[int, TagSet]] = []
    agg.observers.append(lambda m, s, v, t: seen.append(dict(t)))
    a, b = TagSet({"group": "::a"}), TagSet({"group": "::b"})
    b_again = TagSet({"group": "::b"})  # equal content, another object: its own entry
    c = TagSet({"group": "::c"})
    order = [a, a, b, b, a, b_again, c, c, a]
    agg.add_batch([(builtin.ws_msgs_sent, T0, 1.0, tags) for tags in order])
    (distinct,) = seen
    assert list(distinct.values()) == [a, b, b_again, c]
    assert [id(t) for t in distinct.values()] == [id(a), id(b), id(b_again), id(c)]
    paths = [group["path"] for group in agg.root_group()["groups"]]
    assert paths == ["::a", "::b", "::c"]


def test_group_path_without_leading_separator_is_read_under_root(agg: Aggregator) -> None:
    registry = agg.registry
    metric = registry.get_or_create("custom_x", MetricType.COUNTER)
    agg.add_batch([(metric, T0, 1.0, TagSet({"group": "a::b"}))])
    (a,) = agg.root_group()["groups"]
    assert a["path"] == "::a" and a["groups"][0]["path"] == "::a::b"


# -- summary data ---------------------------------------------------------------------------------
def test_summary_data_shape_and_numbers(agg: Aggregator, builtin: BuiltinMetrics) -> None:
    sub = agg.add_submetric("ws_connecting{status:101}")
    agg.add_submetric("ws_connecting{status:999}")  # no samples: not in the summary
    tags = TagSet({"group": "", "status": "101"})
    batch: list[Sample] = [(builtin.ws_connecting, T0, float(v), tags) for v in range(1, 11)]
    batch += [(builtin.data_sent, T0, 100.0, tags), (builtin.data_sent, T0, 300.0, tags)]
    batch += [(builtin.vus, T0, 2.0, tags), (builtin.checks, T0, 1.0, tags)]
    agg.add_batch(batch)
    data = agg.summary_data(duration_s=4.0, trend_stats=["avg", "min", "max", "count", "p(99)"])
    assert set(data) == {"root_group", "metrics", "state", "options"}
    assert data["state"] == {"testRunDurationMs": 4000.0}
    assert data["options"] == {"summaryTrendStats": ["avg", "min", "max", "count", "p(99)"]}
    metrics = data["metrics"]
    assert list(metrics) == sorted(metrics)
    assert set(metrics) == {"checks", "data_sent", "vus", "ws_connecting", sub.name}
    assert metrics["data_sent"] == {
        "type": "counter",
        "contains": "data",
        "values": {"count": 400.0, "rate": 100.0},
    }
    assert metrics["vus"] == {
        "type": "gauge",
        "contains": "default",
        "values": {"value": 2.0, "min": 2.0, "max": 2.0},
    }
    assert metrics["checks"]["values"] == {"rate": 1.0, "passes": 1.0, "fails": 0.0}
    trend = metrics["ws_connecting"]
    assert (trend["type"], trend["contains"]) == ("trend", "time")
    assert list(trend["values"]) == ["avg", "min", "max", "count", "p(99)"]
    assert trend["values"]["avg"] == 5.5 and trend["values"]["count"] == 10.0
    assert trend["values"]["p(99)"] == pytest.approx(9.91, rel=0.005)
    assert metrics[sub.name]["values"] == trend["values"]
    assert "thresholds" not in trend
    json.dumps(data)  # JSON-able as is


def test_summary_data_default_trend_stats(agg: Aggregator, builtin: BuiltinMetrics) -> None:
    agg.add_batch([(builtin.ws_ping, T0, 3.0, TagSet())])
    values = agg.summary_data(duration_s=1.0)["metrics"]["ws_ping"]["values"]
    assert list(values) == ["avg", "min", "med", "max", "p(90)", "p(95)"]


def test_thresholds_make_metrics_appear_without_samples(
    agg: Aggregator, builtin: BuiltinMetrics
) -> None:
    thresholds = {
        "ws_sessions": {"count>0": False},
        "ws_ping{ status : 101 }": {"p(95)<100": True, "avg<50": True},
    }
    metrics = agg.summary_data(duration_s=1.0, thresholds=thresholds)["metrics"]
    assert set(metrics) == {"ws_sessions", "ws_ping", "ws_ping{status : 101}"}
    assert metrics["ws_sessions"]["thresholds"] == {"count>0": {"ok": False}}
    assert metrics["ws_sessions"]["values"] == {"count": 0.0, "rate": 0.0}
    assert metrics["ws_ping{status : 101}"]["thresholds"] == {
        "p(95)<100": {"ok": True},
        "avg<50": {"ok": True},
    }
    assert "thresholds" not in metrics["ws_ping"]
    assert metrics["ws_ping"]["type"] == "trend"


def test_a_trend_threshold_outside_the_trend_stats_gets_its_value(
    agg: Aggregator, builtin: BuiltinMetrics
) -> None:
    """grafana/k6#4698: ``p(99)<500`` with the default stats must not print ``p(99)=n/a``."""
    tags = TagSet()
    agg.add_batch([(builtin.ws_ping, T0, float(v), tags) for v in range(1, 101)])
    thresholds = {
        "ws_ping": {"p(99) < 500": True, "avg<60": True, "min!=0": True, "p(95)<99": True}
    }
    values = agg.summary_data(duration_s=1.0, thresholds=thresholds)["metrics"]["ws_ping"]["values"]
    assert list(values) == ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"]
    assert values["p(99)"] == pytest.approx(99.01, rel=0.01)
    # Without thresholds, the values are the trend stats alone, as in k6's data.
    plain = agg.summary_data(duration_s=1.0)["metrics"]["ws_ping"]["values"]
    assert list(plain) == ["avg", "min", "med", "max", "p(90)", "p(95)"]
    few = agg.summary_data(duration_s=1.0, trend_stats=["max"], thresholds=thresholds)
    assert list(few["metrics"]["ws_ping"]["values"]) == ["max", "p(99)", "avg", "min", "p(95)"]


def test_thresholds_on_unknown_metrics_are_left_out_of_the_summary(agg: Aggregator) -> None:
    metrics = agg.summary_data(duration_s=1.0, thresholds={"nope_x": {"count>0": True}})["metrics"]
    assert metrics == {}


def test_value_types_reach_the_summary(agg: Aggregator, registry: Registry) -> None:
    mine = registry.get_or_create("bytes_x", MetricType.TREND, ValueType.DATA)
    agg.add_batch([(mine, T0, 1.0, TagSet())])
    assert agg.summary_data(duration_s=1.0)["metrics"]["bytes_x"]["contains"] == "data"


def test_a_bad_value_fails_its_batch_only(agg: Aggregator, builtin: BuiltinMetrics) -> None:
    tags = TagSet()
    with pytest.raises(TypeError):
        agg.add_batch([(builtin.ws_msgs_sent, T0, "one", tags)])  # type: ignore[list-item]
    agg.add_batch([(builtin.ws_msgs_sent, T0, 2.0, tags)])
    assert agg.sink("ws_msgs_sent").values(1.0, ()) == {"count": 2.0, "rate": 2.0}  # type: ignore[union-attr]
