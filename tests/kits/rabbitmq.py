"""A private RabbitMQ broker for the kits' tests: its own node, directories, ports and cookie.

The Debian package's ``rabbitmq-server`` is a system service; tests must not use (or need) that
one, and several engineers' test runs share the machine. So :class:`RabbitMQ` runs the broker
script as a child process with everything private: the node name carries our pid, mnesia, logs,
the enabled-plugins file and the config live in a temporary directory, every listener (AMQP,
Erlang distribution, STOMP, Web-STOMP, MQTT, Web-MQTT) is on a free port, and ``HOME`` is that
directory too, so the Erlang cookie the node writes is the one ``rabbitmqctl`` reads.

The broker takes 5-20 s to boot: use it from a module- or session-scoped fixture. A missing
installation fails the test with the package to install (:func:`require_rabbitmq`); a broker
that is installed but does not start fails with the end of its log in the message.

Server-side counts for the tests come from ``rabbitmqctl`` (:meth:`RabbitMQ.queues`,
:meth:`RabbitMQ.connections`), which needs no management plugin.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from servers import free_port

#: Where Debian puts the real scripts; ``/usr/sbin``'s wrappers switch to the ``rabbitmq``
#: user with ``su``, which throws our private environment away.
SCRIPTS = Path("/usr/lib/rabbitmq/bin")
STARTUP_TIMEOUT = 60.0
CTL_TIMEOUT = 30.0

#: The plugins a test may ask for and the config key of the listener each one opens.
WEB_PLUGINS = {
    "rabbitmq_web_stomp": "web_stomp.tcp.port",
    "rabbitmq_web_mqtt": "web_mqtt.tcp.port",
}
#: What the web plugins depend on, with the listeners those open (moved off 61613 and 1883).
PLAIN_LISTENERS = {
    "rabbitmq_web_stomp": ("stomp", "stomp.listeners.tcp.1"),
    "rabbitmq_web_mqtt": ("mqtt", "mqtt.listeners.tcp.1"),
}


def script(name: str) -> str | None:
    """The path of a RabbitMQ script (``rabbitmq-server``, ``rabbitmqctl``), None if absent."""
    candidate = SCRIPTS / name
    if candidate.exists():
        return str(candidate)
    return shutil.which(name)


def require_rabbitmq() -> None:
    """Fail the calling test when RabbitMQ is not installed: the README's set-up line installs
    it, so its absence is a broken set-up, never a test to pass over."""
    import pytest

    if script("rabbitmq-server") is None or script("rabbitmqctl") is None:
        pytest.fail("rabbitmq-server is not installed (apt-get install rabbitmq-server)")


class RabbitMQ:
    """One private broker; ``ports`` maps a listener ("amqp", "stomp", "web_stomp", ...) to its
    port and :meth:`url` gives the WebSocket endpoints."""

    def __init__(self, plugins: Iterable[str] = ("rabbitmq_web_stomp",)) -> None:
        self.plugins = list(plugins)
        unknown = [name for name in self.plugins if name not in WEB_PLUGINS]
        if unknown:
            raise ValueError(f"unknown plugins {unknown}: choose from {sorted(WEB_PLUGINS)}")
        self.dir = Path(tempfile.mkdtemp(prefix="greenws-rabbitmq-"))
        self.node = f"greenws-test-{os.getpid()}-{self.dir.name[-6:]}@localhost"
        self.ports = {"amqp": free_port(), "dist": free_port()}
        lines = [
            f"listeners.tcp.default = 127.0.0.1:{self.ports['amqp']}",
            "loopback_users = none",
            "log.console = false",
            "log.file.level = info",
        ]
        for plugin in self.plugins:
            web = WEB_PLUGINS[plugin].split(".")[0]
            self.ports[web] = free_port()
            lines.append(f"{WEB_PLUGINS[plugin]} = {self.ports[web]}")
            lines.append(f"{web}.tcp.ip = 127.0.0.1")
            plain, key = PLAIN_LISTENERS[plugin]
            self.ports[plain] = free_port()
            lines.append(f"{key} = 127.0.0.1:{self.ports[plain]}")
        (self.dir / "rabbitmq.conf").write_text("\n".join(lines) + "\n")
        (self.dir / "enabled_plugins").write_text(f"[{','.join(self.plugins)}].\n")
        self.env = {
            **os.environ,
            "HOME": str(self.dir),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.ports["amqp"]),
            "RABBITMQ_DIST_PORT": str(self.ports["dist"]),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),  # not /etc's
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_PID_FILE": str(self.dir / "rabbitmq.pid"),
        }
        (self.dir / ".erlang.cookie").write_text(f"GREENWS{os.getpid()}{self.dir.name}")
        (self.dir / ".erlang.cookie").chmod(0o400)
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RabbitMQ:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, listener: str = "web_stomp") -> str:
        """The WebSocket URL of a web plugin: ``/ws`` for Web-STOMP and Web-MQTT alike."""
        return f"ws://127.0.0.1:{self.ports[listener]}/ws"

    def start(self) -> None:
        """Boot the node and wait (bounded) until it and its plugins are up; fail loudly."""
        server = script("rabbitmq-server")
        assert server is not None, "rabbitmq-server is not installed"
        log = open(self.dir / "stdout.log", "wb")  # noqa: SIM115 - the child writes it
        self.proc = subprocess.Popen(
            [server],
            env=self.env,
            cwd=self.dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its Erlang children go with it in stop()
        )
        log.close()
        # await_startup fails at once while the node is not registered with epmd yet, so it
        # is retried until the deadline, which bounds the whole boot.
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            try:
                self.ctl("await_startup", "--timeout", str(max(1, int(left))), timeout=left)
                return
            except Exception as error:
                if self.proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.5)
                    continue
                tail = self.log_tail()
                self.stop()
                raise RuntimeError(f"RabbitMQ did not start: {error}\n{tail}") from None

    def ctl(self, *args: str, timeout: float = CTL_TIMEOUT) -> str:
        """Run ``rabbitmqctl -n NODE ARGS`` and return its stdout; raise if it failed."""
        ctl = script("rabbitmqctl")
        assert ctl is not None
        if self.proc is not None and self.proc.poll() is not None and args[0] != "stop":
            raise RuntimeError(f"the broker exited with {self.proc.returncode}")
        completed = subprocess.run(
            [ctl, "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout + 10,
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args)} exited {completed.returncode}: "
                f"{completed.stdout.strip()} {completed.stderr.strip()}"
            )
        return completed.stdout

    def table(self, *args: str) -> list[list[str]]:
        """A ``rabbitmqctl list_*`` command's rows (tab-separated, no headers)."""
        output = self.ctl(*args, "--quiet", "--no-table-headers")
        return [line.split("\t") for line in output.splitlines() if line.strip()]

    def queues(self) -> dict[str, tuple[int, int]]:
        """Each queue's (messages ready, messages unacknowledged), as the broker counts."""
        rows = self.table("list_queues", "name", "messages_ready", "messages_unacknowledged")
        return {name: (int(ready), int(unacked)) for name, ready, unacked in rows}

    def connections(self, *fields: str) -> list[list[str]]:
        """``rabbitmqctl list_connections FIELDS`` (default: protocol, user, state)."""
        return self.table("list_connections", *(fields or ("protocol", "user", "state")))

    def close_connections(self, reason: str = "closed by the test") -> int:
        """Close every client connection from the broker's side; how many there were."""
        pids = [row[0] for row in self.table("list_connections", "pid")]
        for pid in pids:
            self.ctl("close_connection", pid, reason)
        return len(pids)

    def wait_for(self, predicate: object, timeout: float = 10.0, step: float = 0.2) -> bool:
        """Poll ``predicate()`` until it is true or ``timeout`` passes (bounded)."""
        assert callable(predicate)
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(step)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the broker's stdout and log files, for a failure message."""
        texts: list[str] = []
        for path in [self.dir / "stdout.log", *sorted((self.dir / "log").glob("*.log"))]:
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                texts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(texts)

    def stop(self) -> None:
        """``rabbitmqctl stop``, then kill whatever of its process group is left; remove the
        directory."""
        proc = self.proc
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(Exception):
                    self.ctl("stop", timeout=20)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # our own session: the node and its helpers
            if proc.poll() is None:
                proc.wait(10)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def start_broker(plugins: Sequence[str]) -> RabbitMQ:
    """A started broker (for fixtures: ``broker = start_broker([...]); yield broker; stop``)."""
    broker = RabbitMQ(plugins)
    broker.start()
    return broker


if __name__ == "__main__":  # a broker for trying examples: prints its URLs, Ctrl+C stops it
    import sys

    with RabbitMQ(sys.argv[1:] or ["rabbitmq_web_stomp"]) as running:
        print(*(running.url(name) for name in running.ports if name.startswith("web_")))
        print("listening; Ctrl+C stops the broker", flush=True)
        try:
            while running.proc is not None and running.proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
