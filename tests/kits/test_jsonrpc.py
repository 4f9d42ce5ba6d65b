"""The JSON-RPC kit against two independent servers: ``jsonrpcserver`` behind ``websockets``,
and Ganache (an Ethereum node simulator, Node) for ``eth_subscribe``.

Also where the kit base is proved: a session survives a ``sleep()`` longer than the server's
keepalive because its reader answers pings while the VU sleeps, where ``ws.open`` is dropped.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import RunResult, run_greenws, run_recorded
from servers import ROOT, ScriptServer

HERE = Path(__file__).resolve().parent
NODE_MODULES = ROOT / "tests" / "node" / "node_modules"

PRELUDE = """
import json, os
from greenws import check, sleep, ws
from greenws.kits import jsonrpc

TARGET = os.environ["TARGET"]

"""


@pytest.fixture(scope="module")
def rpc_server() -> Iterator[ScriptServer]:
    server = ScriptServer(HERE / "jsonrpc_server.py")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def keepalive_server() -> Iterator[ScriptServer]:
    """Pings every second and closes a client that has not answered a second later."""
    server = ScriptServer(HERE / "jsonrpc_server.py", "--ping-interval", "1")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ganache() -> Iterator[ScriptServer]:
    if shutil.which("node") is None or not (NODE_MODULES / "ganache").is_dir():
        pytest.fail("Node and tests/node's packages are needed: see the README's set-up line")
    server = ScriptServer(HERE / "ganache_server.js", timeout=60)
    try:
        yield server
    finally:
        server.stop()


def run_logged(tmp_path: Path, body: str, url: str, *args: str) -> tuple[RunResult, list[Any]]:
    return run_recorded(tmp_path, PRELUDE + body, *args, env={"TARGET": url})


def tags_of(result: RunResult, metric: str, tag: str) -> list[Any]:
    return sorted(str(p["data"]["tags"].get(tag)) for p in result.points_of(metric))


def server_stats(url: str) -> dict[str, Any]:
    """What the server counted, asked over a plain ``websockets`` client (not greenws)."""
    from websockets.sync.client import connect

    with connect(url) as client:
        client.send('{"jsonrpc":"2.0","id":1,"method":"stats"}')
        return json.loads(client.recv(timeout=10))["result"]  # type: ignore[no-any-return]


def test_calls_errors_batches_and_notifications_counted_as_the_server_counted(
    tmp_path: Path, rpc_server: ScriptServer
) -> None:
    before = server_stats(rpc_server.url)
    result, log = run_logged(
        tmp_path,
        """
def default():
    with jsonrpc.connect(TARGET) as rpc:
        record("add", rpc.call("add", [2, 3]))
        record("echo", rpc.call("echo", {"value": {"nested": [1, None]}}))
        try:
            rpc.call("fail", [-32001, "refused"])
        except jsonrpc.RpcError as error:
            record("error", error.code, error.message)
        try:
            rpc.call("no_such_method")
        except jsonrpc.RpcError as error:
            record("unknown", error.code)
        answers = rpc.batch([("add", [1, 1]), ("fail", [7, "x"]), ("echo", ["b"])])
        record("batch", answers[0], type(answers[1]).__name__, answers[1].code, answers[2])
        rpc.notify("seen", ["a"])
        rpc.notify("seen")
        try:
            rpc.call("sleep", [2], timeout=0.2)
        except jsonrpc.ReceiveTimeout:
            record("timeout")
        record("after timeout", rpc.call("add", [0, 1]))
