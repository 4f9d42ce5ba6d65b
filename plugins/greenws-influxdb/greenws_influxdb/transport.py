"""The two ways line protocol reaches a server: v1 ``/write`` and the v2 write API.

Both make exactly one attempt per call and raise on any failure: the retries, the backoff and the
count of what was lost live in one place (:mod:`greenws_influxdb.output`), so each batch is counted
once, as written or as dropped, and the end-of-test deadline can cut retries short.
"""

from __future__ import annotations

import base64
from typing import Protocol
from urllib.parse import urlencode

import urllib3

from greenws_influxdb.settings import InfluxSettings

__all__ = ["DatabaseMissing", "Transport", "V1Transport", "V2Transport", "WriteFailed"]


class WriteFailed(RuntimeError):
    """The server refused a write or could not be reached; the message says how."""


class DatabaseMissing(WriteFailed):
    """InfluxDB 1.x answered ``database not found`` (it came back empty): create it, write again."""


class Transport(Protocol):
    def create_database(self) -> None: ...
    def write(self, body: str) -> None: ...
    def close(self) -> None: ...


class V1Transport:
    """k6's built-in output: ``POST /write?db=DB&precision=P``, ``CREATE DATABASE`` at start."""

    def __init__(self, settings: InfluxSettings) -> None:
        self.settings = settings
        self.http = urllib3.PoolManager(
            num_pools=2,
            maxsize=settings.concurrent_writes,
            cert_reqs="CERT_NONE" if settings.insecure else "CERT_REQUIRED",
            timeout=urllib3.Timeout(total=settings.timeout),
            retries=False,
        )
        self.headers = {"Content-Type": "text/plain; charset=utf-8"}
        if settings.username or settings.password:
            credentials = f"{settings.username}:{settings.password}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
        query = urlencode({"db": settings.database, "precision": settings.precision})
        self.write_url = f"{settings.base_url}/write?{query}"

    def _post(
        self, url: str, body: bytes, content_type: str | None = None
    ) -> urllib3.BaseHTTPResponse:
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        try:
            return self.http.request("POST", url, body=body, headers=headers)
        except urllib3.exceptions.HTTPError as error:
            reason = getattr(error, "reason", None) or error
            raise WriteFailed(f"{type(reason).__name__}: {reason}") from None

    def create_database(self) -> None:
        name = self.settings.database.replace("\\", "\\\\").replace('"', '\\"')
        body = urlencode({"q": f'CREATE DATABASE "{name}"'}).encode()
        response = self._post(
            f"{self.settings.base_url}/query", body, "application/x-www-form-urlencoded"
        )
        if response.status >= 300:
            raise WriteFailed(f"CREATE DATABASE: HTTP {response.status}: {response.data[:200]!r}")

    def write(self, body: str) -> None:
        response = self._post(self.write_url, body.encode("utf-8"))
        if response.status == 404 and b"database not found" in response.data:
            raise DatabaseMissing(f"database {self.settings.database!r} not found")
        if response.status >= 300:
            text = response.data[:200].decode("utf-8", "replace").strip()
            raise WriteFailed(f"HTTP {response.status}: {text}")

    def close(self) -> None:
        self.http.clear()


class V2Transport:
    """InfluxDB 2.x (and compatible servers): influxdb-client's write API, synchronous mode.

    Synchronous because the batching happens before this call (per push interval, capped at
    ``batch_size`` lines) and the writes already run off the VU path, in writer greenlets.
    """

    def __init__(self, settings: InfluxSettings) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        from greenws_influxdb.lines import _WRITE_PRECISION

        self.settings = settings
        self.client = InfluxDBClient(
            url=settings.base_url,
            token=settings.token or None,
            org=settings.organization or None,
            timeout=int(settings.timeout * 1000),
            verify_ssl=not settings.insecure,
            retries=False,
        )
        self.write_api = self.client.write_api(write_options=SYNCHRONOUS)
        self.precision = _WRITE_PRECISION[settings.precision]

    def create_database(self) -> None:
        """Buckets are created by the server's administrator, as with xk6-output-influxdb."""

    def write(self, body: str) -> None:
        from influxdb_client.rest import ApiException

        try:
            self.write_api.write(
                bucket=self.settings.database,
                org=self.settings.organization or None,
                record=body,
                write_precision=self.precision,
            )
        except ApiException as error:
            raise WriteFailed(f"HTTP {error.status}: {(error.body or '')[:200]}") from None
        except urllib3.exceptions.HTTPError as error:
            reason = getattr(error, "reason", None) or error
            raise WriteFailed(f"{type(reason).__name__}: {reason}") from None

    def close(self) -> None:
        self.write_api.close()
        self.client.close()


def make_transport(settings: InfluxSettings) -> Transport:
    return V1Transport(settings) if settings.version == 1 else V2Transport(settings)
