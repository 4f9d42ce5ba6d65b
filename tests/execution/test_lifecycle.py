"""The test lifecycle through real ``greenws`` child processes: setup → iterations → teardown →
handle_summary, setup data copies, timeouts, ``--no-setup``/``--no-teardown``, ``greenws.env``,
the end-of-test summary hooks, ``greenws inspect`` and the exit codes not reached in test_run.py.

k6 exit codes and where a real run reaches each one:
0 (everywhere), 99 and 108 (test_run.py), 104 and 107 (test_run.py and the inspect tests here),
100 and 101 (the timeout tests here), 105 (SIGINT mid-test in test_run.py; SIGINT during setup here).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import ROOT, RunResult, run_greenws, write_script

LOG_SCRIPT_HEAD = """
import json, os
import greenws
from greenws import check, sleep, vu

def log(*parts):
    with open(os.environ["LOG"], "a", encoding="utf-8") as handle:
        handle.write(" ".join(str(part) for part in parts) + "\\n")
"""


def log_lines(tmp_path: Path) -> list[str]:
    path = tmp_path / "log.txt"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def run_logged(tmp_path: Path, body: str, *args: str, **kwargs: Any) -> RunResult:
    """Run ``LOG_SCRIPT_HEAD + body``; ``log(...)`` in the script appends to ``log_lines()``."""
    (tmp_path / "log.txt").unlink(missing_ok=True)
    return run_greenws(
        tmp_path, LOG_SCRIPT_HEAD + body, "-e", f"LOG={tmp_path / 'log.txt'}", *args, **kwargs
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


# -- lifecycle order and setup data ---------------------------------------------------------------


def test_setup_once_then_every_iteration_then_teardown_once_then_handle_summary(
    tmp_path: Path,
) -> None:
    result = run_logged(
        tmp_path,
        """
options = {"vus": 2, "iterations": 5}
def setup():
    log("setup", vu.id)
    return {"n": 1}
def default(data):
    log("default", data["n"])
def teardown(data):
    log("teardown", data["n"])
def handle_summary(data):
    log("handle_summary", int(data["metrics"]["iterations"]["values"]["count"]))
    return {}
""",
    )
    assert result.returncode == 0, result.stderr
    assert log_lines(tmp_path) == [
        "setup 0",
        *["default 1"] * 5,
        "teardown 1",
        "handle_summary 5",
    ]


def test_every_iteration_and_teardown_get_their_own_copy_of_setup_data(tmp_path: Path) -> None:
    result = run_logged(
        tmp_path,
        """
options = {"vus": 1, "iterations": 3}
def setup():
    return {"token": "abc", "nested": {"items": [1]}}
def default(data):
    log("saw", json.dumps(data, sort_keys=True))
    data["nested"]["items"].append(vu.iteration)
    data["extra"] = vu.iteration
    del data["token"]
def teardown(data):
    log("teardown", json.dumps(data, sort_keys=True))
""",
    )
    assert result.returncode == 0, result.stderr
    original = json.dumps({"nested": {"items": [1]}, "token": "abc"}, sort_keys=True)
    # One VU runs all three iterations: what one iteration changed is not seen by the next.
    assert log_lines(tmp_path) == [*[f"saw {original}"] * 3, f"teardown {original}"]


@pytest.mark.parametrize(
    ("value", "detail"),
    [("{1, 2}", "set"), ("object()", "object")],
    ids=["set", "object"],
)
def test_setup_returning_non_json_data_exits_107_with_one_line(
    tmp_path: Path, value: str, detail: str
) -> None:
    result = run_logged(
        tmp_path,
        f"""
def setup():
    return {value}
def default(data):
    log("default")
def teardown(data):
    log("teardown")
