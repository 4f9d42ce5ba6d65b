"""The sample third-party output (``examples/plugins/greenws-sample-output``), through its entry point.

The distribution must be installed (``pip install -e examples/plugins/greenws-sample-output``, in
the README's set-up line): the run below loads it only the way a user's installed plugin loads,
through the ``greenws`` entry-point group, with no ``-p``. What it writes must agree with the
summary export and with the built-in JSON output of the same run.
"""

from __future__ import annotations

import json
from collections import Counter
from importlib import metadata
from pathlib import Path

import pytest
from greenws_runner import ROOT, run_greenws

from greenws.plugins.catalog import declared_outputs
from greenws.plugins.manager import make_plugin_manager

DISTRIBUTION = "greenws-sample-output"
SOURCE = ROOT / "examples" / "plugins" / DISTRIBUTION

SCRIPT = """
import os
from greenws import ws, check

options = {"vus": 3, "iterations": 30}

def default():
    def session(socket):
        received = []
        def on_message(message):
            received.append(message)
            if len(received) < 10:
                socket.send("m")
            else:
                socket.close(1000)
        socket.on("open", lambda: (socket.send("m"), socket.ping()))
        socket.on("message", on_message)
        socket.set_timeout(lambda: socket.close(1000), 20000)
    res = ws.connect(os.environ["TARGET"], None, session)
    check(res, {"status is 101": lambda r: r.status == 101})
"""


def installed_entry_point() -> metadata.EntryPoint:
    """The ``summary-counts`` entry point, or a failure that says how to install it."""
    found = [ep for ep in metadata.entry_points(group="greenws") if ep.name == "summary-counts"]
    if not found:
        pytest.fail(
            f"{DISTRIBUTION} is not installed, so greenws cannot load it through its entry point: "
            f"run `pip install -e {SOURCE.relative_to(ROOT)}` (the README's set-up line does)",
            pytrace=False,
        )
    (entry_point,) = found
    assert entry_point.dist is not None and entry_point.dist.name == DISTRIBUTION
    return entry_point


def test_sample_output_is_installed_from_this_tree() -> None:
    entry_point = installed_entry_point()
    assert entry_point.value == "greenws_sample_output.plugin"
    module = entry_point.load()
    assert Path(module.__file__).resolve().is_relative_to(SOURCE), (
        f"{DISTRIBUTION} is installed from {module.__file__}, not from {SOURCE}: reinstall with -e"
    )


def test_sample_output_declares_its_kind() -> None:
    """``greenws run --help`` and ``greenws plugins`` list the kind with this distribution."""
    installed_entry_point()
    manager = make_plugin_manager(load_entry_points=True)
    kinds = {item.kind: item for item in declared_outputs(manager)}
    assert "summary-counts" in kinds, "the sample output does not declare its --out kind"
    assert kinds["summary-counts"].distribution == DISTRIBUTION
    assert kinds["summary-counts"].plugin == "summary-counts"


def test_sample_output_counts_equal_the_summary(tmp_path: Path, echo_server: object) -> None:
    installed_entry_point()
    counts_file = tmp_path / "counts.json"
    # An empty GREENWS_DISABLE_PLUGIN_AUTOLOAD keeps entry points on even if the caller's is set.
    env = {"TARGET": echo_server.url, "GREENWS_DISABLE_PLUGIN_AUTOLOAD": ""}  # type: ignore[attr-defined]
    result = run_greenws(tmp_path, SCRIPT, "--out", f"summary-counts={counts_file}", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert counts_file.exists(), f"the entry-point output wrote nothing:\n{result.stderr}"
    assert result.metric("checks")["passes"] == 30, result.stderr
    written = json.loads(counts_file.read_text(encoding="utf-8"))
    metrics = written["metrics"]

    # One entry per metric the summary knows, each sample counted once (the JSON output agrees).
    assert set(metrics) == set(result.summary["metrics"])
    assert {name: entry["samples"] for name, entry in metrics.items()} == dict(
        Counter(point["metric"] for point in result.points)
    )
    assert written["total"] == len(result.points)
    assert not written["dropped"]

    for name, summary in result.summary["metrics"].items():
        entry = metrics[name]
        if entry["type"] == "trend":
            assert entry["samples"] == summary["count"], name
        elif entry["type"] == "rate":
            assert entry["samples"] == summary["passes"] + summary["fails"], name
        elif entry["type"] == "counter":
            assert entry["sum"] == pytest.approx(summary["count"]), name
    assert metrics["ws_sessions"]["samples"] == 30
    assert metrics["checks"]["samples"] == 30
    assert metrics["ws_ping"]["samples"] == 30
    assert metrics["ws_msgs_sent"]["samples"] == 30 * 10
