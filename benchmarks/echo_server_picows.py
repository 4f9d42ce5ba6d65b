"""WebSocket echo server for the benchmarks: picows on uvloop, one process, one core.

Why picows + uvloop: the server must be much cheaper per message than any client we measure, so
that a client's round-trip rate is limited by the client, not by the server. picows parses frames
in C and uvloop runs the loop in C; the harness still reports this process's CPU so a saturated
server is visible instead of silently capping every tool at the same rate.

Run (from the repository root, inside `benchmarks/.venv-server`, which `run.py` creates):

    benchmarks/.venv-server/bin/python benchmarks/echo_server_picows.py --port 0

It prints ``LISTENING <port>`` once it accepts connections. ``GET /stats`` (plain HTTP, no upgrade)
returns counters as JSON, which is how the harness measures a steady-state window:
``{"open": connections open now, "accepted": ever, "messages": data frames echoed, "pings": pings
answered, "closes": close handshakes completed}``.

What it does per connection: echoes every text/binary/continuation frame with the same opcode
and FIN bit (so fragmented messages come back fragmented the same way), answers each ping with a
pong carrying the same payload (explicitly: auto-pong is switched off, so the behaviour does not
depend on the picows version's default), and on a close frame echoes the close code and
disconnects.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

import uvloop
from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)


class Counters:
    """Process-wide counters; the loop is single-threaded so plain ints are safe."""

    open = 0
    accepted = 0
    messages = 0
    pings = 0
    closes = 0

    @classmethod
    def as_json(cls) -> bytes:
        """Serialise for ``GET /stats``."""
        return json.dumps(
            {
                "open": cls.open,
                "accepted": cls.accepted,
                "messages": cls.messages,
                "pings": cls.pings,
                "closes": cls.closes,
            }
        ).encode()


class EchoListener(WSListener):
    """Echo one connection's frames back as they arrive (no reassembly: cheapest possible)."""

    def on_ws_connected(self, transport: WSTransport) -> None:
        Counters.open += 1
        Counters.accepted += 1

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        Counters.open -= 1

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type == WSMsgType.PING:
            Counters.pings += 1
            transport.send_pong(frame.get_payload_as_bytes())
        elif msg_type == WSMsgType.CLOSE:
            Counters.closes += 1
            code = frame.get_close_code()
            if code == WSCloseCode.NO_INFO:
                code = WSCloseCode.OK
            transport.send_close(code)
            transport.disconnect()
        elif msg_type == WSMsgType.PONG:
            return  # unsolicited pongs are allowed and need no answer
        else:
            Counters.messages += 1
            # get_payload_as_memoryview avoids a copy; send() copies it into the output buffer
            transport.send(msg_type, frame.get_payload_as_memoryview(), frame.fin)


def route(request: WSUpgradeRequest) -> EchoListener | WSUpgradeResponseWithListener:
    """Serve ``/stats`` as plain HTTP; any other path is the echo endpoint."""
    if request.path == b"/stats":
        response = WSUpgradeResponse.create_ok_response(
            Counters.as_json(), {"Content-Type": "application/json"}
        )
        return WSUpgradeResponseWithListener(response, None)
    return EchoListener()


async def serve(host: str, port: int, backlog: int) -> None:
    """Listen until SIGTERM/SIGINT; print the bound port so the harness can use port 0."""
    server = await ws_create_server(
        route,
        host,
        port,
        enable_auto_pong=False,
        websocket_handshake_timeout=30,  # 5,000 VUs connecting at once can queue for a while
        backlog=backlog,
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"LISTENING {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the server on uvloop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001, help="0 picks a free port")
    parser.add_argument("--backlog", type=int, default=8192, help="listen queue (kernel caps it)")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("benchmarks listen on loopback only")
    uvloop.run(serve(args.host, args.port, args.backlog))
    return 0


if __name__ == "__main__":
    sys.exit(main())
