"""A TLS WebSocket echo server (the ``websockets`` library) for greenws's ``wss://`` tests.

Run: ``python tests/net/tls_echo_server.py --cert CERT.pem --key KEY.pem [--port 0]``. It binds
127.0.0.1 only and prints ``listening on 127.0.0.1:PORT`` as its first stdout line (the contract of
``tests/servers.py``); SIGTERM or SIGINT stops it. Every path echoes text as text and binary as
binary. A client that refuses the certificate makes the server log a failed TLS handshake on
stderr; that is expected and harmless.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def _echo(ws: ServerConnection) -> None:
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def _main(port: int, cert: str, key: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        _echo,
        "127.0.0.1",
        port,
        ssl=context,
        compression=None,
        ping_interval=None,
        close_timeout=2,
    ) as server:
        bound = next(iter(server.sockets)).getsockname()
        print(f"listening on {bound[0]}:{bound[1]}", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="0 (default) picks a free port")
    parser.add_argument("--cert", required=True, help="PEM certificate chain")
    parser.add_argument("--key", required=True, help="PEM private key")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # refused handshakes are the point of some tests
    asyncio.run(_main(args.port, args.cert, args.key))


if __name__ == "__main__":
    main()
