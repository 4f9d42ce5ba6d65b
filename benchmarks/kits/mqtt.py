"""greenws's MQTT kit against paho-mqtt (the peer locust-plugins' MqttUser uses), same broker.

Run: ``python benchmarks/kits/mqtt.py [--clients 10] [--seconds 5] [--rounds 3]`` from the
repository root (needs Node with aedes and websocket-stream in tests/node, and
``pip install paho-mqtt``). One aedes broker (tests/kits/mqtt_broker.js) serves both.

Two workloads, each client in its own child process so its CPU time is measured alone
(``getrusage(RUSAGE_CHILDREN)`` around the child):

- sessions: each of ``--clients`` clients connects (WebSocket + CONNECT/CONNACK) and
  disconnects (DISCONNECT + close) in a loop;
- messages: each client subscribes to its own topic at QoS 1 and loops publish(QoS 1) →
  PUBACK → its own message back (sent and received both count).

greenws runs ``--clients`` VUs (greenlets, one process); paho runs one thread per client
(its usual model), both in one process. Printed: per-core rates (work per CPU second of the
client process), the median of ``--rounds`` rounds, and greenws / paho. The broker's CPU is
not counted, and wall-clock rates are shown for information only.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from servers import ScriptServer  # noqa: E402

GREENWS_SCRIPT = """
import os, time
from greenws.kits import mqtt
from greenws import vu

URL, WORK, SECONDS = os.environ["URL"], os.environ["WORK"], float(os.environ["SECONDS"])

def default():
    end = time.monotonic() + SECONDS
    if WORK == "sessions":
        while time.monotonic() < end:
            with mqtt.connect(URL, tag_topic=False):
                pass
    else:
        topic = f"bench/{vu.id}"
        with mqtt.connect(URL, tag_topic=False) as client:
            client.subscribe(topic, qos=1)
            while time.monotonic() < end:
                client.publish(topic, b"x" * 32, qos=1)
                client.recv(timeout=10)
"""

PAHO_SCRIPT = """
import json, os, sys, threading, time
import paho.mqtt.client as paho

HOST, PORT = os.environ["HOST"], int(os.environ["PORT"])
WORK, SECONDS, CLIENTS = os.environ["WORK"], float(os.environ["SECONDS"]), int(os.environ["CLIENTS"])
counts = [0] * CLIENTS

def client_for(index):
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"paho-{index}-{time.time_ns()}",
                         transport="websockets")
    client.ws_set_options(path="/mqtt")
    return client

def wait(client, flag):
    deadline = time.monotonic() + 10
    while not flag and time.monotonic() < deadline:
        client.loop(0.05)

def sessions(index):
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        client, ready = client_for(index), []
        client.on_connect = lambda *a: ready.append(1)
        client.connect(HOST, PORT)
        wait(client, ready)
        client.disconnect()
        counts[index] += 1

def messages(index):
    client, ready, got = client_for(index), [], []
    client.on_connect = lambda *a: ready.append(1)
    client.on_subscribe = lambda *a: ready.append(2)
    client.on_message = lambda c, u, m: got.append(1)
    client.connect(HOST, PORT)
    wait(client, ready)
    topic = f"paho/{index}"
    client.subscribe(topic, qos=1)
    while len(ready) < 2:
        client.loop(0.05)
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        before = len(got)
        client.publish(topic, b"x" * 32, qos=1)
        while len(got) == before:
            client.loop(0.05)
        counts[index] += 2
    client.disconnect()

threads = [threading.Thread(target=sessions if WORK == "sessions" else messages, args=(i,))
           for i in range(CLIENTS)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(json.dumps(sum(counts)))
"""


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(CPU seconds, wall seconds, stdout) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=True
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, done.stdout


def greenws_round(directory: Path, url: str, work: str, clients: int, seconds: float):
    script = directory / "greenws_mqtt.py"
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
    cpu, wall, _ = measured(
        command,
        {"URL": url + "/mqtt", "WORK": work, "SECONDS": str(seconds), "PYTHONPATH": str(ROOT)},
    )
    metrics = json.loads(export.read_text())["metrics"]
    if work == "sessions":
        done = metrics["mqtt_connect_duration"]["count"]
    else:
        done = metrics["mqtt_messages_sent"]["count"] + metrics["mqtt_messages_received"]["count"]
    return done, cpu, wall


def paho_round(directory: Path, broker: ScriptServer, work: str, clients: int, seconds: float):
    script = directory / "paho_mqtt.py"
    script.write_text(textwrap.dedent(PAHO_SCRIPT))
    env = {
        "HOST": broker.host,
        "PORT": str(broker.port),
        "WORK": work,
        "SECONDS": str(seconds),
        "CLIENTS": str(clients),
    }
    cpu, wall, out = measured([sys.executable, str(script)], env)
    return int(out.strip()), cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    broker = ScriptServer(ROOT / "tests" / "kits" / "mqtt_broker.js")
    try:
        with tempfile.TemporaryDirectory() as name:
            directory = Path(name)
            for work in ("sessions", "messages"):
                rates: dict[str, list[float]] = {"greenws": [], "paho": []}
                walls: dict[str, list[float]] = {"greenws": [], "paho": []}
                for _ in range(args.rounds):
                    for who in ("greenws", "paho"):
                        if who == "greenws":
                            done, cpu, wall = greenws_round(
                                directory, broker.url, work, args.clients, args.seconds
                            )
                        else:
                            done, cpu, wall = paho_round(
                                directory, broker, work, args.clients, args.seconds
                            )
                        rates[who].append(done / cpu)
                        walls[who].append(done / wall)
                g, p = statistics.median(rates["greenws"]), statistics.median(rates["paho"])
                print(
                    f"{work:8s} per core: greenws {g:9.0f}/s  paho {p:9.0f}/s  ratio {g / p:5.2f}"
                    f"   (wall: greenws {statistics.median(walls['greenws']):.0f}/s,"
                    f" paho {statistics.median(walls['paho']):.0f}/s)",
                    flush=True,
                )
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
