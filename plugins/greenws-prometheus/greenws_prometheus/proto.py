"""The remote-write 1.0 messages (``prometheus.WriteRequest`` and what it holds), for ``protobuf``.

Built from a descriptor at import time instead of generated ``_pb2`` code: a generated module is
tied to the protoc version that wrote it (newer protobuf runtimes refuse older gencode), while a
descriptor is plain data every protobuf 4+ accepts. Field numbers and wire types are those of
Prometheus's ``prompb/types.proto`` and ``remote.proto``; only what a writer sends is declared
(exemplars and metadata are not).
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["BucketSpan", "Histogram", "Label", "Sample", "TimeSeries", "WriteRequest"]

_F = descriptor_pb2.FieldDescriptorProto
_OPTIONAL, _REPEATED = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED

# (message, [(field, number, type, label, type name, oneof index)])
_MESSAGES: list[tuple[str, list[tuple[str, int, int, int, str, int | None]]]] = [
    ("Label", [("name", 1, _F.TYPE_STRING, _OPTIONAL, "", None),
               ("value", 2, _F.TYPE_STRING, _OPTIONAL, "", None)]),
    ("Sample", [("value", 1, _F.TYPE_DOUBLE, _OPTIONAL, "", None),
                ("timestamp", 2, _F.TYPE_INT64, _OPTIONAL, "", None)]),
    ("BucketSpan", [("offset", 1, _F.TYPE_SINT32, _OPTIONAL, "", None),
                    ("length", 2, _F.TYPE_UINT32, _OPTIONAL, "", None)]),
    ("Histogram", [
        ("count_int", 1, _F.TYPE_UINT64, _OPTIONAL, "", 0),
        ("count_float", 2, _F.TYPE_DOUBLE, _OPTIONAL, "", 0),
        ("sum", 3, _F.TYPE_DOUBLE, _OPTIONAL, "", None),
        ("schema", 4, _F.TYPE_SINT32, _OPTIONAL, "", None),
        ("zero_threshold", 5, _F.TYPE_DOUBLE, _OPTIONAL, "", None),
        ("zero_count_int", 6, _F.TYPE_UINT64, _OPTIONAL, "", 1),
        ("zero_count_float", 7, _F.TYPE_DOUBLE, _OPTIONAL, "", 1),
        ("negative_spans", 8, _F.TYPE_MESSAGE, _REPEATED, ".prometheus.BucketSpan", None),
        ("negative_deltas", 9, _F.TYPE_SINT64, _REPEATED, "", None),
        ("positive_spans", 11, _F.TYPE_MESSAGE, _REPEATED, ".prometheus.BucketSpan", None),
        ("positive_deltas", 12, _F.TYPE_SINT64, _REPEATED, "", None),
        ("reset_hint", 14, _F.TYPE_INT32, _OPTIONAL, "", None),  # an enum on the wire: a varint
        ("timestamp", 15, _F.TYPE_INT64, _OPTIONAL, "", None),
    ]),
    ("TimeSeries", [
        ("labels", 1, _F.TYPE_MESSAGE, _REPEATED, ".prometheus.Label", None),
        ("samples", 2, _F.TYPE_MESSAGE, _REPEATED, ".prometheus.Sample", None),
        ("histograms", 4, _F.TYPE_MESSAGE, _REPEATED, ".prometheus.Histogram", None),
    ]),
    ("WriteRequest", [
        ("timeseries", 1, _F.TYPE_MESSAGE, _REPEATED, ".prometheus.TimeSeries", None),
    ]),
]  # fmt: skip


def _build() -> dict[str, Any]:
    file = descriptor_pb2.FileDescriptorProto(
        name="greenws_prometheus/remote_write.proto", package="prometheus", syntax="proto3"
    )
    for name, fields in _MESSAGES:
        message = file.message_type.add(name=name)
        if name == "Histogram":
            message.oneof_decl.add(name="count")
            message.oneof_decl.add(name="zero_count")
        for field, number, kind, label, type_name, oneof in fields:
            entry = message.field.add(name=field, number=number, type=kind, label=label)
            if type_name:
                entry.type_name = type_name
            if oneof is not None:
                entry.oneof_index = oneof
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"prometheus.{name}"))
        for name, _ in _MESSAGES
    }


_CLASSES = _build()
Label = _CLASSES["Label"]
Sample = _CLASSES["Sample"]
BucketSpan = _CLASSES["BucketSpan"]
Histogram = _CLASSES["Histogram"]
TimeSeries = _CLASSES["TimeSeries"]
WriteRequest = _CLASSES["WriteRequest"]
