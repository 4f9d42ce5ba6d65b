"""The STOMP kit against a real RabbitMQ Web-STOMP broker (and one silent server of our own).

Each test runs a script through ``greenws run`` and checks what the script saw, the metrics the
run exported, and what the broker counted (``rabbitmqctl list_queues``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import ROOT, RunResult, run_greenws, run_recorded
from servers import ScriptServer

from kits.rabbitmq import RabbitMQ, require_rabbitmq

PRELUDE = """
import json, os
from greenws import sleep, ws
from greenws.websockets import *
from greenws.kits import stomp

URL = os.environ["URL"]

"""


@pytest.fixture(scope="module")
def broker() -> Iterator[RabbitMQ]:
    require_rabbitmq()
    with RabbitMQ(["rabbitmq_web_stomp"]) as running:
        yield running


def run(tmp_path: Path, url: str, body: str, *args: str) -> tuple[RunResult, list[Any]]:
    return run_recorded(tmp_path, PRELUDE + body, *args, env={"URL": url})


def tag_values(result: RunResult, metric: str, tag: str) -> set[str]:
    return {point["data"]["tags"].get(tag) for point in result.points_of(metric)}


def test_connect_and_an_error_frame_on_a_bad_login(tmp_path: Path, broker: RabbitMQ) -> None:
    result, log = run(
        tmp_path,
        broker.url(),
        """
def default():
    try:
        stomp.connect(URL, login="nobody", passcode="wrong", timeout=10)
    except stomp.StompError as error:
        record("refused", error.message, "nobody" in error.body, isinstance(error, ConnectionError))
    with stomp.connect(URL, timeout=10) as session:
        record("connected", session.version, session.socket.protocol,
               session.server_headers["server"].startswith("RabbitMQ"))
    record("closed", session.close_code)
""",
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert log == [
        ["refused", "Bad CONNECT", True, True],
        ["connected", "1.2", "v12.stomp", True],
        ["closed", 1000],
    ]
    assert result.metric("stomp_connect_duration")["count"] == 1  # the refused one is not timed
    assert result.metric("stomp_connect_duration")["min"] > 0
    assert result.metric("stomp_errors")["count"] == 1
    assert result.metric("ws_sessions")["count"] == 2


def test_topic_fan_out_reaches_every_subscriber_once(tmp_path: Path, broker: RabbitMQ) -> None:
    result, log = run(
        tmp_path,
        broker.url(),
        """
def default():
    sessions = [stomp.connect(URL, timeout=10) for _ in range(3)]
    subscriptions = [s.subscribe("/topic/fan", receipt=True) for s in sessions]
    odd = {"k:ey": "a:b\\nc\\\\d"}  # escaped on the wire, the same at the other end
    with stomp.connect(URL, timeout=10) as publisher:
        for i in range(5):
            publisher.send("/topic/fan", f"tick {i}\\x00nul", headers=odd, receipt=True)
    for n, subscription in enumerate(subscriptions):
        got = [subscription.recv(timeout=10) for _ in range(5)]
        record("subscriber", n, [m.body for m in got], sorted({m.headers["k:ey"] for m in got}),
               sorted({m.destination for m in got}))
        try:
            subscription.recv(timeout=0.5)
        except ReceiveTimeout:
            record("no more", n)
    for session in sessions:
        session.close()
""",
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    bodies = [f"tick {i}\x00nul" for i in range(5)]
    for n in range(3):
        assert ["subscriber", n, bodies, ["a:b\nc\\d"], ["/topic/fan"]] in log
        assert ["no more", n] in log
    assert result.metric("stomp_messages_sent")["count"] == 5
    assert result.metric("stomp_messages_received")["count"] == 15
    assert result.metric("stomp_broadcast_latency")["count"] == 15
    assert result.metric("stomp_broadcast_latency")["min"] > 0
    assert tag_values(result, "stomp_broadcast_latency", "destination") == {"/topic/fan"}
    # 3 SUBSCRIBE receipts (tagged by command) and 5 SEND receipts (tagged by destination)
    assert result.metric("stomp_receipt_duration")["count"] == 8
    assert tag_values(result, "stomp_receipt_duration", "destination") == {"/topic/fan", None}
    assert tag_values(result, "stomp_receipt_duration", "command") == {"SUBSCRIBE", None}


def test_queue_with_client_acks_and_nacks(tmp_path: Path, broker: RabbitMQ) -> None:
    result, log = run(
        tmp_path,
        broker.url(),
        """
def default():
    with stomp.connect(URL, timeout=10) as session:
        for i in range(6):
            session.send("/queue/acks", f"job {i}", receipt=True)
        jobs = session.subscribe("/queue/acks", ack="client-individual")
        got = [jobs.recv(timeout=10) for _ in range(6)]
        record("received", [m.body for m in got], sorted({m.headers["redelivered"] for m in got}))
        for message in got[:4]:
            message.ack()
        for message in got[4:]:
            message.nack()                      # requeued: delivered again, redelivered=true
        again = [jobs.recv(timeout=10) for _ in range(2)]
        record("again", sorted(m.body for m in again), sorted({m.headers["redelivered"] for m in again}))
        # left unacknowledged: the broker makes them ready again when the session ends
