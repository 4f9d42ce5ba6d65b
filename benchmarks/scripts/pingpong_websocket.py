"""greenws ping-pong through the standard ``WebSocket`` (k6/websockets): one message in flight.

The same traffic as ``pingpong.py`` (which uses ``ws.connect``), so ``benchmarks/apis.py`` can
compare what each socket API costs per round trip. By hand (echo server on port 9001):

    BENCH_URL=ws://127.0.0.1:9001/ BENCH_VUS=100 BENCH_DURATION=10s \
        greenws run --summary-export /tmp/summary.json benchmarks/scripts/pingpong_websocket.py
"""

import os

from greenws.websockets import WebSocket

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
    sock = WebSocket(URL)
    sock.onopen = lambda: sock.send(MESSAGE)
    sock.onmessage = lambda: sock.send(MESSAGE)
