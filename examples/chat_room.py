"""A chat room with several sockets per VU, on k6's standard WebSocket API (``k6/websockets``).

Run it (the flag starts the echo server on 127.0.0.1:8765 for the length of the run)::

    greenws run --echo-server examples/chat_room.py

Each VU seats three members in the room, each on its own WebSocket, all served by the VU's one
event loop: no greenlet per socket. Every member announces itself, talks on an interval, leaves
after two seconds and closes; the echo server plays the room, sending every line back. The
iteration ends when all three sockets are closed and no timer is pending. Expect the WEBSOCKET
section to count three sessions per iteration, all tagged ``name=chat-room`` although each url
carries its own query string.
"""

import json

from greenws import Counter, check, vu
from greenws.websockets import WebSocket, clear_interval, set_interval, set_timeout

options = {
    "vus": 2,
    "duration": "6s",
    "thresholds": {"checks": ["rate==1.0"], "ws_session_duration": ["p(95)<10000"]},
}

URL = "ws://127.0.0.1:8765/chat"
MEMBERS = 3
lines_heard = Counter("chat_lines_heard")


def join(member: int) -> None:
    name = f"vu{vu.id}-member{member}"
    sock = WebSocket(f"{URL}?user={name}", params={"tags": {"name": "chat-room"}})
    said = []

    def on_open(event):
        sock.send(json.dumps({"event": "JOIN", "user": name}))
        talking = set_interval(lambda: say(f"line {len(said)}"), 300)

        def leave():
            clear_interval(talking)
            sock.send(json.dumps({"event": "LEAVE", "user": name}))
            set_timeout(sock.close, 200)  # let the LEAVE echo arrive first

        set_timeout(leave, 2000)

    def say(text):
        said.append(text)
        sock.send(json.dumps({"event": "SAY", "user": name, "message": text}))

    def on_message(event):
        line = json.loads(event.data)
        if line["event"] == "SAY":
            lines_heard.add(1)

    def on_close(event):
        check(event, {"closed cleanly": lambda e: e.was_clean and e.code == 1000})

    sock.onopen = on_open
    sock.onmessage = on_message
    sock.onclose = on_close
    sock.onerror = lambda event: print(f"{name}: error: {event.error}")


def default():
    for member in range(MEMBERS):
        join(member)
