"""greenws ping-pong through the sequential ``ws.open`` socket: send, then ``recv`` the echo.

The same traffic as ``pingpong.py`` (which uses ``ws.connect``), so ``benchmarks/apis.py`` can
compare what each socket API costs per round trip. By hand (echo server on port 9001):

    BENCH_URL=ws://127.0.0.1:9001/ BENCH_VUS=100 BENCH_DURATION=10s \
        greenws run --summary-export /tmp/summary.json benchmarks/scripts/pingpong_open.py
"""

import os

from greenws import ws

options = {
    "scenarios": {
        "pingpong": {
            "executor": "constant-vus",
            "vus": int(os.environ.get("BENCH_VUS", "100")),
            "duration": os.environ.get("BENCH_DURATION", "10s"),
            "gracefulStop": "0s",
        }
    }
}
URL = os.environ.get("BENCH_URL", "ws://127.0.0.1:9001/")
MESSAGE = "x" * 32


def default() -> None:
    with ws.open(URL) as sock:
        while True:  # until the end of the test interrupts the VU
            sock.send(MESSAGE)
            sock.recv()
