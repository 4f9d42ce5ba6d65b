"""An independent WebSocket server (the ``websockets`` library) for greenws's interop tests.

Run: ``python tests/interop/websockets_server.py [--port 0]``. It binds 127.0.0.1 only and prints
``listening on 127.0.0.1:PORT`` as its first stdout line (tests read the port from it); SIGTERM or
SIGINT stops it, closing open connections with 1001.

Why a second server: our echo target is built on gevent-websocket, so testing greenws's client only
against it could hide a bug the two share. Routes, by request path:

- ``/echo``, ``/``: echo text as text, binary as binary.
- ``/close?code=4001&reason=bye``: close with that code and reason right after open.
- ``/close-after?n=2&code=1000&reason=``: echo ``n`` messages, then close with that code.
- ``/reject?status=429&body=slow+down``: refuse the handshake with that HTTP status and body.
- ``/ping``: send a ping (payload ``b"srv"``) right after open, then echo.
- ``/headers``: send one text message, the JSON of the request headers (lower-case keys).
- ``/subprotocol``: negotiate ``chat.v2`` or ``chat.v1`` (the first the client offers), then send
  the selected one (empty string if none) as a text message.
- ``/binary?size=1048576``: send one binary message of that many bytes (``bytes(range(256))``
  repeated), then echo.
- ``/silent``: accept and never send anything (pings are still answered, by websockets itself).
- ``/record?id=X``: echo, and remember the close code the client sent under ``X``.
- ``/closes?id=X``: send one text message, the JSON list of close codes recorded under ``X``.
- ``/set-cookie?name=N&value=V&path=/``: the 101 response sets cookie ``N=V`` (with that path)
  and ``seen=1`` (with an ``Expires`` date, which has a comma), then echo.

No compression and no keepalive pings: the client under test should see exactly the frames above.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

MAX_SIZE = 32 * 1024 * 1024
SUBPROTOCOLS = ("chat.v2", "chat.v1")
PING_PAYLOAD = b"srv"
CLOSES: dict[str, list[int | None]] = {}


def _route(path: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(path)
    return parts.path, {key: values[0] for key, values in parse_qs(parts.query).items()}


def _process_request(connection: ServerConnection, request: Request) -> Response | None:
    route, query = _route(request.path)
    if route == "/reject":
        return connection.respond(int(query.get("status", "403")), query.get("body", ""))
    return None


def _process_response(
    connection: ServerConnection, request: Request, response: Response
) -> Response | None:
    route, query = _route(request.path)
    if route == "/set-cookie" and response.status_code == 101:
        path = query.get("path", "/")
        response.headers["Set-Cookie"] = f"{query['name']}={query['value']}; Path={path}"
        response.headers["Set-Cookie"] = "seen=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/"
    return None


def _select_subprotocol(
    connection: ServerConnection, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    # The client's order wins (websockets' default prefers the server's order).
    return next((p for p in offered if p in SUBPROTOCOLS), None)


async def _echo(ws: ServerConnection, limit: int | None = None) -> None:
    count = 0
    while limit is None or count < limit:
        await ws.send(await ws.recv())
        count += 1


async def _handler(ws: ServerConnection) -> None:
    route, query = _route(ws.request.path if ws.request else "/")
    try:
        if route == "/close":
            await ws.close(int(query.get("code", "1000")), query.get("reason", ""))
        elif route == "/close-after":
            await _echo(ws, int(query.get("n", "1")))
            await ws.close(int(query.get("code", "1000")), query.get("reason", ""))
        elif route == "/headers":
            assert ws.request is not None
            headers = {key.lower(): value for key, value in ws.request.headers.raw_items()}
            await ws.send(json.dumps(headers))
            await _echo(ws)
        elif route == "/subprotocol":
            await ws.send(ws.subprotocol or "")
            await _echo(ws)
        elif route == "/binary":
            size = int(query.get("size", str(1024 * 1024)))
            await ws.send((bytes(range(256)) * (size // 256 + 1))[:size])
            await _echo(ws)
        elif route == "/silent":
            await ws.wait_closed()
        elif route == "/record":
            try:
                await _echo(ws)
            finally:
                CLOSES.setdefault(query.get("id", ""), []).append(ws.close_code)
        elif route == "/closes":
            await ws.send(json.dumps(CLOSES.get(query.get("id", ""), [])))
            await _echo(ws)
        else:
            if route == "/ping":
                await ws.ping(PING_PAYLOAD)  # don't wait for the pong: the client may not care
            await _echo(ws)
    except ConnectionClosed:
        pass  # the client left; that's the end of every route


async def _main(port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        _handler,
        "127.0.0.1",
        port,
        process_request=_process_request,
        process_response=_process_response,
        subprotocols=list(map(Subprotocol, SUBPROTOCOLS)),
        select_subprotocol=_select_subprotocol,
        compression=None,
        ping_interval=None,
        max_size=MAX_SIZE,
        close_timeout=2,
    ) as server:
        bound = next(iter(server.sockets)).getsockname()
        print(f"listening on {bound[0]}:{bound[1]}", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="0 (default) picks a free port")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_main(args.port))


if __name__ == "__main__":
    main()
