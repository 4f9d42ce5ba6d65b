"""One VU must never hold the whole process: greenlets are not preempted, so every path that can
spin without waiting has to yield, and a test end or a signal must get through a busy VU.

Each test runs real ``greenws`` child processes against real servers on 127.0.0.1 and asserts
counts: how many ``vus`` gauge points the run emitted (the gauge greenlet runs once a second only
if the hub gets its turns), how many messages were answered, which lines were printed.
"""

from __future__ import annotations

import resource
from collections import Counter
from pathlib import Path

from greenws_runner import run_greenws

# 300 VUs at an open-file limit of 128: about 60 connect and ping-pong 20 messages per session,
# the rest fail every dial at once with EMFILE and loop straight into the next iteration.
EMFILE = """
import os
from greenws import ws

options = {"vus": 300, "duration": "4s", "gracefulStop": "20s"}

def default():
    def session(socket):
        sent = [1]
        def on_message(message):
            if sent[0] < 20:
                sent[0] += 1
                socket.send("m")
            else:
                socket.close(1000)
        socket.on("open", lambda: socket.send("m"))
        socket.on("message", on_message)
    ws.connect(os.environ["TARGET"], None, session)
"""


def _open_files_128() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))


def test_vus_failing_every_dial_with_emfile_do_not_starve_the_others(
    tmp_path: Path, echo_server
) -> None:
    result = run_greenws(
        tmp_path, EMFILE, env={"TARGET": echo_server.url}, preexec_fn=_open_files_128
    )
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARN")]
    assert len(warnings) == 1, result.stderr[-2000:]
    assert "300 VUs are planned" in warnings[0] and "128 files" in warnings[0], warnings[0]
    sessions = Counter(
        point["data"]["tags"].get("error_code", "ok") for point in result.points_of("ws_sessions")
    )
    assert sessions["1210"] > 1000, sessions  # k6's dial error: EMFILE, dialled again and again
    assert sessions["ok"] >= 50, sessions
    # The hub kept its turns: the vus gauge every second of the 4 s run, not once or twice.
    assert len(result.points_of("vus")) >= 4, len(result.points_of("vus"))
    # Every session that connected finished its 20 round trips: none starved into gracefulStop.
    assert result.metric("ws_msgs_received")["count"] == 20 * sessions["ok"]
    assert result.metric("ws_msgs_sent")["count"] == 20 * sessions["ok"]
