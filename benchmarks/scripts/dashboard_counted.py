"""A fixed amount of traffic for ``benchmarks/dashboard_instructions.py``: counted, not timed.

``BENCH_WORKLOAD`` is ``pingpong`` (one VU, one ``ws.connect`` session, ``BENCH_COUNT`` round
trips of 32 bytes) or ``idle`` (the VU sleeps ``BENCH_COUNT`` seconds: what the run's timers
cost per second of test time, to be taken out of the other figure). With ``BENCH_GATE_FILE``
the VU first waits (at most 300 s) for that file, which the benchmark's event-stream client
creates once it is connected, so a watched run is watched from its first round trip. The
seconds from the start of ``default`` to the end of the workload go to ``BENCH_ELAPSED_FILE``:
the run's clock-driven work is proportional to them, and under valgrind they vary from run to
run.
"""

import os
import time

from greenws import sleep, ws

WORKLOAD = os.environ["BENCH_WORKLOAD"]
COUNT = int(os.environ["BENCH_COUNT"])
URL = os.environ.get("BENCH_URL", "")
MESSAGE = "x" * 32
options = {"iterations": 1}


def pingpong() -> None:
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


def idle() -> None:
    sleep(COUNT)


def default() -> None:
    started = time.monotonic()
    gate = os.environ.get("BENCH_GATE_FILE")
    while gate and not os.path.exists(gate):
        if time.monotonic() - started > 300:
            raise RuntimeError("the event-stream client never connected")
        sleep(0.05)
    (pingpong if WORKLOAD == "pingpong" else idle)()
    with open(os.environ["BENCH_ELAPSED_FILE"], "w") as out:
        out.write(str(time.monotonic() - started))
