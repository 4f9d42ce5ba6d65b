"""The client tools under test: how to start each one for a workload, and how to read its count.

Every tool gets the same inputs through environment variables (``BENCH_URL``, ``BENCH_VUS``,
``BENCH_DURATION``, ``BENCH_PING_MS``), and reports its own total of round trips in its own way
(greenws and k6: ``--summary-export``; Locust: a JSON file written by the locustfile at exit).
The harness compares that count with the echo server's, so a tool that under-reports shows up.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCH_DIR.parent


@dataclass(frozen=True)
class Workload:
    """One benchmark shape. ``duration_s`` is what the tool is told; the harness measures inside."""

    name: str  # "pingpong", "idle" or "churn"
    vus: int
    duration_s: int
    ping_ms: int = 5000


@dataclass
class ClientCommand:
    """A tool invocation ready to start, plus how to read the tool's own totals after it exits."""

    tool: str
    argv: list[str]
    env: dict[str, str]
    read_totals: Callable[[], dict[str, Any]] = field(default=lambda: {})
    cwd: Path = REPO_ROOT


class Tool(Protocol):
    """What the harness needs from a peer."""

    name: str

    def unavailable(self) -> str | None:
        """Why this tool cannot run here, or None if it can."""

    def command(self, workload: Workload, url: str, workdir: Path) -> ClientCommand:
        """The command line for ``workload`` against ``url``; scratch files go in ``workdir``."""


def _bench_env(workload: Workload, url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        BENCH_URL=url,
        BENCH_VUS=str(workload.vus),
        BENCH_DURATION=f"{workload.duration_s}s",
        BENCH_PING_MS=str(workload.ping_ms),
        PYTHONUNBUFFERED="1",
    )
    return env


def _summary_export_totals(path: Path) -> dict[str, Any]:
    """Read k6's ``--summary-export`` shape: ``{"metrics": {name: {"count": N, ...}}}``."""
    if not path.exists():
        return {"error": f"no summary export at {path}"}
    metrics = json.loads(path.read_text()).get("metrics", {})
    totals: dict[str, Any] = {}
    for name in ("ws_msgs_received", "ws_msgs_sent", "ws_sessions", "ws_pings"):
        if isinstance(metrics.get(name), dict) and "count" in metrics[name]:
            totals[name] = metrics[name]["count"]
    totals["round_trips"] = totals.get("ws_msgs_received")
    totals["sessions"] = totals.get("ws_sessions")
    return totals


# -q: no progress line, as Locust's --only-summary; the end-of-test summary is still printed
RUN_FLAGS = ["-q", "--summary-export"]


