"""Drive greenws's own Socket through the Autobahn fuzzing server's cases (the standard agent flow)."""

import os

from greenws import ws

options = {"iterations": 1, "vus": 1}
BASE = os.environ.get("AUTOBAHN_URL", "ws://127.0.0.1:9001")
AGENT = "greenws"
# AUTOBAHN_COMPRESSION=deflate offers permessage-deflate on every case (cases 12 and 13).
PARAMS = (
    {"compression": os.environ["AUTOBAHN_COMPRESSION"]}
    if os.environ.get("AUTOBAHN_COMPRESSION")
    else None
)


def default():
    count = []

    def read_count(socket):
        socket.on("message", lambda message: count.append(int(message)))

    ws.connect(f"{BASE}/getCaseCount", None, read_count)

    def echo(socket):
        socket.on("message", lambda message: socket.send(message))
        socket.on("binaryMessage", lambda data: socket.send_binary(data))

    for case in range(1, count[0] + 1):
        ws.connect(f"{BASE}/runCase?case={case}&agent={AGENT}", PARAMS, echo)
    ws.connect(f"{BASE}/updateReports?agent={AGENT}", None, None)
