"""Start the picows echo server on its own core and read its counters while a client runs.

The server's ``GET /stats`` counters are what make a steady-state window possible: the harness
knows when all VUs are connected (``open``) and how many echoes happened between two instants
(``messages``), independently of what each tool reports about itself.
"""

from __future__ import annotations

import http.client
import json
import select
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from harness.procfs import child_setup, cpu_seconds

SERVER_CPU = 1


class EchoServer:
    """One picows server process for the whole invocation, pinned to core ``SERVER_CPU``."""

    def __init__(self, python: Path, script: Path, log: Path) -> None:
        self.python = python
        self.script = script
        self.log = log
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> EchoServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Where the clients connect."""
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        """The server's process id (for CPU accounting)."""
        assert self.proc is not None, "server not started"
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> None:
        """Spawn the server on a free port and wait for its ``LISTENING <port>`` line."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        err = self.log.open("wb")
        self.proc = subprocess.Popen(
            [str(self.python), str(self.script), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=err,
            preexec_fn=child_setup(SERVER_CPU),
        )
        err.close()
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline and self.proc.poll() is None:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                break
        if not line.startswith(b"LISTENING "):
            self.stop()
            raise RuntimeError(f"echo server did not start; see {self.log}")
        self.port = int(line.split()[1])

    def stats(self) -> dict[str, int]:
        """The server's counters right now (open, accepted, messages, pings, closes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", "/stats")
            return dict(json.loads(conn.getresponse().read()))
        finally:
            conn.close()

    def cpu_seconds(self) -> float:
        """Server CPU (user + system) since it started."""
        value = cpu_seconds(self.pid)
        if value is None:
            raise RuntimeError("echo server exited")
        return value

    def wait_idle(self, timeout: float = 30.0) -> int:
        """Wait until the previous client's connections are gone; return how many remain."""
        deadline = time.monotonic() + timeout
        open_now = self.stats()["open"]
        while open_now and time.monotonic() < deadline:
            time.sleep(0.2)
            open_now = self.stats()["open"]
        return open_now

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not go within 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
