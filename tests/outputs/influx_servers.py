"""Real InfluxDB 1.6 and VictoriaMetrics servers for the InfluxDB output tests.

Each server runs from the Debian package's binary, bound to 127.0.0.1 with its data in a temporary
directory, and can be killed and restarted on the same port (the fault tests). A missing binary is
an error, not a skip: CI installs both (``apt-get install -y influxdb victoria-metrics``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from servers import free_port

STARTUP_TIMEOUT = 30.0


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"{name} is not installed: `apt-get install -y influxdb victoria-metrics` "
            "(CI installs it; these tests do not skip)"
        )
    return path


def http(
    method: str, url: str, body: bytes | None = None, timeout: float = 10.0
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class ServerProcess:
    """A server binary in a child process, restartable on the same port."""

    ready_path = "/"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = directory / "server.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.command()[0]} exited: {self.log.read_text()[-2000:]}")
            try:
                status, _ = http("GET", self.url + self.ready_path, timeout=1.0)
                if status < 300:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"{self.command()[0]} not ready in {STARTUP_TIMEOUT}s")

    def kill(self) -> None:
        """SIGKILL: the fault tests want a server that vanishes without a goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


class InfluxDB(ServerProcess):
    """``influxd run -config <generated>``: InfluxDB 1.6, v1 API only (no /api/v2/write)."""

    ready_path = "/ping"

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.rpc_port = free_port()
        self.config = directory / "influxdb.conf"
        self.config.write_text(
            f"""reporting-enabled = false
bind-address = "127.0.0.1:{self.rpc_port}"
[meta]
  dir = "{directory}/meta"
[data]
  dir = "{directory}/data"
  wal-dir = "{directory}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
[continuous_queries]
  enabled = false
"""
        )

    def command(self) -> list[str]:
        return [require_binary("influxd"), "run", "-config", str(self.config)]

    def query(self, database: str, q: str) -> list[dict[str, Any]]:
        """InfluxQL on /query; the series of the first statement."""
        params = urllib.parse.urlencode({"db": database, "q": q, "epoch": "ns"})
        status, body = http("GET", f"{self.url}/query?{params}")
        assert status == 200, body
        result = json.loads(body)["results"][0]
        assert "error" not in result, result
        return result.get("series", [])  # type: ignore[no-any-return]

    def counts(self, database: str) -> dict[str, int]:
        """Points per measurement."""
        return {
            series["name"]: series["values"][0][1]
            for series in self.query(database, "SELECT count(value) FROM /.*/")
        }


class VictoriaMetrics(ServerProcess):
    """VictoriaMetrics 1.79: accepts /api/v2/write (InfluxDB line protocol)."""

    ready_path = "/health"

    def command(self) -> list[str]:
        return [
            require_binary("victoria-metrics"),
            f"-storageDataPath={self.directory / 'data'}",
            f"-httpListenAddr=127.0.0.1:{self.port}",
            "-search.latencyOffset=0s",
        ]

    def export(self, expected: int, match: str = '{__name__=~".+_value"}') -> list[dict[str, Any]]:
        """Every raw sample of the series matching ``match``, once ``expected`` values are there.

        VictoriaMetrics makes new data searchable a moment after ``/internal/force_flush``, so this
        polls (bounded) until the count is reached or stops growing.
        """
        params = urllib.parse.urlencode({"match[]": match})
        deadline, series, last = time.monotonic() + 15.0, [], -1
        while time.monotonic() < deadline:
            http("GET", f"{self.url}/internal/force_flush")
            status, body = http("GET", f"{self.url}/api/v1/export?{params}")
            assert status == 200, body
            series = [json.loads(line) for line in body.splitlines() if line.strip()]
            count = sum(len(item["values"]) for item in series)
            if count >= expected or (
                count == last and count > 0 and time.monotonic() > deadline - 10
            ):
                break
            last = count
            time.sleep(0.5)
        return series