""",
        outputs=False,
    )
    assert result.returncode == 107, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert "setup()" in lines[0] and "JSON" in lines[0] and detail in lines[0], lines[0]
    assert log_lines(tmp_path) == []  # no iteration, no teardown


@pytest.mark.parametrize(
    ("failing", "exit_code", "ran"),
    [("setup", 107, []), ("teardown", 0, ["default"])],
)
def test_an_exception_in_setup_or_teardown_is_one_line_not_a_traceback(
    tmp_path: Path, failing: str, exit_code: int, ran: list[str]
) -> None:
    bodies = {"setup": "    return 1\n", "teardown": "    pass\n"}
    bodies[failing] = '    raise ValueError("boom")\n'
    result = run_logged(
        tmp_path,
        f"def setup():\n{bodies['setup']}"
        'def default(data):\n    log("default")\n'
        f"def teardown(data):\n{bodies['teardown']}"
        "options = {'vus': 1, 'iterations': 1}\n",
        outputs=False,
    )
    assert result.returncode == exit_code, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert f"{failing}() failed: ValueError: boom" in lines[0], lines[0]
    assert "script.py:" in lines[0], lines[0]  # where, in the user's own file
    assert log_lines(tmp_path) == ran


# -- timeouts: exit codes 100 and 101 -------------------------------------------------------------


def test_setup_timeout_exits_100_without_iterations_or_teardown(tmp_path: Path) -> None:
    result = run_logged(
        tmp_path,
        """
options = {"setupTimeout": "1s"}
def setup():
    log("setup started")
    sleep(3)
    log("setup finished")
def default():
    log("default")
def teardown():
    log("teardown")
""",
        outputs=False,
    )
    assert result.returncode == 100, result.stderr
    assert "setup() did not finish within 1s" in result.stderr
    assert log_lines(tmp_path) == ["setup started"]


def test_teardown_timeout_exits_101(tmp_path: Path) -> None:
    result = run_logged(
        tmp_path,
        """
options = {"iterations": 2, "teardownTimeout": "1s"}
def default():
    log("default")
def teardown():
    log("teardown started")
    sleep(3)
    log("teardown finished")
""",
    )
    assert result.returncode == 101, result.stderr
    assert "teardown() did not finish within 1s" in result.stderr
    assert log_lines(tmp_path) == ["default", "default", "teardown started"]
    assert result.metric("iterations")["count"] == 2  # the summary is still exported


SETUP_WAITS_FOR_SIGINT = """
def setup():
    log("setup started")
    sleep(600)
    log("setup finished")
def default():
    log("default")
def teardown():
    log("teardown")
"""


def test_sigint_during_setup_stops_it_and_exits_105(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    script = write_script(tmp_path, LOG_SCRIPT_HEAD + SETUP_WAITS_FOR_SIGINT)
    process = subprocess.Popen(
        [sys.executable, "-m", "greenws", "run", str(script), "-q", "-e", f"LOG={log}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        for _ in range(300):  # setup has started once it logged so (at most 30 s)
            if log_lines(tmp_path):
                break
            time.sleep(0.1)
        assert log_lines(tmp_path) == ["setup started"]
        process.send_signal(signal.SIGINT)
        # setup() would sleep 600 s: only an interrupted setup ends within this bound.
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 105, stderr
    assert log_lines(tmp_path) == ["setup started"]
    assert "TOTAL RESULTS" in stdout


# -- --no-setup / --no-teardown -------------------------------------------------------------------

SETUP_TEARDOWN = """
options = {"iterations": 2}
def setup():
    log("setup")
    return {"from": "setup"}
def default(data):
    log("default", json.dumps(data))
def teardown(data):
    log("teardown", json.dumps(data))
"""


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("--no-setup", ["default null", "default null", "teardown null"]),
        (
            "--no-teardown",
            ["setup", 'default {"from": "setup"}', 'default {"from": "setup"}'],
        ),
    ],
)
def test_no_setup_and_no_teardown_skip_their_function(
    tmp_path: Path, flag: str, expected: list[str]
) -> None:
    result = run_logged(tmp_path, SETUP_TEARDOWN, flag)
    assert result.returncode == 0, result.stderr
    assert log_lines(tmp_path) == expected
    assert result.metric("iterations")["count"] == 2


# -- setup and teardown run as VU 0 in groups ::setup / ::teardown --------------------------------


def test_setup_and_teardown_samples_carry_their_group_and_no_scenario(
    tmp_path: Path, echo_server
) -> None:
    result = run_logged(
        tmp_path,
        """
from greenws import ws, group
options = {"iterations": 1}
def connect():
    return ws.connect(os.environ["TARGET"], lambda socket: socket.on("open", socket.close))
