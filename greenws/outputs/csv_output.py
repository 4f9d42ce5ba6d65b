"""``--out csv=FILE``: k6's CSV output, one row per sample, ``.gz`` compressed when the name says so.

The columns are k6's: ``metric_name,timestamp,metric_value``, then one column per system tag k6
gives a column (``check,error,error_code,expected_response,group,method,name,proto,scenario,
service,status,subproto,tls_version,url``), then ``extra_tags`` (every other tag as
``key=value&…``, sorted) and ``metadata``. Values are printed as Go's ``%f`` and timestamps as
``K6_CSV_TIME_FORMAT`` says: ``unix`` seconds by default, ``unix_milli``, ``unix_micro``,
``unix_nano``, ``rfc3339`` or ``rfc3339_nano``. As in k6 the argument may also be
``fileName=FILE,timeFormat=rfc3339``.

Rows are formatted here rather than by ``csv.writer`` row by row: the quoted cells of each tag set
and metric name are built once by ``csv.writer`` (so quoting is exactly its own) and reused, and a
batch goes to the file in one write (:class:`~greenws.outputs.line_file.LineFile`, which also keeps
the file ending on a whole row and counts what a failed write lost).
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Sequence
from typing import Any

from greenws.outputs.file_destination import check_destination
from greenws.outputs.line_file import LineFile, LineFileOutput
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


def csv_cells(cells: Sequence[str]) -> str:
    """``cells`` as ``csv.writer`` writes them in one row, without the line end."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(cells)
    return text.getvalue()[:-1]


class CSVOutput(LineFileOutput):
    """Writes one CSV file; registered only when ``--out csv=…`` asks for it."""

    def __init__(self, path: str, time_format: str = "unix") -> None:
        if time_format not in TIME_FORMATS:
            raise ValueError(f"csv timeFormat {time_format!r} is not one of {TIME_FORMATS}")
        self.path = path
        self.time_format = time_format
        #: Rows (samples) wholly in the file.
        self.rows = 0
        self._file: LineFile | None = None
        self._tag_cells: dict[Any, str] = {}
        self._names: dict[Any, str] = {}

    @hookimpl
    def greenws_output_start(self) -> None:
        self._file = LineFile(self.path)
        if self._file.write_lines([csv_cells(COLUMNS)]) != 1:
            raise OSError(f"could not write the header of {self.path}: {self._file.error}")

    def _cells(self, tags: Any) -> str:
        """The tag columns, extra_tags and metadata of one tag set (cached: few distinct sets)."""
        cells = self._tag_cells.get(tags)
        if cells is None:
            row = [tags.get(name, "") for name in TAG_COLUMNS]
            extra = sorted((k, v) for k, v in tags.items() if k not in TAG_COLUMNS)
            row += ["&".join(f"{k}={v}" for k, v in extra), ""]
            cells = csv_cells(row)
            if len(self._tag_cells) > 100_000:
                self._tag_cells.clear()
            self._tag_cells[tags] = cells
        return cells

    def _name(self, metric: Any) -> str:
        name = self._names.get(metric)
        if name is None:
            name = self._names[metric] = csv_cells([metric.name])
        return name

    @hookimpl
    def greenws_output_samples(self, samples: Sequence[Any]) -> int:
        """Write the batch; returns how many of its samples are not in the file (lost)."""
        file = self._file
        if file is None:
            raise RuntimeError(f"{self.path} is not open")
        if file.error is not None:
            return len(samples)
        if not samples:
            return 0
        time_format = self.time_format
        cells, names = self._cells, self._names
        name_of = self._name
        rows = [
            f"{names.get(metric) or name_of(metric)},{format_time(when, time_format)},"
            f"{value:f},{cells(tags)}"
            for metric, when, value, tags in samples
        ]
        kept = file.write_lines(rows)
        self.rows += kept
        if kept < len(rows):
            self.failure = f"write failed after {self.rows} samples: {file.error}"
        return len(rows) - kept


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
def greenws_output_kinds() -> dict[str, str]:
    """``csv``, for ``--help``, ``greenws plugins`` and the unknown-kind error."""
    return {"csv": "FILE[.gz]: k6's CSV, one row per sample"}


@hookimpl
def greenws_configure(config: Any) -> None:
    """Register one writer per ``--out csv=FILE``; ``K6_CSV_TIME_FORMAT`` as in k6."""
    for argument in config.claim_outputs("csv"):
        path, time_format = parse_argument(argument)
        if not path:
            raise ValueError("--out csv needs a file name: --out csv=results.csv")
        check_destination(f"--out csv={path}", path)
        time_format = (
            time_format
            or os.environ.get("GREENWS_CSV_TIME_FORMAT")
            or os.environ.get("K6_CSV_TIME_FORMAT")
            or "unix"
        )
        config.pluginmanager.register(CSVOutput(path, time_format), name=f"csv={path}")
