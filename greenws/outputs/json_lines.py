"""``--out json=FILE``: k6's NDJSON stream, one ``Metric`` line per metric, one ``Point`` per sample.

A name ending in ``.gz`` is gzip-compressed, as in k6. Tags are serialised once per tag set and
timestamps once per second, because a busy test writes hundreds of thousands of lines a second.

The file is checked before the run starts (exit 104 if it cannot be written). When a write fails
mid-run (a full disk), the file keeps only whole lines (:class:`~greenws.outputs.line_file.LineFile`),
every sample not wholly in it is counted as lost, and the summary says so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from greenws.outputs.file_destination import check_destination
from greenws.outputs.line_file import LineFile, LineFileOutput
from greenws.plugins import hookimpl

__all__ = ["JSONLinesOutput"]


#: How every Metric declaration starts; every other line is a Point, which carries a sample.
METRIC_PREFIX = '{"type":"Metric"'


class JSONLinesOutput(LineFileOutput):
    """Writes one file; registered only when ``--out json=…`` asks for it."""

    def __init__(self, path: str, thresholds: dict[str, list[str]]) -> None:
        self.path = path
        self.thresholds = thresholds
        self.lines = 0
        #: Samples whose Point line is wholly in the file.
        self.written = 0
        self._file: LineFile | None = None
        self._declared: set[Any] = set()
        self._tag_json: dict[Any, str] = {}
        self._second = -1
        self._second_text = ""

    @hookimpl
    def greenws_output_start(self) -> None:
        self._file = LineFile(self.path)

    def _timestamp(self, when: float) -> str:
        second = int(when)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{int((when - second) * 1e9):09d}Z"

    def _declare(self, metric: Any) -> str:
        self._declared.add(metric)
        data = {
            "name": metric.name,
            "type": metric.type.value,
            "contains": metric.contains.value,
            "thresholds": self.thresholds.get(metric.name, []),
            "submetrics": None,
        }
        return json.dumps(
            {"type": "Metric", "data": data, "metric": metric.name}, separators=(",", ":")
        )

    @hookimpl
    def greenws_output_samples(self, samples: Sequence[Any]) -> int:
        """Write the batch; returns how many of its samples are not in the file (lost)."""
        file = self._file
        if file is None:
            raise RuntimeError(f"{self.path} is not open")
        if file.error is not None:
            return len(samples)
        out = []
        declared = self._declared
        tag_json = self._tag_json
        timestamp = self._timestamp
        for metric, when, value, tags in samples:
            if metric not in declared:
                out.append(self._declare(metric))
            tags_text = tag_json.get(tags)
            if tags_text is None:
                # Sorted, as k6 writes them (Go's JSON encoder sorts map keys).
                tags_text = json.dumps(
                    dict(tags), separators=(",", ":"), ensure_ascii=False, sort_keys=True
                )
                if len(tag_json) > 100_000:  # bound the cache on tag-heavy tests
                    tag_json.clear()
                tag_json[tags] = tags_text
            number = int(value) if value.is_integer() and abs(value) < 1e15 else value
            # k6's key order: "metric" first on a Point (a Metric line keeps type, data, metric).
            out.append(
                f'{{"metric":"{metric.name}","type":"Point","data":{{"time":"{timestamp(when)}",'
                f'"value":{number!r},"tags":{tags_text}}}}}'
            )
        if not out:
            return 0
        kept = file.write_lines(out)
        self.lines += kept
        if kept == len(out):
            self.written += len(samples)
            return 0
        whole = sum(1 for line in out[:kept] if not line.startswith(METRIC_PREFIX))
        self.written += whole
        self.failure = f"write failed after {self.written} samples: {file.error}"
        return len(samples) - whole


@hookimpl
def greenws_output_kinds() -> dict[str, str]:
    """``json``, for ``--help``, ``greenws plugins`` and the unknown-kind error."""
    return {"json": "FILE[.gz]: k6's JSON lines, one per sample"}


@hookimpl
def greenws_configure(config: Any) -> None:
    """Register one writer per ``--out json=FILE``."""
    thresholds: dict[str, list[str]] = {}
    for name, expressions in (config.options.thresholds or {}).items():
        if "{" in name:
            continue  # k6 lists a metric's own thresholds, not its sub-metrics'
        items = expressions if isinstance(expressions, list) else [expressions]
        thresholds[name.strip()] = [
            item["threshold"] if isinstance(item, dict) else str(item) for item in items
        ]
    for path in config.claim_outputs("json"):
        if not path:
            raise ValueError("--out json needs a file name: --out json=results.json")
        check_destination(f"--out json={path}", path)
        config.pluginmanager.register(JSONLinesOutput(path, thresholds), name=f"json={path}")
