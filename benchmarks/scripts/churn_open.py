"""greenws connection churn through the sequential ``ws.open``: one whole session per iteration.

The same traffic as ``churn.py`` (which uses ``ws.connect``): connect, send 32 bytes, wait for
the echo, close with 1000 and wait for the server's close frame. By hand (echo server on 9001):

    BENCH_URL=ws://127.0.0.1:9001/ BENCH_VUS=50 BENCH_DURATION=10s \
        greenws run --summary-export /tmp/summary.json benchmarks/scripts/churn_open.py
"""

import os

from greenws import ws

options = {
    "scenarios": {
        "churn": {
            "executor": "constant-vus",
            "vus": int(os.environ.get("BENCH_VUS", "50")),
            "duration": os.environ.get("BENCH_DURATION", "10s"),
            "gracefulStop": "0s",
        }
    }
}
URL = os.environ.get("BENCH_URL", "ws://127.0.0.1:9001/")
MESSAGE = "x" * 32


def default() -> None:
    with ws.open(URL) as sock:
        sock.send(MESSAGE)
        sock.recv()
