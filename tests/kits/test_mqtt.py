"""The MQTT kit against real brokers: aedes (3.1.1, tests/kits/mqtt_broker.js) and mosquitto
(5, behind websockify: tests/kits/mqtt5_broker.py). Every count is checked against what the
broker itself counted (aedes' /stats, mosquitto's packet log)."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import RunResult, run_greenws, run_recorded
from servers import ROOT, ScriptServer

KITS = ROOT / "tests" / "kits"

PRELUDE = """
import json, os
from greenws import check, sleep, ws
from greenws.kits import mqtt
from greenws.websockets import *

TARGET = os.environ["TARGET"]
PREFIX = os.environ["PREFIX"]

"""


@pytest.fixture(scope="module")
def aedes() -> Iterator[ScriptServer]:
    server = ScriptServer(KITS / "mqtt_broker.js")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ScriptServer, Path]]:
    if not (shutil.which("mosquitto") and Path("/usr/bin/websockify").exists()):
        pytest.fail(  # the README's set-up line installs them: missing is a broken set-up
            "needs Debian's mosquitto and websockify (apt-get install mosquitto websockify)"
        )
    log = tmp_path_factory.mktemp("mosquitto") / "mosquitto.log"
    server = ScriptServer(KITS / "mqtt5_broker.py", str(log))
    try:
        yield server, log
    finally:
        server.stop()


def stats(server: ScriptServer) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/stats", timeout=5) as reply:
        return json.loads(reply.read())  # type: ignore[no-any-return]


def run(tmp_path: Path, body: str, url: str, *args: str) -> tuple[RunResult, list[Any], str]:
    """Run ``PRELUDE + body`` once (unless ``args`` say otherwise) with a fresh topic prefix."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    env = {"TARGET": url + "/mqtt", "PREFIX": prefix}
    result, log = run_recorded(tmp_path, PRELUDE + body, *(args or ("--iterations", "1")), env=env)
    print(result.stderr)  # a script's error, shown if the test fails
    return result, log, prefix


def tag_values(result: RunResult, metric: str, tag: str) -> set[Any]:
    return {point["data"]["tags"].get(tag) for point in result.points_of(metric)}


def test_qos_0_1_2_counts_equal_the_brokers(tmp_path: Path, aedes: ScriptServer) -> None:
    result, log, prefix = run(
        tmp_path,
        """
def default():
    with mqtt.connect(TARGET) as sub, mqtt.connect(TARGET) as pub:
        record("granted", sub.subscribe(PREFIX + "/#", qos=2))
        for qos in (0, 1, 2):
            for i in range(5):
                pub.publish(f"{PREFIX}/q{qos}", f"m{i}", qos=qos)
        got = [sub.recv(timeout=5) for _ in range(15)]
        record("received", sorted((m.topic, m.qos, m.text) for m in got))
        try:
            sub.recv(timeout=0.5)
        except ReceiveTimeout:
            record("no duplicate")
""",
        aedes.url,
    )
    assert result.returncode == 0, result.stderr
    expected = sorted((f"{prefix}/q{q}", q, f"m{i}") for q in (0, 1, 2) for i in range(5))
    assert log == [
        ["granted", 2],
        ["received", [list(item) for item in expected]],
        ["no duplicate"],
    ]
    broker = stats(aedes)
    for qos in (0, 1, 2):
        assert broker["published"][f"{prefix}/q{qos}"] == {str(qos): 5}
        assert broker["forwarded"][f"{prefix}/q{qos}"] == {str(qos): 5}
    assert broker["subscribed"][f"{prefix}/#"] == 1
    assert result.metric("mqtt_messages_sent")["count"] == 15
    assert result.metric("mqtt_messages_received")["count"] == 15
    assert result.metric("mqtt_publish_duration")["count"] == 10  # QoS 0 has nothing to time
    assert result.metric("mqtt_publish_duration")["min"] > 0
    assert tag_values(result, "mqtt_publish_duration", "qos") == {"1", "2"}
    assert tag_values(result, "mqtt_messages_received", "topic") == {
        f"{prefix}/q{q}" for q in (0, 1, 2)
    }
    assert result.metric("mqtt_connect_duration")["count"] == 2
    assert result.metric("mqtt_subscribe_duration")["count"] == 1
    assert result.metric("mqtt_broadcast_latency")["count"] == 15
    assert tag_values(result, "mqtt_broadcast_latency", "topic") == {
        f"{prefix}/q{q}" for q in (0, 1, 2)
    }
    assert tag_values(result, "mqtt_connect_duration", "subproto") == {"mqtt"}


def test_tag_topic_false_tags_no_topic(tmp_path: Path, aedes: ScriptServer) -> None:
    result, _, _ = run(
        tmp_path,
        """
def default():
    with mqtt.connect(TARGET, tag_topic=False) as client:
        client.subscribe(PREFIX + "/+", qos=1)
        for i in range(3):
            client.publish(f"{PREFIX}/{i}", "x", qos=1)
        for _ in range(3):
            client.recv(timeout=5)
""",
        aedes.url,
    )
    assert result.returncode == 0, result.stderr
    for metric in ("mqtt_publish_duration", "mqtt_messages_received", "mqtt_subscribe_duration"):
        assert result.points_of(metric), metric
        assert tag_values(result, metric, "topic") == {None}, metric
    assert tag_values(result, "mqtt_messages_sent", "qos") == {"1"}


