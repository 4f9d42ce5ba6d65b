"""Idle VUs and one probe, for ``benchmarks/idle_memory.py``.

``MEM_VUS`` VUs each hold a ``ws.connect`` session that pings every 5 s (the idle workload of
``run.py``). The probe VU waits until the server has had time to accept them all, collects
garbage, and writes the process's RSS and, when tracemalloc runs (``PYTHONTRACEMALLOC=1``), the
traced bytes and blocks per source line to ``MEM_REPORT`` (JSON).
"""

import gc
import json
import os
import resource
import tracemalloc

from greenws import sleep, ws

VUS = int(os.environ["MEM_VUS"])
URL = os.environ["BENCH_URL"]
options = {
    "scenarios": {
        "idle": {
            "executor": "constant-vus",
            "vus": VUS,
            "duration": "20s",
            "gracefulStop": "0s",
        },
        "probe": {
            "executor": "per-vu-iterations",
            "vus": 1,
            "iterations": 1,
            "exec": "probe",
            "maxDuration": "20s",
        },
    }
}


def default():
    def session(socket):
        socket.set_interval(lambda: socket.ping(), 5000)
        socket.set_timeout(lambda: socket.close(), 600000)

    ws.connect(URL, None, session)


def rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def probe():
    sleep(4 + VUS / 2000)  # connecting 4,000 VUs takes ~1 s here; generous
    gc.collect()
    report = {"rss": rss_bytes(), "traced": 0, "lines": {}}
    if tracemalloc.is_tracing():
        snapshot = tracemalloc.take_snapshot()
        snapshot = snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        lines = {}
        for stat in snapshot.statistics("lineno"):
            frame = stat.traceback[0]
            where = f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}"
            lines[where] = [stat.size, stat.count]
        report["traced"] = sum(size for size, _count in lines.values())
        report["lines"] = lines
    with open(os.environ["MEM_REPORT"], "w") as out:
        json.dump(report, out)