def setup():
    log("setup vu", vu.id)
    check(connect(), {"setup connected": lambda r: r.status == 101})
    group("inner", lambda: check(1, {"in setup group": True}))
def default():
    check(1, {"in iteration": True})
def teardown():
    log("teardown vu", vu.id)
    check(connect(), {"teardown connected": lambda r: r.status == 101})
""",
        "--tag",
        "run=ci",
        env={"TARGET": echo_server.url},
    )
    assert result.returncode == 0, result.stderr
    assert log_lines(tmp_path) == ["setup vu 0", "teardown vu 0"]
    checks = {point["data"]["tags"]["check"]: point["data"] for point in result.points_of("checks")}
    assert checks["setup connected"]["tags"] == {
        "check": "setup connected",
        "group": "::setup",
        "run": "ci",
    }
    assert checks["in setup group"]["tags"]["group"] == "::setup::inner"
    assert checks["teardown connected"]["tags"]["group"] == "::teardown"
    assert checks["in iteration"]["tags"]["scenario"] == "default"
    assert all(point["value"] == 1 for point in checks.values())
    sessions = [point["data"]["tags"] for point in result.points_of("ws_sessions")]
    assert sorted(tags["group"] for tags in sessions) == ["::setup", "::teardown"]
    for name in ("ws_connecting", "ws_sessions", "data_sent", "checks"):
        for point in result.points_of(name):
            tags = point["data"]["tags"]
            in_lifecycle = tags["group"].startswith(("::setup", "::teardown"))
            assert ("scenario" in tags) != in_lifecycle, (name, tags)
    groups = result.summary["root_group"]["groups"]
    assert groups["setup"]["checks"]["setup connected"]["passes"] == 1
    assert groups["teardown"]["checks"]["teardown connected"]["passes"] == 1


# -- greenws.env ----------------------------------------------------------------------------------

ENV_SCRIPT = """
options = {
    "scenarios": {
        "with_env": {
            "executor": "per-vu-iterations", "vus": 2, "iterations": 1, "exec": "record",
            "env": {"ROOM": "scenario-room", "ONLY_HERE": "yes"},
        },
        "without_env": {"executor": "shared-iterations", "iterations": 1, "exec": "record"},
    }
}
AT_IMPORT = dict(ROOM=greenws.env.get("ROOM"), ONLY_HERE=greenws.env.get("ONLY_HERE"))

def view(where):
    env = greenws.env
    try:
        env["ROOM"] = "changed"
        writable = True
    except TypeError:
        writable = False
    return {
        "where": where,
        "ROOM": env.get("ROOM"),
        "ONLY_HERE": env.get("ONLY_HERE"),
        "contains": "ONLY_HERE" in env,
        "listed": "ONLY_HERE" in list(env) and "ROOM" in dict(env),
        "os.environ": os.environ.get("ROOM"),
        "writable": writable,
        "alias": greenws.__ENV is env,
    }

def setup():
    log(json.dumps(view("setup")))
def record():
    log(json.dumps(view(vu.scenario)))
def teardown():
    log(json.dumps(view("teardown")))
def handle_summary(data):
    log(json.dumps(dict(view("handle_summary"), import_time=AT_IMPORT)))
    return {}
"""


def test_greenws_env_is_read_only_and_layers_scenario_env_over_e_values(tmp_path: Path) -> None:
    result = run_logged(tmp_path, ENV_SCRIPT, "-e", "ROOM=cli-room", outputs=False)
    assert result.returncode == 0, result.stderr
    views = [json.loads(line) for line in log_lines(tmp_path)]
    base = {
        "os.environ": "cli-room",  # -e values reach os.environ; a scenario's env does not
        "writable": False,
        "alias": True,
    }
    outside = {**base, "ROOM": "cli-room", "ONLY_HERE": None, "contains": False, "listed": False}
    inside = {**base, "ROOM": "scenario-room", "ONLY_HERE": "yes", "contains": True, "listed": True}
    by_where: dict[str, list[dict[str, Any]]] = {}
    for seen in views:
        by_where.setdefault(seen.pop("where"), []).append(seen)
    import_time = by_where["handle_summary"][0].pop("import_time")
    assert import_time == {"ROOM": "cli-room", "ONLY_HERE": None}
    assert by_where == {
        "setup": [outside],
        "with_env": [inside, inside],
        "without_env": [outside],
        "teardown": [outside],
        "handle_summary": [outside],
    }


# -- handle_summary -------------------------------------------------------------------------------

HANDLE_SUMMARY = """
options = {"iterations": 3}
def default():
    check(1, {"fine": True})
