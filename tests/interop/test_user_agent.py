"""k6's ``userAgent`` option is the handshake's User-Agent, on all three socket APIs.

The server is the independent ``websockets`` library; its ``/headers`` route sends back the
request's headers, which the script writes to a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import run_greenws
from servers import ScriptServer

SCRIPT = """
import json, os
from greenws import ws
from greenws.websockets import WebSocket

options = OPTIONS
URL = os.environ["URL"]
HEADERS = json.loads(os.environ.get("HEADERS", "{}"))

def record(api, text):
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps({"api": api, "headers": json.loads(text)}) + "\\n")

def default():
    def handler(socket):
        socket.on("message", lambda text: (record("ws.connect", text), socket.close()))
    ws.connect(URL, {"headers": HEADERS}, handler)

    with ws.open(URL, {"headers": HEADERS}) as sock:
        record("ws.open", sock.recv())

    standard = WebSocket(URL, None, {"headers": HEADERS})
    def on_message(event):
        record("WebSocket", event.data)
        standard.close()
    standard.onmessage = on_message
"""


def agents(
    tmp_path: Path, server: ScriptServer, options: dict[str, Any], *args: str, **env: str
) -> dict[str, str | None]:
    out = tmp_path / "headers.ndjson"
    out.unlink(missing_ok=True)
    script = SCRIPT.replace("OPTIONS", repr({"iterations": 1, **options}))
    result = run_greenws(
        tmp_path, script, *args, env={"URL": server.url + "/headers", "OUT": str(out), **env}
    )
    assert result.returncode == 0, result.stderr
    seen = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(record["api"] for record in seen) == ["WebSocket", "ws.connect", "ws.open"]
    return {record["api"]: record["headers"].get("user-agent") for record in seen}


def test_greenws_names_itself_by_default(tmp_path: Path, websockets_server: ScriptServer) -> None:
    seen = agents(tmp_path, websockets_server, {})
    assert all(agent is not None and agent.startswith("greenws/") for agent in seen.values())


@pytest.mark.parametrize(
    ("options", "args", "env"),
    [
        ({"userAgent": "MyService-LoadTest/1.0"}, (), {}),
        ({"userAgent": "script value"}, ("--user-agent", "MyService-LoadTest/1.0"), {}),
        ({}, (), {"GREENWS_USER_AGENT": "MyService-LoadTest/1.0"}),
        ({}, (), {"K6_USER_AGENT": "MyService-LoadTest/1.0"}),
    ],
    ids=["script option", "--user-agent over the script", "GREENWS_USER_AGENT", "K6_USER_AGENT"],
)
def test_the_user_agent_option_from_every_layer(
    tmp_path: Path,
    websockets_server: ScriptServer,
    options: dict[str, Any],
    args: tuple[str, ...],
    env: dict[str, str],
) -> None:
    seen = agents(tmp_path, websockets_server, options, *args, **env)
    assert seen == dict.fromkeys(("ws.connect", "ws.open", "WebSocket"), "MyService-LoadTest/1.0")


def test_a_header_param_wins_and_an_empty_agent_sends_none(
    tmp_path: Path, websockets_server: ScriptServer
) -> None:
    header = json.dumps({"User-Agent": "from-headers"})
    seen = agents(tmp_path, websockets_server, {"userAgent": "option"}, HEADERS=header)
    assert set(seen.values()) == {"from-headers"}
    assert set(agents(tmp_path, websockets_server, {"userAgent": ""}).values()) == {None}


def test_a_user_agent_that_is_not_text_is_refused(tmp_path: Path) -> None:
    result = run_greenws(tmp_path, "options = {'userAgent': 3}\ndef default(): pass\n")
    assert result.returncode == 104
    assert "userAgent" in result.stderr
