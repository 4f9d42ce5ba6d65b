"""The InfluxDB output's fast line serializer writes exactly what influxdb-client's ``Point`` writes.

The serializer renders each (metric, tag set) once through ``Point`` and formats only the value
and the timestamp per sample. ``reference_lines`` below is the plain way, a ``Point`` per sample
(the serializer of greenws-influxdb 0.1.0); hypothesis draws tag names and values with the
characters line protocol escapes, tags-as-fields of every kind, values ``Point`` drops, every
precision and colliding timestamps, and the two must agree byte for byte.
"""

from __future__ import annotations

from typing import Any

from greenws_influxdb.lines import _WRITE_PRECISION, LineSerializer, _convert
from greenws_influxdb.settings import PRECISIONS
from hypothesis import given, settings
from hypothesis import strategies as st
from influxdb_client import Point

from greenws.metrics.tags import TagSet


class Metric:
    """The serializer needs only a name; hashed by identity, like greenws's ``Metric``."""

    def __init__(self, name: str) -> None:
        self.name = name


def reference_lines(
    samples: list[Any], tags_as_fields: dict[str, str], precision: str, last: dict[Any, int]
) -> list[str]:
    """A ``Point`` per sample, the colliding-timestamp nudge keyed by (measurement, tags)."""
    out = []
    for metric, when, value, tags in samples:
        point_tags = {k: v for k, v in tags.items() if v != "" and k not in tags_as_fields}
        fields = {
            k: _convert(v, tags_as_fields[k])
            for k, v in tags.items()
            if v != "" and k in tags_as_fields
        }
        stamp = int(when * PRECISIONS[precision])
        if precision in ("ns", "u"):
            key = (metric.name, frozenset(point_tags.items()))
            if key in last and stamp <= last[key]:
                stamp = last[key] + 1
            last[key] = stamp
        point = Point(metric.name)
        for name, tag_value in point_tags.items():
            point.tag(name, tag_value)
        point.field("value", float(value))
        for name, field_value in fields.items():
            point.field(name, field_value)
        point.time(stamp, _WRITE_PRECISION[precision])
        out.append(point.to_line_protocol())
    return out


# Everything line protocol escapes or quotes, some unicode, and plain letters to mix them with.
SPECIAL = st.sampled_from([" ", ",", "=", '"', "\\", "\n", "\t", "\r", "é", "日", "\U0001f600"])
TEXT = st.lists(st.one_of(SPECIAL, st.characters(codec="utf-8")), max_size=6).map("".join)
NAMES = st.one_of(st.sampled_from(["vu", "iter", "url", "value", "status", "a b", "x=y"]), TEXT)
TAG_VALUES = st.one_of(
    st.sampled_from(["", "7", "-3", "1.5", "nan", "inf", "true", "False", "1", "x\\", "a b"]),
    TEXT,
)
KINDS = st.sampled_from(["int", "float", "bool", "string"])
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.sampled_from([0.0, -0.0, 1, 1.0, 32.0, 0.1, 1e-7, 1e22]),
)
# A few instants, reused, so that samples collide; plus any time since the epoch.
TIMES = st.one_of(
    st.sampled_from([1.5, 1.5000000001, 1_765_000_000.25, 1_765_000_000.2500001]),
    st.floats(min_value=0, max_value=4e9),
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, str], str, list[list[Any]]]:
    tags_as_fields = draw(st.dictionaries(NAMES, KINDS, max_size=4))
    precision = draw(st.sampled_from(["ns", "u", "ms", "s"]))
    metrics = [
        Metric(name)
        for name in draw(
            st.lists(
                TEXT.filter(lambda n: n and not n.startswith("#")),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
    ]
    tag_sets = [
        TagSet(tags)
        for tags in draw(
            st.lists(st.dictionaries(NAMES, TAG_VALUES, max_size=5), min_size=1, max_size=4)
        )
    ]
    sample = st.tuples(st.sampled_from(metrics), TIMES, VALUES, st.sampled_from(tag_sets))
    batches = draw(st.lists(st.lists(sample, max_size=12), min_size=1, max_size=3))
    return tags_as_fields, precision, batches


@settings(max_examples=400, deadline=None)
@given(cases())
def test_fast_lines_equal_point_per_sample(case: tuple[dict[str, str], str, list[Any]]) -> None:
    tags_as_fields, precision, batches = case
    serializer = LineSerializer(tags_as_fields, precision)
    last: dict[Any, int] = {}
    for batch in batches:  # the nudge state carries over from batch to batch
        assert serializer.lines(batch) == reference_lines(batch, tags_as_fields, precision, last)


def test_k6_default_layout_and_nudge() -> None:
    tags = TagSet(vu="3", iter="7", url="ws://h/x y", scenario="default", group="")
    other_vu = TagSet(vu="4", iter="1", url="ws://h/x y", scenario="default", group="")
    serializer = LineSerializer({"vu": "int", "iter": "int", "url": "string"})
    metric = Metric("ws_msgs_sent")
    first, second, third = serializer.lines(
        [(metric, 1.5, 1.0, tags), (metric, 1.5, 1, tags), (metric, 1.5, 2.5, other_vu)]
    )
    assert (
        first == 'ws_msgs_sent,scenario=default iter=7i,url="ws://h/x y",value=1,vu=3i 1500000000'
    )
    assert second.endswith(",value=1,vu=3i 1500000001")
    # vu and iter are fields: another VU is the same series in InfluxDB, so it is nudged too.
    assert third == (
        'ws_msgs_sent,scenario=default iter=1i,url="ws://h/x y",value=2.5,vu=4i 1500000002'
    )
