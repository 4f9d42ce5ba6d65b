"""A ``websockets`` server with its default permessage-deflate, for greenws's compression tests.

Run: ``python tests/interop/deflate_server.py [--port 0]``. It binds 127.0.0.1 only and prints
``listening on 127.0.0.1:PORT`` as its first stdout line; SIGTERM or SIGINT stops it. Routes:

- ``/echo``, ``/``: echo text as text, binary as binary (compressed whenever negotiated).
- ``/extensions``: send one text message, the ``Sec-WebSocket-Extensions`` header the server
  answered with ("" when compression was not negotiated), then echo.
- ``/big?size=102400``: send one text message of that many characters (a repeated sentence),
  then echo.

Unlike ``websockets_server.py`` (no compression, so its frames are exactly what a test expects),
compression is websockets' default ``"deflate"``: the server accepts a client's offer with
``server_max_window_bits=12`` and ``client_max_window_bits`` (websockets' memory-saving defaults).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

MAX_SIZE = 32 * 1024 * 1024
SENTENCE = "the quick brown fox jumps over the lazy dog; "


async def _handler(ws: ServerConnection) -> None:
    parts = urlsplit(ws.request.path if ws.request else "/")
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    try:
        if parts.path == "/extensions":
            assert ws.response is not None
            await ws.send(ws.response.headers.get("Sec-WebSocket-Extensions", ""))
        elif parts.path == "/big":
            size = int(query.get("size", "102400"))
            await ws.send((SENTENCE * (size // len(SENTENCE) + 1))[:size])
        while True:
            await ws.send(await ws.recv())
    except ConnectionClosed:
        pass  # the client left


async def _main(port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        _handler,
        "127.0.0.1",
        port,
        compression="deflate",
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