def NAME(data):
    iterations = int(data["metrics"]["iterations"]["values"]["count"])
    text = greenws.text_summary(data, indent="> ")
    data["metrics"].clear()  # the script's own copy: the export must not change
    return {
        "stdout": f"CUSTOM iterations={iterations}\\n",
        "stderr": "to stderr\\n",
        "report.txt": "ünïcode text",
        "report.bin": bytes([0, 255, 10, 13]),
        "summary.txt": text,
    }
"""


@pytest.mark.parametrize("name", ["handle_summary", "handleSummary"])
def test_handle_summary_output_replaces_the_default_summary(tmp_path: Path, name: str) -> None:
    result = run_logged(tmp_path, HANDLE_SUMMARY.replace("NAME", name))
    assert result.returncode == 0, result.stderr
    assert "CUSTOM iterations=3" in result.stdout
    assert "TOTAL RESULTS" not in result.stdout  # the default summary is replaced
    assert "to stderr" in result.stderr
    assert (tmp_path / "report.txt").read_text(encoding="utf-8") == "ünïcode text"
    assert (tmp_path / "report.bin").read_bytes() == bytes([0, 255, 10, 13])
    text = (tmp_path / "summary.txt").read_text(encoding="utf-8")
    assert "TOTAL RESULTS" in text and "✓ fine" in text and "iterations" in text
    assert all(line.startswith("> ") for line in text.splitlines() if line)
    assert "\x1b[" not in text
    # --summary-export is still written, from data the script's changes did not touch.
    assert result.metric("iterations")["count"] == 3


def test_handle_summary_write_problems_are_one_line_each_and_keep_the_exit_code(
    tmp_path: Path,
) -> None:
    result = run_logged(
        tmp_path,
        """
options = {"iterations": 1, "thresholds": {"iterations": ["count>100"]}}
def default():
    pass
def handle_summary(data):
    return {"no/such/dir/out.txt": "lost", "number.txt": 42, "kept.txt": "kept"}
""",
        outputs=False,
    )
    assert result.returncode == 99, result.stderr  # the failed threshold still decides
    lines = error_lines(result.stderr)
    assert len(lines) == 2, result.stderr
    assert "no/such/dir/out.txt" in lines[0] or "no/such/dir/out.txt" in lines[1]
    assert any("'number.txt'" in line and "int" in line for line in lines), lines
    assert (tmp_path / "kept.txt").read_text(encoding="utf-8") == "kept"
    assert not (tmp_path / "number.txt").exists()
    assert not (tmp_path / "no").exists()  # directories are not created, as in k6
    assert "TOTAL RESULTS" not in result.stdout


@pytest.mark.parametrize(
    ("body", "detail"),
    [('raise ValueError("boom in summary")', "boom in summary"), ("return 42", "int")],
    ids=["raises", "returns-a-number"],
)
def test_a_failing_handle_summary_falls_back_to_the_default_summary(
    tmp_path: Path, body: str, detail: str
) -> None:
    result = run_logged(
        tmp_path,
        f"""
options = {{"iterations": 2}}
def default():
    pass
def handle_summary(data):
    {body}
