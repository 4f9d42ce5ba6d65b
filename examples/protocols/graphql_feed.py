"""A GraphQL subscription feed: subscribers wait on a feed, one scenario publishes by mutation.

Start a server that speaks both GraphQL-over-WebSocket protocols (the test suite's strawberry
server; it prints the port it chose), then point the script at it::

    python tests/kits/graphql_strawberry_server.py          # listening on 127.0.0.1:PORT
    GRAPHQL_URL=ws://127.0.0.1:PORT/graphql greenws run examples/protocols/graphql_feed.py

(``node tests/kits/graphql_ws_server.js`` serves the same schema with the graphql-ws library.)

Five subscriber VUs each subscribe to the ``news`` feed and read what arrives; one publisher VU
sends a ``publish`` mutation five times a second. Expect ``graphql_events`` to grow with
subscribers x publishes, ``graphql_subscribe_first_event`` (subscribe to first message: at most
one publish interval plus the trip) under its threshold, and ``graphql_broadcast_latency``:
publish mutation sent to the feed message received, across VUs, for each delivery.
``DURATION`` shortens the run (the tests use 3s).
"""

import os

from greenws import check, sleep, vu
from greenws.kits import graphql

URL = os.environ.get("GRAPHQL_URL", "ws://127.0.0.1:8000/graphql")
DURATION = os.environ.get("DURATION", "20s")

options = {
    "scenarios": {
        "subscribers": {
            "executor": "constant-vus",
            "vus": 5,
            "duration": DURATION,
            "exec": "subscriber",
        },
        "publisher": {
            "executor": "constant-vus",
            "vus": 1,
            "duration": DURATION,
            "exec": "publisher",
        },
    },
    "thresholds": {
        "checks": ["rate==1.0"],
        "graphql_subscribe_first_event": ["p(95)<2000"],
        "graphql_broadcast_latency": ["p(95)<1000"],
    },
}

FEED = 'subscription Feed { feed(channel: "news") { text seq } }'
PUBLISH = 'mutation Publish($text: String!) { publish(channel: "news", text: $text) }'


def text_of(event):
    """The key a delivery is matched to its publish by (for graphql_broadcast_latency)."""
    return event["data"]["feed"]["text"]


def subscriber():
    with graphql.connect(URL, payload={"token": f"vu{vu.id}"}, timeout=10) as gql:
        feed = gql.subscribe(FEED, broadcast=text_of)
        for _ in range(25):  # about five seconds of news, then a fresh session
            try:
                event = feed.recv(timeout=2)
            except graphql.ReceiveTimeout:
                break  # the publisher has stopped: the run is ending
            check(event, {"a news item": lambda e: e["data"]["feed"]["text"].startswith("n")})


def publisher():
    with graphql.connect(URL, timeout=10) as gql:
        for n in range(25):
            text = f"n{vu.id}-{vu.iteration}-{n}"
            result = gql.execute(PUBLISH, {"text": text}, broadcast=text)
            check(result, {"published": lambda r: not r.get("errors")})
            sleep(0.2)
