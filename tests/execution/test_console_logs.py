"""``console`` and ``print`` in real runs: stdout holds the summary alone, as with k6.

``k6 run script.js > summary.txt`` captures only the summary because ``console.log`` goes to the
log (stderr); these runs check that greenws keeps that promise for ``console``, for ``print``, and
for its own error lines, and that ``--log-output``, ``--log-format`` and ``-v`` behave as k6's.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from greenws_runner import ROOT, run_greenws, write_script

#: Every phase a script has, each saying something through console and through print.
EVERY_PHASE = """
from greenws import console, vu

print("print-at-init")
console.log("console-at-init", 42, ["a"])
options = {"vus": 2, "iterations": 4}

def setup():
    print("print-in-setup")
    console.warn("console-in-setup")
    return {"n": 1}

def default(data):
    print(f"print-in-vu-{vu.id}")
    console.info(f"console-in-vu-{vu.id}")
    console.debug("console-debug")

def teardown(data):
    print("print-in-teardown")
    console.error("console-in-teardown")
"""

MARKERS = ("init", "setup", "vu-1", "vu-2", "teardown")

#: The same, and VU 1's iterations fail: greenws's own error line joins the console's.
WITH_ERROR = EVERY_PHASE.replace(
    '    console.debug("console-debug")\n',
    '    console.debug("console-debug")\n    if vu.id == 1:\n        raise RuntimeError("boom")\n',
)


def log_lines(text: str) -> list[str]:
    """The logfmt lines of a run's output (k6's format on a pipe)."""
    return [line for line in text.splitlines() if line.startswith('time="')]


def test_console_and_print_go_to_stderr_and_stdout_holds_only_the_summary(
    tmp_path: Path,
) -> None:
    result = run_greenws(tmp_path, EVERY_PHASE)
    assert result.returncode == 0, result.stderr
    assert "TOTAL RESULTS" in result.stdout
    assert "console-" not in result.stdout and "print-" not in result.stdout
    for where in MARKERS:
        assert f"print-{'at' if where == 'init' else 'in'}-{where}" in result.stderr
    logged = log_lines(result.stderr)
    assert "level=info msg=\"console-at-init 42 ['a']\" source=console" in logged[0]
    assert any(" level=warning msg=console-in-setup source=console" in x for x in logged)
    assert sum(" msg=console-in-vu-" in x for x in logged) == 4
    assert any(" level=error msg=console-in-teardown source=console" in x for x in logged)
    assert not any("console-debug" in x for x in logged)  # debug needs -v


def test_verbose_shows_console_debug(tmp_path: Path) -> None:
    result = run_greenws(tmp_path, EVERY_PHASE, "-v")
    assert result.returncode == 0, result.stderr
    debug = [x for x in log_lines(result.stderr) if "console-debug" in x]
    assert len(debug) == 4 and all(" level=debug " in x for x in debug)


def test_handle_summary_stdout_is_the_real_stdout_and_its_print_is_not(tmp_path: Path) -> None:
    script = """
from greenws import console

def default():
    pass

def handle_summary(data):
    print("print-in-handle-summary")
    console.log("console-in-handle-summary")
    return {"stdout": "THE SUMMARY\\n"}
