"""The Prometheus remote-write output's pure parts: settings, encoding, the series store.

Plain values in and out, nothing started: the remote-write body (a snappy block of a protobuf
``WriteRequest``), native-histogram buckets, k6's setting names, and which samples count as
lost when a write fails. ``test_prometheus_rw.py`` runs the output against real servers.
"""

from __future__ import annotations

import struct

import cramjam
import pytest
from greenws_prometheus import proto
from greenws_prometheus.encode import encode_points
from greenws_prometheus.series import NativeHistogram, Point, SeriesStore, stat_suffix
from greenws_prometheus.settings import parse_settings

from greenws.metrics.metric import Metric, MetricType, ValueType
from greenws.metrics.tags import TagSet


def test_settings_follow_k6s_environment_and_argument() -> None:
    env = {
        "K6_PROMETHEUS_RW_SERVER_URL": "http://127.0.0.1:1/api/v1/write",
        "K6_PROMETHEUS_RW_PUSH_INTERVAL": "2s",
        "K6_PROMETHEUS_RW_TREND_STATS": "p(95),p(99.9),avg,count",
        "K6_PROMETHEUS_RW_HEADERS_X-Team": "perf",
        "K6_PROMETHEUS_RW_USERNAME": "me",
        "K6_PROMETHEUS_RW_PASSWORD": "pw",
        "GREENWS_PROMETHEUS_RW_PREFIX": "gws_",
    }
    settings = parse_settings("pushInterval=500ms,headers.X-Other=1", env)
    assert settings.url == "http://127.0.0.1:1/api/v1/write"
    assert settings.push_interval == 0.5  # the argument wins over the environment
    assert settings.trend_stats == ("p(95)", "p(99.9)", "avg", "count")
    assert settings.headers["X-Team"] == "perf" and settings.headers["X-Other"] == "1"
    assert settings.headers["Authorization"] == "Basic bWU6cHc="
    assert settings.prefix == "gws_"
    assert parse_settings("http://h:9/w", {}).url == "http://h:9/w"
    assert [stat_suffix(s) for s in ("p(99)", "p(99.9)", "p(0.95)", "med")] == [
        "p99",
        "p999",
        "p095",
        "med",
    ]


@pytest.mark.parametrize(
    ("argument", "env", "problem"),
    [
        ("url=ftp://x", {}, "expected http(s)"),
        ("pushInterval=soon", {}, "pushInterval='soon'"),
        ("colour=red", {}, "unknown option 'colour'"),
        ("", {"K6_PROMETHEUS_RW_TREND_STATS": "p99"}, "trend stat 'p99'"),
        ("", {"K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM": "maybe"}, "expected true or false"),
    ],
)
def test_bad_settings_are_one_line_naming_the_setting(
    argument: str, env: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_settings(argument, env)


def test_native_histogram_buckets_follow_schema_3() -> None:
    # Bucket k holds (2^((k-1)/8), 2^(k/8)]: 1 closes bucket 0, 2 closes bucket 8.
    assert [NativeHistogram.key(v) for v in (1.0, 1.0001, 2.0, 0.5, 2.0 ** (3 / 8))] == [
        0,
        1,
        8,
        -8,
        3,
    ]
    spans, deltas = NativeHistogram.spans({-2: 1, -1: 3, 4: 2})
    assert spans == [(-2, 2), (4, 1)] and deltas == [1, 2, -1]


def test_the_body_is_a_snappy_block_of_a_write_request() -> None:
    body = encode_points([Point("k6_x_total", [("b", "2"), ("a", "1")], 1234, 5.0)])
    request = proto.WriteRequest.FromString(bytes(cramjam.snappy.decompress_raw(body)))
    (series,) = request.timeseries
    assert [(label.name, label.value) for label in series.labels] == [
        ("__name__", "k6_x_total"),
        ("a", "1"),
        ("b", "2"),
    ]
    assert (series.samples[0].value, series.samples[0].timestamp) == (5.0, 1234)


def test_a_series_unwritten_is_lost_until_a_later_write_carries_it() -> None:
    counter = Metric("hellos", MetricType.COUNTER)
    trend = Metric("ws_ping", MetricType.TREND, ValueType.TIME)
    tags = TagSet({"scenario": "a", "empty": ""})
    store = SeriesStore(trend_stats=("p(99)", "count"), max_series=2)
    store.add_batch([(counter, 1.0, 2.0, tags), (trend, 1.0, 1500.0, tags)])
    first = store.snapshot()
    assert {p.name: p.value for p in first.points} == {
        "k6_hellos_total": 2.0,
        "k6_ws_ping_p99": pytest.approx(1.5, rel=0.01),  # seconds, as k6 sends times
        "k6_ws_ping_count": 1.0,
    }
    assert first.points[0].labels == [("scenario", "a")]  # empty tags are left out, as in k6
    store.add_batch([(counter, 2.0, 1.0, tags)])
    assert store.lost() == 3  # nothing written yet
    store.acknowledge(store.snapshot())  # the first snapshot failed; the second carries all
    assert store.lost() == 0
    assert [p.value for p in store.snapshot_all().points][:1] == [3.0]
    assert store.snapshot().points == []  # nothing changed since
    assert store.add_batch([(counter, 3.0, 1.0, TagSet({"scenario": "b"}))]) == 1  # past the limit
    assert store.lost() == 1


def test_stale_nan_is_prometheus_marker() -> None:
    from greenws_prometheus.encode import STALE_NAN

    value = struct.unpack("<d", struct.pack("<Q", STALE_NAN))[0]
    assert value != value  # a NaN, with Prometheus's exact bits
