"""HTTP proxies from the environment, as k6's dialer uses them: a CONNECT tunnel through a real
proxy (Debian's tinyproxy on 127.0.0.1) to an echo server on a host of the test's own.

Go's rules never proxy loopback addresses, so the target lives on a host of the test's own: a
Linux network namespace on a bridge (tests/netns.py), created here and removed after.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from greenws_runner import run_greenws
from netns import Host, lab, wait_for_port
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


@pytest.fixture(scope="module")
def remote_host() -> Iterator[Host]:
    """A host of the test's own (tests/netns.py), reachable from here at its own address."""
    with lab() as made:
        yield made.add_host("proxy")


@pytest.fixture(scope="module")
def remote_echo(remote_host: Host) -> Iterator[str]:
    """greenws's echo server inside the namespace; its ws:// url."""
    port = 8765  # alone in its own namespace: no other process can hold it
    server = subprocess.Popen(
        [
            *remote_host.command(sys.executable, "-m", "greenws", "echo"),
            "--host",
            remote_host.address,
            "--port",
            str(port),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(remote_host.address, port, server)
        yield f"ws://{remote_host.address}:{port}/"
    finally:
        server.terminate()
        server.wait(10)


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
    tmp_path: Path, remote_echo: str, proxy: TinyProxy, remote_host: Host
) -> None:
    result = run_greenws(
        tmp_path, SCRIPT, env={"TARGET": remote_echo, "HTTP_PROXY": proxy.url, "NO_PROXY": ""}
    )
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr
    assert result.metric("checks")["passes"] == 2
    assert proxy.tunnels() == [f"CONNECT {remote_host.address}:8765 HTTP/1.1"] * 2


def test_no_proxy_and_loopback_go_direct(
    tmp_path: Path, remote_echo: str, proxy: TinyProxy, remote_host: Host, echo_server
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
    tmp_path: Path, remote_echo: str, remote_host: Host
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


LOGIN_THEN_CHAT = """
import os
from greenws import check, http, ws

options = {"iterations": 1}

def default():
    base = os.environ["TARGET"]
    login = http.post(base.replace("ws://", "http://") + "login", {"user": "ann"})
    check(login, {"logged in": lambda r: r.status == 200 and r.json("token") == "t-ann"})
    headers = {"Authorization": "Bearer " + login.json("token")}
    def session(socket):
        socket.on("open", lambda: socket.send("hi"))
        socket.on("message", lambda text: (check(text, {"chatted": lambda t: t == "hi"}),
                                           socket.close()))
    ws.connect(base + "private", {"headers": headers}, session)
"""


def test_http_requests_and_the_login_cookie_go_through_the_proxy(
    tmp_path: Path, remote_echo: str, proxy: TinyProxy, remote_host: Host
) -> None:
    """``http`` follows the same proxy rules as the sockets: a plain request goes to the proxy in
    absolute form, and the session cookie it got reaches the WebSocket handshake, tunnelled."""
    result = run_greenws(
        tmp_path,
        LOGIN_THEN_CHAT,
        env={"TARGET": remote_echo, "HTTP_PROXY": proxy.url, "NO_PROXY": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.metric("checks")["passes"] == 2, result.stderr
    log = proxy.log.read_text()
    assert f"POST http://{remote_host.address}:8765/login HTTP/1.1" in log
    assert proxy.tunnels() == [f"CONNECT {remote_host.address}:8765 HTTP/1.1"]
    assert [p["data"]["tags"]["status"] for p in result.points_of("http_reqs")] == ["200"]
