"""Process measurements from /proc, and the pinning/limits applied to every child we start.

Why /proc and not psutil: psutil would be one more dependency of the system interpreter, and the
three numbers we need (CPU seconds, RSS, peak RSS) are one read each. Linux only, as is the rest of
the harness (``os.sched_setaffinity``).
"""

from __future__ import annotations

import os
import platform
import resource
from collections.abc import Callable

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
NOFILE_CAP = 20_000  # this machine's hard cap on open files; 5,000 VUs need ~5,100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of one process so far (not its children), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: split after the last ')'
    fields = raw[raw.rindex(b")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (everything but idle and iowait).

    Sampled with the client's and the server's CPU, it shows how much else ran during a window:
    another benchmark started by someone else, a build, a test suite.
    """
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    guest = sum(fields[8:10])  # guest time is already counted in user/nice
    return (sum(fields) - idle - guest) / CLOCK_TICKS


def memory_bytes(pid: int) -> tuple[int, int] | None:
    """(RSS now, peak RSS so far) of one process, or None once it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except OSError:
        return None
    return rss, hwm


def child_setup(cpu: int) -> Callable[[], None]:
    """A ``preexec_fn`` that pins the child to one core and raises its open-file limit.

    Pinning before ``exec`` means every thread the tool starts inherits the mask, so a tool cannot
    borrow the server's core (or the other way round).
    """

    def setup() -> None:
        os.sched_setaffinity(0, {cpu})
        raise_nofile()

    return setup


def raise_nofile(wanted: int = NOFILE_CAP) -> int:
    """Raise the soft open-file limit towards ``wanted`` (never above the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (first core), or the platform's guess."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_summary() -> dict[str, object]:
    """What the results table must say about where it was measured."""
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": sorted(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "mem_total_gib": round(os.sysconf("SC_PHYS_PAGES") * PAGE_SIZE / 2**30, 1),
    }
