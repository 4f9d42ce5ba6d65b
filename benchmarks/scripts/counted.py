"""A fixed amount of traffic for ``benchmarks/instructions.py``: one VU, counted, not timed.

``BENCH_WORKLOAD`` is ``pingpong`` (one session, ``BENCH_COUNT`` round trips of 32 bytes) or
``churn`` (``BENCH_COUNT`` sessions, one echo each) or ``idle`` (no traffic: the VU sleeps
``BENCH_COUNT`` seconds, so that what the run's timers cost per second can be taken out of the
others, see ``instructions.py``); ``BENCH_API`` picks ``connect``
(``ws.connect``), ``websocket`` (the standard ``WebSocket``) or ``open`` (``ws.open``). The same
script with twice the count tells what one more round trip or session costs, whatever the run's
start-up costs.
"""

import os
import time

from greenws import sleep, ws
from greenws.websockets import WebSocket

WORKLOAD = os.environ["BENCH_WORKLOAD"]
API = os.environ["BENCH_API"]
COUNT = int(os.environ["BENCH_COUNT"])
URL = os.environ["BENCH_URL"]
MESSAGE = "x" * 32
options = {"iterations": COUNT if WORKLOAD == "churn" else 1}


def pingpong_connect() -> None:
    left = [COUNT]

    def session(socket):
        def on_message(_text):
            left[0] -= 1
            if left[0]:
                socket.send(MESSAGE)
            else:
                socket.close(1000)

        socket.on("open", lambda: socket.send(MESSAGE))
        socket.on("message", on_message)

    ws.connect(URL, None, session)


def pingpong_websocket() -> None:
    left = [COUNT]
    sock = WebSocket(URL)

    def on_message(_event):
        left[0] -= 1
        if left[0]:
            sock.send(MESSAGE)
        else:
            _write_elapsed()  # default() returned long ago: the loop ran the round trips
            sock.close(1000)

    sock.onopen = lambda _event: sock.send(MESSAGE)
    sock.onmessage = on_message


def pingpong_open() -> None:
    with ws.open(URL) as sock:
        for _ in range(COUNT):
            sock.send(MESSAGE)
            sock.recv()


def churn_connect() -> None:
    def session(socket):
        socket.on("open", lambda: socket.send(MESSAGE))
        socket.on("message", lambda _text: socket.close(1000))

    ws.connect(URL, None, session)


def churn_websocket() -> None:
    sock = WebSocket(URL)
    sock.onopen = lambda _event: sock.send(MESSAGE)
    sock.onmessage = lambda _event: sock.close(1000)


def churn_open() -> None:
    with ws.open(URL) as sock:
        sock.send(MESSAGE)
        sock.recv()


def idle() -> None:
    sleep(COUNT)


_WORK = idle if WORKLOAD == "idle" else globals()[f"{WORKLOAD}_{API}"]
_STARTED: list[float] = []


def _write_elapsed() -> None:
    with open(os.environ["BENCH_ELAPSED_FILE"], "w") as out:
        out.write(str(time.monotonic() - _STARTED[0]))


def default() -> None:
    """The workload; after the last iteration, the seconds since the first one began go to
    ``BENCH_ELAPSED_FILE`` (the run's clock-driven work is proportional to them).

    The standard ``WebSocket``'s ping-pong writes them at its last message instead: its
    ``default()`` returns at once and the VU's loop runs the round trips afterwards, so the
    time written here was ~0 and the clock's work during the round trips was never taken out:
    at ~229 k instructions per second of test time, each second the 6,000-round-trip run took
    longer than the 3,000 one added ~76 instructions to the WebSocket's figure per round trip,
    and valgrind runs much longer on a loaded machine.
    """
    _STARTED.append(time.monotonic())
    _WORK()
    if WORKLOAD == "pingpong" and API == "websocket":
        return
    if len(_STARTED) == options["iterations"]:  # written once, not a syscall per iteration
        _write_elapsed()
