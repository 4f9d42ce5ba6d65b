"""greenws side of the connection-churn benchmark: each iteration is one whole short session.

Run by `benchmarks/run.py`; by hand (with an echo server on port 9001):

    BENCH_URL=ws://127.0.0.1:9001/ BENCH_VUS=50 BENCH_DURATION=10s \
        greenws run --summary-export /tmp/summary.json benchmarks/scripts/churn.py

An iteration connects (TCP + HTTP upgrade), sends 32 bytes of text, waits for the echo, then
closes with 1000 and waits for the server's close frame: the k6 session life cycle, every
built-in metric recorded (``ws_connecting``, ``ws_sessions``, ``ws_session_duration``,
``ws_msgs_*``, ``data_*``, ``iterations``, ``iteration_duration``). The harness divides the
sessions the server accepted by the client's CPU time to get sessions per second per core.
"""

import os

from greenws import ws

# Scenario form for gracefulStop: 0s, as in pingpong.py: every tool stops at the end of duration.
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
    def session(socket):  # type: ignore[no-untyped-def]
        socket.on("open", lambda: socket.send(MESSAGE))
        socket.on("message", lambda message: socket.close(1000))

    ws.connect(URL, None, session)
