"""Profile one greenws ping-pong run and keep the top functions by own time (tottime).

cProfile is in the standard library, so the profile can always be made; it follows the greenlet
that is running, so per-function own time (tottime) is reliable while cumulative time across
greenlet switches is not — hence the sort by tottime. The raw ``.pstats`` file is kept next to the
text so anyone can re-sort it (``python -m pstats``).
"""

from __future__ import annotations

import io
import pstats
import subprocess
from pathlib import Path

from harness.procfs import child_setup
from harness.runner import CLIENT_CPU
from harness.tools import Greenws, Workload


def profile_greenws(
    greenws: Greenws, workload: Workload, url: str, workdir: Path, out_txt: Path, top: int = 15
) -> str:
    """Run ``workload`` under ``python -m cProfile``; write the top ``top`` rows to ``out_txt``."""
    cmd = greenws.command(workload, url, workdir)
    raw = out_txt.with_suffix(".pstats")
    raw.unlink(missing_ok=True)
    interpreter, entry_args = cmd.argv[0], cmd.argv[1:]
    if entry_args[0] == "-m":  # python -m greenws ...  ->  python -m cProfile -o F -m greenws ...
        argv = [interpreter, "-m", "cProfile", "-o", str(raw), *entry_args]
    else:  # cProfile cannot take -c: profile the console script's target through a tiny runner
        code = (
            "import cProfile, sys\n"
            "from greenws.cli.main import main\n"
            "sys.argv = ['greenws', *sys.argv[1:]]\n"
            f"cProfile.run('rc = main()', {str(raw)!r})\n"
        )
        argv = [interpreter, "-c", code, *entry_args[2:]]
    log = out_txt.with_suffix(".log")
    with log.open("wb") as out:
        done = subprocess.run(
            argv,
            env=cmd.env,
            cwd=cmd.cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=child_setup(CLIENT_CPU),
            timeout=workload.duration_s + 120,
            check=False,
        )
    if not raw.exists():
        raise RuntimeError(f"profiled run wrote no profile (exit {done.returncode}); see {log}")
    buffer = io.StringIO()
    stats = pstats.Stats(str(raw), stream=buffer)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    header = (
        f"# cProfile of: {' '.join(cmd.argv[1:])}\n"
        f"# workload: {workload.name}, {workload.vus} VUs, {workload.duration_s} s, exit "
        f"{done.returncode}; totals: {cmd.read_totals()}\n"
        f"# top {top} functions by tottime (own time, excluding callees)\n"
    )
    text = header + buffer.getvalue()
    out_txt.write_text(text)
    return text
