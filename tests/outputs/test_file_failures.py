"""File outputs you can gate a release on: checked before the run, never silently incomplete.

Real runs against the echo server. A full disk is ``RLIMIT_FSIZE`` on the child (Python ignores
SIGXFSZ, so writes past the limit fail with EFBIG, and the one at the boundary is partial). The
limit is per file: the summary export stays well under it, the sample files do not.
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import ROOT, run_greenws, write_script

SCRIPT = """
import os
from pathlib import Path
from greenws import ws, check, sleep

options = {"vus": 3, "iterations": 30, "thresholds": {"ws_sessions": ["count>=THRESHOLD"]}}

def setup():
    Path("setup-ran").write_text("yes")

def default():
    Path("vu-ran").write_text("yes")
    def session(socket):
        sent = []
        def on_message(message):
            if len(sent) < 5:
                sent.append(1)
                socket.send("ping")
            else:
                socket.close(1000)
        socket.on("open", lambda: socket.send("ping"))
        socket.on("message", on_message)
        socket.set_timeout(lambda: socket.close(1000), 10000)
    res = ws.connect(os.environ["TARGET"], {"tags": {"room": "lobby"}}, session)
    check(res, {"status is 101": lambda r: r.status == 101})
    sleep(float(os.environ.get("PAUSE", "0")))  # spreads the samples over several batches
"""

HANDLER = """
import json

def handle_summary(data):
    return {"stdout": json.dumps(data["greenws"]) + "\\nhandled\\n"}
"""

#: Small enough that 30 iterations' samples overflow it, large enough for the summary export.
LIMIT = 40_000


def script(threshold: int = 0) -> str:
    return SCRIPT.replace("THRESHOLD", str(threshold))


def greenws(
    directory: Path,
    echo_server: Any,
    *args: str,
    limit: int | None = None,
    threshold: int = 0,
    handler: bool = False,
    pause: float = 0.0,
    pythonpath: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``greenws run`` on the script, optionally with every file it writes limited in size.

    ``handler``: the script's ``handle_summary`` prints ``data["greenws"]`` as one line of stdout
    (no file, so no size limit), then ``handled``; read it with :func:`handled_data`.
    """
    path = write_script(directory, script(threshold) + (HANDLER if handler else ""))
    paths = [str(ROOT), *([str(pythonpath)] if pythonpath else [])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "TARGET": echo_server.url}
    env["PAUSE"] = str(pause)

    def limit_file_size() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = [sys.executable, "-m", "greenws", "run", str(path), "-q", "--no-color"]
    command += ["--summary-trend-stats", "avg,max,count", *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        cwd=directory,
        stdin=subprocess.DEVNULL,
        preexec_fn=limit_file_size,
    )


def handled_data(stdout: str) -> dict[str, Any]:
    lines = stdout.splitlines()
    index = lines.index("handled")
    return json.loads(lines[index - 1])  # type: ignore[no-any-return]


def warnings(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.splitlines() if "WARNING: output" in line]


def assert_summary_printed(stdout: str) -> None:
    assert "ws_sessions" in stdout and "ws_msgs_sent" in stdout, stdout


# -- 4: every file destination is checked before anything runs --------------------------------


@pytest.mark.parametrize(
    ("flag", "argument", "shown", "reason"),
    [
        ("--out", "json={path}", "--out json={path}", "directory {missing} does not exist"),
        ("--out", "json={path}.gz", "--out json={path}.gz", "directory {missing} does not exist"),
        ("--out", "csv={path}", "--out csv={path}", "directory {missing} does not exist"),
        (
            "--out",
            "csv=fileName={path},timeFormat=unix",
            "--out csv={path}",
            "directory {missing} does not exist",
        ),
        ("--out", "html={path}", "--out html={path}", "directory {missing} does not exist"),
        (
            "--summary-export",
            "{path}",
            "--summary-export {path}",
            "directory {missing} does not exist",
        ),
        ("--out", "json={tmp}", "--out json={tmp}", "{tmp} is a directory"),
        ("--summary-export", "{tmp}", "--summary-export {tmp}", "{tmp} is a directory"),
    ],
)
def test_an_unwritable_destination_stops_the_run_before_setup(
    tmp_path: Path, echo_server: Any, flag: str, argument: str, shown: str, reason: str
) -> None:
    missing = tmp_path / "missing"
    values = {"path": missing / "r.out", "missing": missing, "tmp": tmp_path}
    result = greenws(tmp_path, echo_server, flag, argument.format(**values))
    assert result.returncode == 104, result.stdout + result.stderr
    expected = f"greenws: error: {shown.format(**values)}: {reason.format(**values)}"
    assert result.stderr.splitlines() == [expected]
    assert not (tmp_path / "setup-ran").exists(), "setup() ran"
    assert not (tmp_path / "vu-ran").exists(), "a VU ran"
    assert result.stdout == ""


