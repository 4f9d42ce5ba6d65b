"""HTTP proxies from the environment, as k6's dialer uses them: a CONNECT tunnel through a real
proxy (Debian's tinyproxy on 127.0.0.1) to an echo server on a host of the test's own.

Go's rules never proxy loopback addresses, so the target lives in a Linux network namespace
this module creates (a veth pair, 10.213.N.1 here and 10.213.N.2 there) and removes after.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from greenws_runner import run_greenws
from servers import ROOT, free_port

SCRIPT = """
import os
from greenws import check, ws

options = {"iterations": 2}

def default():
    def session(socket):
        socket.on("open", lambda: socket.send("through"))
        socket.on("message", lambda text: (check(text, {"echoed": lambda t: t == "through"}),
                                           socket.close()))
    response = ws.connect(os.environ["TARGET"], None, session)
    if response.error:
        print("ERROR:", response.error)
"""


@dataclass
class Namespace:
    name: str
    address: str


def run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def remote_host() -> Iterator[Namespace]:
    """A network namespace reachable from here at its own address (needs root, as CI has)."""
    tag = os.getpid() % 250 + 1
    namespace = Namespace(f"greenws-proxy-{os.getpid()}", f"10.213.{tag}.2")
    here, there = f"gwp{os.getpid() % 100000}a", f"gwp{os.getpid() % 100000}b"
    run(["ip", "netns", "add", namespace.name])
    try:
        run(["ip", "link", "add", here, "type", "veth", "peer", "name", there])
        run(["ip", "link", "set", there, "netns", namespace.name])
        run(["ip", "addr", "add", f"10.213.{tag}.1/30", "dev", here])
        run(["ip", "link", "set", here, "up"])
        inside = ["ip", "netns", "exec", namespace.name]
        run([*inside, "ip", "addr", "add", f"{namespace.address}/30", "dev", there])
        run([*inside, "ip", "link", "set", there, "up"])
        run([*inside, "ip", "link", "set", "lo", "up"])
        yield namespace
    finally:
        subprocess.run(["ip", "netns", "del", namespace.name], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "del", here], capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def remote_echo(remote_host: Namespace) -> Iterator[str]:
    """greenws's echo server inside the namespace; its ws:// url."""
    command = ["ip", "netns", "exec", remote_host.name, sys.executable, "-m", "greenws", "echo"]
    server = subprocess.Popen(
        [*command, "--host", remote_host.address, "--port", "8765"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(remote_host.address, 8765, server)
        yield f"ws://{remote_host.address}:8765/"
    finally:
        server.terminate()
        server.wait(10)


def wait_for_port(host: str, port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{host}:{port} exited: {process.stderr and process.stderr.read()}")
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port}")


@dataclass
class TinyProxy:
    url: str
    log: Path

    def tunnels(self) -> list[str]:
        """The CONNECT requests the proxy logged."""
        text = self.log.read_text() if self.log.exists() else ""
        return [line.split("): ", 1)[1] for line in text.splitlines() if "): CONNECT " in line]


def start_tinyproxy(
    directory: Path, connect_ports: list[int]
) -> tuple[TinyProxy, subprocess.Popen]:
    port = free_port()
    log = directory / "tinyproxy.log"
    config = directory / "tinyproxy.conf"
    lines = [
        f"Port {port}",
        "Listen 127.0.0.1",
        "Timeout 30",
        f'LogFile "{log}"',
        "LogLevel Connect",
        "MaxClients 50",
        "Allow 127.0.0.1",
        *(f"ConnectPort {allowed}" for allowed in connect_ports),
    ]
    config.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(
        ["tinyproxy", "-d", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    wait_for_port("127.0.0.1", port, process)
    return TinyProxy(f"http://127.0.0.1:{port}", log), process


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[TinyProxy]:
    """A tinyproxy that opens tunnels to the echo port."""
    started, process = start_tinyproxy(tmp_path, [8765])
    try:
        yield started
    finally:
        process.terminate()
        process.wait(10)


def test_a_session_goes_through_the_http_proxy_tunnel(
    tmp_path: Path, remote_echo: str, proxy: TinyProxy, remote_host: Namespace
) -> None:
    result = run_greenws(
        tmp_path, SCRIPT, env={"TARGET": remote_echo, "HTTP_PROXY": proxy.url, "NO_PROXY": ""}
    )
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr
    assert result.metric("checks")["passes"] == 2
    assert proxy.tunnels() == [f"CONNECT {remote_host.address}:8765 HTTP/1.1"] * 2


def test_no_proxy_and_loopback_go_direct(
    tmp_path: Path, remote_echo: str, proxy: TinyProxy, remote_host: Namespace, echo_server
) -> None:
    env = {"HTTP_PROXY": proxy.url, "NO_PROXY": f"example.com,{remote_host.address}"}
    bypassed = run_greenws(tmp_path, SCRIPT, env={"TARGET": remote_echo, **env})
    assert bypassed.returncode == 0, bypassed.stderr
    assert bypassed.metric("checks")["passes"] == 2
    # as Go's ProxyFromEnvironment: 127.0.0.1 is never proxied, whatever NO_PROXY says
    loopback = run_greenws(
        tmp_path, SCRIPT, env={"TARGET": echo_server.url + "/", "HTTP_PROXY": proxy.url}
    )
    assert loopback.returncode == 0, loopback.stderr
    assert loopback.metric("checks")["passes"] == 2
    assert proxy.tunnels() == []


def test_a_refused_tunnel_is_a_tagged_dial_error_naming_the_proxy(
    tmp_path: Path, remote_echo: str, remote_host: Namespace
) -> None:
    refusing, process = start_tinyproxy(tmp_path, [443])  # CONNECT to 8765 is not allowed
    try:
        result = run_greenws(
            tmp_path, SCRIPT, env={"TARGET": remote_echo, "HTTP_PROXY": refusing.url}
        )
    finally:
        process.terminate()
        process.wait(10)
    assert result.returncode == 0, result.stderr
    port = refusing.url.rsplit(":", 1)[1]
    # the script prints the Response's error, and print goes to stderr
    assert f"refused the tunnel to {remote_host.address}:8765: HTTP 403" in result.stderr
    assert f"proxy 127.0.0.1:{port}" in result.stderr
    assert "checks" not in result.summary["metrics"]
    errors = {point["data"]["tags"].get("error_code") for point in result.points_of("ws_sessions")}
    assert errors == {"1210"}
