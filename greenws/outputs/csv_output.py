"""``--out csv=FILE``: k6's CSV output, one row per sample, ``.gz`` compressed when the name says so.

The columns are k6's: ``metric_name,timestamp,metric_value``, then one column per system tag k6
gives a column (``check,error,error_code,expected_response,group,method,name,proto,scenario,
service,status,subproto,tls_version,url``), then ``extra_tags`` (every other tag as
``key=value&…``, sorted) and ``metadata``. Values are printed as Go's ``%f`` and timestamps as
``K6_CSV_TIME_FORMAT`` says: ``unix`` seconds by default, ``unix_milli``, ``unix_micro``,
``unix_nano``, ``rfc3339`` or ``rfc3339_nano``. As in k6 the argument may also be
``fileName=FILE,timeFormat=rfc3339``.
"""

from __future__ import annotations

import csv
import gzip
import os
import time
from collections.abc import Sequence
from typing import IO, Any

from greenws.plugins import hookimpl

__all__ = ["COLUMNS", "TIME_FORMATS", "CSVOutput"]

#: The system tags k6 gives their own column, in k6's order.
TAG_COLUMNS = (
    "check", "error", "error_code", "expected_response", "group", "method", "name", "proto",
    "scenario", "service", "status", "subproto", "tls_version", "url",
)  # fmt: skip
COLUMNS = ("metric_name", "timestamp", "metric_value", *TAG_COLUMNS, "extra_tags", "metadata")
TIME_FORMATS = ("unix", "unix_milli", "unix_micro", "unix_nano", "rfc3339", "rfc3339_nano")


def format_time(when: float, time_format: str) -> str:
    """One timestamp in one of k6's ``timeFormat``s."""
    if time_format == "unix":
        return str(int(when))
    if time_format == "unix_milli":
        return str(int(when * 1e3))
    if time_format == "unix_micro":
        return str(int(when * 1e6))
    if time_format == "unix_nano":
        return str(int(when * 1e9))
    second = int(when)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    if time_format == "rfc3339_nano":
        fraction = f"{int((when - second) * 1e9):09d}".rstrip("0")
        text += f".{fraction}" if fraction else ""
    return text + "Z"


class CSVOutput:
    """Writes one CSV file; registered only when ``--out csv=…`` asks for it."""

    def __init__(self, path: str, time_format: str = "unix") -> None:
        if time_format not in TIME_FORMATS:
            raise ValueError(f"csv timeFormat {time_format!r} is not one of {TIME_FORMATS}")
        self.path = path
        self.time_format = time_format
        self.rows = 0
        self._file: IO[str] | None = None
        self._writer: Any = None
        self._tag_cells: dict[Any, list[str]] = {}

    @hookimpl
    def greenws_output_start(self) -> None:
        if self.path.endswith(".gz"):
            self._file = gzip.open(self.path, "wt", encoding="utf-8", newline="")  # noqa: SIM115
        else:
            self._file = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(COLUMNS)

    def _cells(self, tags: Any) -> list[str]:
        """The tag columns, extra_tags and metadata of one tag set (cached: few distinct sets)."""
        cells = self._tag_cells.get(tags)
        if cells is None:
            cells = [tags.get(name, "") for name in TAG_COLUMNS]
            extra = sorted((k, v) for k, v in tags.items() if k not in TAG_COLUMNS)
            cells += ["&".join(f"{k}={v}" for k, v in extra), ""]
            if len(self._tag_cells) > 100_000:
                self._tag_cells.clear()
            self._tag_cells[tags] = cells
        return cells

    @hookimpl
    def greenws_output_samples(self, samples: Sequence[Any]) -> None:
        if self._writer is None:
            raise RuntimeError(f"{self.path} is not open")
        time_format = self.time_format
        cells = self._cells
        self._writer.writerows(
            [metric.name, format_time(when, time_format), f"{value:f}", *cells(tags)]
            for metric, when, value, tags in samples
        )
        self.rows += len(samples)

    @hookimpl
    def greenws_output_stop(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def parse_argument(argument: str) -> tuple[str, str | None]:
    """``FILE`` or k6's ``fileName=FILE,timeFormat=FORMAT`` -> (file, time format or None)."""
    if "=" not in argument:
        return argument, None
    values = dict(item.split("=", 1) for item in argument.split(",") if "=" in item)
    unknown = set(values) - {"fileName", "timeFormat", "saveInterval"}
    if unknown:
        raise ValueError(f"--out csv: unknown setting(s) {sorted(unknown)}")
    return values.get("fileName", ""), values.get("timeFormat")


@hookimpl
def greenws_configure(config: Any) -> None:
    """Register one writer per ``--out csv=FILE``; ``K6_CSV_TIME_FORMAT`` as in k6."""
    for argument in config.claim_outputs("csv"):
        path, time_format = parse_argument(argument)
        if not path:
            raise ValueError("--out csv needs a file name: --out csv=results.csv")
        time_format = (
            time_format
            or os.environ.get("GREENWS_CSV_TIME_FORMAT")
            or os.environ.get("K6_CSV_TIME_FORMAT")
            or "unix"
        )
        config.pluginmanager.register(CSVOutput(path, time_format), name=f"csv={path}")
