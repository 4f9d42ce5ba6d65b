"""Settings: the ``--out`` URL plus k6's ``K6_INFLUXDB_*`` environment names (``GREENWS_INFLUXDB_*`` wins).

Two output kinds keep v1 and v2 apart without guessing from the environment:

* ``--out influxdb=http://[user:pass@]host:8086/DB[?insecure=true]`` is k6's built-in InfluxDB 1.x
  output: the last path segment names the database, written through ``/write?db=DB``.
* ``--out influxdb2=http://host:8086/BUCKET`` uses the InfluxDB v2 write API (``/api/v2/write``)
  with ``GREENWS_INFLUXDB_ORGANIZATION`` and ``GREENWS_INFLUXDB_TOKEN``; the bucket may come from
  ``GREENWS_INFLUXDB_BUCKET`` instead of the path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from greenws.options.durations import parse_duration

__all__ = ["PRECISIONS", "InfluxSettings", "parse_settings"]

#: Line-protocol precisions and how many of each unit make a second.
PRECISIONS = {"ns": 1_000_000_000, "u": 1_000_000, "us": 1_000_000, "ms": 1_000, "s": 1}
_FIELD_TYPES = ("int", "float", "bool", "string")


@dataclass
class InfluxSettings:
    """Everything one InfluxDB output needs; k6's defaults."""

    version: int  # 1: /write?db=…, 2: /api/v2/write through influxdb-client
    base_url: str  # scheme://host:port, no path
    database: str  # v1 database or v2 bucket
    username: str = ""
    password: str = ""
    organization: str = ""
    token: str = ""
    insecure: bool = False
    precision: str = "ns"
    push_interval: float = 1.0
    concurrent_writes: int = 4
    #: tag name -> field type; k6's default is ``vu:int,iter:int,url``.
    tags_as_fields: dict[str, str] = field(
        default_factory=lambda: {"vu": "int", "iter": "int", "url": "string"}
    )
    #: greenws's own: samples held while the server is slow or away, before the oldest are dropped.
    buffer_limit: int = 200_000
    batch_size: int = 5_000
    timeout: float = 10.0
    retries: int = 3
    #: The end-of-test flush may take this long before what is left counts as dropped.
    final_flush_timeout: float = 10.0


def _env(environ: Mapping[str, str], name: str) -> str | None:
    for prefix in ("GREENWS_INFLUXDB_", "K6_INFLUXDB_"):
        value = environ.get(prefix + name)
        if value is not None and value != "":
            return value
    return None


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def parse_tags_as_fields(text: str) -> dict[str, str]:
    """``vu:int,iter:int,url`` -> ``{"vu": "int", "iter": "int", "url": "string"}`` (k6's syntax)."""
    result = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, kind = item.partition(":")
        kind = kind or "string"
        if kind not in _FIELD_TYPES:
            raise ValueError(
                f"tags as fields: {item!r} has type {kind!r}, not one of {_FIELD_TYPES}"
            )
        result[name] = kind
    return result


def parse_settings(
    kind: str, argument: str, environ: Mapping[str, str] | None = None
) -> InfluxSettings:
    """Build settings from ``--out KIND=ARGUMENT`` and the environment; ValueError names the fault."""
    environ = os.environ if environ is None else environ
    parts = urlsplit(argument)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--out {kind} needs an http(s) URL, e.g. {kind}=http://127.0.0.1:8086/k6")
    port = f":{parts.port}" if parts.port else ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    database = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    version = 2 if kind == "influxdb2" else 1
    if version == 2:
        database = database or _env(environ, "BUCKET") or ""
    if not database:
        what = "bucket" if version == 2 else "database"
        raise ValueError(f"--out {kind}={argument}: the last path segment must name the {what}")
    settings = InfluxSettings(
        version=version, base_url=f"{parts.scheme}://{host}{port}", database=database
    )
    settings.username = unquote(parts.username or "") or _env(environ, "USERNAME") or ""
    settings.password = unquote(parts.password or "") or _env(environ, "PASSWORD") or ""
    settings.organization = _env(environ, "ORGANIZATION") or ""
    settings.token = _env(environ, "TOKEN") or ""
    insecure = query.get("insecure") or _env(environ, "INSECURE")
    settings.insecure = _flag(insecure) if insecure else False
    precision = query.get("precision") or _env(environ, "PRECISION") or "ns"
    if precision not in PRECISIONS:
        raise ValueError(f"influxdb precision {precision!r} is not one of {sorted(PRECISIONS)}")
    settings.precision = "u" if precision == "us" else precision
    for name, attribute in (("PUSH_INTERVAL", "push_interval"), ("TIMEOUT", "timeout")):
        value = _env(environ, name)
        if value is not None:
            setattr(settings, attribute, parse_duration(value, name=f"INFLUXDB_{name}"))
    value = _env(environ, "FINAL_FLUSH_TIMEOUT")
    if value is not None:
        settings.final_flush_timeout = parse_duration(value, name="INFLUXDB_FINAL_FLUSH_TIMEOUT")
    for name, attribute in (
        ("CONCURRENT_WRITES", "concurrent_writes"),
        ("BUFFER_LIMIT", "buffer_limit"),
        ("BATCH_SIZE", "batch_size"),
        ("RETRIES", "retries"),
    ):
        value = _env(environ, name)
        if value is not None:
            number = int(value)
            if number < (0 if name == "RETRIES" else 1):
                raise ValueError(f"INFLUXDB_{name} must be positive, not {value}")
            setattr(settings, attribute, number)
    tags = _env(environ, "TAGS_AS_FIELDS")
    if tags is not None:
        settings.tags_as_fields = parse_tags_as_fields(tags)
    return settings
