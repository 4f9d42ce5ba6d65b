"""Log in over HTTP, then chat over a WebSocket with the session cookie and a bearer token.

Run it against the embedded echo server, whose ``POST /login`` hands out a token and a
``session`` cookie and whose ``/private`` accepts only a handshake that carries both::

    greenws run --echo-server examples/login_then_chat.py

What it shows: ``http.post`` with a form body; ``res.json("token")``; the cookie the login sets
lands in the VU's jar, and ``ws.connect`` sends it with the upgrade by itself; the token goes in
an ``Authorization: Bearer`` header; the summary has k6's HTTP block (``http_req_duration`` and
its ``{ expected_response:true }`` line, ``http_req_failed``, ``http_reqs``) above WEBSOCKET.
It is the port of this k6 script, line by line::

    import http from "k6/http";
    import ws from "k6/ws";
    import { check } from "k6";

    export default function () {
      const res = http.post("http://127.0.0.1:8765/login", { user: `user${__VU}`, password: "pw" });
      check(res, { "logged in": (r) => r.status === 200 });
      const token = res.json("token");
      const params = { headers: { Authorization: `Bearer ${token}` } };
      const chat = ws.connect("ws://127.0.0.1:8765/private", params, (socket) => {
        socket.on("open", () => socket.send(`hello from VU ${__VU}`));
        socket.on("message", () => socket.close());
      });
      check(chat, { "chat open": (r) => r && r.status === 101 });
      http.post("http://127.0.0.1:8765/logout");
    }
"""

from greenws import check, http, vu, ws

options = {
    "vus": 2,
    "duration": "5s",
    "thresholds": {
        "http_req_failed": ["rate<0.01"],
        "http_req_duration{expected_response:true}": ["p(95)<500"],
    },
}

BASE = "http://127.0.0.1:8765"


def default():
    res = http.post(f"{BASE}/login", {"user": f"user{vu.id}", "password": "pw"})
    check(res, {"logged in": lambda r: r.status == 200})
    token = res.json("token")
    params = {"headers": {"Authorization": f"Bearer {token}"}}
    replies = []

    def session(socket):
        socket.on("open", lambda: socket.send(f"hello from VU {vu.id}"))
        socket.on("message", lambda message: (replies.append(message), socket.close()))

    chat = ws.connect("ws://127.0.0.1:8765/private", params, session)
    check(chat, {"chat open": lambda r: r is not None and r.status == 101})
    check(replies, {"the server echoed us": lambda r: r == [f"hello from VU {vu.id}"]})
    http.post(f"{BASE}/logout")