"""
    result = run_greenws(tmp_path, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "THE SUMMARY\n"
    assert "print-in-handle-summary" in result.stderr
    assert "console-in-handle-summary" in result.stderr


def test_inspect_json_stays_clean_when_the_script_prints(tmp_path: Path) -> None:
    script = write_script(
        tmp_path,
        "from greenws import console\nprint('hello')\nconsole.log('there')\n"
        "def default():\n    pass\n",
    )
    result = subprocess.run(
        [sys.executable, "-m", "greenws", "inspect", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["maxVUs"] == 1
    assert "hello" in result.stderr and "msg=there source=console" in result.stderr


def test_log_output_file_takes_console_and_errors_and_appends(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("from an earlier run\n", encoding="utf-8")
    result = run_greenws(tmp_path, WITH_ERROR, "--log-output", f"file={log}")
    assert result.returncode == 0, result.stderr
    written = log.read_text(encoding="utf-8").splitlines()
    assert written[0] == "from an earlier run"
    # init runs once for the options and once per VU (as k6), then setup, 4 iterations, teardown
    assert sum(" source=console" in x for x in written) == (1 + 2) + 1 + 4 + 1
    assert any(" level=error " in x and "RuntimeError: boom" in x for x in written)
    # neither the console lines nor the error are on stderr; print still is
    assert "console-" not in result.stderr and "RuntimeError" not in result.stderr
    assert "print-in-vu-1" in result.stderr
    assert "console-" not in result.stdout


def test_log_output_none_silences_logs_but_not_print(tmp_path: Path) -> None:
    result = run_greenws(tmp_path, WITH_ERROR, "--log-output", "none")
    assert result.returncode == 0, result.stderr
    assert "print-in-setup" in result.stderr
    assert "console-" not in result.stderr + result.stdout
    assert "RuntimeError" not in result.stderr + result.stdout
    assert result.metric("iterations")["count"] == 4  # the run itself is unchanged


def test_log_output_stdout_puts_the_log_beside_the_summary(tmp_path: Path) -> None:
    result = run_greenws(tmp_path, EVERY_PHASE, "--log-output", "stdout")
    assert result.returncode == 0, result.stderr
    assert sum(" msg=console-in-vu-" in x for x in log_lines(result.stdout)) == 4
    assert "console-" not in result.stderr
    assert "print-in-setup" in result.stderr  # print() is not a log line


def test_log_format_json_is_one_k6_object_per_line(tmp_path: Path) -> None:
    script = EVERY_PHASE.replace("print(", "str(")  # no print: stderr is the log alone
    script = script.replace('"iterations": 4', '"iterations": 4, "httpDebug": "full"')  # a warning
    script += "\ndef handle_summary(data):\n    raise ValueError('no summary')\n"
    result = run_greenws(tmp_path, script, "--log-format", "json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(x) for x in result.stderr.splitlines() if x.strip()]
    console = [x for x in lines if x.get("source") == "console"]
    assert len(console) == (1 + 2) + 1 + 4 + 1  # init: the options' run and each VU's
    assert all(set(x) == {"level", "msg", "source", "time"} for x in console)
    assert console[0]["msg"] == "console-at-init 42 ['a']" and console[0]["level"] == "info"
    assert {x["level"] for x in console} == {"info", "warning", "error"}
    # greenws's own lines, same format: the option warning and handle_summary's error
    [warning, error] = [x for x in lines if "source" not in x]
    assert warning["level"] == "warning" and "'httpDebug'" in warning["msg"]
    assert error["level"] == "error" and "ValueError: no summary" in error["msg"]


def test_workers_log_to_the_same_place_in_the_same_format(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    result = run_greenws(
        tmp_path,
        EVERY_PHASE,
        "--workers",
        "2",
        "--log-output",
        f"file={log}",
        "--log-format",
        "json",
        "-v",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    messages = [x["msg"] for x in lines if x.get("source") == "console"]
    assert sum(m.startswith("console-in-vu-") for m in messages) == 4
    assert messages.count("console-debug") == 4  # -v reached the workers
    assert "console-in-vu-" not in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--log-format", "xml"), "--log-format 'xml' is not one of text, json, raw"),
        (("--log-output", "syslog"), "--log-output 'syslog' is not one of stderr, stdout"),
        (("--log-output", "file=missing/run.log"), "directory missing does not exist"),
        (("--log-output", "file=run.log,level=loud"), "unknown level 'loud'"),
    ],
    ids=["format", "output", "unwritable-file", "file-level"],
)
def test_bad_log_flags_exit_104_with_one_line_before_the_script_runs(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    script = "open('imported', 'w').close()\ndef default():\n    pass\n"
    result = run_greenws(tmp_path, script, *args, outputs=False)
    assert result.returncode == 104, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("greenws: error: --log-") and expected in line, line
    assert not (tmp_path / "imported").exists()  # refused before the script was even loaded
    assert result.stdout == ""


def run_on_a_terminal(tmp_path: Path, *args: str) -> str:
    """Run with stderr on a pseudo-terminal (as in an interactive shell); returns what it shows."""
    script = write_script(
        tmp_path, "from greenws import console\ndef default():\n    console.log('on a tty')\n"
    )
    controller, terminal = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "greenws", "run", str(script), "-q", *args],
        stdout=subprocess.DEVNULL,
        stderr=terminal,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the run is over
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0, shown
    return shown.decode()


def test_a_terminal_gets_k6s_coloured_line(tmp_path: Path) -> None:
    shown = run_on_a_terminal(tmp_path)
    # the seconds since greenws started, then the message padded to 44, then the fields
    assert re.search(r"\x1b\[36mINFO\x1b\[0m\[\d{4}\] on a tty {36}  \x1b\[36msource", shown)
    # the field in colour, and the line erased to its end (k6's TTY writer does that)
    assert "on a tty".ljust(44) + "  \x1b[36msource\x1b[0m=console\x1b[0K" in shown


def test_no_color_on_a_terminal_is_logfmt_as_in_k6(tmp_path: Path) -> None:
    shown = run_on_a_terminal(tmp_path, "--no-color")
    assert ' level=info msg="on a tty" source=console\x1b[0K' in shown
    assert "INFO[" not in shown
