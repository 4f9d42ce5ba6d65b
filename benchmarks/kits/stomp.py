"""STOMP over WebSocket, client CPU per session and per message: greenws's kit vs stomp.py.

Run: ``python benchmarks/kits/stomp.py [--rounds 3] [--sessions 200] [--messages 5000]``.

It starts a private RabbitMQ with Web-STOMP (tests/kits/rabbitmq.py) and runs, in turn, the
same two workloads with each client in a child process of its own, ROUNDS times:

- sessions: SESSIONS times in a row, open a WebSocket, CONNECT, DISCONNECT with a receipt,
  close (what a load test's session churn costs);
- messages: one session subscribed to ``/topic/bench`` SENDs MESSAGES bodies and receives
  every one of them back (what a steady stream costs).

Each child measures its own CPU (``time.process_time``: every thread and greenlet of the
process, not the broker) around the workload and prints it; the rates here are per second of
client CPU, so they do not depend on how busy this shared machine is. The peer is stomp.py
(``WSStompConnection``: the same WebSocket endpoint, its own reader thread). Medians of the
rounds, then greenws / stomp.py. Nothing is asserted: numbers to read.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "kits")]

from rabbitmq import RabbitMQ  # noqa: E402

GREENWS = """
import json, os, time
from greenws.kits import stomp

URL, SESSIONS, MESSAGES = os.environ["URL"], int(os.environ["SESSIONS"]), int(os.environ["MESSAGES"])

def default():
    started = time.process_time()
    for _ in range(SESSIONS):
        with stomp.connect(URL, heartbeat=(0, 0)):
            pass
    sessions_cpu = time.process_time() - started
    with stomp.connect(URL, heartbeat=(0, 0)) as session:
        bench = session.subscribe("/topic/bench", receipt=True)
        started = time.process_time()
        for n in range(MESSAGES):
            session.send("/topic/bench", f"message {n}")
        for _ in range(MESSAGES):
            bench.recv(timeout=30)
        messages_cpu = time.process_time() - started
    with open(os.environ["OUT"], "w") as out:
        json.dump({"sessions_cpu": sessions_cpu, "messages_cpu": messages_cpu}, out)
"""

PEER = """
import json, os, queue, sys, time
import stomp

port, SESSIONS, MESSAGES = int(os.environ["PORT"]), int(os.environ["SESSIONS"]), int(os.environ["MESSAGES"])

def connection():
    conn = stomp.WSStompConnection(
        [("127.0.0.1", port)], ws_path="/ws", heartbeats=(0, 0), vhost="/"
    )
    return conn

class Inbox(stomp.ConnectionListener):
    def __init__(self):
        self.queue = queue.Queue()
    def on_message(self, frame):
        self.queue.put(frame.body)

started = time.process_time()
for _ in range(SESSIONS):
    conn = connection()
    conn.connect("guest", "guest", wait=True)
    conn.disconnect()
sessions_cpu = time.process_time() - started
conn = connection()
inbox = Inbox()
conn.set_listener("inbox", inbox)
conn.connect("guest", "guest", wait=True)
conn.subscribe("/topic/bench", id="1", ack="auto", headers={"receipt": "s"})
time.sleep(0.5)  # stomp.py's subscribe does not wait for the receipt
started = time.process_time()
for n in range(MESSAGES):
    conn.send("/topic/bench", f"message {n}")
for _ in range(MESSAGES):
    inbox.queue.get(timeout=30)
messages_cpu = time.process_time() - started
conn.disconnect()
with open(os.environ["OUT"], "w") as out:
    json.dump({"sessions_cpu": sessions_cpu, "messages_cpu": messages_cpu}, out)
"""


def run(
    client: str, broker: RabbitMQ, sessions: int, messages: int, work: Path
) -> dict[str, float]:
    out = work / f"{client}.json"
    out.unlink(missing_ok=True)
    env = {
        **os.environ,
        "URL": broker.url(),
        "PORT": str(broker.ports["web_stomp"]),
        "SESSIONS": str(sessions),
        "MESSAGES": str(messages),
        "OUT": str(out),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    if client == "greenws":
        script = work / "greenws_bench.py"
        script.write_text(textwrap.dedent(GREENWS))
        command = [sys.executable, "-m", "greenws", "run", str(script), "-q", "--no-summary"]
    else:
        script = work / "peer_bench.py"
        script.write_text(textwrap.dedent(PEER))
        command = [sys.executable, str(script)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    if completed.returncode != 0 or not out.exists():
        raise RuntimeError(f"{client} failed ({completed.returncode}): {completed.stderr[-2000:]}")
    cpu = json.loads(out.read_text())
    return {
        "sessions/s": sessions / cpu["sessions_cpu"],
        "messages/s": 2 * messages / cpu["messages_cpu"],  # each is sent and received
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {"greenws": {}, "stomp.py": {}}
    with RabbitMQ(["rabbitmq_web_stomp"]) as broker, tempfile.TemporaryDirectory() as work:
        for round_number in range(args.rounds):
            for client in results:
                rates = run(client, broker, args.sessions, args.messages, Path(work))
                for name, value in rates.items():
                    results[client].setdefault(name, []).append(value)
                print(f"round {round_number + 1} {client}: {rates}", file=sys.stderr)
    print(f"per second of client CPU, median of {args.rounds} rounds")
    for name in ("sessions/s", "messages/s"):
        ours = statistics.median(results["greenws"][name])
        peer = statistics.median(results["stomp.py"][name])
        print(f"{name:<12} greenws {ours:10.0f}   stomp.py {peer:10.0f}   ratio {ours / peer:.2f}")


if __name__ == "__main__":
    main()
