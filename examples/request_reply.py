"""Request/reply latency with the sequential ``ws.open`` API, against the embedded echo server.

Run it (the flag starts the echo server on 127.0.0.1:8765 for the length of the run)::

    greenws run --echo-server examples/request_reply.py

A greenlet can block, so a request/reply protocol needs no callbacks: each iteration opens a
socket, subscribes, then sends ten numbered requests and waits for the reply that carries the
same number. ``request`` records the time between each send and its reply in the built-in
``ws_request_duration`` Trend, tagged with ``name=quote``; a threshold holds its p(95). Expect
the WEBSOCKET section to show ``ws_request_duration`` next to ``ws_ping``.
"""

from greenws import check, ws

options = {
    "vus": 2,
    "duration": "5s",
    "thresholds": {"ws_request_duration{name:quote}": ["p(95)<500"], "checks": ["rate==1.0"]},
}

URL = "ws://127.0.0.1:8765/quotes"


def default():
    with ws.open(URL, {"tags": {"name": "quotes"}}) as sock:
        sock.send("subscribe:prices")
        check(sock.recv(timeout=5), {"subscribed": lambda m: m == "subscribe:prices"})
        sock.ping()  # its pong is read during the next request and recorded in ws_ping
        for n in range(10):
            reply = sock.request(
                f"{n}:get-quote",
                timeout=5,
                match=lambda m, n=n: m.startswith(f"{n}:"),
                name="quote",
            )
            check(reply, {"reply matches request": lambda r, n=n: r == f"{n}:get-quote"})
