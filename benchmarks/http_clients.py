"""Which HTTP client under ``greenws.http``? Client CPU per request, candidates side by side.

    python benchmarks/http_clients.py                  # 5 rounds x 3,000 requests, then req/s
    python benchmarks/http_clients.py --rounds 3 --requests 1000 --duration 5

Part 1 (the choice): each candidate sends N sequential GETs over one keep-alive connection to
the same local server (nginx serving a 1 KiB static file, pinned to core 1; the client runs on
core 0) and measures ``time.process_time()`` over them, in a fresh interpreter per candidate and
round. Printed: the median CPU µs per request, the min–max over rounds and the ratio to greenws.
- greenws: ``greenws.net.http_client.exchange`` (the client the ``http`` module uses: its own
  sans-I/O framing, ``greenws.protocol.http1``, on gevent sockets, phase timings included)
- h11 on a gevent socket (the same socket code, h11's state machine instead of ours)
- urllib3 on gevent (``monkey.patch_all()``; what ``requests`` would cost)
- geventhttpclient (Locust's ``FastHttpUser`` client; from ``benchmarks/.venv-locust``)

Part 2: requests/s per CPU-second of the client process, greenws (``greenws run``, 10 VUs
looping ``http.get``) vs Locust ``FastHttpUser`` (10 users, no wait) vs k6 (when on PATH), each
for ``--duration`` seconds against the same nginx. CPU is the child's user+sys time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

from harness import venvs  # noqa: E402

LOCUST_REQUIREMENTS = ["locust", "websocket-client"]  # the same venv as benchmarks/run.py

_CLIENTS = {
    "greenws": """
        from greenws.net.http_client import ConnectionPool, Endpoint, exchange
        pool, endpoint = ConnectionPool(), Endpoint(HOST, PORT, False, None, False)
        headers = [("Host", f"{HOST}:{PORT}"), ("User-Agent", "bench"), ("Accept-Encoding", "gzip")]
        def one():
            done = exchange(pool, None, endpoint, "GET", "/file.txt", headers, b"", timeout=10)
            assert done.status == 200 and len(done.body) == SIZE, done.error
    """,
    "h11": """
        import h11
        from gevent import socket
        sock = socket.create_connection((HOST, PORT))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        state = {"conn": h11.Connection(h11.CLIENT)}
        headers = [("Host", f"{HOST}:{PORT}"), ("User-Agent", "bench"), ("Accept-Encoding", "gzip")]
        def one():
            conn = state["conn"]
            sock.sendall(conn.send(h11.Request(method="GET", target="/file.txt", headers=headers))
                         + conn.send(h11.EndOfMessage()))
            body = []
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(sock.recv(65536))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    body.append(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    break
            conn.start_next_cycle()
            assert status == 200 and len(b"".join(body)) == SIZE
    """,
    "urllib3": """
        from gevent import monkey; monkey.patch_all()
        import urllib3
        pool = urllib3.HTTPConnectionPool(HOST, PORT, maxsize=1)
        def one():
            response = pool.request("GET", "/file.txt", headers={"User-Agent": "bench"})
            assert response.status == 200 and len(response.data) == SIZE
    """,
    "geventhttpclient": """
        from geventhttpclient import HTTPClient
        client = HTTPClient(HOST, PORT, concurrency=1)
        def one():
            response = client.get("/file.txt", headers={"User-Agent": "bench"})
            body = response.read()
            assert response.status_code == 200 and len(body) == SIZE
    """,
}
_LOOP = """
import json, sys, time
HOST, PORT, SIZE, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
{client}
for _ in range(200):
    one()  # warm up: imports, first connection, caches
started = time.process_time()
for _ in range(N):
    one()
print(json.dumps((time.process_time() - started) / N * 1e6))
"""

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir};
    uwsgi_temp_path {dir}; scgi_temp_path {dir};
    server {{ listen 127.0.0.1:{port}; root {dir}/www; }}
}}
"""


def start_nginx(directory: Path, size: int) -> tuple[subprocess.Popen[bytes], int]:
    """nginx on a free port, pinned to core 1, serving ``/file.txt`` of ``size`` bytes."""
    import socket

    (directory / "www").mkdir()
    (directory / "www" / "file.txt").write_bytes(b"x" * size)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conf = directory / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=directory, port=port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(directory)],
        preexec_fn=lambda: os.sched_setaffinity(0, {1 % os.cpu_count()}),
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("nginx did not start")


def _pinned() -> None:
    os.sched_setaffinity(0, {0})