# -- 3: the summary always prints; a failed export leaves no file behind ------------------------


def test_the_summary_prints_when_the_export_cannot_be_written(
    tmp_path: Path, echo_server: Any
) -> None:
    export = tmp_path / "summary.json"
    export.write_text('{"an earlier": "run"}', encoding="utf-8")
    result = greenws(tmp_path, echo_server, "--summary-export", str(export), limit=1000)
    assert_summary_printed(result.stdout)
    assert result.returncode == 120, result.stderr
    lines = [line for line in result.stderr.splitlines() if "--summary-export" in line]
    assert len(lines) == 1 and str(export) in lines[0] and "File too large" in lines[0], lines
    # No truncated export, and no earlier run's export passing for this one's.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["script.py", "setup-ran", "vu-ran"]


def test_a_failing_export_does_not_hide_a_threshold_failure(
    tmp_path: Path, echo_server: Any
) -> None:
    export = tmp_path / "summary.json"
    result = greenws(
        tmp_path, echo_server, "--summary-export", str(export), limit=1000, threshold=10**6
    )
    assert_summary_printed(result.stdout)
    assert result.returncode == 99, result.stderr  # k6's code wins; the export's loss is said
    assert sum("--summary-export" in line for line in result.stderr.splitlines()) == 1
    assert not export.exists()


# -- 5: a file that fails mid-run keeps whole lines and counts exactly what it lost --------------


def run_to_a_full_disk(
    tmp_path: Path, echo_server: Any, kind: str, name: str
) -> tuple[Any, Path, bytes, dict[str, Any]]:
    """A run whose ``--out kind=name`` hits the file-size limit: (result, file, its bytes, the
    summary export); the summary printed and the run exited 120 whatever the output."""
    out, export = tmp_path / name, tmp_path / "summary.json"
    result = greenws(
        tmp_path,
        echo_server,
        "--out",
        f"{kind}={out}",
        "--summary-export",
        str(export),
        limit=LIMIT,
    )
    assert_summary_printed(result.stdout)
    assert result.returncode == 120, result.stderr
    summary = json.loads(export.read_text(encoding="utf-8"))
    return result, out, out.read_bytes(), summary


def test_a_full_disk_json_file_ends_on_a_whole_line_and_every_lost_sample_is_counted(
    tmp_path: Path, echo_server: Any
) -> None:
    result, out, data, summary = run_to_a_full_disk(tmp_path, echo_server, "json", "r.json")
    assert 0 < len(data) <= LIMIT
    assert data.endswith(b"\n")
    records = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    points = [record for record in records if record["type"] == "Point"]
    lost = summary["greenws"]["dropped_samples"][f"json={out}"]
    assert lost > 0
    assert len(points) + lost == summary["greenws"]["samples"]
    # Every metric's points are a part of what the summary counted, never more.
    trends = [name for name, values in summary["metrics"].items() if "avg" in values]
    for name in trends:
        assert sum(p["metric"] == name for p in points) <= summary["metrics"][name]["count"]
    expected = (
        f"WARNING: output json={out} lost {lost} samples "
        f"(write failed after {len(points)} samples: [Errno 27] File too large)"
    )
    assert warnings(result.stdout) == [expected]


