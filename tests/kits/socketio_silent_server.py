"""An Engine.IO v4 / Socket.IO server over WebSocket that pings a few times and then stops.

Run: ``python tests/kits/socketio_silent_server.py [PINGS]``; it binds 127.0.0.1 on a free port
and prints ``listening on 127.0.0.1:PORT`` first. Each session gets the open packet
(``pingInterval`` 300 ms, ``pingTimeout`` 200 ms), its CONNECT acknowledged, ``PINGS`` pings
(default 2) 300 ms apart, and then silence while the connection stays open, which a real server
does when its event loop is stuck or a proxy swallows its frames: it is how a test shows that
the client takes such a session for dead. It acknowledges ``stats`` with what it counted
(sessions opened, pongs received) and nothing else. Packets are written by hand here (no
greenws code), so the client is checked against bytes it did not make.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid

from websockets.asyncio.server import ServerConnection, serve

PINGS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
COUNTS = {"sessions": 0, "pongs": 0}


async def pinger(connection: ServerConnection) -> None:
    for _ in range(PINGS):
        await asyncio.sleep(0.3)
        await connection.send("2")


async def session(connection: ServerConnection) -> None:
    COUNTS["sessions"] += 1
    sid = uuid.uuid4().hex
    opened = {"sid": sid, "upgrades": [], "pingInterval": 300, "pingTimeout": 200}
    await connection.send("0" + json.dumps({**opened, "maxPayload": 1000000}))
    pinging = asyncio.ensure_future(pinger(connection))
    try:
        async for message in connection:
            if message == "3":
                COUNTS["pongs"] += 1
            elif message == "40":
                await connection.send("40" + json.dumps({"sid": sid}))
            elif isinstance(message, str) and message.startswith("42"):
                ack_id, _, rest = message[2:].partition("[")
                if json.loads("[" + rest)[0] == "stats" and ack_id:
                    await connection.send(f"43{ack_id}" + json.dumps([COUNTS]))
    finally:
        pinging.cancel()


async def main() -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(session, "127.0.0.1", 0) as server:
        host, port = next(iter(server.sockets)).getsockname()[:2]
        print(f"listening on {host}:{port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
