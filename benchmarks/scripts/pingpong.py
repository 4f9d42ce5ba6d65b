"""greenws side of the ping-pong benchmark: each VU keeps exactly one message in flight.

Run by `benchmarks/run.py`; by hand (with an echo server on port 9001):

    BENCH_URL=ws://127.0.0.1:9001/ BENCH_VUS=100 BENCH_DURATION=10s \
        greenws run --summary-export /tmp/summary.json benchmarks/scripts/pingpong.py

Every VU opens one connection, sends 32 bytes of text and sends the next message as soon as the
echo arrives, so the round-trip rate is bounded by the client's CPU (with a fast server). The round
trips are counted by greenws itself: ``metrics.ws_msgs_received.count`` in the summary export.
The 60 s timeout only bounds a session if the run's duration is longer; normally the end of the
test closes every socket (code 1001).
"""

import os

from greenws import ws

# k6's scenario form, for gracefulStop: 0s. With the `vus`/`duration` shortcut a session still
# open at the end would get k6's default 30 s graceful stop; Locust stops its users at once, and so
# do we: at the end of `duration` every socket is closed (1001) and the process exits.
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
    def session(socket):  # type: ignore[no-untyped-def]
        def on_open() -> None:
            socket.send(MESSAGE)

        def on_message(message: str) -> None:
            socket.send(MESSAGE)

        socket.on("open", on_open)
        socket.on("message", on_message)
        socket.set_timeout(lambda: socket.close(), 60_000)  # outlives any run

    ws.connect(URL, None, session)
