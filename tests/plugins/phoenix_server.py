"""A Phoenix Channels server (serializer 2.0.0) on ``websockets``, for the sample kit's test.

Run: ``python tests/plugins/phoenix_server.py [--idle-timeout SECONDS]``; it prints
``listening on 127.0.0.1:PORT`` first. Phoenix itself needs Elixir, which these machines do not
have; this speaks the same frames for what the sample kit uses: ``/socket/websocket?token=T``
(token ``bad`` is refused with 403), ``phx_join`` (``room:forbidden`` answers an error),
``new_msg`` (replied, then broadcast to every socket that joined the topic), ``phx_leave``,
``heartbeat`` on ``phoenix``, and ``stats`` (replied with what the server counted). A socket
that sends nothing for ``--idle-timeout`` seconds is closed, as Phoenix drops a client whose
heartbeats stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from collections import Counter, defaultdict
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

COUNTS: Counter[str] = Counter()
MEMBERS: defaultdict[str, dict[ServerConnection, str]] = defaultdict(dict)


def refuse_bad_tokens(connection: ServerConnection, request: Request) -> Response | None:
    query = parse_qs(urlsplit(request.path).query)
    if query.get("token") == ["bad"]:
        return connection.respond(403, "bad token\n")
    return None


async def handle(connection: ServerConnection, idle_timeout: float | None) -> None:
    try:
        while True:
            try:
                message = await asyncio.wait_for(connection.recv(), idle_timeout)
            except asyncio.TimeoutError:
                await connection.close(1000, "heartbeat timeout")
                return
            join_ref, ref, topic, event, payload = json.loads(message)
            COUNTS[event] += 1
            status, response = "ok", {}
            if event == "phx_join":
                if topic == "room:forbidden":
                    status, response = "error", {"reason": "unauthorized"}
                else:
                    MEMBERS[topic][connection] = join_ref
                    response = {"joined": topic}
            elif event == "phx_leave":
                MEMBERS[topic].pop(connection, None)
            elif event == "stats":
                response = dict(COUNTS)
            reply = [join_ref, ref, topic, "phx_reply", {"status": status, "response": response}]
            await connection.send(json.dumps(reply))
            if event == "new_msg":
                for member, member_ref in list(MEMBERS[topic].items()):
                    await member.send(json.dumps([member_ref, None, topic, event, payload]))
    except Exception:  # a client gone mid-message ends its handler only
        pass
    finally:
        for members in MEMBERS.values():
            members.pop(connection, None)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle-timeout", type=float, default=None)
    idle = parser.parse_args().idle_timeout
    async with serve(
        lambda c: handle(c, idle), "127.0.0.1", 0, process_request=refuse_bad_tokens
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening on 127.0.0.1:{port}", flush=True)
        stop = asyncio.get_running_loop().create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
