"""A JSON-RPC 2.0 server over WebSocket: the ``jsonrpcserver`` library behind ``websockets``.

Run: ``python tests/kits/jsonrpc_server.py [--ping-interval SECONDS]``; it binds 127.0.0.1 on a free port and prints
``listening on 127.0.0.1:PORT`` first. An independent implementation of the specification
(dispatch, batches, error objects are the library's), plus an ``eth_subscribe``-style stream
the library does not do, written here the way Ethereum nodes send it.

Methods: ``add(a, b)``, ``echo(value)``, ``fail(code, message)`` (an error answer),
``sleep(seconds)`` (answers after that long), ``stats()`` (what this server counted: calls per
method and notifications seen), ``eth_subscribe(["ticks", n, interval])`` → subscription id,
then ``n`` notifications ``{"subscription": id, "result": i}``; ``eth_unsubscribe(id)``.
Any notification from the client is counted under its method in ``stats()``.

``--ping-interval`` turns on the ``websockets`` keepalive: a ping that often, and a client that
does not answer within the same time is closed with 1011 (how a sleeping client gets dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
from collections import Counter
from typing import Any

from jsonrpcserver import Error, Result, Success, async_dispatch, method
from websockets.asyncio.server import ServerConnection, serve

CALLS: Counter[str] = Counter()
NOTIFIED: Counter[str] = Counter()
SUBSCRIPTIONS = itertools.count(0x100)
CURRENT: dict[str, Any] = {}


@method
async def add(a: float, b: float) -> Result:
    CALLS["add"] += 1
    return Success(a + b)


@method
async def echo(value: Any) -> Result:
    CALLS["echo"] += 1
    return Success(value)


@method
async def fail(code: int, message: str) -> Result:
    CALLS["fail"] += 1
    return Error(code, message)


@method
async def sleep(seconds: float) -> Result:
    CALLS["sleep"] += 1
    await asyncio.sleep(seconds)
    return Success(seconds)


@method
async def stats() -> Result:
    return Success({"calls": dict(CALLS), "notified": dict(NOTIFIED)})


@method
async def eth_subscribe(kind: str, count: int = 3, interval: float = 0.01) -> Result:
    CALLS["eth_subscribe"] += 1
    connection = CURRENT["connection"]
    subscription = hex(next(SUBSCRIPTIONS))

    async def stream() -> None:
        await asyncio.sleep(0)  # after the answer is written
        for index in range(count):
            note = {"subscription": subscription, "result": {"kind": kind, "index": index}}
            await connection.send(
                json.dumps({"jsonrpc": "2.0", "method": "eth_subscription", "params": note})
            )
            await asyncio.sleep(interval)

    asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(stream()))
    return Success(subscription)


@method
async def eth_unsubscribe(subscription: str) -> Result:
    CALLS["eth_unsubscribe"] += 1
    return Success(True)


async def handle(connection: ServerConnection) -> None:
    async for message in connection:
        try:
            document = json.loads(message)
        except ValueError:
            document = None
        if isinstance(document, dict) and "id" not in document and "method" in document:
            NOTIFIED[document["method"]] += 1
            continue
        CURRENT["connection"] = connection
        answer = await async_dispatch(message)
        if answer:
            await connection.send(answer)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ping-interval", type=float, default=None)
    interval = parser.parse_args().ping_interval
    async with serve(
        handle, "127.0.0.1", 0, ping_interval=interval, ping_timeout=interval
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening on 127.0.0.1:{port}", flush=True)
        stop = asyncio.get_running_loop().create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
