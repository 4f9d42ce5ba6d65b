"""``wss://`` end to end: certificate verification on by default, and every way to skip it.

The server is the ``websockets`` library behind TLS (``tests/net/tls_echo_server.py``) with a
self-signed certificate made for this session. The certificate names 127.0.0.1 correctly, so the
only reason a verifying client can refuse it is that no trusted CA signed it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from greenws_runner import RunResult, run_greenws

SCRIPT = """
import json, os
from greenws import ws

options = OPTIONS

def default():
    log = []
    def session(socket):
        socket.on("open", lambda: socket.send("over tls"))
        def on_message(message):
            log.append(message)
            socket.close(1000)
        socket.on("message", on_message)
        socket.on("error", lambda e: log.append("error: " + e.error()))
        socket.set_timeout(lambda: socket.close(1000), 10000)  # bounded if no echo comes back
    res = ws.connect(os.environ["TARGET"] + "/echo", PARAMS, session)
    with open(os.environ["RESULT_FILE"], "w") as handle:
        json.dump({"status": res.status, "error": res.error, "messages": log}, handle)
"""


def run_tls(
    tmp_path: Path,
    url: str,
    *args: str,
    options: str = '{"iterations": 1}',
    params: str = "None",
    env: dict[str, str] | None = None,
) -> tuple[RunResult, dict[str, object]]:
    result_file = tmp_path / "result.json"
    script = SCRIPT.replace("OPTIONS", options).replace("PARAMS", params)
    result = run_greenws(
        tmp_path,
        script,
        *args,
        env={"TARGET": url, "RESULT_FILE": str(result_file), **(env or {})},
    )
    assert result_file.exists(), f"the script did not finish: {result.stderr}"
    return result, json.loads(result_file.read_text(encoding="utf-8"))


def test_self_signed_certificate_is_refused_by_default(tmp_path: Path, tls_server: str) -> None:
    result, seen = run_tls(tmp_path, tls_server)
    assert result.returncode == 0, result.stderr  # a failed connect is not a script error (k6)
    assert seen["status"] == 0, seen
    error = str(seen["error"])
    assert error, seen
    assert "\n" not in error, error
    assert "certificate" in error.lower() or "tls" in error.lower(), error
    assert seen["messages"] == [], seen
    # The failed session is still measured, as in k6.
    assert result.metric("ws_sessions")["count"] == 1
    assert result.metric("ws_connecting")["count"] == 1
    assert "ws_msgs_sent" not in result.summary["metrics"]
    # as k6: no HTTP response, no status tag
    assert [point["data"]["tags"].get("status") for point in result.points_of("ws_sessions")] == [
        None
    ]
    # The log names the URL, once, on one line.
    logged = [line for line in result.stderr.splitlines() if tls_server in line]
    assert len(logged) == 1, result.stderr
    assert "certificate" in logged[0].lower() or "tls" in logged[0].lower(), logged[0]


@pytest.mark.parametrize(
    ("how", "args", "options", "params", "env"),
    [
        ("script options", (), '{"iterations": 1, "insecureSkipTLSVerify": True}', "None", {}),
        ("CLI flag", ("--insecure-skip-tls-verify",), '{"iterations": 1}', "None", {}),
        (
            "connect param",
            (),
            '{"iterations": 1}',
            '{"insecureSkipTLSVerify": True}',
            {},
        ),
        (
            "environment",
            (),
            '{"iterations": 1}',
            "None",
            {"GREENWS_INSECURE_SKIP_TLS_VERIFY": "true"},
        ),
    ],
    ids=["script-options", "cli-flag", "connect-param", "environment"],
)
def test_skipping_verification_connects_and_echoes(
    tmp_path: Path,
    tls_server: str,
    how: str,
    args: tuple[str, ...],
    options: str,
    params: str,
    env: dict[str, str],
) -> None:
    result, seen = run_tls(tmp_path, tls_server, *args, options=options, params=params, env=env)
    assert result.returncode == 0, result.stderr
    assert seen == {"status": 101, "error": "", "messages": ["over tls"]}, (how, seen)
    assert result.metric("ws_sessions")["count"] == 1
    assert result.metric("ws_msgs_sent")["count"] == 1
    assert result.metric("ws_msgs_received")["count"] == 1
    assert [point["data"]["tags"]["status"] for point in result.points_of("ws_sessions")] == ["101"]


def test_skip_in_one_connection_does_not_leak_into_the_next(
    tmp_path: Path, tls_server: str
) -> None:
    """The insecure and the verifying contexts are separate: the second connect must still fail."""
    result_file = tmp_path / "result.json"
    script = """
import json, os
from greenws import ws

options = {"iterations": 1}

def default():
    seen = []
    for params in ({"insecureSkipTLSVerify": True}, None):
        res = ws.connect(os.environ["TARGET"] + "/echo", params, lambda s: s.on("open", s.close))
        seen.append(res.status)
    with open(os.environ["RESULT_FILE"], "w") as handle:
        json.dump(seen, handle)
"""
    result = run_greenws(
        tmp_path, script, env={"TARGET": tls_server, "RESULT_FILE": str(result_file)}
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result_file.read_text(encoding="utf-8")) == [101, 0]
    assert result.metric("ws_sessions")["count"] == 2
