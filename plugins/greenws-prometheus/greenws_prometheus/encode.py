"""A snapshot as the remote-write 1.0 body: a ``WriteRequest``, snappy block-compressed.

``protobuf`` serialises, ``cramjam`` compresses (the raw block format the protocol asks for,
not the framed one). Labels go sorted with ``__name__`` among them, as the specification
requires.
"""

from __future__ import annotations

from collections.abc import Sequence

import cramjam

from greenws_prometheus import proto
from greenws_prometheus.series import SCHEMA, ZERO_THRESHOLD, NativeHistogram, Point

__all__ = ["STALE_NAN", "encode_points", "write_request"]

#: Prometheus's staleness marker: a NaN with this exact bit pattern.
STALE_NAN = 0x7FF0000000000002


def _histogram(message: object, histogram: NativeHistogram, timestamp_ms: int) -> None:
    message.count_int = histogram.count  # type: ignore[attr-defined]
    message.sum = histogram.total  # type: ignore[attr-defined]
    message.schema = SCHEMA  # type: ignore[attr-defined]
    message.zero_threshold = ZERO_THRESHOLD  # type: ignore[attr-defined]
    message.zero_count_int = histogram.zero  # type: ignore[attr-defined]
    message.timestamp = timestamp_ms  # type: ignore[attr-defined]
    for buckets, spans_field, deltas_field in (
        (histogram.positive, "positive_spans", "positive_deltas"),
        (histogram.negative, "negative_spans", "negative_deltas"),
    ):
        spans, deltas = NativeHistogram.spans(buckets)
        for offset, length in spans:
            getattr(message, spans_field).add(offset=offset, length=length)
        getattr(message, deltas_field).extend(deltas)


def write_request(points: Sequence[Point]) -> bytes:
    """The uncompressed protobuf ``WriteRequest`` holding ``points``."""
    request = proto.WriteRequest()
    for point in points:
        series = request.timeseries.add()
        labels = sorted([("__name__", point.name), *point.labels])
        for name, value in labels:
            series.labels.add(name=name, value=value)
        if point.histogram is not None:
            _histogram(series.histograms.add(), point.histogram, point.timestamp_ms)
        else:
            series.samples.add(value=point.value, timestamp=point.timestamp_ms)
    return request.SerializeToString()  # type: ignore[no-any-return]


def encode_points(points: Sequence[Point]) -> bytes:
    """The HTTP body: ``write_request(points)``, snappy-compressed."""
    return bytes(cramjam.snappy.compress_raw(write_request(points)))
