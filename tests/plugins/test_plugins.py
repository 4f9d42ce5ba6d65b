"""Third-party plugins end to end: loaded with ``-p`` or an entry point, in a real ``greenws run``.

Each test writes its plugin modules into a directory on the child's ``PYTHONPATH`` (not the
script's directory, not the working directory), so they are importable only the way a user's
installed plugin would be. The outputs record what they received in a JSON file at stop; the tests
compare that with the summary export and with the built-in JSON output of the same run.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import ROOT, RunResult, run_greenws

COUNTING_PLUGIN = '''
"""Counts what it receives; ``--out counting=FILE`` (fast) and ``--out slow-counting=FILE``."""

import json
import os
import time

from greenws.plugins import hookimpl


class CountingOutput:
    def __init__(self, path):
        self.path = path
        self.run = None
        self.started = False
        self.batches = 0
        self.points = {}
        self.sums = {}
        self.types = {}
        self.minimum = {}
        self.maximum = {}
        self.extra = {}

    @hookimpl
    def greenws_output_start(self, run):
        self.run = run
        self.started = True

    def count(self, samples):
        self.batches += 1
        for metric, when, value, tags in samples:
            name = metric.name
            self.points[name] = self.points.get(name, 0) + 1
            self.sums[name] = self.sums.get(name, 0.0) + value
            self.types[name] = metric.type.value
            self.minimum[name] = min(self.minimum.get(name, value), value)
            self.maximum[name] = max(self.maximum.get(name, value), value)

    @hookimpl
    def greenws_output_samples(self, samples):
        self.count(samples)

    @hookimpl
    def greenws_output_stop(self, summary, run):
        with open(self.path, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "started": self.started,
                    "batches": self.batches,
                    "points": self.points,
                    "sums": self.sums,
                    "types": self.types,
                    "min": self.minimum,
                    "max": self.maximum,
                    "total": sum(self.points.values()),
                    "dropped": summary["state"]["droppedSamples"],
                    "output_names": list(run.output_names),
                    **self.extra,
                },
                handle,
            )


class SlowCountingOutput(CountingOutput):
    """Stuck on its first batch until every iteration is done (time.sleep: gevent's, patched)."""

    def __init__(self, path, until):
        super().__init__(path)
        self.until = until

    @hookimpl
    def greenws_output_samples(self, samples):
        if self.batches == 0:
            before = self.run.progress().complete
            deadline = time.monotonic() + 30.0  # a bound: VUs that never progress end the wait
            while self.run.progress().complete < self.until and time.monotonic() < deadline:
                time.sleep(0.05)
            after = self.run.progress().complete
            self.extra["complete_before_wait"] = before
            self.extra["complete_after_wait"] = after
            self.extra["vus_finished_while_waiting"] = after >= self.until
        else:
            time.sleep(0.05)
        self.count(samples)


@hookimpl
def greenws_configure(config):
    for path in config.claim_outputs("counting"):
        config.pluginmanager.register(CountingOutput(path), name=f"counting={path}")
    for path in config.claim_outputs("slow-counting"):
        output = SlowCountingOutput(path, int(os.environ["SLOW_OUTPUT_UNTIL"]))
        config.pluginmanager.register(output, name=f"slow-counting={path}")
'''

BROKEN_PLUGIN = '''
"""``--out broken``: accepts the run, then fails on its first batch."""

from greenws.plugins import hookimpl


class BrokenOutput:
    @hookimpl
    def greenws_output_samples(self, samples):
        raise RuntimeError("disk on fire")


@hookimpl
def greenws_configure(config):
    if config.claim_outputs("broken"):
        config.pluginmanager.register(BrokenOutput(), name="broken-output")
'''

MARKER_PLUGIN = '''
"""An entry-point plugin that leaves a file behind when it is configured."""

import os

from greenws.plugins import hookimpl


@hookimpl
def greenws_configure(config):
    with open(os.environ["MARKER_FILE"], "a", encoding="utf-8") as handle:
        handle.write("configured\\n")
'''

ECHO_2000 = """
import os
from greenws import ws, check

options = {"vus": 4, "iterations": 25}

def default():
    def session(socket):
        received = []
        def on_message(message):
            received.append(message)
            if len(received) < 40:
                socket.send("m")
            else:
                socket.close(1000)
        socket.on("open", lambda: socket.send("m"))
        socket.on("message", on_message)
        socket.set_timeout(lambda: socket.close(1000), 20000)
    res = ws.connect(os.environ["TARGET"], None, session)
    check(res, {"status is 101": lambda r: r.status == 101})
"""

ITERATIONS = 60
PACED = """
import os
from greenws import ws, sleep

options = {
    "scenarios": {
        "fixed": {
            "executor": "shared-iterations",
            "vus": 2,
            "iterations": ITERATIONS,
            "maxDuration": "60s",
        }
    }
}

def default():
    def session(socket):
        socket.on("open", lambda: socket.send("m"))
        socket.on("message", lambda message: socket.close(1000))
        socket.set_timeout(lambda: socket.close(1000), 10000)
    ws.connect(os.environ["TARGET"], None, session)
    sleep(0.1)  # keeps every flushed batch (about 40 samples) far below the queue limit of 200 used below
""".replace("ITERATIONS", str(ITERATIONS))


def plugin_dir(tmp_path: Path, **modules: str) -> Path:
    """A directory, outside the script's and the working directory, holding plugin modules."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    for name, source in modules.items():
        (site / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return site


def child_env(site: Path, **extra: str) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(ROOT), str(site)]), **extra}


def read_json(path: Path) -> dict[str, Any]:
    assert path.exists(), f"{path.name} was not written"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def stderr_lines(result: RunResult) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def assert_matches_summary(counted: dict[str, Any], result: RunResult) -> None:
    """What an output counted per metric equals the totals the summary export reports."""
    metrics = result.summary["metrics"]
    assert set(counted["points"]) == set(metrics)
    for name, kind in counted["types"].items():
        values = metrics[name]
        if kind == "counter":
            assert counted["sums"][name] == pytest.approx(values["count"]), name
        elif kind == "trend":
            assert counted["points"][name] == values["count"], name
        elif kind == "rate":
            assert counted["points"][name] == values["passes"] + values["fails"], name
        else:
            assert kind == "gauge", (name, kind)
            assert counted["max"][name] == pytest.approx(values["max"]), name
            assert counted["min"][name] == pytest.approx(values["min"]), name


# -- a working third-party output ---------------------------------------------------------------


def test_third_party_output_receives_every_sample_the_summary_counted(
    tmp_path: Path, echo_server
) -> None:
    site = plugin_dir(tmp_path, greenws_counting_plugin=COUNTING_PLUGIN)
    counts = tmp_path / "counts.json"
    result = run_greenws(
        tmp_path,
        ECHO_2000,
        "-p",
        "greenws_counting_plugin",
        "--out",
        f"counting={counts}",
        env=child_env(site, TARGET=echo_server.url),
    )
    assert result.returncode == 0, result.stderr
    counted = read_json(counts)
    assert counted["started"] is True
    assert counted["total"] >= 2000, counted["total"]
    assert result.metric("iterations")["count"] == 25
    assert result.metric("ws_msgs_received")["count"] == 25 * 40
    assert_matches_summary(counted, result)
    # It saw exactly what the built-in JSON output of the same run saw.
    assert counted["total"] == len(result.points)
    assert counted["dropped"] == {}
    assert f"counting={counts}" in counted["output_names"]
    assert "WARNING: output" not in result.stdout


def test_plugin_is_not_importable_without_pythonpath(tmp_path: Path) -> None:
    """Guards the tests above: the plugin is found through PYTHONPATH, not by accident."""
    plugin_dir(tmp_path, greenws_counting_plugin=COUNTING_PLUGIN)
    result = run_greenws(
        tmp_path, "def default():\n    pass\n", "-p", "greenws_counting_plugin", outputs=False
    )
    assert result.returncode == 104, result.stderr
    assert "greenws_counting_plugin" in result.stderr


# -- a broken output ----------------------------------------------------------------------------


def test_broken_output_is_switched_off_and_its_losses_reported(tmp_path: Path, echo_server) -> None:
    site = plugin_dir(tmp_path, greenws_broken_plugin=BROKEN_PLUGIN)
    result = run_greenws(
        tmp_path,
        ECHO_2000,
        "-p",
        "greenws_broken_plugin",
        "--out",
        "broken",
        env=child_env(site, TARGET=echo_server.url),
    )
    assert result.returncode == 0, result.stderr
    naming = [line for line in stderr_lines(result) if "broken-output" in line]
    assert len(naming) == 1, result.stderr
    assert "disk on fire" in naming[0], naming
    assert "Traceback" not in result.stderr
    # The other output is unaffected and holds every sample the summary counted...
    total = len(result.points)
    assert total >= 2000
    assert result.metric("ws_msgs_sent")["count"] == 25 * 40
    assert sum(p["data"]["value"] for p in result.points_of("ws_msgs_sent")) == 25 * 40
    # ...and the console says the broken output lost all of them.
    assert f"WARNING: output broken-output lost {total} samples" in result.stdout, result.stdout


FAILING_PHASES_PLUGIN = '''
"""``--out failing=PHASE``: fails in greenws_output_start or greenws_output_stop.

It appends to RECEIVED_FILE whatever it is given, so a test can see if it was fed after failing.
"""

import os

from greenws.plugins import hookimpl


class FailingOutput:
    def __init__(self, phase):
        self.phase = phase

    @hookimpl
    def greenws_output_start(self, run):
        if self.phase == "start":
            raise OSError("cannot open the results database")

    @hookimpl
    def greenws_output_samples(self, samples):
        with open(os.environ["RECEIVED_FILE"], "a", encoding="utf-8") as handle:
            handle.write(f"{len(samples)}\\n")

    @hookimpl
    def greenws_output_stop(self, summary, run):
        if self.phase == "stop":
            raise OSError("cannot flush the results database")


@hookimpl
def greenws_configure(config):
    for phase in config.claim_outputs("failing"):
        config.pluginmanager.register(FailingOutput(phase), name=f"failing-{phase}")
'''

OPTION_PLUGIN = '''
"""Adds its own command-line option and reads it back in greenws_configure."""

import os

from greenws.plugins import hookimpl


@hookimpl
def greenws_addoption(parser):
    group = parser.add_argument_group("greenws-option-plugin")
    group.add_argument("--option-plugin-greeting", default="unset", help="plugin greeting")


@hookimpl
def greenws_configure(config):
    with open(os.environ["MARKER_FILE"], "w", encoding="utf-8") as handle:
        handle.write(config.args.option_plugin_greeting)
'''

RAISING_CONFIGURE_PLUGIN = """
from greenws.plugins import hookimpl


@hookimpl
def greenws_configure(config):
    raise RuntimeError("missing API key")
"""


def test_output_whose_start_fails_is_switched_off(tmp_path: Path, echo_server) -> None:
    """hookspecs: an exception in greenws_output_start is reported in one line and the output is
    switched off for the run; the test goes on. Its samples are then lost, and the summary says so.
    """
    site = plugin_dir(tmp_path, greenws_failing_plugin=FAILING_PHASES_PLUGIN)
    received = tmp_path / "received.txt"
    result = run_greenws(
        tmp_path,
        ECHO_2000,
        "-p",
        "greenws_failing_plugin",
        "--out",
        "failing=start",
        env=child_env(site, TARGET=echo_server.url, RECEIVED_FILE=str(received)),
    )
    assert result.returncode == 0, result.stderr
    assert result.metric("iterations")["count"] == 25
    naming = [line for line in stderr_lines(result) if "failing-start" in line]
    assert len(naming) == 1, result.stderr
    assert "cannot open the results database" in naming[0]
    assert not received.exists(), "the output was fed samples after its start failed"
    total = len(result.points)
    assert f"WARNING: output failing-start lost {total} samples" in result.stdout, result.stdout


def test_output_whose_stop_fails_does_not_stop_the_others(tmp_path: Path, echo_server) -> None:
    site = plugin_dir(tmp_path, greenws_failing_plugin=FAILING_PHASES_PLUGIN)
    received = tmp_path / "received.txt"
    result = run_greenws(
        tmp_path,
        ECHO_2000,
        "-p",
        "greenws_failing_plugin",
        "--out",
        "failing=stop",
        env=child_env(site, TARGET=echo_server.url, RECEIVED_FILE=str(received)),
    )
    assert result.returncode == 0, result.stderr
    naming = [line for line in stderr_lines(result) if "failing-stop" in line]
    assert len(naming) == 1, result.stderr
    assert "cannot flush the results database" in naming[0]
    # It got every sample, and the console and the JSON output still finished their work.
    delivered = sum(int(n) for n in received.read_text(encoding="utf-8").split())
    assert delivered == len(result.points)
    assert result.metric("iterations")["count"] == 25  # the summary export was written
    assert "ws_msgs_sent" in result.stdout  # the text summary was printed
    assert "WARNING: output" not in result.stdout


def test_plugin_adds_its_own_option(tmp_path: Path) -> None:
    site = plugin_dir(tmp_path, greenws_option_plugin=OPTION_PLUGIN)
    marker = tmp_path / "marker.txt"
    env = child_env(site, MARKER_FILE=str(marker))
    body = "def default():\n    pass\n"
    result = run_greenws(
        tmp_path,
        body,
        "-p",
        "greenws_option_plugin",
        "--option-plugin-greeting",
        "hi there",
        env=env,
        outputs=False,
    )
    assert result.returncode == 0, result.stderr
    assert marker.read_text(encoding="utf-8") == "hi there"
    without = run_greenws(tmp_path, body, "--option-plugin-greeting", "hi", env=env, outputs=False)
    assert without.returncode == 104, without.stderr  # not loaded: an unknown flag


def test_plugin_whose_configure_raises_is_named(tmp_path: Path) -> None:
    site = plugin_dir(tmp_path, greenws_raising_configure=RAISING_CONFIGURE_PLUGIN)
    result = run_greenws(
        tmp_path,
        "def default():\n    pass\n",
        "-p",
        "greenws_raising_configure",
        env=child_env(site),
        outputs=False,
    )
    assert result.returncode == 104, result.stderr
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert "missing API key" in lines[0]
    assert "greenws_raising_configure" in lines[0], lines[0]


# -- a slow output ------------------------------------------------------------------------------


def run_paced(
    tmp_path: Path, echo_server, *args: str, env: dict[str, str] | None = None
) -> RunResult:
    site = plugin_dir(tmp_path, greenws_counting_plugin=COUNTING_PLUGIN)
    return run_greenws(
        tmp_path,
        PACED,
        *args,
        env=child_env(
            site, TARGET=echo_server.url, SLOW_OUTPUT_UNTIL=str(ITERATIONS), **(env or {})
        ),
    )


def test_slow_output_does_not_stall_the_vus(tmp_path: Path, echo_server) -> None:
    baseline = run_paced(tmp_path, echo_server)
    assert baseline.returncode == 0, baseline.stderr
    slow_file, fast_file = tmp_path / "slow.json", tmp_path / "fast.json"
    result = run_paced(
        tmp_path,
        echo_server,
        "-p",
        "greenws_counting_plugin",
        "--out",
        f"slow-counting={slow_file}",
        "--out",
        f"counting={fast_file}",
    )
    assert result.returncode == 0, result.stderr
    assert result.metric("iterations")["count"] == baseline.metric("iterations")["count"]
    assert result.metric("iterations")["count"] == ITERATIONS
    slow, fast = read_json(slow_file), read_json(fast_file)
    # The VUs went on while the output was stuck on its first batch.
    assert slow["vus_finished_while_waiting"] is True, slow
    assert slow["complete_before_wait"] < ITERATIONS <= slow["complete_after_wait"]
    # Nothing overflowed the default queue: the slow output caught up with every sample.
    assert slow["dropped"] == {}, slow["dropped"]
    assert slow["total"] == fast["total"] == len(result.points)
    assert slow["batches"] > 1
    assert_matches_summary(slow, result)
    assert "WARNING: output" not in result.stdout


def test_slow_output_overflowing_its_queue_drops_and_counts(tmp_path: Path, echo_server) -> None:
    slow_file, fast_file = tmp_path / "slow.json", tmp_path / "fast.json"
    result = run_paced(
        tmp_path,
        echo_server,
        "-p",
        "greenws_counting_plugin",
        "--out",
        f"slow-counting={slow_file}",
        "--out",
        f"counting={fast_file}",
        env={"GREENWS_OUTPUT_QUEUE_LIMIT": "200"},
    )
    assert result.returncode == 0, result.stderr
    assert result.metric("iterations")["count"] == ITERATIONS
    slow, fast = read_json(slow_file), read_json(fast_file)
    assert slow["vus_finished_while_waiting"] is True, slow
    slow_name = f"slow-counting={slow_file}"
    dropped = slow["dropped"]
    assert set(dropped) == {slow_name}, dropped  # the fast outputs lost nothing
    assert dropped[slow_name] > 0
    # Every sample was either delivered to the slow output or counted as dropped.
    assert fast["total"] == len(result.points)
    assert slow["total"] + dropped[slow_name] == fast["total"]
    assert_matches_summary(fast, result)
    assert f"WARNING: output {slow_name} lost {dropped[slow_name]} samples" in result.stdout, (
        result.stdout
    )


# -- blocking and autoloading -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["json_lines", "greenws.outputs.json_lines"])
def test_blocking_the_builtin_json_output(tmp_path: Path, name: str) -> None:
    body = "def default():\n    pass\n"
    blocked = run_greenws(tmp_path, body, "-p", f"no:{name}")
    assert blocked.returncode == 104, blocked.stderr
    assert "unknown output 'json'" in blocked.stderr
    assert not (tmp_path / "samples.ndjson").exists()
    export = tmp_path / "export.json"
    runs = run_greenws(
        tmp_path, body, "-p", f"no:{name}", "--summary-export", str(export), outputs=False
    )
    assert runs.returncode == 0, runs.stderr
    assert read_json(export)["metrics"]["iterations"]["count"] == 1


def entry_point_site(tmp_path: Path, module: str, source: str) -> Path:
    """A fake installed distribution exposing ``module`` in the ``greenws`` entry-point group."""
    site = plugin_dir(tmp_path, **{module: source})
    dist_info = site / "greenws_test_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: greenws-test-plugin\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        f"[greenws]\ntestplugin = {module}\n", encoding="utf-8"
    )
    return site


def test_entry_point_plugins_and_disabling_autoload(tmp_path: Path) -> None:
    site = entry_point_site(tmp_path, "greenws_marker_plugin", MARKER_PLUGIN)
    marker = tmp_path / "marker.txt"
    env = child_env(site, MARKER_FILE=str(marker))
    body = "def default():\n    pass\n"

    loaded = run_greenws(tmp_path, body, env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert marker.read_text(encoding="utf-8") == "configured\n"  # the entry point was loaded
    marker.unlink()

    disabled = run_greenws(tmp_path, body, env={**env, "GREENWS_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert disabled.returncode == 0, disabled.stderr
    assert not marker.exists()
    assert disabled.metric("iterations")["count"] == 1  # built-ins still work: export and JSON
    assert len(disabled.points_of("iterations")) == 1

    blocked = run_greenws(tmp_path, body, "-p", "no:testplugin", env=env)
    assert blocked.returncode == 0, blocked.stderr
    assert not marker.exists()

    explicit = run_greenws(
        tmp_path,
        body,
        "-p",
        "greenws_marker_plugin",
        env={**env, "GREENWS_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert explicit.returncode == 0, explicit.stderr
    assert marker.read_text(encoding="utf-8") == "configured\n"


# -- plugins that cannot be loaded -------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "source", "detail"),
    [
        ("greenws_exploding_plugin", "raise RuntimeError('plugin exploded')\n", "plugin exploded"),
        (
            "greenws_missing_dep_plugin",
            "import greenws_dependency_nobody_installed\n",
            "greenws_dependency_nobody_installed",
        ),
        ("greenws_syntax_error_plugin", "def hook(:\n    pass\n", ""),
        ("greenws_plugin_that_does_not_exist", None, ""),
    ],
    ids=["raises", "missing-dependency", "syntax-error", "absent"],
)
def test_plugin_that_fails_to_import_is_a_config_error(
    tmp_path: Path, module: str, source: str | None, detail: str
) -> None:
    site = plugin_dir(tmp_path, **({module: source} if source is not None else {}))
    result = run_greenws(
        tmp_path, "def default():\n    pass\n", "-p", module, env=child_env(site), outputs=False
    )
    assert result.returncode == 104, result.stderr
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert module in lines[0]
    assert detail in lines[0]


def test_broken_entry_point_plugin_is_named(tmp_path: Path) -> None:
    """The manager promises a broken third-party package does not hide which one it is."""
    site = entry_point_site(
        tmp_path, "greenws_exploding_ep_plugin", "raise RuntimeError('plugin exploded')\n"
    )
    result = run_greenws(tmp_path, "def default():\n    pass\n", env=child_env(site), outputs=False)
    assert result.returncode == 104, result.stderr
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert "plugin exploded" in lines[0]
    assert "testplugin" in lines[0] or "greenws_exploding_ep_plugin" in lines[0], lines[0]