def test_a_full_disk_csv_file_ends_on_a_whole_row_and_every_lost_sample_is_counted(
    tmp_path: Path, echo_server: Any
) -> None:
    result, out, data, summary = run_to_a_full_disk(tmp_path, echo_server, "csv", "r.csv")
    assert 0 < len(data) <= LIMIT and data.endswith(b"\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows[0][:3] == ["metric_name", "timestamp", "metric_value"]
    assert all(len(row) == len(rows[0]) for row in rows), "a cut row"
    lost = summary["greenws"]["dropped_samples"][f"csv={out}"]
    assert lost > 0
    assert len(rows) - 1 + lost == summary["greenws"]["samples"]
    assert warnings(result.stdout) == [
        f"WARNING: output csv={out} lost {lost} samples "
        f"(write failed after {len(rows) - 1} samples: [Errno 27] File too large)"
    ]


def test_a_full_disk_gzip_file_decodes_and_counts_the_unwritten_batches(
    tmp_path: Path, echo_server: Any
) -> None:
    out = tmp_path / "r.json.gz"
    # About a second of samples: several batches of well under 1 kB compressed each.
    result = greenws(
        tmp_path, echo_server, "--out", f"json={out}", limit=2_000, handler=True, pause=0.1
    )
    assert result.returncode == 120, result.stderr
    data = handled_data(result.stdout)
    text = zlib.decompressobj(31).decompress(out.read_bytes()).decode("utf-8")
    assert text == "" or text.endswith("\n")
    points = sum(json.loads(line)["type"] == "Point" for line in text.splitlines())
    lost = data["dropped_samples"][f"json={out}"]
    assert lost > 0
    assert points + lost == data["samples"]
    assert data["output_errors"][f"json={out}"].startswith(f"write failed after {points} samples")


def test_an_html_report_that_cannot_be_written_fails_the_run(
    tmp_path: Path, echo_server: Any
) -> None:
    out = tmp_path / "report.html"
    result = greenws(tmp_path, echo_server, "--out", f"html={out}", limit=10_000)  # ~25 kB
    assert_summary_printed(result.stdout)
    assert result.returncode == 120, result.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".report.html.*")), "a temporary file was left"
    assert sum(str(out) in line for line in result.stderr.splitlines()) == 1, result.stderr


# -- lost data is never silent -----------------------------------------------------------------


def test_a_complete_run_says_nothing_was_lost_and_how_many_samples_there_were(
    tmp_path: Path, echo_server: Any
) -> None:
    result = run_greenws(tmp_path, script(), env={"TARGET": echo_server.url})
    assert result.returncode == 0, result.stderr
    assert result.summary["greenws"]["dropped_samples"] == {}
    assert result.summary["greenws"]["output_errors"] == {}
    assert result.summary["greenws"]["samples"] == len(result.points)
    assert warnings(result.stdout) == []


def test_handle_summary_gets_each_outputs_losses(tmp_path: Path, echo_server: Any) -> None:
    out = tmp_path / "r.json"
    result = greenws(tmp_path, echo_server, "--out", f"json={out}", limit=LIMIT, handler=True)
    assert result.returncode == 120, result.stderr
    data = handled_data(result.stdout)
    lost = data["dropped_samples"][f"json={out}"]
    points = sum(b'"type":"Point"' in line for line in out.read_bytes().splitlines())
    assert lost > 0 and points + lost == data["samples"]
    reason = data["output_errors"][f"json={out}"]
    assert reason.startswith(f"write failed after {points} samples: ")
    # The summary is replaced by handle_summary's, but the loss is still said, once.
    assert warnings(result.stdout) == [f"WARNING: output json={out} lost {lost} samples ({reason})"]


LOSING_PLUGIN = """
from greenws.outputs.file_destination import FileOutput
from greenws.plugins import hookimpl


class Losing(BASE):
    failure = None

    @hookimpl
    def greenws_output_samples(self, samples):
        if samples:
            self.failure = "server 127.0.0.1:9 refused the connection"
        return len(samples)  # lost them all, on its own, without raising


@hookimpl
def greenws_configure(config):
    for _ in config.claim_outputs("losing"):
        config.pluginmanager.register(Losing(), name="losing")
"""


@pytest.mark.parametrize(("base", "code"), [("object", 0), ("FileOutput", 120)])
def test_an_output_says_why_it_lost_samples_and_only_a_file_fails_the_run(
    tmp_path: Path, echo_server: Any, base: str, code: int
) -> None:
    """A network output's losses keep exit 0 (as in k6); a file output's are exit 120."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "losing_output.py").write_text(LOSING_PLUGIN.replace("BASE", base), encoding="utf-8")
    export = tmp_path / "summary.json"
    result = greenws(
        tmp_path,
        echo_server,
        "-p",
        "losing_output",
        "--out",
        "losing",
        "--summary-export",
        str(export),
        pythonpath=site,
    )
    assert result.returncode == code, result.stderr
    assert_summary_printed(result.stdout)
    data = json.loads(export.read_text(encoding="utf-8"))["greenws"]
    assert data["dropped_samples"] == {"losing": data["samples"]} and data["samples"] > 0
    reason = "server 127.0.0.1:9 refused the connection"
    assert data["output_errors"] == {"losing": reason}
    expected = f"WARNING: output losing lost {data['samples']} samples ({reason})"
    assert warnings(result.stdout) == [expected]
