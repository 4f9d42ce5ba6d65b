"""Each VU has a cookie jar, as in k6: cookies a handshake sets go back on that VU's later
handshakes to matching hosts; the jar is emptied at each iteration unless ``noCookiesReset``.

The server is the independent ``websockets`` library: ``/set-cookie`` sets cookies in its 101
response, ``/headers`` sends back the request's headers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from greenws_runner import run_greenws
from servers import ScriptServer

SCRIPT = """
import json, os
from greenws import CookieJar, cookie_jar, vu, ws
from greenws.websockets import WebSocket

options = {"scenarios": {"one": {"executor": "per-vu-iterations", "vus": 2, "iterations": 2}},
           "noCookiesReset": os.environ.get("KEEP") == "1"}
BASE = os.environ["BASE"]

def cookie_sent(url, params=None):
    with ws.open(url, params) as sock:
        return json.loads(sock.recv()).get("cookie")

def record(**fields):
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps({"vu": vu.id, "iteration": vu.iteration, **fields}) + "\\n")

def default():
    at_start = cookie_sent(BASE + "/headers")
    ws.connect(BASE + f"/set-cookie?name=session&value=vu{vu.id}", lambda socket: socket.close())
    after_set = cookie_sent(BASE + "/headers")
    cookie_jar().set(BASE, "lang", "en")
    standard = WebSocket(BASE + "/headers")
    def on_message(event):
        record(standard=json.loads(event.data).get("cookie"))
        standard.close()
    standard.onmessage = on_message
    record(
        at_start=at_start,
        after_set=after_set,
        other_host=cookie_sent(BASE.replace("127.0.0.1", "localhost") + "/headers"),
        own_jar=cookie_sent(BASE + "/headers", {"jar": CookieJar()}),
        cookies=cookie_jar().cookies_for_url(BASE),
    )
"""


def run(tmp_path: Path, server: ScriptServer, **env: str) -> list[dict[str, Any]]:
    out = tmp_path / "cookies.ndjson"
    out.unlink(missing_ok=True)
    result = run_greenws(tmp_path, SCRIPT, env={"BASE": server.url, "OUT": str(out), **env})
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_handshake_cookies_go_back_to_the_same_host_for_one_iteration(
    tmp_path: Path, websockets_server: ScriptServer
) -> None:
    records = run(tmp_path, websockets_server)
    main = [r for r in records if "at_start" in r]
    standard = [r for r in records if "standard" in r]
    assert len(main) == 4 and len(standard) == 4
    for record in main:
        own = f"session=vu{record['vu']}"
        assert record["at_start"] is None  # k6 empties the jar at each iteration
        assert record["after_set"] == f"{own}; seen=1"  # the Expires date's comma is no split
        assert record["other_host"] is None  # localhost is another host than 127.0.0.1
        assert record["own_jar"] is None  # a jar param replaces the VU's jar
        assert record["cookies"] == {
            "session": [f"vu{record['vu']}"],
            "seen": ["1"],
            "lang": ["en"],
        }
    # the standard WebSocket uses the same jar, with the cookie the script set
    assert sorted(r["standard"] for r in standard) == sorted(
        f"session=vu{r['vu']}; seen=1; lang=en" for r in main
    )


def test_no_cookies_reset_keeps_a_vus_cookies_across_iterations(
    tmp_path: Path, websockets_server: ScriptServer
) -> None:
    records = [r for r in run(tmp_path, websockets_server, KEEP="1") if "at_start" in r]
    starts = {(r["vu"], r["iteration"]): r["at_start"] for r in records}
    assert starts[(1, 0)] is None and starts[(2, 0)] is None
    assert starts[(1, 1)] == "session=vu1; seen=1; lang=en"
    assert starts[(2, 1)] == "session=vu2; seen=1; lang=en"


def test_a_jar_param_that_is_not_a_jar_is_a_clear_error(
    tmp_path: Path, websockets_server: ScriptServer
) -> None:
    script = (
        "import os\nfrom greenws import ws\noptions = {'iterations': 1}\n"
        "def default():\n    ws.connect(os.environ['BASE'], {'jar': {}}, lambda s: s.close())\n"
    )
    result = run_greenws(tmp_path, script, env={"BASE": websockets_server.url})
    assert "params.jar must be a greenws.CookieJar" in result.stderr
