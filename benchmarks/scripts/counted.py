"""A fixed amount of traffic for ``benchmarks/instructions.py``: one VU, counted, not timed.

``BENCH_WORKLOAD`` is ``pingpong`` (one session, ``BENCH_COUNT`` round trips of 32 bytes) or
``churn`` (``BENCH_COUNT`` sessions, one echo each); ``BENCH_API`` picks ``connect``
(``ws.connect``), ``websocket`` (the standard ``WebSocket``) or ``open`` (``ws.open``). The same
script with twice the count tells what one more round trip or session costs, whatever the run's
start-up costs.
"""

import os

from greenws import ws
from greenws.websockets import WebSocket

WORKLOAD = os.environ["BENCH_WORKLOAD"]
API = os.environ["BENCH_API"]
COUNT = int(os.environ["BENCH_COUNT"])
URL = os.environ["BENCH_URL"]
MESSAGE = "x" * 32
options = {"iterations": 1 if WORKLOAD == "pingpong" else COUNT}


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


default = globals()[f"{WORKLOAD}_{API}"]
