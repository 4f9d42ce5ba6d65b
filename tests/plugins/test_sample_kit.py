"""The sample third-party protocol kit (``examples/plugins/greenws-phoenix-kit``), through its
entry point, the way an installed kit reaches a script: ``greenws.kits.get("phoenix")``.

The distribution must be installed (the README's set-up line does it); what it proves is the
kit interface of docs/protocols.md: a third party's kit gets the background heartbeat, the
waits and the metrics of the built-in ones by subclassing ``KitSession``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from greenws_runner import run_greenws
from servers import ScriptServer

HERE = Path(__file__).resolve().parent

SCRIPT = """
import json, os
from greenws import check, sleep, kits

phoenix = kits.get("phoenix")
options = {"vus": 2, "iterations": 4}

def record(*item):
    with open(os.environ["EVENTS_FILE"], "a") as handle:
        handle.write(json.dumps(list(item)) + "\\n")

def default():
    with phoenix.connect(os.environ["TARGET"] + "/socket/websocket", token="t", heartbeat=0.1) as socket:
        room = socket.channel("room:lobby")
        record("join", room.join(timeout=5))
        sleep(4.5)      # the server drops sockets silent for 2 s: the heartbeat keeps this one
        room.push("new_msg", {"body": "hi"}, timeout=5)
        record("broadcast", room.recv(timeout=5))
        try:
            socket.channel("room:forbidden").join(timeout=5)
        except phoenix.ReplyError as error:
            record("refused", error.status, error.response)
        record("open", socket.closed)
    try:
        phoenix.connect(os.environ["TARGET"] + "/socket/websocket", token="bad")
    except Exception as error:
        record("bad token", type(error).__name__, error.response.status)
"""


@pytest.fixture(scope="module")
def phoenix_server() -> Iterator[ScriptServer]:
    server = ScriptServer(HERE / "phoenix_server.py", "--idle-timeout", "2")
    try:
        yield server
    finally:
        server.stop()


def test_the_kit_is_found_through_its_entry_point_and_keeps_its_socket_alive(
    tmp_path: Path, phoenix_server: ScriptServer
) -> None:
    entry_points = metadata.entry_points(group="greenws")
    assert "phoenix-kit" in {e.name for e in entry_points}, "pip install -e the sample kit"
    events = tmp_path / "events.json"
    env = {"EVENTS_FILE": str(events), "TARGET": phoenix_server.url}
    result = run_greenws(tmp_path, SCRIPT, env=env)
    assert result.returncode == 0, result.stderr
    log = [json.loads(line) for line in events.read_text().splitlines()]
    assert sorted(map(json.dumps, log)) == sorted(
        map(
            json.dumps,
            [
                ["join", {"joined": "room:lobby"}],
                ["broadcast", ["new_msg", {"body": "hi"}]],
                ["refused", "error", {"reason": "unauthorized"}],
                ["open", False],
                ["bad token", "ConnectError", 403],
            ]
            * 4,
        )
    )
    joins = [p["data"]["tags"] for p in result.points_of("phoenix_join_duration")]
    assert sorted(t["topic"] for t in joins) == ["room:forbidden"] * 4 + ["room:lobby"] * 4
    pushes = result.points_of("phoenix_push_duration")
    assert len(pushes) == 4 and {p["data"]["tags"]["event"] for p in pushes} == {"new_msg"}
    received = result.points_of("phoenix_messages_received")
    assert len(received) >= 4  # each push is broadcast to every VU in the room at that moment
    assert all(p["data"]["tags"]["topic"] == "room:lobby" for p in received)


def test_without_heartbeats_the_same_server_drops_the_socket(
    tmp_path: Path, phoenix_server: ScriptServer
) -> None:
    script = """
import json, os
from greenws import sleep, kits

def default():
    phoenix = kits.get("phoenix")
    socket = phoenix.connect(os.environ["TARGET"] + "/socket/websocket", heartbeat=30)
    sleep(4.5)
    with open(os.environ["EVENTS_FILE"], "a") as handle:
        handle.write(json.dumps([socket.closed, socket.close_code]) + "\\n")
"""
    events = tmp_path / "events.json"
    env = {"EVENTS_FILE": str(events), "TARGET": phoenix_server.url}
    result = run_greenws(tmp_path, script, "--iterations", "1", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(events.read_text()) == [True, 1000]