""",
    )
    assert result.returncode == 0, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert "handle_summary()" in lines[0] and detail in lines[0], lines[0]
    assert "TOTAL RESULTS" in result.stdout
    assert result.metric("iterations")["count"] == 2


@pytest.mark.parametrize("with_handle_summary", [False, True])
def test_summary_mode_disabled_prints_none_but_exports_and_calls_handle_summary(
    tmp_path: Path, with_handle_summary: bool
) -> None:
    handler = (
        'def handle_summary(data):\n    return {"custom.txt": "custom"}\n'
        if with_handle_summary
        else ""
    )
    result = run_logged(
        tmp_path,
        'options = {"iterations": 2}\ndef default():\n    pass\n' + handler,
        "--summary-mode",
        "disabled",
    )
    assert result.returncode == 0, result.stderr
    assert "TOTAL RESULTS" not in result.stdout
    assert result.stdout.strip() == ""
    assert result.metric("iterations")["count"] == 2
    custom = tmp_path / "custom.txt"
    assert custom.exists() == with_handle_summary


def test_no_summary_also_skips_handle_summary_and_the_export_as_in_k6(tmp_path: Path) -> None:
    result = run_logged(
        tmp_path,
        'options = {"iterations": 2}\ndef default():\n    pass\n'
        'def handle_summary(data):\n    return {"custom.txt": "custom"}\n',
        "--no-summary",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
    assert not (tmp_path / "custom.txt").exists()
    assert result.summary == {}  # no --summary-export file was written
    # ... and the run says so, since the flag asked for one (run_logged passes --summary-export)
    [warning] = [line for line in result.stderr.splitlines() if "warning" in line]
    assert "--summary-export" in warning and "--no-summary" in warning, warning


def test_summary_mode_full_still_prints_the_default_summary(tmp_path: Path) -> None:
    """The counterpart of the disabled test: the same script does print a summary otherwise."""
    result = run_logged(
        tmp_path,
        'options = {"iterations": 2}\ndef default():\n    pass\n',
        "--summary-mode",
        "full",
    )
    assert result.returncode == 0, result.stderr
    assert "TOTAL RESULTS" in result.stdout


# -- greenws inspect ------------------------------------------------------------------------------


def inspect(tmp_path: Path, body: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = write_script(tmp_path, body)
    return subprocess.run(
        [sys.executable, "-m", "greenws", "inspect", str(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
    )


def inspected(tmp_path: Path, body: str, *args: str) -> dict[str, Any]:
    result = inspect(tmp_path, body, *args)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_inspect_vus_and_duration_is_constant_vus(tmp_path: Path) -> None:
    body = 'options = {"vus": 2, "duration": "90s"}\ndef default():\n    pass\n'
    document = inspected(tmp_path, body)
    assert document["options"]["vus"] == 2
    assert document["options"]["duration"] == "1m30s"
    assert document["options"]["iterations"] is None
    assert document["options"]["setupTimeout"] == "1m0s"
    assert document["options"]["summaryTrendStats"] == [
        "avg",
        "min",
        "med",
        "max",
        "p(90)",
        "p(95)",
    ]
    assert document["scenarios"] == {
        "default": {
            "executor": "constant-vus",
            "vus": 2,
            "duration": "1m30s",
            "gracefulStop": "30s",
            "startTime": "0s",
            "exec": "default",
            "env": {},
            "tags": {},
        }
    }
    assert document["totalDuration"] == "2m0s"  # 90 s plus the 30 s gracefulStop
    assert document["maxVUs"] == 2
    # Flags override the script exactly as in `greenws run`.
    overridden = inspected(tmp_path, body, "-u", "7", "-d", "10s", "--no-thresholds")
    assert overridden["scenarios"]["default"]["vus"] == 7
    assert overridden["scenarios"]["default"]["duration"] == "10s"


def test_inspect_iterations_is_shared_iterations(tmp_path: Path) -> None:
    document = inspected(
        tmp_path,
        'options = {"vus": 3, "iterations": 5, "gracefulStop": "5s"}\ndef default():\n    pass\n',
    )
    assert document["options"]["iterations"] == 5
    assert document["options"]["gracefulStop"] == "5s"
    scenario = document["scenarios"]["default"]
    assert scenario["executor"] == "shared-iterations"
    assert scenario["iterations"] == 5
    assert scenario["vus"] == 3
    assert scenario["maxDuration"] == "10m0s"
    assert scenario["gracefulStop"] == "5s"
    assert document["totalDuration"] == "10m5s"
    assert document["maxVUs"] == 3


def test_inspect_stages_is_ramping_vus(tmp_path: Path) -> None:
    document = inspected(tmp_path, "def default():\n    pass\n", "-s", "10s:4", "-s", "500ms:0")
    scenario = document["scenarios"]["default"]
    assert scenario["executor"] == "ramping-vus"
    assert scenario["stages"] == [
        {"duration": "10s", "target": 4},
        {"duration": "500ms", "target": 0},
    ]
    assert scenario["startVUs"] == 1
    assert scenario["gracefulRampDown"] == "30s"
    assert document["options"]["stages"] == scenario["stages"]
    assert document["maxVUs"] == 4


def test_inspect_two_scenarios(tmp_path: Path) -> None:
    body = """
