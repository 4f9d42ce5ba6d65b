"""One row per protocol kit: greenws against the best peer client that speaks it, same server.

    python benchmarks/protocols.py            # every kit, each with its own defaults
    python benchmarks/protocols.py mqtt stomp # some

Each kit's benchmark (``benchmarks/kits/<kit>.py``) starts its server, runs greenws and the peer
in interleaved rounds in child processes, and prints sessions and messages per second of client
CPU with the ratio; this runs them one after the other and gathers their lines. The peers:

| kit | peer | why that one |
|---|---|---|
| socketio | python-socketio's client (threads) | what Locust's SocketIOUser drives |
| graphql | the graphql-ws library's Node client | the protocol's reference client |
| stomp | stomp.py's WebSocket connection | the Python STOMP client |
| mqtt | paho-mqtt over WebSocket | what locust-plugins' MqttUser drives |
| jsonrpc | an asyncio client on ``websockets`` | no load tool speaks it: what users hand-write |

Results, and the machine they were measured on, are in RESULTS.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KITS = ("socketio", "graphql", "stomp", "mqtt", "jsonrpc")


def main(argv: list[str]) -> int:
    chosen = argv or list(KITS)
    unknown = sorted(set(chosen) - set(KITS))
    if unknown:
        print(f"unknown kit {unknown[0]!r}: choose from {', '.join(KITS)}", file=sys.stderr)
        return 2
    failed = 0
    for kit in chosen:
        print(f"== {kit}", flush=True)
        done = subprocess.run([sys.executable, str(HERE / "kits" / f"{kit}.py")], check=False)
        failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