def test_keepalive_answered_through_a_long_sleep(tmp_path: Path, aedes: ScriptServer) -> None:
    """keepalive=1: the broker drops a client silent for 1.5 s. A raw ws.open client that sends
    no PINGREQ is dropped during the sleep; the kit's session is not."""
    before = stats(aedes)
    result, log, prefix = run(
        tmp_path,
        """
from greenws.codecs.mqtt import Connect, encode

def default():
    raw = ws.open(TARGET, {"subprotocols": ["mqtt"]})
    raw.send(encode(Connect("raw-" + PREFIX, keepalive=1)))
    record("raw connack", list(raw.recv(timeout=5)))
    with mqtt.connect(TARGET, keepalive=1) as client:
        client.subscribe(PREFIX + "/alive", qos=1)
        sleep(3.5)
        try:
            raw.recv(timeout=2)
            record("raw", "still open")
        except ConnectionClosed:
            record("raw", "dropped")
        client.publish(PREFIX + "/alive", "yes", qos=1)
        record("kit", client.recv(timeout=5).text, client.closed)
""",
        aedes.url,
    )
    assert result.returncode == 0, result.stderr
    assert log == [["raw connack", [32, 2, 0, 0]], ["raw", "dropped"], ["kit", "yes", False]]
    after = stats(aedes)
    assert after["keepaliveTimeouts"] - before["keepaliveTimeouts"] == 1  # the raw client only
    assert after["pings"] - before["pings"] >= 3  # the kit's PINGREQs during the sleep
    assert after["published"][f"{prefix}/alive"] == {"1": 1}


def test_retained_message_and_last_will(tmp_path: Path, aedes: ScriptServer) -> None:
    result, log, prefix = run(
        tmp_path,
        """
def default():
    with mqtt.connect(TARGET) as pub:
        pub.publish(PREFIX + "/state", "on", qos=1, retain=True)
    with mqtt.connect(TARGET) as late:
        late.subscribe(PREFIX + "/state", qos=1)
        message = late.recv(timeout=5)
        record("retained", message.text, message.retain)
    with mqtt.connect(TARGET) as watcher:
        watcher.subscribe(PREFIX + "/will/#", qos=1)
        device = mqtt.connect(TARGET, will=(PREFIX + "/will/crash", "gone", 1, False))
        polite = mqtt.connect(TARGET, will=(PREFIX + "/will/clean", "gone", 1, False))
        polite.close()                     # DISCONNECT: the broker discards the will
        device.abort()                     # no DISCONNECT: the broker publishes it
        message = watcher.recv(timeout=5)
        record("will", message.topic.rsplit("/", 1)[1], message.text, message.retain)
        try:
            watcher.recv(timeout=1)
        except ReceiveTimeout:
            record("no will after DISCONNECT")
""",
        aedes.url,
    )
    assert result.returncode == 0, result.stderr
    assert log == [
        ["retained", "on", True],
        ["will", "crash", "gone", False],
        ["no will after DISCONNECT"],
    ]
    broker = stats(aedes)
    assert broker["wills"] == {**broker["wills"], f"{prefix}/will/crash": 1}
    assert f"{prefix}/will/clean" not in broker["wills"]
    # neither the retained copy nor the will (the broker published it) is a
    # publish-to-delivery sample
    assert result.metric("mqtt_messages_received")["count"] == 2
    assert "mqtt_broadcast_latency" not in result.summary["metrics"]


def test_refused_connack_with_bad_credentials(tmp_path: Path, aedes: ScriptServer) -> None:
    before = stats(aedes)["refused"]
    result, log, _ = run(
        tmp_path,
        """
def default():
    try:
        mqtt.connect(TARGET, username="greenws", password="wrong")
    except mqtt.MqttError as error:
        record("refused", error.reason_code, str(error))
    with mqtt.connect(TARGET, username="greenws", password="secret") as client:
        record("accepted", client.connack.reason_code)
        try:
            client.subscribe("forbidden/x")
        except mqtt.MqttError as error:
            record("suback", error.reason_code, str(error))
""",
        aedes.url,
    )
    assert result.returncode == 0, result.stderr
    assert log == [
        ["refused", 4, "mqtt CONNACK refused the connection: 4 bad user name or password"],
        ["accepted", 0],
        ["suback", 0x80, "mqtt SUBACK refused 'forbidden/x': 0x80 Failure"],
    ]
    assert stats(aedes)["refused"] - before == 1
    assert result.metric("mqtt_connect_duration")["count"] == 1  # refusals are not timed


def mosquitto_publishes(log: Path, direction: str, topic: str) -> list[int]:
    """The QoS of each PUBLISH on ``topic`` mosquitto logged as Received or Sending."""
    pattern = re.compile(rf"{direction} PUBLISH .*\(d\d, q(\d), r\d, m\d+, '{re.escape(topic)}'")
    return [int(m.group(1)) for m in pattern.finditer(log.read_text())]