def cpu_per_request(python: str, name: str, port: int, size: int, n: int) -> float:
    code = _LOOP.format(client=textwrap.dedent(_CLIENTS[name]))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [python, "-c", code, "127.0.0.1", str(port), str(size), str(n)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        preexec_fn=_pinned,
    )
    if done.returncode:
        raise RuntimeError(f"{name} failed: {done.stderr[-800:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def child_cpu(
    command: list[str], **kwargs: object
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``command`` on core 0; its (and its children's) user+sys CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, preexec_fn=_pinned, **kwargs)  # type: ignore[call-overload]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, cpu


GREENWS_SCRIPT = """
from greenws import http
options = {{"vus": 10, "duration": "{duration}s"}}
def default():
    http.get("http://127.0.0.1:{port}/file.txt")
"""
LOCUSTFILE = """
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser
class Get(FastHttpUser):
    wait_time = constant(0)
    host = "http://127.0.0.1:{port}"
    @task
    def get(self):
        self.client.get("/file.txt")
"""
K6_SCRIPT = """
import http from "k6/http";
export const options = {{ vus: 10, duration: "{duration}s" }};
export default function () {{ http.get("http://127.0.0.1:{port}/file.txt"); }}
"""


def requests_per_core(tool: str, port: int, duration: int, work: Path, locust_python: str | None):
    """(requests, wall seconds, CPU seconds) of one tool's run, or None when it cannot run."""
    if tool == "greenws":
        script = work / "greenws_http.py"
        script.write_text(GREENWS_SCRIPT.format(port=port, duration=duration))
        export = work / "greenws.json"
        command = [sys.executable, "-m", "greenws", "run", "-q", str(script)]
        command += ["--summary-export", str(export)]
        started = time.monotonic()
        # Only built-in outputs are needed: third-party plugins installed beside are not loaded.
        env = {**os.environ, "PYTHONPATH": str(ROOT), "GREENWS_DISABLE_PLUGIN_AUTOLOAD": "1"}
        done, cpu = child_cpu(command, env=env)
        wall = time.monotonic() - started
        count = json.loads(export.read_text())["metrics"]["http_reqs"]["count"]
        return count, wall, cpu
    if tool == "locust":
        if locust_python is None:
            return None
        locustfile = work / "locustfile.py"
        locustfile.write_text(LOCUSTFILE.format(port=port))
        command = [locust_python, "-m", "locust", "-f", str(locustfile), "--headless"]
        command += ["-u", "10", "-r", "10", "-t", f"{duration}s", "--json", "--only-summary"]
        started = time.monotonic()
        done, cpu = child_cpu(command)
        wall = time.monotonic() - started
        stats = json.loads(done.stdout[done.stdout.index("[") :])
        return sum(entry["num_requests"] for entry in stats), wall, cpu
    if tool == "k6":
        k6 = shutil.which("k6")
        if k6 is None:
            return None
        script = work / "k6_http.js"
        script.write_text(K6_SCRIPT.format(port=port, duration=duration))
        export = work / "k6.json"
        command = [k6, "run", "-q", "--summary-export", str(export), str(script)]
        started = time.monotonic()
        done, cpu = child_cpu(command)
        wall = time.monotonic() - started
        return json.loads(export.read_text())["metrics"]["http_reqs"]["count"], wall, cpu
    raise ValueError(tool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--size", type=int, default=1024, help="response body bytes")
    parser.add_argument("--duration", type=int, default=10, help="seconds per req/s run")
    parser.add_argument("--clients", default=",".join(_CLIENTS))
    parser.add_argument("--tools", default="greenws,locust,k6")
    args = parser.parse_args()

    locust_python: str | None = None
    try:
        log = BENCH / "results" / "venv-locust.log"
        locust_python = str(venvs.ensure_venv(BENCH / ".venv-locust", LOCUST_REQUIREMENTS, log))
    except Exception as error:  # no package index: run what we can, and say so
        print(f"  (Locust and geventhttpclient skipped: no venv: {error})")

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        server, port = start_nginx(work, args.size)
        try:
            print(f"client CPU per GET ({args.size} B body, keep-alive), median of {args.rounds}")
            results: dict[str, list[float]] = {}
            for _ in range(args.rounds):  # interleaved, so drift hits every candidate alike
                for name in args.clients.split(","):
                    python = locust_python if name == "geventhttpclient" else sys.executable
                    if python is None:
                        continue
                    results.setdefault(name, []).append(
                        cpu_per_request(python, name, port, args.size, args.requests)
                    )
            base = statistics.median(results["greenws"]) if "greenws" in results else None
            print("| client | CPU µs per request | min–max | ratio to greenws |")
            print("|---|---|---|---|")
            for name, values in results.items():
                median = statistics.median(values)
                ratio = f"{median / base:.2f}" if base else "-"
                print(f"| {name} | {median:.1f} | {min(values):.1f}–{max(values):.1f} | {ratio} |")

            print(f"\nrequests/s per client core, 10 VUs/users, {args.duration} s each")
            print("| tool | requests | requests/s | client CPU s | requests per CPU-second |")
            print("|---|---|---|---|---|")
            for tool in args.tools.split(","):
                measured = requests_per_core(tool, port, args.duration, work, locust_python)
                if measured is None:
                    print(f"| {tool} | skipped: not installed | | | |")
                    continue
                count, _wall, cpu = measured
                print(
                    f"| {tool} | {count:,} | {count / args.duration:,.0f} | {cpu:.2f} | "
                    f"{count / cpu:,.0f} |"
                )
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
