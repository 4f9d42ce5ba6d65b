"""greenws side of the idle benchmark: many connected VUs, each pinging every few seconds.

Run by `benchmarks/run.py`; by hand (with an echo server on port 9001):

    BENCH_URL=ws://127.0.0.1:9001/ BENCH_VUS=1000 BENCH_DURATION=25s BENCH_PING_MS=5000 \
        greenws run benchmarks/scripts/idle.py

What the harness reads is the process's resident memory while all VUs are connected, so a VU does
as little as possible: connect, ping on an interval, stay open until the end of the test closes
the socket. Compare the RSS with ``BENCH_VUS=1`` to get the memory one more VU costs.
"""

import os

from greenws import ws

# k6's scenario form, for gracefulStop: 0s. With the `vus`/`duration` shortcut a session still
# open at the end would get k6's default 30 s graceful stop; Locust stops its users at once, and so
# do we: at the end of `duration` every socket is closed (1001) and the process exits.
options = {
    "scenarios": {
        "idle": {
            "executor": "constant-vus",
            "vus": int(os.environ.get("BENCH_VUS", "1000")),
            "duration": os.environ.get("BENCH_DURATION", "25s"),
            "gracefulStop": "0s",
        }
    }
}
URL = os.environ.get("BENCH_URL", "ws://127.0.0.1:9001/")
PING_MS = int(os.environ.get("BENCH_PING_MS", "5000"))
SESSION_MS = int(os.environ.get("BENCH_SESSION_MS", "600000"))  # longer than any run


def default() -> None:
    def session(socket):  # type: ignore[no-untyped-def]
        socket.set_interval(lambda: socket.ping(), PING_MS)
        socket.set_timeout(lambda: socket.close(), SESSION_MS)

    ws.connect(URL, None, session)