def test_mqtt5_flows_and_reason_codes(tmp_path: Path, mosquitto: tuple[ScriptServer, Path]) -> None:
    server, broker_log = mosquitto
    result, log, prefix = run(
        tmp_path,
        """
def default():
    with mqtt.connect(TARGET, version=5, keepalive=5) as client:
        record("granted", client.subscribe(PREFIX + "/data", qos=2))
        for qos in (0, 1, 2):
            client.publish(PREFIX + "/data", f"q{qos}", qos=qos,
                           properties={"user_property": [("unit", "C")]})
        for _ in range(3):
            message = client.recv(timeout=5, topic=PREFIX + "/+")
            record("got", message.qos, message.text, message.properties.get("user_property"))
        record("nobody listens", client.publish(PREFIX + "/void", "x", qos=1))
        try:
            client.publish("forbidden/x", "x", qos=1)
        except mqtt.MqttError as error:
            record("denied", error.reason_code, str(error))
    try:
        mqtt.connect(TARGET, version=5, username="greenws", password="wrong")
    except mqtt.MqttError as error:
        record("refused", error.reason_code, str(error))
    with mqtt.connect(TARGET, version=5) as watcher:
        watcher.subscribe(PREFIX + "/will", qos=1)
        device = mqtt.connect(TARGET, version=5, will=(PREFIX + "/will", "bye", 1))
        device.close(reason_code=0x04)  # DISCONNECT "with Will Message"
        record("will", watcher.recv(timeout=5).text)
""",
        server.url,
    )
    assert result.returncode == 0, result.stderr
    assert log == [
        ["granted", 2],
        ["got", 0, "q0", [["unit", "C"]]],
        ["got", 1, "q1", [["unit", "C"]]],
        ["got", 2, "q2", [["unit", "C"]]],
        ["nobody listens", 0x10],
        ["denied", 0x87, "mqtt PUBACK for 'forbidden/x': 0x87 Not authorized"],
        # mosquitto 2.0 answers a wrong password with 0x87 (not 0x86) at MQTT 5
        ["refused", 0x87, "mqtt CONNACK refused the connection: 135 Not authorized"],
        ["will", "bye"],
    ]
    assert mosquitto_publishes(broker_log, "Received", f"{prefix}/data") == [0, 1, 2]
    assert mosquitto_publishes(broker_log, "Sending", f"{prefix}/data") == [0, 1, 2]
    assert result.metric("mqtt_messages_sent")["count"] == 5  # data x3, void, forbidden
    assert result.metric("mqtt_messages_received")["count"] == 4  # data x3, the will
    assert tag_values(result, "mqtt_publish_duration", "qos") == {"1", "2"}


def test_the_telemetry_example_runs(tmp_path: Path, aedes: ScriptServer) -> None:
    """Shortened by its environment; counts compared with the broker's, thresholds reported
    (whether they pass is the machine's business, not this test's)."""
    example = ROOT / "examples" / "protocols" / "mqtt_telemetry.py"
    env = {
        "MQTT_URL": aedes.url + "/mqtt",
        "READINGS": "2",
        "DEVICES": "3",
        "DURATION": "3s",
        "DASHBOARD_SECONDS": "6",
    }
    before = stats(aedes)
    result = run_greenws(tmp_path, example, env=env)
    assert result.returncode in (0, 99), result.stderr  # 99: a threshold failed
    after = stats(aedes)

    def total(table: str, suffix: str) -> int:
        counts = [
            sum(by_qos.values()) - sum(before[table].get(topic, {}).values())
            for topic, by_qos in after[table].items()
            if topic.startswith("fleet/") and topic.endswith(suffix)
        ]
        return sum(counts)

    readings = total("published", "/temp")
    assert readings >= 6  # 3 devices, at least one iteration of 2 readings each
    assert result.metric("mqtt_messages_sent")["count"] == readings + total("published", "/status")
    assert result.metric("mqtt_messages_received")["count"] == total("forwarded", "/temp")
    assert result.metric("mqtt_broadcast_latency")["count"] > 0
    assert result.metric("checks")["fails"] == 0
    assert "mqtt_publish_duration" in result.stdout and "'p(95)<500'" in result.stdout


def test_split_and_packed_packets_and_a_missing_pingresp(tmp_path: Path) -> None:
    server = ScriptServer(KITS / "mqtt_mute_broker.py")
    try:
        result, log, _ = run(
            tmp_path,
            """
def default():
    client = mqtt.connect(TARGET, keepalive=1)   # its CONNACK came in two frames
    record("granted", client.subscribe("news"))  # SUBACK and a PUBLISH in one frame
    record("message", client.recv(timeout=5).text)
    sleep(3)                                     # PINGREQ at 1 s, unanswered by 2 s
    record("closed", client.closed, client.close_code)
""",
            server.url,
        )
    finally:
        server.stop()
    assert log == [["granted", 0], ["message", "hi"], ["closed", True, 1000]]
    assert "no PINGRESP within 1 s" in result.stderr
