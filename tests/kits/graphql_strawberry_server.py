"""A GraphQL server over WebSocket: strawberry behind uvicorn, speaking both protocols
(``graphql-transport-ws`` and the legacy ``graphql-ws``), an implementation independent of
greenws's.

Run: ``python tests/kits/graphql_strawberry_server.py [--keep-alive SECONDS]
[--init-timeout SECONDS]``; it binds 127.0.0.1 on a free port, prints
``listening on 127.0.0.1:PORT`` first and serves ``/graphql``.

Schema (the Node servers have the same shape)::

    type Query { hello(name: String = "world"): String!  stats: String! }
    type Mutation { publish(channel: String!, text: String!): Int! }
    type Subscription {
      countdown(start: Int!, interval: Float = 0): Int!    # start, start-1, ..., 0
      feed(channel: String!): Message!                     # what publish sends
      failing(after: Int!): Int!                           # `after` values, then an error
    }
    type Message { channel: String!  text: String!  seq: Int! }

``publish`` returns how many subscribers it reached. connection_init with
``{"token": "bad"}`` is rejected (4403 in graphql-transport-ws; ``connection_error`` then close
in the legacy protocol). ``stats`` is a JSON object of what the server counted: ``inits``,
``rejected``, ``queries``, ``mutations``, ``subscriptions`` and ``events`` (per field),
``stopped`` (subscriptions the client ended); ``GET /stats`` gives the same over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
from collections import Counter
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any

import strawberry
import uvicorn
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

STATS: dict[str, Any] = {
    "inits": 0,
    "rejected": 0,
    "queries": 0,
    "mutations": 0,
    "subscriptions": Counter(),
    "events": Counter(),
    "stopped": 0,
}
CHANNELS: dict[str, set[asyncio.Queue[Any]]] = {}
SEQUENCE = iter(range(1, 1 << 62))


@strawberry.type
class Message:
    channel: str
    text: str
    seq: int


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, name: str = "world") -> str:
        STATS["queries"] += 1
        return f"hello {name}"

    @strawberry.field
    def stats(self) -> str:
        return json.dumps(STATS)


@strawberry.type
class Mutation:
    @strawberry.mutation
    def publish(self, channel: str, text: str) -> int:
        STATS["mutations"] += 1
        message = Message(channel=channel, text=text, seq=next(SEQUENCE))
        queues = CHANNELS.get(channel, set())
        for queue in queues:
            queue.put_nowait(message)
        return len(queues)


async def counted(field: str, source: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
    """Count a subscription's start, its events and whether the client stopped it first."""
    STATS["subscriptions"][field] += 1
    try:
        async for item in source:
            STATS["events"][field] += 1
            yield item
    except (GeneratorExit, asyncio.CancelledError):  # closed by the client's complete/stop
        STATS["stopped"] += 1
        raise


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def countdown(self, start: int, interval: float = 0) -> AsyncGenerator[int, None]:
        async def values() -> AsyncGenerator[int, None]:
            for value in range(start, -1, -1):
                yield value
                await asyncio.sleep(interval)

        async for value in counted("countdown", values()):
            yield value

    @strawberry.subscription
    async def feed(self, channel: str) -> AsyncGenerator[Message, None]:
        queue: asyncio.Queue[Message] = asyncio.Queue()
        CHANNELS.setdefault(channel, set()).add(queue)

        async def values() -> AsyncGenerator[Message, None]:
            try:
                while True:
                    yield await queue.get()
            finally:
                CHANNELS[channel].discard(queue)

        async for message in counted("feed", values()):
            yield message

    @strawberry.subscription
    async def failing(self, after: int) -> AsyncGenerator[int, None]:
        async def values() -> AsyncGenerator[int, None]:
            for value in range(after):
                yield value
            raise ValueError(f"failing after {after}")

        async for value in counted("failing", values()):
            yield value


class App(GraphQL):  # type: ignore[type-arg]
    async def on_ws_connect(self, context: Any) -> Any:
        STATS["inits"] += 1
        params = context.get("connection_params") or {}
        if params.get("token") == "bad":
            STATS["rejected"] += 1
            raise ConnectionRejectionError({"message": "bad token"})
        return {"server": "strawberry"}


def with_stats(app: Any) -> Any:
    """``GET /stats``: the counts as JSON over plain HTTP, since strawberry's legacy protocol
    runs subscriptions only (a ``stats`` query there is refused)."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/stats":
            body = json.dumps(STATS).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return asgi


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep-alive", type=float, default=0.0, help="legacy ka interval (s)")
    parser.add_argument("--init-timeout", type=float, default=60.0)
    args = parser.parse_args()
    schema = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)
    app = App(
        schema,
        keep_alive=args.keep_alive > 0,
        keep_alive_interval=args.keep_alive or 1,
        connection_init_wait_timeout=timedelta(seconds=args.init_timeout),
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts
    print(f"listening on 127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(with_stats(app), log_level="warning", lifespan="off")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    main()
