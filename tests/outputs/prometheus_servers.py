"""A real Prometheus (Debian's ``prometheus``) accepting remote write, for the output's tests.

Started from a generated config with no scrape jobs, its TSDB in a temporary directory, bound to
127.0.0.1 on a free port, with ``--web.enable-remote-write-receiver`` (and, when asked,
``--enable-feature=native-histograms``). A missing binary is an error, not a skip: CI installs it
(``apt-get install -y prometheus``).
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.parse
from pathlib import Path
from typing import Any

from influx_servers import ServerProcess, VictoriaMetrics, http

__all__ = ["PromQL", "Prometheus", "Victoria"]


class PromQL:
    """Instant queries over a server's Prometheus HTTP API (Prometheus and VictoriaMetrics)."""

    url: str

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        status, body = http("GET", f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}")
        assert status == 200, body
        reply = json.loads(body)
        assert reply["status"] == "success", reply
        return reply["data"]["result"]  # type: ignore[no-any-return]

    def scalar(self, promql: str, at: float | None = None, wait: float = 15.0) -> float | None:
        """The single value ``promql`` returns (polled briefly: ingestion is not instant)."""
        deadline = time.monotonic() + wait
        while True:
            result = self.query(promql, at)
            if result:
                return float(result[0]["value"][1])
            if time.monotonic() > deadline:
                return None
            time.sleep(0.3)

    def settled(self, promql: str, expected: float, wait: float = 15.0) -> float | None:
        """The value of ``promql`` once it equals ``expected`` (or the last one seen when it
        never does within ``wait`` s): freshly written data becomes searchable in steps."""
        deadline = time.monotonic() + wait
        while True:
            value = self.scalar(promql, wait=0)
            if value == expected or time.monotonic() > deadline:
                return value
            time.sleep(0.3)


class Prometheus(ServerProcess, PromQL):
    """``prometheus`` with the remote-write receiver on 127.0.0.1."""

    ready_path = "/-/ready"

    def __init__(self, directory: Path, *, native_histograms: bool = False) -> None:
        super().__init__(directory)
        self.native_histograms = native_histograms
        self.config = directory / "prometheus.yml"
        self.config.write_text("global:\n  scrape_interval: 1m\n")
        self.write_url = f"{self.url}/api/v1/write"

    def command(self) -> list[str]:
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus is not installed: `apt-get install -y prometheus`")
        command = [
            binary,
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-remote-write-receiver",
        ]
        if self.native_histograms:
            command.append("--enable-feature=native-histograms")
        return command

    def stop(self) -> None:
        """SIGTERM, as an operator or an orchestrator stops it: Prometheus closes its TSDB and
        WAL, so a restart on the same directory (``start()``, same port) has what it had."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.proc = None


class Victoria(VictoriaMetrics, PromQL):
    """VictoriaMetrics: remote write on /api/v1/write, PromQL (MetricsQL) on /api/v1/query."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.write_url = f"{self.url}/api/v1/write"

    def scalar(self, promql: str, at: float | None = None, wait: float = 15.0) -> float | None:
        http("GET", f"{self.url}/internal/force_flush")
        return super().scalar(promql, at, wait)
