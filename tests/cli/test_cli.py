"""The ``greenws`` command itself: entry points, ``echo``, ``-e``, and where options come from."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from greenws_runner import ROOT, run_greenws
from servers import _read_listening_line, free_port
from websockets.sync.client import connect

import greenws

TIMEOUT = 60


def console_script() -> str:
    """The installed ``greenws`` console script of the Python running the tests."""
    beside = Path(sys.executable).parent / ("greenws.exe" if os.name == "nt" else "greenws")
    found = str(beside) if beside.exists() else shutil.which("greenws")
    assert found, "the greenws console script is not installed: pip install -e '.[test]'"
    return found


def greenws_command(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [console_script(), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def python_m(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenws", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
    )


# -- entry points -------------------------------------------------------------------------------


def test_version() -> None:
    result = greenws_command("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"greenws {greenws.__version__}"


def test_python_m_greenws_is_the_same_command() -> None:
    result = python_m("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == greenws_command("--version").stdout


def test_python_m_greenws_runs_a_script(tmp_path: Path) -> None:
    (tmp_path / "script.py").write_text(
        "def default():\n    print('iteration ran')\n", encoding="utf-8"
    )
    export = tmp_path / "export.json"
    result = python_m(
        "run", "script.py", "-q", "--summary-export", str(export), "-i", "3", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("iteration ran") == 3  # print() goes to stderr
    assert "iteration ran" not in result.stdout  # the summary's stream
    assert json.loads(export.read_text(encoding="utf-8"))["metrics"]["iterations"]["count"] == 3


def test_run_help_lists_the_load_shape_options() -> None:
    result = greenws_command("run", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--vus", "--duration", "--iterations", "--out", "--config", "--env"):
        assert option in result.stdout, option


def test_unknown_flag_is_a_config_error() -> None:
    result = greenws_command("run", "script.py", "--no-such-flag")
    assert result.returncode == 104, result.stderr
    assert "--no-such-flag" in result.stderr


def test_echo_command_serves_on_the_given_port() -> None:
    port = free_port()
    process = subprocess.Popen(
        [console_script(), "echo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        host, bound = _read_listening_line(process, timeout=10)
        assert (host, bound) == ("127.0.0.1", port)
        with connect(f"ws://127.0.0.1:{port}/echo", open_timeout=10, close_timeout=5) as client:
            client.send("hello, echo")
            assert client.recv(timeout=10) == "hello, echo"
            client.send(b"\x00\x01\xff")
            assert client.recv(timeout=10) == b"\x00\x01\xff"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
            pytest.fail("greenws echo did not stop on SIGTERM within 10 s")
        finally:
            assert process.stdout is not None
            process.stdout.close()


# -- -e KEY=VALUE -------------------------------------------------------------------------------


ENV_SCRIPT = """
import json, os
import greenws

AT_IMPORT = {name: os.environ.get(name) for name in ("GREETING", "TOKEN", "EMPTY")}

def default():
    seen = {
        "import": AT_IMPORT,
        "iteration": {name: os.environ.get(name) for name in ("GREETING", "TOKEN", "EMPTY")},
        "greenws.env": greenws.env.get("GREETING"),
    }
    with open(os.environ["OUT_FILE"], "w") as handle:
        json.dump(seen, handle)
"""


def test_env_flag_reaches_os_environ(tmp_path: Path) -> None:
    out = tmp_path / "seen.json"
    result = run_greenws(
        tmp_path,
        ENV_SCRIPT,
        "-e",
        "GREETING=hello world",
        "--env",
        "TOKEN=a=b=c",
        "-e",
        "EMPTY=",
        "-e",
        f"OUT_FILE={out}",
        env={"GREETING": "from the parent environment"},
        outputs=False,
    )
    assert result.returncode == 0, result.stderr
    values = {"GREETING": "hello world", "TOKEN": "a=b=c", "EMPTY": ""}
    assert json.loads(out.read_text(encoding="utf-8")) == {
        "import": values,
        "iteration": values,
        "greenws.env": "hello world",
    }


def test_env_flag_without_equals_is_a_config_error(tmp_path: Path) -> None:
    result = run_greenws(tmp_path, ENV_SCRIPT, "-e", "NOEQUALS", outputs=False)
    assert result.returncode == 104, result.stderr
    assert "NOEQUALS" in result.stderr


# -- option precedence --------------------------------------------------------------------------


PRECEDENCE_SCRIPT = """
from greenws import sleep
OPTIONS_LINE

def default():
    sleep(0.01)
