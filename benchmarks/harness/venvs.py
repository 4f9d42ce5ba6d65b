"""Create (once) and reuse the virtualenvs that hold the peers and the echo server.

Why separate venvs: Locust pins its own gevent/greenlet and pulls in Flask; picows and uvloop are
the server's business. Keeping both out of the interpreter that runs greenws means each tool runs
with exactly the dependencies it would have on a user's machine, and installing the peers cannot
change what greenws imports. Both venvs live under ``benchmarks/`` and are gitignored.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

STAMP = "greenws-bench.json"  # records what was installed, so a changed list reinstalls


def python_of(venv: Path) -> Path:
    """The interpreter inside a venv (POSIX layout; the harness is Linux-only anyway)."""
    return venv / "bin" / "python"


def ensure_venv(venv: Path, requirements: list[str], log: Path) -> Path:
    """Return the venv's interpreter, creating the venv and installing ``requirements`` if needed.

    Reuse is decided by the stamp file: same requirement list and the interpreter still runs. pip's
    output goes to ``log`` rather than the console, which stays for results.
    """
    python = python_of(venv)
    stamp = venv / STAMP
    if python.exists() and stamp.exists():
        try:
            recorded = json.loads(stamp.read_text())
        except ValueError:
            recorded = None
        if recorded == requirements and _runs(python):
            return python
    print(f"  creating {venv.name} ({', '.join(requirements)}) ...", flush=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=300,
        )
        subprocess.run(
            [str(python), "-m", "pip", "install", "--upgrade", "--quiet", *requirements],
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
        )
    stamp.write_text(json.dumps(requirements))
    return python


def installed_versions(python: Path, distributions: list[str]) -> dict[str, str]:
    """Versions of ``distributions`` inside a venv, for the results file."""
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try: out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError: out[name] = 'missing'\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [str(python), "-c", code, *distributions],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(done.stdout))


def _runs(python: Path) -> bool:
    try:
        subprocess.run([str(python), "-c", "pass"], check=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return True
