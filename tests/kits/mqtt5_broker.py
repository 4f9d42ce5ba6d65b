"""An MQTT 5 broker over WebSocket for the kit's tests: Debian's mosquitto behind websockify.

Run: ``python tests/kits/mqtt5_broker.py LOGFILE``; prints ``listening on 127.0.0.1:PORT``
(the WebSocket side) once both are up, and stops both on SIGTERM.

Why two processes: Debian's mosquitto (2.0.11) is built without WebSocket support, and no
registry package here offers a broker that speaks MQTT 5 over WebSocket. websockify is an
independent WebSocket-to-TCP bridge: each binary frame's bytes go to mosquitto's TCP listener
as they are, so the client's MQTT 5 is judged by mosquitto itself. Its request handler is
subclassed here only to answer the ``mqtt`` subprotocol (as shipped it insists on
``binary``).

Anonymous clients are welcome; a client that gives a user name must give ``greenws`` /
``secret`` (mosquitto's password file), or its CONNACK says 0x86. Topics under
``forbidden/`` are denied to everyone (SUBACK and PUBACK say 0x87, Not authorized). mosquitto logs every packet
(``log_type all``) to LOGFILE: that log is the broker's count (``Received PUBLISH from ...``).
Needs: ``apt-get install mosquitto websockify``.
"""

from __future__ import annotations

import getpass
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: websockify is a Debian package: its module is importable from Debian's Python.
_SYSTEM_PYTHON = "/usr/bin/python3"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def _start(log: Path, directory: Path) -> list[subprocess.Popen[bytes]]:
    """mosquitto then websockify on free ports; a port taken meanwhile means a retry."""
    passwords = directory / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), "greenws", "secret"], check=True
    )
    passwords.chmod(0o600)
    acl = directory / "acl"
    rules = "topic readwrite #\ntopic deny forbidden/#\n"
    acl.write_text(f"{rules}user greenws\n{rules}")
    for _ in range(5):
        mqtt_port, ws_port = _free_port(), _free_port()
        config = directory / "mosquitto.conf"
        config.write_text(
            f"listener {mqtt_port} 127.0.0.1\n"
            f"user {getpass.getuser()}\n"  # as root it would switch to "mosquitto" otherwise
            "allow_anonymous true\n"
            f"password_file {passwords}\n"
            f"acl_file {acl}\n"
            "log_type all\n"
            f"log_dest file {log}\n"
            "connection_messages true\n"
            "persistence false\n"
        )
        broker = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL)
        if not _wait_listening(mqtt_port, broker):
            broker.kill()
            broker.wait()
            continue
        bridge = subprocess.Popen(
            [_SYSTEM_PYTHON, __file__, "--bridge", str(ws_port), str(mqtt_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if _wait_listening(ws_port, bridge):
            print(f"listening on 127.0.0.1:{ws_port}", flush=True)
            return [bridge, broker]
        for proc in (bridge, broker):
            proc.kill()
            proc.wait()
    raise SystemExit("mosquitto or websockify did not start")


def bridge(ws_port: int, mqtt_port: int) -> None:
    """websockify's proxy (Debian's package, so Debian's Python), answering the subprotocol
    ``mqtt`` as MQTT brokers do; as shipped it answers only ``binary`` and refuses others."""
    from websockify import websocketproxy, websockifyserver

    class MqttWebSocket(websockifyserver.CompatibleWebSocket):  # type: ignore[misc]
        def select_subprotocol(self, protocols: list[str]) -> str:
            return "mqtt" if "mqtt" in protocols else ""

    class MqttProxyHandler(websocketproxy.ProxyRequestHandler):  # type: ignore[misc]
        SocketClass = MqttWebSocket

    proxy = websocketproxy.WebSocketProxy(
        RequestHandlerClass=MqttProxyHandler,
        listen_host="127.0.0.1",
        listen_port=ws_port,
        target_host="127.0.0.1",
        target_port=mqtt_port,
        verbose=False,
    )
    proxy.start_server()


def main() -> None:
    if sys.argv[1] == "--bridge":
        bridge(int(sys.argv[2]), int(sys.argv[3]))
        return
    log = Path(sys.argv[1])
    with tempfile.TemporaryDirectory() as directory:
        procs = _start(log, Path(directory))
        stop = False

        def on_term(signum: int, frame: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        while not stop and all(proc.poll() is None for proc in procs):
            time.sleep(0.1)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
