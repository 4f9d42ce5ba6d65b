"""A STOMP topic fan-out: one publisher, many subscribers, the latency from publish to each one.

Start a broker with Web-STOMP (the tests' private RabbitMQ, on free ports; it prints the URL,
Ctrl+C stops it)::

    PYTHONPATH=tests python tests/kits/rabbitmq.py rabbitmq_web_stomp

or any broker you have (``rabbitmq-plugins enable rabbitmq_web_stomp`` serves
``ws://127.0.0.1:15674/ws``), then::

    STOMP_URL=ws://127.0.0.1:15674/ws greenws run examples/protocols/stomp_fanout.py

The ``subscribers`` scenario keeps SUBSCRIBERS VUs (default 20) subscribed to ``/topic/ticks``
for the whole run; the ``publisher`` scenario starts one second later and sends a tick every
100 ms. No correlation code: the kit matches each delivery to its SEND by destination and body,
so ``stomp_broadcast_latency`` counts about SUBSCRIBERS deliveries per tick, and the threshold
fails the run if the 95th percentile exceeds 250 ms. Heart-beats (5 s) are answered in the
background while the subscribers wait.
"""

import os

from greenws import check, sleep, vu
from greenws.kits import stomp

URL = os.environ.get("STOMP_URL", "ws://127.0.0.1:15674/ws")
SUBSCRIBERS = int(os.environ.get("SUBSCRIBERS", "20"))
DURATION = os.environ.get("DURATION", "20s")
TOPIC = "/topic/ticks"

options = {
    "scenarios": {
        "subscribers": {
            "executor": "constant-vus",
            "vus": SUBSCRIBERS,
            "duration": DURATION,
            "exec": "subscriber",
        },
        "publisher": {
            "executor": "constant-vus",
            "vus": 1,
            "duration": DURATION,
            "startTime": "1s",
            "exec": "publisher",
        },
    },
    "thresholds": {
        "stomp_broadcast_latency": ["p(95)<250"],
        "checks": ["rate==1.0"],
    },
}


def subscriber():
    with stomp.connect(URL, heartbeat=(5000, 5000)) as session:
        ticks = session.subscribe(TOPIC, receipt=True)
        while not session.closed:
            try:
                ticks.recv(timeout=2)
            except stomp.ReceiveTimeout:
                break  # the publisher is done (or not started): start a new session
        check(session, {"still connected": lambda s: not s.closed})


def publisher():
    with stomp.connect(URL, heartbeat=(5000, 5000)) as session:
        for n in range(50):
            session.send(TOPIC, f"tick {vu.id}-{vu.iteration}-{n}", content_type="text/plain")
            sleep(0.1)
        session.send(TOPIC, "last", receipt=True)
