"""Locust peer for the ping-pong workload: each user is one websocket-client connection.

Run by `benchmarks/run.py` inside `benchmarks/.venv-locust`, e.g.

    BENCH_URL=ws://127.0.0.1:9001/ BENCH_COUNT_FILE=/tmp/n.json \
        locust -f benchmarks/locust_pingpong.py --headless -u 100 -r 100 -t 10s --only-summary

Each task is one round trip (send 32 bytes of text, block on the echo) and fires Locust's
``request`` event, so Locust does its normal per-request statistics work: that is the fair
comparison with greenws, which records ``ws_msgs_*`` samples for every message. websocket-client
blocks, but Locust has monkey-patched ``socket`` with gevent before this file is imported, so each
user is a greenlet that yields while it waits.

At exit the round-trip count (our own counter and Locust's request total) is written as JSON to
``BENCH_COUNT_FILE``, because Locust's console summary is meant for people, not for parsing.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import websocket
from locust import User, constant, events, task

URL = os.environ.get("BENCH_URL", "ws://127.0.0.1:9001/")
MESSAGE = "x" * 32
ROUND_TRIPS = [0]  # one list per process: users are greenlets in one thread


class PingPongUser(User):
    """Send a message, wait for its echo, record it, repeat with no think time."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.ws = websocket.create_connection(URL, timeout=30)

    @task
    def round_trip(self) -> None:
        start = time.perf_counter()
        self.ws.send(MESSAGE)
        reply = self.ws.recv()
        events.request.fire(
            request_type="WS",
            name="echo",
            response_time=(time.perf_counter() - start) * 1000.0,
            response_length=len(reply),
            exception=None,
            context={},
        )
        ROUND_TRIPS[0] += 1

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
                    "round_trips": ROUND_TRIPS[0],
                    "locust_requests": environment.stats.total.num_requests,
                    "locust_failures": environment.stats.total.num_failures,
                },
                fh,
            )
