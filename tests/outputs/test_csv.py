"""``--out csv=FILE``: k6's columns, one row per sample the summary counted, ``.gz``, time formats."""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from pathlib import Path

import pytest
from greenws_runner import run_greenws

from greenws.outputs.csv_output import COLUMNS, format_time, parse_argument

SCRIPT = """
import os
from greenws import ws, check

options = {"vus": 2, "iterations": 6}

def default():
    def session(socket):
        socket.on("open", lambda: socket.send("m"))
        socket.on("message", lambda message: socket.close(1000))
        socket.set_timeout(lambda: socket.close(1000), 10000)
    res = ws.connect(os.environ["TARGET"], {"tags": {"room": "lobby", "b": "2"}}, session)
    check(res, {"status is 101": lambda r: r.status == 101})
"""


def read_rows(path: Path) -> list[dict[str, str]]:
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    reader = csv.reader(io.StringIO(raw.decode("utf-8")))
    header = next(reader)
    assert tuple(header) == COLUMNS
    return [dict(zip(header, row, strict=True)) for row in reader]


@pytest.mark.parametrize("name", ["results.csv", "results.csv.gz"])
def test_one_row_per_sample_in_k6s_columns(tmp_path: Path, echo_server, name: str) -> None:
    path = tmp_path / name
    result = run_greenws(tmp_path, SCRIPT, "--out", f"csv={path}", env={"TARGET": echo_server.url})
    assert result.returncode == 0, result.stderr
    rows = read_rows(path)
    assert Counter(row["metric_name"] for row in rows) == Counter(
        point["metric"] for point in result.points
    )
    assert sum(row["metric_name"] == "ws_sessions" for row in rows) == 6
    sent = next(row for row in rows if row["metric_name"] == "ws_msgs_sent")
    assert sent["metric_value"] == "1.000000"
    assert sent["scenario"] == "default" and sent["url"] == echo_server.url
    assert sent["status"] == "101"
    assert sent["extra_tags"] == "b=2&room=lobby"
    assert sent["timestamp"].isdigit() and len(sent["timestamp"]) == 10  # unix seconds
    check = next(row for row in rows if row["metric_name"] == "checks")
    assert check["check"] == "status is 101"


def test_time_format_from_the_environment_and_the_argument(tmp_path: Path, echo_server) -> None:
    path = tmp_path / "r.csv"
    env = {"TARGET": echo_server.url, "K6_CSV_TIME_FORMAT": "rfc3339"}
    result = run_greenws(tmp_path, SCRIPT, "--out", f"csv={path}", env=env)
    assert result.returncode == 0, result.stderr
    assert all(
        row["timestamp"].endswith("Z") and "T" in row["timestamp"] for row in read_rows(path)
    )
    argument = f"csv=fileName={path},timeFormat=unix_milli"
    result = run_greenws(tmp_path, SCRIPT, "--out", argument, env={"TARGET": echo_server.url})
    assert result.returncode == 0, result.stderr
    assert all(len(row["timestamp"]) == 13 for row in read_rows(path))


def test_bad_time_format_is_a_config_error(tmp_path: Path) -> None:
    result = run_greenws(
        tmp_path, "def default():\n    pass\n", "--out", "csv=fileName=x.csv,timeFormat=iso"
    )
    assert result.returncode == 104, result.stderr
    assert "timeFormat" in result.stderr


def test_formatting_helpers() -> None:
    assert format_time(1.25, "unix") == "1"
    assert format_time(1.25, "unix_milli") == "1250"
    assert format_time(1.25, "rfc3339") == "1970-01-01T00:00:01Z"
    assert format_time(1.25, "rfc3339_nano") == "1970-01-01T00:00:01.25Z"
    assert parse_argument("out.csv") == ("out.csv", None)
    assert parse_argument("fileName=o.csv,timeFormat=unix_nano") == ("o.csv", "unix_nano")
