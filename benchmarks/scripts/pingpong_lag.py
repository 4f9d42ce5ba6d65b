"""The ping-pong workload (``pingpong.py``) plus a probe of the VUs' event loop, for outputs.py.

A greenlet in the greenws process sleeps 10 ms again and again and records how late it wakes:
anything that holds the hub (an output serialising on it, the flusher, the VUs themselves) shows
up as lateness, and it is the delay every VU's measurements absorb too. At exit the probe writes
``[[monotonic time, lateness in seconds], ...]`` to ``BENCH_LAG_FILE``; the harness keeps the
steady window. Run by ``benchmarks/outputs.py``; by hand like ``pingpong.py``.
"""

import atexit
import json
import os
import sys
import time

import gevent

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pingpong import default, options

__all__ = ["default", "options"]

PERIOD = 0.010
_lateness: list[tuple[float, float]] = []


def _probe() -> None:
    while True:
        start = time.monotonic()
        gevent.sleep(PERIOD)
        now = time.monotonic()
        _lateness.append((now, now - start - PERIOD))


def _write() -> None:
    path = os.environ.get("BENCH_LAG_FILE")
    if path:
        with open(path, "w") as fh:
            json.dump(_lateness, fh)


gevent.spawn(_probe)
atexit.register(_write)
