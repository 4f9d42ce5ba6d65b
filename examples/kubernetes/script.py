"""The test every pod of the Kubernetes example runs: each pod a slice, together the whole.

Locally, against the embedded echo server::

    greenws run --echo-server examples/kubernetes/script.py

In the cluster, ``TARGET_URL`` names the service under test (see ``job.yaml``). Twenty users each
run five sessions, and new sessions arrive at 20 per second for five seconds on top. Every session
sends three messages and closes once all three came back. The thresholds are judged by
``greenws merge`` on all pods' data together: one pod's slice says little about the service.
"""

from greenws import check, env, ws

options = {
    "scenarios": {
        "users": {"executor": "per-vu-iterations", "vus": 20, "iterations": 5},
        "arrivals": {
            "executor": "constant-arrival-rate",
            "rate": 20,
            "timeUnit": "1s",
            "duration": "5s",
            "preAllocatedVUs": 20,
            "maxVUs": 50,
        },
    },
    "thresholds": {
        "ws_connecting": ["p(95)<500"],
        "checks": ["rate>0.99"],
    },
}

TARGET_URL = env.get("TARGET_URL", "ws://127.0.0.1:8765")
MESSAGES = 3


def default():
    received = 0

    def session(socket):
        def on_open():
            for number in range(MESSAGES):
                socket.send(f"hello {number}")

        def on_message(message):
            nonlocal received
            received += 1
            if received == MESSAGES:
                socket.close()

        socket.on("open", on_open)
        socket.on("message", on_message)
        socket.set_timeout(socket.close, 5000)  # a server that stops answering

    response = ws.connect(TARGET_URL, {"tags": {"name": "echo"}}, session)
    check(response, {"status is 101": lambda r: r.status == 101})
    check(received, {"every message came back": lambda n: n == MESSAGES})
