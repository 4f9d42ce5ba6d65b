"""Locust peer for the idle workload: many connected users, each pinging every few seconds.

Run by `benchmarks/run.py` inside `benchmarks/.venv-locust`, e.g.

    BENCH_URL=ws://127.0.0.1:9001/ BENCH_PING_MS=5000 \
        locust -f benchmarks/locust_idle.py --headless -u 5000 -r 5000 -t 30s --only-summary

What it measures is memory per connected user, so a user does as little as the greenws idle
script: connect once, then every ``BENCH_PING_MS`` send a ping and read frames until its pong.
Each ping round trip fires Locust's ``request`` event (its normal statistics work). The pong
counts are written to ``BENCH_COUNT_FILE`` at exit, as in `locust_pingpong.py`.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import websocket
from locust import User, constant, events, task

URL = os.environ.get("BENCH_URL", "ws://127.0.0.1:9001/")
PING_SECONDS = int(os.environ.get("BENCH_PING_MS", "5000")) / 1000.0
PONGS = [0]


class IdleUser(User):
    """Hold one connection open and keep it alive with a ping every PING_SECONDS."""

    wait_time = constant(PING_SECONDS)

    def on_start(self) -> None:
        self.ws = websocket.create_connection(URL, timeout=60)

    @task
    def ping(self) -> None:
        start = time.perf_counter()
        self.ws.ping(b"idle")
        while True:  # the echo server sends nothing unsolicited, so the next frame is the pong
            opcode, _frame = self.ws.recv_data_frame(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_PONG:
                break
        events.request.fire(
            request_type="WS",
            name="ping",
            response_time=(time.perf_counter() - start) * 1000.0,
            response_length=0,
            exception=None,
            context={},
        )
        PONGS[0] += 1

    def on_stop(self) -> None:
        self.ws.close()


@events.quitting.add_listener
def write_count(environment: Any, **_kwargs: Any) -> None:
    """Leave the totals where the harness can read them once the process has ended."""
    path = os.environ.get("BENCH_COUNT_FILE")
    if path:
        with open(path, "w") as fh:
            json.dump(
                {
                    "round_trips": PONGS[0],
                    "locust_requests": environment.stats.total.num_requests,
                    "locust_failures": environment.stats.total.num_failures,
                },
                fh,
            )