options = {
    "scenarios": {
        "chat": {
            "executor": "constant-vus", "vus": 3, "duration": "20s",
            "env": {"ROOM": "a"}, "tags": {"kind": "chat"},
        },
        "burst": {
            "executor": "per-vu-iterations", "vus": 2, "iterations": 4,
            "startTime": "5s", "maxDuration": "1m", "gracefulStop": "0s", "exec": "burst",
        },
    },
    "thresholds": {"ws_connecting": ["p(95)<500"]},
    "tags": {"team": "ws"},
}
def default():
    pass
def burst():
    pass
"""
    document = inspected(tmp_path, body)
    assert list(document["scenarios"]) == ["chat", "burst"]
    assert document["scenarios"]["chat"] == {
        "executor": "constant-vus",
        "vus": 3,
        "duration": "20s",
        "gracefulStop": "30s",
        "startTime": "0s",
        "exec": "default",
        "env": {"ROOM": "a"},
        "tags": {"kind": "chat"},
    }
    assert document["scenarios"]["burst"] == {
        "executor": "per-vu-iterations",
        "vus": 2,
        "iterations": 4,
        "maxDuration": "1m0s",
        "gracefulStop": "0s",
        "startTime": "5s",
        "exec": "burst",
        "env": {},
        "tags": {},
    }
    assert document["options"]["thresholds"] == {"ws_connecting": ["p(95)<500"]}
    assert document["options"]["tags"] == {"team": "ws"}
    assert document["options"]["vus"] is None
    assert document["maxVUs"] == 5
    assert document["totalDuration"] == "1m5s"  # burst: 5 s start + 1 m maxDuration + 0 s


def test_inspect_runs_nothing_and_connects_nowhere(tmp_path: Path) -> None:
    # A listener that nobody should call: inspect must not open a connection to it.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        body = (
            LOG_SCRIPT_HEAD
            + f"""
from greenws import ws
TARGET = "ws://127.0.0.1:{port}"
REFUSED = "ws://127.0.0.1:1"
options = {{"vus": 2, "duration": "5s"}}
log("import")
def setup():
    log("setup")
    ws.connect(TARGET, {{"timeout": "1s"}})
def default():
    log("default")
    ws.connect(REFUSED)
def teardown():
    log("teardown")
def handle_summary(data):
    log("handle_summary")
    return {{"stdout": "handled"}}
"""
        )
        result = inspect(tmp_path, body, "-e", f"LOG={tmp_path / 'log.txt'}")
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout)["scenarios"]["default"]["executor"] == "constant-vus"
    assert log_lines(tmp_path) == ["import"]  # the script was loaded, nothing else ran


@pytest.mark.parametrize(
    ("body", "args", "code", "detail"),
    [
        ("options = {'duraton': '5s'}\ndef default():\n    pass\n", (), 104, "did you mean"),
        ("def default():\n    pass\n", ("-d", "5x"), 104, "'5x'"),
        (
            "options = {'thresholds': {'nope': ['p(95)<1']}}\ndef default():\n    pass\n",
            (),
            104,
            "nope",
        ),
        ("def default(:\n    pass\n", (), 107, "syntax error in"),
        ("options = {}\n", (), 107, "default()"),
        (
            "options = {'scenarios': {'s': {'executor': 'constant-vus', 'duration': '1s', "
            "'exec': 'missing'}}}\ndef default():\n    pass\n",
            (),
            107,
            "'missing'",
        ),
    ],
    ids=["unknown-option", "bad-flag-value", "unknown-metric", "syntax", "no-default", "no-exec"],
)
def test_inspect_bad_options_or_script_is_one_line(
    tmp_path: Path, body: str, args: tuple[str, ...], code: int, detail: str
) -> None:
    result = inspect(tmp_path, body, *args)
    assert result.returncode == code, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert detail in lines[0], lines[0]
    assert result.stdout == ""
