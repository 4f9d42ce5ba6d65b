"""A chat room on Socket.IO: VUs join a room, talk with acknowledgements, hear each other.

Start a Socket.IO server (the test server, python-socketio; or Node's with
``NODE_PATH=tests/node/node_modules node tests/kits/socketio_server.js``), which prints
``listening on 127.0.0.1:PORT``, then run::

    python tests/kits/socketio_server.py --port 3000 &
    SOCKETIO_URL=http://127.0.0.1:3000 greenws run examples/protocols/socketio_chat.py

The server's ``join(room)`` acknowledges ``"joined"``; ``chat(room, text)`` acknowledges
``True`` and sends ``chat(room, text)`` to the room's other members. Each VU stays connected
for the whole iteration, sleeping between lines while the kit answers the server's pings, and
counts what it hears. Expect ``socketio_ack_duration`` per event, ``socketio_broadcast_latency``
(one VU's line to another's receipt of it) and both thresholds passing.
"""

import os
import uuid

from greenws import Counter, check, sleep, vu
from greenws.kits import socketio

options = {
    "vus": 4,
    "duration": "10s",
    "thresholds": {
        "checks": ["rate==1.0"],
        "socketio_ack_duration{event:chat}": ["p(95)<500"],
        "socketio_broadcast_latency": ["p(95)<500"],
    },
}

URL = os.environ.get("SOCKETIO_URL", "http://127.0.0.1:3000")
ROOM = "lobby"
LINES = 5
heard = Counter("chat_lines_heard")


def default():
    with socketio.connect(URL, {"tags": {"name": "chat"}}) as sio:
        sio.on("chat", lambda room, text: heard.add(1, {"room": room}))
        check(sio.call("join", ROOM), {"joined": lambda answer: answer == "joined"})
        for line in range(LINES):
            text = f"vu{vu.id} line {line} {uuid.uuid4().hex[:8]}"  # unique: timed once
            check(sio.call("chat", ROOM, text), {"chat acked": lambda ok: ok is True})
            sleep(0.5)
