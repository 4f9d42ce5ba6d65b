"""k6's own documented ``k6/ws`` example, in Python, against the embedded echo server.

Run it (the flag starts the echo server on 127.0.0.1:8765 for the length of the run)::

    greenws run --echo-server examples/k6_ws_example.py

Two VUs loop for five seconds. Each iteration opens a socket, sends a timestamp, pings every second,
logs every event with ``console.log`` (to stderr, as in k6), and closes after two seconds; the
check verifies the 101 handshake. Expect 6 complete iterations and a summary with the WEBSOCKET
section filled in, alone on stdout.
"""

import time

from greenws import check, console, ws

options = {"vus": 2, "duration": "5s"}


def default():
    url = "ws://127.0.0.1:8765"
    params = {"tags": {"my_tag": "hello"}}

    def session(socket):
        def on_open():
            console.log("connected")
            socket.send(str(int(time.time() * 1000)))
            socket.set_interval(lambda: socket.ping(), 1000)  # milliseconds, as in k6

        socket.on("open", on_open)
        socket.on("ping", lambda: console.log("PING!"))
        socket.on("pong", lambda: console.log("PONG!"))
        socket.on("pong", lambda: console.log("OTHER PONG!"))  # several handlers per event
        socket.on("message", lambda message: console.log(f"Received message: {message}"))
        socket.on("close", lambda code: console.log("disconnected"))
        socket.on("error", lambda e: console.log("error:", e.error()))
        socket.set_timeout(lambda: socket.close(), 2000)

    res = ws.connect(url, params, session)
    check(res, {"status is 101": lambda r: r is not None and r.status == 101})
