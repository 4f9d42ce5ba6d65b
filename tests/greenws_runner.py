"""Run ``greenws run`` in a child process on a script written by a test, and collect the results.

Every run is real: the CLI, the engine, real sockets on 127.0.0.1. The child gets a JSON summary
export and a JSON-lines output so tests can compare what the summary counted with every sample.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class RunResult:
    """What one ``greenws run`` left behind."""

    returncode: int
    stdout: str
    stderr: str
    summary: dict[str, Any] = field(default_factory=dict)
    points: list[dict[str, Any]] = field(default_factory=list)
    metric_lines: list[dict[str, Any]] = field(default_factory=list)

    def metric(self, name: str) -> dict[str, Any]:
        """A metric of the summary export (k6's shape)."""
        return self.summary["metrics"][name]  # type: ignore[no-any-return]

    def points_of(self, name: str) -> list[dict[str, Any]]:
        """Every JSON-output point of metric ``name``."""
        return [point for point in self.points if point["metric"] == name]


def write_script(directory: Path, body: str, name: str = "script.py") -> Path:
    """Write a test script (dedented) and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def run_greenws(
    directory: Path,
    script: str | Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 90,
    outputs: bool = True,
    preexec_fn: Callable[[], None] | None = None,
) -> RunResult:
    """Run a script (source text or a path) and parse the summary export and the JSON output."""
    path = Path(script) if isinstance(script, Path) else write_script(directory, script)
    export = directory / "summary.json"
    lines = directory / "samples.ndjson"
    for stale in (export, lines):
        stale.unlink(missing_ok=True)
    command = [sys.executable, "-m", "greenws", "run", str(path), "-q", "--no-color"]
    if outputs:
        command += [
            "--summary-export",
            str(export),
            "--out",
            f"json={lines}",
            "--summary-trend-stats",
            "avg,min,med,max,p(90),p(95),count",
        ]
    command += list(args)
    child_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env,
        cwd=directory,
        stdin=subprocess.DEVNULL,
        preexec_fn=preexec_fn,
    )
    result = RunResult(completed.returncode, completed.stdout, completed.stderr)
    if export.exists():
        result.summary = json.loads(export.read_text(encoding="utf-8"))
    if lines.exists():
        for line in lines.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            (result.points if record["type"] == "Point" else result.metric_lines).append(record)
    return result


#: Prepended to a script by :func:`run_recorded`: ``record(*item)`` appends ``item`` as one JSON
#: line to the events file, so a test sees what happened inside the VUs, in the order it did.
RECORDER = """
import json as _recorder_json, os as _recorder_os

def record(*item):
    with open(_recorder_os.environ["EVENTS_FILE"], "a") as handle:
        handle.write(_recorder_json.dumps(list(item)) + "\\n")
"""


def run_recorded(
    directory: Path, script: str, *args: str, env: dict[str, str] | None = None
) -> tuple[RunResult, list[Any]]:
    """:func:`run_greenws` on ``RECORDER + script``; returns the run and every recorded item."""
    events = directory / "events.json"
    events.unlink(missing_ok=True)
    result = run_greenws(
        directory, RECORDER + script, *args, env={**(env or {}), "EVENTS_FILE": str(events)}
    )
    lines = events.read_text().splitlines() if events.exists() else []
    return result, [json.loads(line) for line in lines]
