"""An MQTT telemetry fleet at QoS 1: devices publish readings, a dashboard watches them all.

Start a broker (the tests' aedes broker over WebSocket, Node and ``npm install aedes
websocket-stream`` needed), then run::

    NODE_PATH=tests/node/node_modules node tests/kits/mqtt_broker.js   # prints its port
    MQTT_URL=ws://127.0.0.1:PORT/mqtt greenws run examples/protocols/mqtt_telemetry.py

Each ``devices`` VU is one device: it connects once per iteration with a last will on
``fleet/<id>/status``, publishes a temperature reading every second at QoS 1 (each publish
waits for the broker's PUBACK: ``mqtt_publish_duration``) and sleeps in between while the kit
answers keepalives in the background. The ``dashboard`` VU subscribes to ``fleet/+/temp`` and
checks every reading; a reading published by a device and received by the dashboard is one
``mqtt_broadcast_latency`` sample. Topics carry device ids, so ``tag_topic=False`` keeps the
number of series small. Expect ``mqtt_messages_received`` close to ``mqtt_messages_sent``
(the dashboard subscribes before the devices start) and both thresholds to pass on a laptop.
"""

import json
import os
import random
import time

from greenws import check, sleep, vu
from greenws.kits import mqtt
from greenws.websockets import ReceiveTimeout

URL = os.environ.get("MQTT_URL", "ws://127.0.0.1:1884/mqtt")
READINGS = int(os.environ.get("READINGS", "5"))
DEVICES = int(os.environ.get("DEVICES", "5"))
DURATION = os.environ.get("DURATION", "20s")

options = {
    "scenarios": {
        "dashboard": {
            "executor": "per-vu-iterations",
            "vus": 1,
            "iterations": 1,
            "exec": "dashboard",
            "maxDuration": "60s",
        },
        "devices": {
            "executor": "constant-vus",
            "vus": DEVICES,
            "duration": DURATION,
            "exec": "device",
            "startTime": "1s",
        },
    },
    "thresholds": {
        "mqtt_publish_duration": ["p(95)<500"],
        "mqtt_broadcast_latency": ["p(95)<500"],
        "checks": ["rate>0.99"],
    },
}


def device():
    device_id = f"dev{vu.id}"
    will = (f"fleet/{device_id}/status", "offline", 1, True)
    with mqtt.connect(URL, keepalive=10, will=will, tag_topic=False) as client:
        client.publish(f"fleet/{device_id}/status", "online", qos=1, retain=True)
        for _ in range(READINGS):
            reading = {
                "device": device_id,
                "celsius": round(random.gauss(21, 2), 2),
                "at": time.time(),
            }
            client.publish(f"fleet/{device_id}/temp", json.dumps(reading), qos=1)
            sleep(1)


def dashboard():
    seen = set()
    with mqtt.connect(URL, keepalive=10, tag_topic=False) as client:
        client.subscribe("fleet/+/temp", qos=1)
        deadline = time.monotonic() + float(os.environ.get("DASHBOARD_SECONDS", "22"))
        while time.monotonic() < deadline:
            try:
                message = client.recv(timeout=1)
            except ReceiveTimeout:
                continue
            reading = json.loads(message.payload)
            seen.add(reading["device"])
            check(reading, {"reading is plausible": lambda r: -40 < r["celsius"] < 85})
    print(f"dashboard saw {len(seen)} devices")
