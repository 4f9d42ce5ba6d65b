"""``localIPs``: VUs' sockets bind to the given source addresses, as the server sees them.

The echo server's ``/stats`` route counts accepted connections by source address, so these
tests assert what the kernel really did, not what greenws meant to do. Every address is on the
loopback interface (127.0.0.0/8 is all local on Linux).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from greenws.cli.echo_server import EchoServerProcess
from tests.greenws_runner import run_greenws

SCRIPT = """
import greenws
from greenws import ws

options = {"scenarios": {"one_each": {
    "executor": "per-vu-iterations", "vus": 6, "iterations": 1, "maxDuration": "30s"}}}

def default():
    def handler(socket):
        socket.on("open", lambda: socket.close())
    ws.connect(greenws.env["URL"], None, handler)
    if greenws.env.get("OVERRIDE"):
        ws.connect(greenws.env["URL"], {"localIP": greenws.env["OVERRIDE"]}, handler)
"""


def stats(server: EchoServerProcess) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/stats", timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def accepted(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    old, new = before["accepted"]["by_source"], after["accepted"]["by_source"]
    return {ip: n - old.get(ip, 0) for ip, n in new.items() if n - old.get(ip, 0)}


def test_vus_bind_round_robin_and_a_param_overrides(tmp_path: Path) -> None:
    with EchoServerProcess("127.0.0.1", 0) as server:
        before = stats(server)
        result = run_greenws(
            tmp_path,
            SCRIPT,
            "--local-ips",
            "127.0.0.2-127.0.0.4",
            env={"URL": f"{server.url}/", "OVERRIDE": "127.0.0.9"},
        )
        assert result.returncode == 0, result.stderr
        by_source = accepted(before, stats(server))
    # 6 VUs over 3 addresses: 2 each; every VU's second session came from its param's address
    assert by_source == {"127.0.0.2": 2, "127.0.0.3": 2, "127.0.0.4": 2, "127.0.0.9": 6}
    assert result.metric("ws_sessions")["count"] == 12
    assert result.metric("open_connections")["max"] >= 0  # declared, sampled with vus
    assert "open_connections" in result.stdout and "NETWORK" in result.stdout


def test_the_option_reaches_workers(tmp_path: Path) -> None:
    with EchoServerProcess("127.0.0.1", 0) as server:
        before = stats(server)
        result = run_greenws(
            tmp_path,
            SCRIPT,
            "--workers",
            "2",
            env={"URL": f"{server.url}/", "K6_LOCAL_IPS": "127.0.0.5,127.0.0.6"},
        )
        assert result.returncode == 0, result.stderr
        by_source = accepted(before, stats(server))
    assert set(by_source) == {"127.0.0.5", "127.0.0.6"}
    assert sum(by_source.values()) == 6


def test_an_address_not_on_this_host_is_a_dial_error_with_k6s_code(tmp_path: Path) -> None:
    with EchoServerProcess("127.0.0.1", 0) as server:
        result = run_greenws(
            tmp_path, SCRIPT, "--local-ips", "192.0.2.1", env={"URL": f"{server.url}/"}
        )
    assert result.returncode == 0, result.stderr
    assert "Cannot assign requested address (EADDRNOTAVAIL)" in result.stderr
    sessions = result.points_of("ws_sessions")
    assert len(sessions) == 6
    assert {p["data"]["tags"]["error_code"] for p in sessions} == {"1210"}  # k6: tcpDialError


def test_bad_values_are_one_clear_line(tmp_path: Path) -> None:
    result = run_greenws(tmp_path, SCRIPT, "--local-ips", "127.0.0.2-127.0.0.1", outputs=False)
    assert result.returncode == 104
    assert result.stderr.strip().splitlines() == [
        "greenws: error: invalid option localIPs='127.0.0.2-127.0.0.1': "
        "'127.0.0.2-127.0.0.1' ends before it starts (in command line)"
    ]
    result = run_greenws(
        tmp_path, SCRIPT, env={"URL": "ws://127.0.0.1:9/", "OVERRIDE": "nope"}, outputs=False
    )
    assert "params.localIP 'nope' is not an IP address" in result.stderr
