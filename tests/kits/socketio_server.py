"""A Socket.IO v4 server: python-socketio's ``AsyncServer`` as an ASGI app under uvicorn.

Run: ``python tests/kits/socketio_server.py [--ping-interval S] [--ping-timeout S]``; it binds
127.0.0.1 on a free port and prints ``listening on 127.0.0.1:PORT`` first. The same events as
``socketio_server.js`` (Node's socket.io), so one test runs against both implementations:

- namespace ``/``: ``auth={"token": ...}`` other than ``"secret"`` is refused (CONNECT_ERROR
  ``bad token``); the connect handler emits ``welcome`` (python-socketio sends it *before* the
  CONNECT acknowledgement); ``join(room)`` → ack ``"joined"``; ``chat(room, text)`` → ack
  ``True`` and ``chat(room, text)`` to the room's other members; ``add(a, b)`` → ack ``a + b``;
  ``echo(*args)`` → ack with the same arguments (binary included); ``binary(*args)`` → emits
  ``binary`` back with the same arguments; ``ask(question)`` → the server asks the client
  ``question`` with an ack and emits ``answer`` with what the client acknowledged;
  ``kick()`` → the server disconnects the client; ``drop()`` → the server closes the
  transport without a DISCONNECT (an unexpected drop); ``transport()`` → ack with the name of
  the Engine.IO transport the session is on now (``polling`` or ``websocket``); ``stats()`` →
  ack with what it counted;
- namespace ``/admin``: token ``"admin"`` only; ``whoami()`` → ack ``"admin"``.

``stats`` counts events by name (``stats`` itself excluded), connects, the transport each
connect came on (``starts``), refusals, client acknowledgements received and disconnect reasons
(``ping timeout`` among them).

python-engineio advertises ``int(interval + grace) * 1000`` as ``pingInterval``: 0 for the
tests' 0.3 s, so the server is given the grace that rounds it up to a whole second (it pings
every 0.3 s all the same) and clients read a true upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
from collections import Counter
from typing import Any

import socketio
import uvicorn

EVENTS: Counter[str] = Counter()
COUNTS: Counter[str] = Counter()
REASONS: Counter[str] = Counter()
STARTS: Counter[str] = Counter()


def build(ping_interval: float, ping_timeout: float) -> socketio.AsyncServer:
    grace = math.ceil(ping_interval) - ping_interval
    sio = socketio.AsyncServer(
        async_mode="asgi",
        ping_interval=(ping_interval, grace),
        ping_timeout=ping_timeout,
        cors_allowed_origins="*",
    )

    @sio.event
    async def connect(sid: str, environ: Any, auth: Any = None) -> None:
        if isinstance(auth, dict) and auth.get("token", "secret") != "secret":
            COUNTS["refused"] += 1
            raise socketio.exceptions.ConnectionRefusedError("bad token")
        COUNTS["connects"] += 1
        STARTS[sio.transport(sid)] += 1
        await sio.emit("welcome", {"sid": sid}, to=sid)

    @sio.event
    async def disconnect(sid: str, reason: Any = None) -> None:
        REASONS[str(reason)] += 1

    @sio.on("*")
    async def any_event(event: str, sid: str, *args: Any) -> Any:
        EVENTS[event] += 1
        return None

    def counted(name: str) -> Any:
        def register(handler: Any) -> Any:
            async def wrapper(sid: str, *args: Any) -> Any:
                if name != "stats":
                    EVENTS[name] += 1
                return await handler(sid, *args)

            sio.on(name)(wrapper)
            return handler

        return register

    @counted("join")
    async def join(sid: str, room: str) -> str:
        await sio.enter_room(sid, room)
        return "joined"

    @counted("chat")
    async def chat(sid: str, room: str, text: Any) -> bool:
        await sio.emit("chat", (room, text), room=room, skip_sid=sid)
        return True

    @counted("add")
    async def add(sid: str, a: float, b: float) -> float:
        return a + b

    @counted("echo")
    async def echo(sid: str, *args: Any) -> tuple[Any, ...]:
        return args

    @counted("binary")
    async def binary(sid: str, *args: Any) -> None:
        await sio.emit("binary", args, to=sid)

    @counted("ask")
    async def ask(sid: str, question: Any) -> None:
        async def asking() -> None:
            answer = await sio.call("question", question, to=sid, timeout=10)
            COUNTS["answers"] += 1
            await sio.emit("answer", answer, to=sid)

        sio.start_background_task(asking)

    @counted("kick")
    async def kick(sid: str) -> None:
        COUNTS["kicks"] += 1
        await sio.disconnect(sid)

    @counted("drop")
    async def drop(sid: str) -> None:
        COUNTS["drops"] += 1  # the transport goes, with no DISCONNECT: the client may reconnect
        await sio.eio.disconnect(sio.manager.eio_sid_from_sid(sid, "/"))

    @counted("transport")
    async def transport(sid: str) -> str:
        return str(sio.transport(sid))

    @counted("stats")
    async def stats(sid: str) -> dict[str, Any]:
        return {
            "events": dict(EVENTS),
            **dict(COUNTS),
            "reasons": dict(REASONS),
            "starts": dict(STARTS),
        }

    @sio.on("connect", namespace="/admin")
    async def admin_connect(sid: str, environ: Any, auth: Any = None) -> None:
        if not isinstance(auth, dict) or auth.get("token") != "admin":
            COUNTS["refused"] += 1
            raise socketio.exceptions.ConnectionRefusedError("admins only")
        COUNTS["admin_connects"] += 1

    @sio.on("whoami", namespace="/admin")
    async def whoami(sid: str) -> str:
        EVENTS["whoami"] += 1
        return "admin"

    return sio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ping-interval", type=float, default=0.3)
    parser.add_argument("--ping-timeout", type=float, default=0.2)
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()
    app = socketio.ASGIApp(build(options.ping_interval, options.ping_timeout))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", options.port))
    listener.listen(128)  # before the line: a client may connect at once
    host, port = listener.getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    config = uvicorn.Config(app, log_level="warning", ws="websockets-sansio", lifespan="off")
    asyncio.run(uvicorn.Server(config).serve(sockets=[listener]))


if __name__ == "__main__":
    main()
