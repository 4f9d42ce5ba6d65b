"""greenws's Socket.IO kit against python-socketio's client and Locust's SocketIOUser.

Run: ``python benchmarks/kits/socketio.py [--rounds 3] [--seconds 4] [--server js|py]``.

Two loads, each client in a child process whose CPU time (user + system, from the kernel's
accounting of waited children) is what "per core" divides by:

- sessions: connect, one ``add`` call with its ack, disconnect, again and again;
- messages: one session per worker calling ``echo`` with an ack back to back.

Each round runs greenws (``greenws run``, 8 VUs) and two peers for the same wall time:
python-socketio's threaded ``Client`` (8 threads) and Locust's ``SocketIOUser`` (8 users,
``locust --headless``; it lived in locust-plugins and is ``locust.contrib.socketio`` since
Locust 2.3x, python-socketio's client on gevent, each call through Locust's request event).
Each client's start-up is inside its CPU time (greenws's CLI and Locust's both load plugins and
the script). The medians of the rounds and greenws's ratio to each peer are printed. Nothing is
asserted: the numbers depend on the machine.
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

WORKERS = 8

GREENWS_SCRIPT = """
from greenws.kits import socketio
import os
URL = os.environ["URL"]
MODE = os.environ["MODE"]
options = {"vus": %(workers)d, "duration": "%(seconds)ss", "gracefulStop": "2s"}

def default():
    if MODE == "sessions":
        with socketio.connect(URL) as sio:
            sio.call("add", 1, 2, timeout=10)
    else:
        with socketio.connect(URL) as sio:
            for _ in range(1000):
                sio.call("echo", "x" * 32, timeout=10)
"""

PEER_SCRIPT = """
import json, os, sys, threading, time
import socketio
URL, MODE, SECONDS, WORKERS = os.environ["URL"], os.environ["MODE"], float(sys.argv[1]), int(sys.argv[2])
done = [0] * WORKERS
stop = time.monotonic() + SECONDS

def work(index):
    if MODE == "sessions":
        while time.monotonic() < stop:
            client = socketio.Client()
            client.connect(URL, transports=["websocket"])
            client.call("add", (1, 2), timeout=10)
            client.disconnect()
            done[index] += 1
    else:
        client = socketio.Client()
        client.connect(URL, transports=["websocket"])
        while time.monotonic() < stop:
            client.call("echo", "x" * 32, timeout=10)
            done[index] += 1
        client.disconnect()

threads = [threading.Thread(target=work, args=(i,)) for i in range(WORKERS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"count": sum(done)}))
"""


LOCUST_SCRIPT = """
import json, os
from locust import constant, events, task
from locust.contrib.socketio import SocketIOUser

URL, MODE = os.environ["URL"], os.environ["MODE"]
DONE = [0]


class Bench(SocketIOUser):
    wait_time = constant(0)

    def on_start(self):
        if MODE == "messages":
            self.sio.connect(URL, transports=["websocket"])

    @task
    def work(self):
        if MODE == "sessions":
            self.sio.connect(URL, transports=["websocket"])
            self.sio.call("add", (1, 2), timeout=10)
            self.sio.disconnect()
        else:
            self.sio.call("echo", "x" * 32, timeout=10)
        DONE[0] += 1

    def on_stop(self):
        if MODE == "messages":
            self.sio.disconnect()


@events.quitting.add_listener
def write_count(environment, **kwargs):
    with open(os.environ["BENCH_COUNT_FILE"], "w") as fh:
        json.dump({"count": DONE[0], "failures": environment.stats.total.num_failures}, fh)
"""


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_greenws(url: str, mode: str, seconds: int, workdir: Path) -> tuple[int, float, float]:
    script = workdir / "bench_socketio.py"
    script.write_text(textwrap.dedent(GREENWS_SCRIPT % {"workers": WORKERS, "seconds": seconds}))
    export = workdir / "summary.json"
    env = {**os.environ, "URL": url, "MODE": mode, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "greenws", "run", str(script), "-q", "--no-color"]
    command += ["--summary-export", str(export), "--summary-trend-stats", "avg,count"]
    before = _child_cpu()
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=seconds + 60)
    cpu = _child_cpu() - before
    metrics = json.loads(export.read_text())["metrics"]
    count = metrics["iterations" if mode == "sessions" else "socketio_ack_duration"]["count"]
    return int(count), cpu, float(seconds)


def run_peer(url: str, mode: str, seconds: int) -> tuple[int, float, float]:
    env = {**os.environ, "URL": url, "MODE": mode}
    before = _child_cpu()
    completed = subprocess.run(
        [sys.executable, "-c", PEER_SCRIPT, str(seconds), str(WORKERS)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    cpu = _child_cpu() - before
    return int(json.loads(completed.stdout.splitlines()[-1])["count"]), cpu, float(seconds)


def run_locust(url: str, mode: str, seconds: int, workdir: Path) -> tuple[int, float, float]:
    script = workdir / "bench_locust_socketio.py"
    script.write_text(LOCUST_SCRIPT)
    count_file = workdir / "locust_count.json"
    env = {**os.environ, "URL": url, "MODE": mode, "BENCH_COUNT_FILE": str(count_file)}
    command = [sys.executable, "-m", "locust", "-f", str(script), "--headless", "--only-summary"]
    command += ["-u", str(WORKERS), "-r", str(WORKERS), "-t", f"{seconds}s", "--stop-timeout", "2"]
    before = _child_cpu()
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=seconds + 60)
    cpu = _child_cpu() - before
    return int(json.loads(count_file.read_text())["count"]), cpu, float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--server", choices=["js", "py"], default="js")
    options = parser.parse_args()
    server = ScriptServer(
        ROOT / "tests" / "kits" / f"socketio_server.{options.server}",
        "--ping-interval",
        "25",
        "--ping-timeout",
        "20",
    )
    url = f"http://{server.host}:{server.port}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for mode in ("sessions", "messages"):
                names = ("greenws", "python-socketio", "locust")
                results: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
                for _ in range(options.rounds):
                    for name in names:
                        if name == "greenws":
                            count, cpu, wall = run_greenws(url, mode, options.seconds, Path(tmp))
                        elif name == "locust":
                            count, cpu, wall = run_locust(url, mode, options.seconds, Path(tmp))
                        else:
                            count, cpu, wall = run_peer(url, mode, options.seconds)
                        results[name].append((count / wall, count / max(cpu, 1e-9)))
                medians = {
                    name: (
                        statistics.median(r[0] for r in rows),
                        statistics.median(r[1] for r in rows),
                    )
                    for name, rows in results.items()
                }
                for name, (rate, per_core) in medians.items():
                    print(f"{mode:9} {name:16} {rate:10.1f}/s  {per_core:10.1f} per CPU-second")
                for peer in names[1:]:
                    ratio = medians["greenws"][1] / medians[peer][1]
                    print(f"{mode:9} greenws / {peer} per CPU-second: {ratio:.2f}x")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
