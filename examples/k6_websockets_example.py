"""k6's own documented ``k6/websockets`` example, in Python, against the embedded echo server.

Run it (the flag starts the echo server on 127.0.0.1:8765 for the length of the run)::

    greenws run --echo-server examples/k6_websockets_example.py

As in k6's documentation, each VU starts four workers, each its own WebSocket in the same VU: a
worker sets its name, says something on a random interval, leaves the chat after a random session
length and closes the socket a little later (k6 waits 3 s, this port 1 s). k6's example talks to
a chat service; the echo server sends each event back, so every worker hears itself. Session
lengths are shorter than k6's (1-2 s instead of 5-60 s) so the example finishes quickly. Expect
8 sessions (2 VUs, 4 workers each) and the WEBSOCKET section filled in.
"""

import json
import random
import string

from greenws import console, vu
from greenws.websockets import WebSocket, clear_interval, clear_timeout, set_interval, set_timeout

options = {"vus": 2, "iterations": 2}

CHAT_ROOM = "publicRoom"
SESSION_MS = random.randint(1000, 2000)


def random_string(length):
    return "".join(random.choice(string.ascii_lowercase) for _ in range(length))


def default():
    for worker in range(4):
        start_ws_worker(worker)


def start_ws_worker(worker):
    # k6: `wss://test-api.k6.io/ws/crocochat/${chatRoomName}/`; here the local echo server.
    url = f"ws://127.0.0.1:8765/ws/crocochat/{CHAT_ROOM}/"
    sock = WebSocket(url)
    sock.binary_type = "arraybuffer"

    def on_open(event):
        sock.send(json.dumps({"event": "SET_NAME", "new_name": f"Croc {vu.id}:{worker}"}))

        def on_message(event):
            message = json.loads(event.data)
            if message["event"] == "SAY":  # the echo of what we said
                console.log(f"VU {vu.id}:{worker} received: {message['message']}")
            else:
                console.log(f"VU {vu.id}:{worker} received unhandled message: {message['event']}")

        sock.add_event_listener("message", on_message)

        interval = set_interval(
            lambda: sock.send(json.dumps({"event": "SAY", "message": random_string(5)})),
            random.randint(200, 800),
        )

        def leave():
            clear_interval(interval)
            console.log(f"VU {vu.id}:{worker}: {SESSION_MS}ms passed, leaving the chat")
            sock.send(json.dumps({"event": "LEAVE"}))

        timeout1 = set_timeout(leave, SESSION_MS)

        def close_forcefully():
            console.log(f"VU {vu.id}:{worker}: closing the socket 1s after the graceful LEAVE")
            sock.close()

        timeout2 = set_timeout(close_forcefully, SESSION_MS + 1000)

        def on_close(event):
            clear_timeout(timeout1)
            clear_timeout(timeout2)
            console.log(f"VU {vu.id}:{worker}: disconnected")

        sock.add_event_listener("close", on_close)

    sock.add_event_listener("open", on_open)
