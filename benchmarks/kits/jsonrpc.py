"""greenws's JSON-RPC kit against a hand-written asyncio client on ``websockets``, same server.

Run: ``python benchmarks/kits/jsonrpc.py [--clients 10] [--seconds 5] [--rounds 3]`` from the
repository root. No load tool speaks JSON-RPC over WebSocket (Locust and k6 scripts correlate
ids by hand), so the peer is what a Python user writes without greenws: ``websockets``' asyncio
client, one task per client, ids correlated with a dict of futures. One server
(tests/kits/jsonrpc_server.py: ``jsonrpcserver`` behind ``websockets``) serves both.

Two workloads, each client program in a child process so its CPU time is measured alone
(``getrusage(RUSAGE_CHILDREN)``):

- sessions: connect, one ``add`` call, close, in a loop;
- messages: one session per client, ``add`` calls in a loop (each call counts as one message
  sent and one received).

Printed: work per CPU second of the client process (the median of ``--rounds`` rounds) and
greenws / peer. Each program's start-up and shutdown (a run with no work, measured in the same
round: about 0.6 s for the greenws CLI with its plugins, 0.1 s for the peer) is subtracted, so
the figure is the steady state a long test runs at. The server's CPU is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from servers import ScriptServer  # noqa: E402

GREENWS_SCRIPT = """
import os, time
from greenws.kits import jsonrpc

URL, WORK, SECONDS = os.environ["URL"], os.environ["WORK"], float(os.environ["SECONDS"])

def default():
    end = time.monotonic() + SECONDS
    if WORK == "sessions":
        while time.monotonic() < end:
            with jsonrpc.connect(URL) as rpc:
                rpc.call("add", [1, 2])
    else:
        with jsonrpc.connect(URL) as rpc:
            while time.monotonic() < end:
                rpc.call("add", [1, 2])
"""

PEER_SCRIPT = """
import asyncio, itertools, json, os, time
from websockets.asyncio.client import connect

URL, WORK = os.environ["URL"], os.environ["WORK"]
SECONDS, CLIENTS = float(os.environ["SECONDS"]), int(os.environ["CLIENTS"])

class Client:
    def __init__(self, ws):
        self.ws, self.ids, self.pending = ws, itertools.count(1), {}
        self.reader = asyncio.ensure_future(self.read())

    async def read(self):
        async for message in self.ws:
            answer = json.loads(message)
            future = self.pending.pop(answer.get("id"), None)
            if future is not None:
                future.set_result(answer)

    async def call(self, method, params):
        request_id = next(self.ids)
        future = self.pending[request_id] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method,
                                       "params": params}))
        return (await asyncio.wait_for(future, 30))["result"]

async def one(counts, index):
    end = time.monotonic() + SECONDS
    if WORK == "sessions":
        while time.monotonic() < end:
            async with connect(URL, compression=None) as ws:
                client = Client(ws)
                await client.call("add", [1, 2])
                client.reader.cancel()
            counts[index] += 1
    else:
        async with connect(URL, compression=None) as ws:
            client = Client(ws)
            while time.monotonic() < end:
                await client.call("add", [1, 2])
                counts[index] += 2
            client.reader.cancel()

async def main():
    counts = [0] * CLIENTS
    await asyncio.gather(*(one(counts, i) for i in range(CLIENTS)))
    print(json.dumps(sum(counts)))

asyncio.run(main())
"""


def measured(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """(CPU seconds, stdout) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done.stdout


def greenws_round(
    directory: Path, url: str, work: str, clients: int, seconds: float
) -> tuple[int, float]:
    script = directory / "greenws_jsonrpc.py"
    script.write_text(textwrap.dedent(GREENWS_SCRIPT))
    export = directory / "summary.json"
    command = [
        sys.executable,
        "-m",
        "greenws",
        "run",
        str(script),
        "-q",
        "--vus",
        str(clients),
        "--iterations",
        str(clients),
        "--summary-export",
        str(export),
        "--summary-trend-stats",
        "avg,count",
    ]
    env = {"URL": url, "WORK": work, "SECONDS": str(seconds), "PYTHONPATH": str(ROOT)}
    cpu, _ = measured(command, env)
    metrics = json.loads(export.read_text())["metrics"]
    if work == "sessions":
        return int(metrics["ws_sessions"]["count"]), cpu
    return int(metrics["ws_msgs_sent"]["count"] + metrics["ws_msgs_received"]["count"]), cpu


def peer_round(
    directory: Path, url: str, work: str, clients: int, seconds: float
) -> tuple[int, float]:
    script = directory / "peer_jsonrpc.py"
    script.write_text(textwrap.dedent(PEER_SCRIPT))
    env = {"URL": url, "WORK": work, "SECONDS": str(seconds), "CLIENTS": str(clients)}
    cpu, out = measured([sys.executable, str(script)], env)
    return int(out.strip()), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = ScriptServer(ROOT / "tests" / "kits" / "jsonrpc_server.py")
    try:
        with tempfile.TemporaryDirectory() as name:
            directory = Path(name)
            for work, unit in (("sessions", "sessions"), ("messages", "messages")):
                rates: dict[str, list[float]] = {"greenws": [], "websockets": []}
                for _ in range(args.rounds):  # interleaved, so drift hits both alike
                    done, cpu = greenws_round(
                        directory, server.url, work, args.clients, args.seconds
                    )
                    rates["greenws"].append(done / cpu)
                    done, cpu = peer_round(directory, server.url, work, args.clients, args.seconds)
                    rates["websockets"].append(done / cpu)
                ours = statistics.median(rates["greenws"])
                theirs = statistics.median(rates["websockets"])
                print(
                    f"jsonrpc {work}: greenws {ours:,.0f} {unit}/s per core, "
                    f"websockets+asyncio {theirs:,.0f}, ratio {ours / theirs:.2f}"
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
