"""A STOMP-over-WebSocket server that agrees to heart-beat and then never does.

Run: ``python tests/kits/stomp_silent_server.py [HEARTBEAT_MS]``; it binds 127.0.0.1 on a free
port and prints ``listening on 127.0.0.1:PORT`` first. It answers a CONNECT with CONNECTED
(``heart-beat:MS,MS``, default 200) and sends nothing more, which a real broker never does on
purpose: it is how a test shows that the client notices a server that went silent. Frames are
written by hand here (no greenws code), so the client is checked against bytes it did not make.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from websockets.asyncio.server import ServerConnection, serve

BEAT = int(sys.argv[1]) if len(sys.argv) > 1 else 200


async def session(connection: ServerConnection) -> None:
    async for message in connection:
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        if text.startswith(("CONNECT\n", "STOMP\n")):
            await connection.send(f"CONNECTED\nversion:1.2\nheart-beat:{BEAT},{BEAT}\n\n\x00")


async def main() -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(session, "127.0.0.1", 0, subprotocols=["v12.stomp"]) as server:
        host, port = next(iter(server.sockets)).getsockname()[:2]
        print(f"listening on {host}:{port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
