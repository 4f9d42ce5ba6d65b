"""GraphQL kit against its peer: client CPU per session and per message, greenws vs the
graphql-ws library's own Node client, on the same server in the same run.

    python benchmarks/kits/graphql.py [--rounds 3] [--sessions 300] [--concurrency 20]
                                      [--count 20]

One graphql-ws server (tests/kits/graphql_ws_server.js, Node) serves both clients. Each round
runs the two clients one after the other (the order swapped every other round, so the
machine's other load and what one run leaves to the next hit both alike): ``--sessions``
sessions, ``--concurrency`` at a time (greenws: that many VUs sharing the iterations), each
one connection_init/ack, one subscription to ``countdown(start: --count)`` read to its end
(count + 1 messages), and the close. Each client measures its own CPU from its first connect
to its last close (greenws: ``time.process_time`` in setup/teardown; Node:
``process.cpuUsage``), so interpreter start-up is left out of both. Printed: per client the
median over rounds of sessions and messages per CPU-second ("per core"), with the min-max
spread, and greenws / peer. Only 127.0.0.1 is used; nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers import ScriptServer  # noqa: E402

NODE_PATH = str(ROOT / "tests" / "node" / "node_modules")


def run_greenws(url: str, sessions: int, concurrency: int, count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        out, export = Path(directory) / "cpu.json", Path(directory) / "summary.json"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "GRAPHQL_URL": url,
            "COUNT": str(count),
            "BENCH_OUT": str(out),
        }
        command = [
            sys.executable, "-m", "greenws", "run", str(HERE / "graphql_greenws_script.py"),
            "-q", "--vus", str(concurrency), "--iterations", str(sessions),
            "--summary-export", str(export), "--summary-trend-stats", "avg,count",
        ]  # fmt: skip
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, timeout=600)
        measured = json.loads(out.read_text())
        metrics = json.loads(export.read_text())["metrics"]
    return {
        "sessions": metrics["graphql_connect_duration"]["count"],
        "messages": metrics["graphql_events"]["count"],
        "cpu": measured["cpu"],
        "wall": measured["wall"],
    }


def run_peer(url: str, sessions: int, concurrency: int, count: int) -> dict[str, float]:
    command = [
        "node",
        str(HERE / "graphql_peer.js"),
        url,
        str(sessions),
        str(concurrency),
        str(count),
    ]
    env = {**os.environ, "NODE_PATH": NODE_PATH}
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True, timeout=600)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def per_core(run: dict[str, float]) -> tuple[float, float]:
    return run["sessions"] / run["cpu"], run["messages"] / run["cpu"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    server = ScriptServer(ROOT / "tests" / "kits" / "graphql_ws_server.js")
    url = f"{server.url}/graphql"
    results: dict[str, list[tuple[float, float]]] = {"greenws": [], "graphql-ws (Node)": []}
    clients: list[tuple[str, Any]] = [("greenws", run_greenws), ("graphql-ws (Node)", run_peer)]
    try:
        for round_ in range(args.rounds):
            for name, run in clients if round_ % 2 == 0 else clients[::-1]:
                measured = run(url, args.sessions, args.concurrency, args.count)
                expected = args.sessions * (args.count + 1)
                if measured["sessions"] != args.sessions or measured["messages"] != expected:
                    raise SystemExit(f"{name}: incomplete run {measured}")
                results[name].append(per_core(measured))
                print(
                    f"round {round_ + 1} {name:18} cpu {measured['cpu']:.2f} s "
                    f"wall {measured['wall']:.2f} s",
                    file=sys.stderr,
                )
    finally:
        server.stop()
    print(
        f"{args.sessions} sessions x countdown({args.count}), {args.concurrency} at a time, "
        f"{args.rounds} rounds; per CPU-second of the client (median, min-max)"
    )
    medians = {}
    for name, rows in results.items():
        sessions = [row[0] for row in rows]
        messages = [row[1] for row in rows]
        medians[name] = (statistics.median(sessions), statistics.median(messages))
        print(
            f"  {name:18} sessions/s {medians[name][0]:8.0f} ({min(sessions):.0f}-"
            f"{max(sessions):.0f})   messages/s {medians[name][1]:8.0f} "
            f"({min(messages):.0f}-{max(messages):.0f})"
        )
    ours, peer = medians["greenws"], medians["graphql-ws (Node)"]
    print(f"  greenws / peer: sessions {ours[0] / peer[0]:.2f}x, messages {ours[1] / peer[1]:.2f}x")


if __name__ == "__main__":
    main()