""",
        rpc_server.url,
        "--vus",
        "2",
        "--iterations",
        "4",
    )
    assert result.returncode == 0, result.stderr
    per_iteration = [
        ["add", 5],
        ["echo", {"nested": [1, None]}],
        ["error", -32001, "refused"],
        ["unknown", -32601],
        ["batch", 2, "RpcError", 7, "b"],
        ["timeout"],
        ["after timeout", 1],
    ]
    assert sorted(map(json.dumps, log)) == sorted(map(json.dumps, per_iteration * 4))
    after = server_stats(rpc_server.url)
    calls = {m: after["calls"].get(m, 0) - before["calls"].get(m, 0) for m in after["calls"]}
    # every answered call and batch member is one jsonrpc_duration sample, tagged by method
    durations = tags_of(result, "jsonrpc_duration", "method")
    assert durations.count("add") == calls["add"] == 12
    assert durations.count("echo") == calls["echo"] == 8
    assert durations.count("fail") == calls["fail"] == 8
    assert durations.count("no_such_method") == 4
    assert "sleep" not in durations and calls["sleep"] == 4  # timed out: no duration
    assert after["notified"].get("seen", 0) - before["notified"].get("seen", 0) == 8
    failed = result.metric("jsonrpc_failed")
    # per iteration 4 failed (3 error answers, 1 timeout) and 5 answered calls, k6's Rate terms
    assert (failed["passes"], failed["fails"]) == (16, 20)
    error_codes = tags_of(result, "jsonrpc_failed", "error_code")
    assert error_codes.count("-32001") == 4 and error_codes.count("-32601") == 4
    assert error_codes.count("7") == 4
    assert set(tags_of(result, "jsonrpc_duration", "url")) == {rpc_server.url}
    assert result.metric("jsonrpc_duration")["min"] > 0


def test_a_session_survives_a_sleep_longer_than_the_servers_keepalive(
    tmp_path: Path, keepalive_server: ScriptServer
) -> None:
    result, log = run_logged(
        tmp_path,
        """
def default():
    with jsonrpc.connect(TARGET) as rpc:
        sleep(3.5)                     # 3.5 keepalive periods: the reader answers the pings
        record("kit", rpc.call("add", [1, 1]), rpc.closed)
    with ws.open(TARGET) as raw:       # the same wait with nobody reading: dropped
        sleep(3.5)
        try:
            raw.send('{"jsonrpc":"2.0","id":1,"method":"add","params":[1,1]}')
            record("raw", "answered", raw.recv(timeout=2))
        except Exception as error:
            record("raw", type(error).__name__, raw.close_code)
""",
        keepalive_server.url,
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert log[0] == ["kit", 2, False]
    assert log[1][0] == "raw" and log[1][1] == "ConnectionClosed" and log[1][2] == 1011
    sessions = result.points_of("ws_sessions")
    assert len(sessions) == 2
    assert sum("error" in point["data"]["tags"] for point in sessions) == 1  # ws.open's only


def test_eth_subscribe_against_ganache(tmp_path: Path, ganache: ScriptServer) -> None:
    result, log = run_logged(
        tmp_path,
        """
def default():
    with jsonrpc.connect(TARGET) as rpc:
        start = int(rpc.call("eth_blockNumber"), 16)
        heads = rpc.subscribe("eth_subscribe", ["newHeads"])
        numbers = [int(heads.recv(timeout=10)["number"], 16) for _ in range(3)]
        record("heads", numbers == sorted(numbers), numbers[0] > start, len(set(numbers)))
        record("unsubscribed", heads.unsubscribe())
        try:
            rpc.call("eth_getBalance", ["not an address", "latest"])
        except jsonrpc.RpcError as error:
            record("bad address", error.code < 0)
""",
        ganache.url,
        "--iterations",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert log == [["heads", True, True, 3], ["unsubscribed", True], ["bad address", True]] * 2
    assert tags_of(result, "jsonrpc_notifications", "method").count("eth_subscription") >= 6
    assert set(tags_of(result, "jsonrpc_duration", "method")) == {
        "eth_blockNumber",
        "eth_subscribe",
        "eth_unsubscribe",
        "eth_getBalance",
    }


def test_the_example_runs_against_ganache(tmp_path: Path, ganache: ScriptServer) -> None:
    example = ROOT / "examples" / "protocols" / "jsonrpc_subscription.py"
    result = run_greenws(tmp_path, example, "--vus", "2", "-d", "2s", env={"TARGET": ganache.url})
    assert result.returncode == 0, result.stderr
    assert result.summary["metrics"]["checks"]["fails"] == 0
    assert result.summary["metrics"]["checks"]["passes"] >= 4
    assert "JSONRPC" in result.stdout and "jsonrpc_duration" in result.stdout