class Greenws:
    """greenws from this work tree, run by the interpreter running the harness.

    ``source`` is the directory holding the ``greenws`` package: the work tree itself, or a
    snapshot of it (see `snapshot_greenws`) so that every repeat measures the same code even while
    someone edits the tree. It is both the working directory and first on ``PYTHONPATH``: for
    ``python -m`` the working directory comes first on ``sys.path``.
    """

    name = "greenws"

    def __init__(self, source: Path = REPO_ROOT) -> None:
        self.python = sys.executable
        self.source = source

    def entry(self) -> list[str]:
        """``-m greenws`` when the package has a ``__main__``; otherwise call ``greenws.cli.main:main``
        (the ``greenws`` console script's target) directly, so no install is needed."""
        if (self.source / "greenws" / "__main__.py").exists():
            return ["-m", "greenws"]
        return ["-c", "import sys; from greenws.cli.main import main; sys.exit(main())"]

    def env(self) -> dict[str, str]:
        """Put ``source`` first on the path, so the code measured is the code chosen.

        Entry-point plugins are switched off: third-party plugins installed in this interpreter
        are not greenws (a half-installed one would even stop every run). The built-in outputs
        and metrics are registered all the same.
        """
        env = dict(os.environ)
        env["GREENWS_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.source), env.get("PYTHONPATH")]))
        return env

    def unavailable(self) -> str | None:
        try:
            done = subprocess.run(
                [self.python, *self.entry(), "run", "--help"],
                capture_output=True,
                text=True,
                timeout=60,
                cwd=self.source,
                env=self.env(),
            )
        except subprocess.TimeoutExpired:
            return "`greenws run --help` did not finish in 60 s"
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return f"`greenws run --help` exited {done.returncode}: {tail[0]}"
        return None

    def command(self, workload: Workload, url: str, workdir: Path) -> ClientCommand:
        summary = workdir / f"greenws-{workload.name}-{workload.vus}-summary.json"
        summary.unlink(missing_ok=True)
        script = BENCH_DIR / "scripts" / f"{workload.name}.py"
        env = _bench_env(workload, url)
        mine = self.env()
        env["PYTHONPATH"] = mine["PYTHONPATH"]
        env["GREENWS_DISABLE_PLUGIN_AUTOLOAD"] = mine["GREENWS_DISABLE_PLUGIN_AUTOLOAD"]
        return ClientCommand(
            tool=self.name,
            argv=[self.python, *self.entry(), "run", *RUN_FLAGS, str(summary), str(script)],
            env=env,
            read_totals=lambda: _summary_export_totals(summary),
            cwd=self.source,
        )


def snapshot_greenws(dest: Path) -> tuple[Path, str]:
    """Copy the work tree's ``greenws`` package under ``dest``; return (dest, content hash).

    The hash (sha256 over paths and contents, first 12 hex digits) goes into the results, so a
    table can be matched to the code it measured without asking git.
    """
    shutil.copytree(
        REPO_ROOT / "greenws",
        dest / "greenws",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )
    digest = hashlib.sha256()
    for path in sorted((dest / "greenws").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(dest)).encode() + b"\0" + path.read_bytes())
    return dest, digest.hexdigest()[:12]


class Locust:
    """Locust from PyPI in its own venv, headless, one websocket-client connection per user."""

    name = "locust"

    def __init__(self, venv_python: Path | None, why_missing: str = "") -> None:
        self.venv_python = venv_python
        self.why_missing = why_missing

    def unavailable(self) -> str | None:
        if self.venv_python is None:
            return self.why_missing or "venv not created"
        return None

    def command(self, workload: Workload, url: str, workdir: Path) -> ClientCommand:
        assert self.venv_python is not None
        counts = workdir / f"locust-{workload.name}-{workload.vus}-counts.json"
        counts.unlink(missing_ok=True)
        env = _bench_env(workload, url)
        env["BENCH_COUNT_FILE"] = str(counts)
        argv = [
            str(self.venv_python.parent / "locust"),
            "-f",
            str(BENCH_DIR / f"locust_{workload.name}.py"),
            "--headless",
            "-u",
            str(workload.vus),
            "-r",
            str(workload.vus),  # everyone at once, like greenws's constant VUs
            "-t",
            f"{workload.duration_s}s",
            "--only-summary",
        ]

        def read() -> dict[str, Any]:
            if not counts.exists():
                return {"error": f"locustfile wrote no counts to {counts}"}
            return dict(json.loads(counts.read_text()))

        return ClientCommand(tool=self.name, argv=argv, env=env, read_totals=read)


class K6:
    """Grafana k6, only when a ``k6`` binary is already on PATH (never downloaded)."""

    name = "k6"

    def unavailable(self) -> str | None:
        return None if shutil.which("k6") else "not on PATH, skipped"

    def command(self, workload: Workload, url: str, workdir: Path) -> ClientCommand:
        summary = workdir / f"k6-{workload.name}-{workload.vus}-summary.json"
        summary.unlink(missing_ok=True)
        env = _bench_env(workload, url)
        argv = [str(shutil.which("k6")), "run", "--quiet", "--summary-export", str(summary)]
        for key in ("BENCH_URL", "BENCH_VUS", "BENCH_DURATION", "BENCH_PING_MS"):
            argv += ["-e", f"{key}={env[key]}"]
        argv.append(str(BENCH_DIR / "scripts" / f"k6_{workload.name}.js"))
        return ClientCommand(
            tool=self.name,
            argv=argv,
            env=env,
            read_totals=lambda: _summary_export_totals(summary),
        )
