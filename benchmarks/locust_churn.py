"""Locust peer for the connection-churn workload: every task is one whole short session.

Run by `benchmarks/run.py` inside `benchmarks/.venv-locust`, e.g.

    BENCH_URL=ws://127.0.0.1:9001/ BENCH_COUNT_FILE=/tmp/n.json \
        locust -f benchmarks/locust_churn.py --headless -u 50 -r 50 -t 10s --only-summary

A task does what a greenws churn iteration does: open a websocket-client connection (TCP and
the HTTP upgrade), send 32 bytes of text, read the echo, close with 1000 and wait for the
server's close frame (websocket-client's ``close()`` does). It fires Locust's ``request`` event
twice, for the connect and for the echo, so Locust does its normal statistics work for the two
timings greenws records as ``ws_connecting`` and the message round trip.

Each user stops itself (``StopUser``) between sessions half a second before the run time
ends. Killed mid-session instead (Locust's ``-t`` stop), a user inside websocket-client's
connect or close sometimes kept Locust from exiting for minutes, still churning; stopping
between sessions also means only whole sessions are counted.

At exit the session count is written as JSON to ``BENCH_COUNT_FILE``, as in
`locust_pingpong.py`.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import websocket
from locust import User, constant, events, task
from locust.exception import StopUser

URL = os.environ.get("BENCH_URL", "ws://127.0.0.1:9001/")
MESSAGE = "x" * 32
SESSIONS = [0]  # one list per process: users are greenlets in one thread
DURATION_S = float(os.environ.get("BENCH_DURATION", "10s").rstrip("s"))
STOP_AT = [float("inf")]  # set when the test starts


@events.test_start.add_listener
def set_deadline(**_kwargs: Any) -> None:
    """Users stop between sessions just before Locust's own run-time limit."""
    STOP_AT[0] = time.monotonic() + DURATION_S - 0.5


class ChurnUser(User):
    """Connect, one echo, close; repeat with no think time."""

    wait_time = constant(0)

    @task
    def session(self) -> None:
        if time.monotonic() >= STOP_AT[0]:
            raise StopUser()
        start = time.perf_counter()
        ws = websocket.create_connection(URL, timeout=30)
        connected = time.perf_counter()
        events.request.fire(
            request_type="WS",
            name="connect",
            response_time=(connected - start) * 1000.0,
            response_length=0,
            exception=None,
            context={},
        )
        ws.send(MESSAGE)
        reply = ws.recv()
        events.request.fire(
            request_type="WS",
            name="echo",
            response_time=(time.perf_counter() - connected) * 1000.0,
            response_length=len(reply),
            exception=None,
            context={},
        )
        ws.close()
        SESSIONS[0] += 1


@events.quitting.add_listener
def write_count(environment: Any, **_kwargs: Any) -> None:
    """Leave the totals where the harness can read them once the process has ended."""
    path = os.environ.get("BENCH_COUNT_FILE")
    if path:
        with open(path, "w") as fh:
            json.dump(
                {
                    "sessions": SESSIONS[0],
                    "locust_requests": environment.stats.total.num_requests,
                    "locust_failures": environment.stats.total.num_failures,
                },
                fh,
            )