"""


@pytest.mark.parametrize(
    ("config", "script", "env", "flag", "expected"),
    [
        (True, False, False, False, 2),
        (True, True, False, False, 3),
        (True, True, True, False, 4),
        (True, True, True, True, 5),
        (True, False, True, False, 4),
        (True, False, False, True, 5),
        (False, True, True, False, 4),
        (False, True, False, True, 5),
    ],
    ids=[
        "config",
        "script-over-config",
        "env-over-script",
        "flag-over-env",
        "env-over-config",
        "flag-over-config",
        "env-over-script-alone",
        "flag-over-script-alone",
    ],
)
def test_option_precedence(
    tmp_path: Path, config: bool, script: bool, env: bool, flag: bool, expected: int
) -> None:
    # Every layer also sets iterations (>= every vus value) so the shape stays shared-iterations.
    options = 'options = {"vus": 3, "iterations": 20}' if script else ""
    args: list[str] = []
    if config:
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps({"vus": 2, "iterations": 20}), encoding="utf-8")
        args += ["--config", str(config_file)]
    if flag:
        args += ["--vus", "5", "--iterations", "20"]
    child_env = {"GREENWS_VUS": "4", "GREENWS_ITERATIONS": "20"} if env else {}
    result = run_greenws(
        tmp_path, PRECEDENCE_SCRIPT.replace("OPTIONS_LINE", options), *args, env=child_env
    )
    assert result.returncode == 0, result.stderr
    assert result.metric("vus_max")["max"] == expected
    assert result.metric("iterations")["count"] == 20


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (None, "No such file"),
        ("{not json", "--config"),
        ('["vus", 2]', "--config"),
        ('{"vuss": 2}', "in --config (did you mean 'vus'?)"),
        ('{"vus": "many"}', "many"),
    ],
    ids=["missing", "not-json", "not-a-mapping", "unknown-option", "bad-value"],
)
def test_bad_config_file_is_a_config_error(
    tmp_path: Path, content: str | None, detail: str
) -> None:
    config_file = tmp_path / "config.json"
    if content is not None:
        config_file.write_text(content, encoding="utf-8")
    result = run_greenws(
        tmp_path, "def default():\n    pass\n", "--config", str(config_file), outputs=False
    )
    assert result.returncode == 104, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert detail in lines[0], lines[0]


@pytest.mark.parametrize(
    ("where", "args", "env", "source"),
    [
        ("config", ("--config", "config.json"), {}, ("--config",)),
        ("environment", (), {"GREENWS_VUS": "many"}, ("environment", "GREENWS_VUS")),
    ],
    ids=["config", "environment"],
)
def test_a_bad_option_value_names_where_it_came_from(
    tmp_path: Path,
    where: str,
    args: tuple[str, ...],
    env: dict[str, str],
    source: tuple[str, ...],
) -> None:
    """With five option layers, "invalid option vus='many'" alone does not say which to fix.

    An unknown option already names its layer ("unknown option 'vuss' in --config"); a bad value
    must too.
    """
    (tmp_path / "config.json").write_text('{"vus": "many"}', encoding="utf-8")
    result = run_greenws(tmp_path, "def default():\n    pass\n", *args, env=env, outputs=False)
    assert result.returncode == 104, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "many" in lines[0], lines[0]
    assert any(name in lines[0] for name in source), (where, lines[0])


def test_plugins_lists_builtins_entry_points_and_hooks() -> None:
    import subprocess
    import sys

    listing = subprocess.run(
        [sys.executable, "-m", "greenws", "plugins"], capture_output=True, text=True, timeout=60
    )
    assert listing.returncode == 0, listing.stderr
    names = [line.split()[0] for line in listing.stdout.splitlines() if line.strip()]
    assert {"console", "json_lines", "csv_output", "html_report"} <= set(names)
    assert "greenws_configure" in listing.stdout
    blocked = subprocess.run(
        [sys.executable, "-m", "greenws", "plugins", "-p", "no:csv_output"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "csv_output" not in blocked.stdout


def test_the_everyday_smoke_test_override_runs_one_iteration_of_a_staged_script(
    tmp_path: Path,
) -> None:
    """``-u 1 -i 1`` on a script with ``stages`` (or ``-d`` on one with ``vus``/``duration``) is
    what k6 users type for a smoke test: k6's layering clears the script's run shape."""
    script = (
        "from greenws import sleep\n"
        "options = {'stages': [{'duration': '30s', 'target': 20}]}\n"
        "def default():\n    sleep(0.01)\n"
    )
    result = run_greenws(tmp_path, script, "-u", "1", "-i", "1")
    assert result.returncode == 0, result.stderr
    assert result.metric("iterations")["count"] == 1
    assert result.metric("vus_max")["max"] == 1


def test_fewer_iterations_than_vus_is_refused_as_in_k6(tmp_path: Path) -> None:
    script = "options = {'vus': 10}\ndef default():\n    pass\n"
    result = run_greenws(tmp_path, script, "-i", "3", outputs=False)
    assert result.returncode == 104, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "iterations (3) can't be less than the number of VUs (10)" in line, line