""",
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert log == [
        ["received", [f"job {i}" for i in range(6)], ["false"]],
        ["again", ["job 4", "job 5"], ["true"]],
    ]
    assert broker.wait_for(lambda: broker.queues().get("acks") == (2, 0)), broker.queues()
    assert result.metric("stomp_messages_sent")["count"] == 6
    assert result.metric("stomp_messages_received")["count"] == 8


def test_aborted_transactions_are_never_delivered(tmp_path: Path, broker: RabbitMQ) -> None:
    result, log = run(
        tmp_path,
        broker.url(),
        """
def default():
    with stomp.connect(URL, timeout=10) as session:
        aborted = session.begin()
        for i in range(3):
            aborted.send("/queue/tx", f"aborted {i}")
        aborted.abort(receipt=True)
        with session.begin() as committed:
            committed.send("/queue/tx", "committed 0")
            committed.send("/queue/tx", "committed 1")
        session.send("/queue/tx-done", "marker", receipt=True)
        record("committed", committed.done)
""",
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert log == [["committed", True]]
    assert broker.wait_for(lambda: broker.queues().get("tx") == (2, 0)), broker.queues()
    # what is in the queue is exactly what was committed, in order
    drained, drained_log = run(
        tmp_path,
        broker.url(),
        """
def default():
    with stomp.connect(URL, timeout=10) as session:
        queue = session.subscribe("/queue/tx")
        record("bodies", [queue.recv(timeout=10).body for _ in range(2)])
""",
        "--iterations",
        "1",
    )
    assert drained.returncode == 0, drained.stderr
    assert drained_log == [["bodies", ["committed 0", "committed 1"]]]
    assert result.metric("stomp_messages_sent")["count"] == 3  # 2 committed + the marker
    assert tag_values(result, "stomp_messages_sent", "destination") == {
        "/queue/tx",
        "/queue/tx-done",
    }


def test_heartbeats_keep_the_session_through_a_long_sleep(tmp_path: Path, broker: RabbitMQ) -> None:
    result, log = run(
        tmp_path,
        broker.url(),
        """
def default():
    # A raw session promising a heart-beat every 500 ms and never sending one.
    raw = ws.open(URL, {"subprotocols": ["v12.stomp"]})
    raw.send("CONNECT\\naccept-version:1.2\\nhost:/\\nlogin:guest\\npasscode:guest\\n"
             "heart-beat:500,0\\n\\n\\x00")
    record("raw connected", raw.recv(timeout=10).startswith("CONNECTED"))
    session = stomp.connect(URL, heartbeat=(500, 500), timeout=10)
    inbox = session.subscribe("/queue/beats")
    beats = session.heartbeat
    record("agreed", beats[0] > 0, beats[1] > 0)
    sleep(max(beats) * 4 / 1000)          # well past what the broker tolerates
    try:
        while True:
            raw.recv(timeout=5)           # a heart-beat or two may precede the close
    except ConnectionClosed as error:
        record("raw dropped", error.code, error.reason)
    record("kit alive", session.closed, session._parser.heartbeats > 0)
    session.send("/queue/beats", "still here", receipt=True)
    record("kit works", inbox.recv(timeout=10).body)
    session.close()
""",
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert log == [
        ["raw connected", True],
        ["agreed", True, True],
        ["raw dropped", 1000, "STOMP died"],
        ["kit alive", False, True],
        ["kit works", "still here"],
    ]


def test_a_broker_side_disconnect_is_reported_with_its_close_code(
    tmp_path: Path, broker: RabbitMQ
) -> None:
    result, log = run(
        tmp_path,
        broker.url(),
        """
def default():
    session = stomp.connect(URL, timeout=10)
    session.on("close", lambda code, reason: record("close event", code, reason))
    missing = session.subscribe("/amq/queue/does-not-exist")   # the broker ends the session
    try:
        missing.recv(timeout=10)
    except ConnectionClosed as error:
        record("recv", error.code, error.reason)
    record("closed", session.closed, session.close_code)
""",
        "--iterations",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert log == [
        ["close event", 1000, "STOMP died"],
        ["recv", 1000, "STOMP died"],
        ["closed", True, 1000],
    ]
    assert result.metric("ws_sessions")["count"] == 1


def test_a_server_that_stops_heartbeating_is_taken_for_dead(tmp_path: Path) -> None:
    server = ScriptServer(ROOT / "tests" / "kits" / "stomp_silent_server.py", "200")
    try:
        result, log = run(
            tmp_path,
            server.url,
            """
def default():
    session = stomp.connect(URL, heartbeat=(200, 200), timeout=10)
    record("agreed", session.heartbeat)
    try:
        session.recv(timeout=10)
    except ConnectionClosed as error:
        record("ended", error.code, "no heart-beat" in error.reason)
""",
            "--iterations",
            "1",
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert log == [["agreed", [200, 200]], ["ended", 4000, True]]
    assert "no heart-beat from the server" in result.stderr


def test_the_fan_out_example_runs(tmp_path: Path, broker: RabbitMQ) -> None:
    example = ROOT / "examples" / "protocols" / "stomp_fanout.py"
    result = run_greenws(
        tmp_path, example, env={"STOMP_URL": broker.url(), "SUBSCRIBERS": "3", "DURATION": "3s"}
    )
    assert result.returncode == 0, result.stderr
    received = result.metric("stomp_messages_received")["count"]
    sent = result.metric("stomp_messages_sent")["count"]
    assert sent > 0 and received > 0
    assert received <= 3 * sent
    assert result.metric("stomp_broadcast_latency")["count"] > 0
    assert "stomp_broadcast_latency" in result.stdout
