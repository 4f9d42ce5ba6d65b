"""The output's settings, named as k6 names them: ``K6_PROMETHEUS_RW_*`` and the ``--out``
argument's ``key=value,…`` list (``url=``, ``pushInterval=``, ``trendAsNativeHistogram=``,
``insecureSkipTLSVerify=``, ``username=``, ``password=``, ``headers.NAME=``). A bare URL is
accepted too (``--out prometheus-rw=http://…``). greenws's own extras are ``GREENWS_PROMETHEUS_RW_*``:
the metric-name prefix (``k6_``), the series limit and the end-of-test flush timeout.

Pure: a mapping of environment variables and the ``--out`` argument in, settings or one
:class:`ValueError` line naming the setting out.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from greenws.options.durations import parse_duration
from greenws_prometheus.series import stat_suffix

__all__ = ["RemoteWriteSettings", "parse_settings"]

_DEFAULT_URL = "http://localhost:9090/api/v1/write"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class RemoteWriteSettings:
    url: str = _DEFAULT_URL
    push_interval: float = 5.0
    timeout: float = 5.0
    trend_stats: tuple[str, ...] = ("p(99)",)
    native_histograms: bool = False
    insecure: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    prefix: str = "k6_"
    max_series: int = 100_000
    final_flush_timeout: float = 30.0
    stale_markers: bool = False


def _bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name}={text!r}: expected true or false")


def _seconds(name: str, text: str) -> float:
    try:
        value = parse_duration(text)
    except ValueError as error:
        raise ValueError(f"{name}={text!r}: {error}") from None
    if value <= 0:
        raise ValueError(f"{name}={text!r}: must be more than 0")
    return value


def parse_settings(argument: str, environ: Mapping[str, str]) -> RemoteWriteSettings:
    """Environment first, then the ``--out`` argument over it (k6's order)."""
    raw: dict[str, str] = {}
    headers: dict[str, str] = {}
    for key, env in (
        ("url", "K6_PROMETHEUS_RW_SERVER_URL"),
        ("pushInterval", "K6_PROMETHEUS_RW_PUSH_INTERVAL"),
        ("trendStats", "K6_PROMETHEUS_RW_TREND_STATS"),
        ("trendAsNativeHistogram", "K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM"),
        ("insecureSkipTLSVerify", "K6_PROMETHEUS_RW_INSECURE_SKIP_TLS_VERIFY"),
        ("username", "K6_PROMETHEUS_RW_USERNAME"),
        ("password", "K6_PROMETHEUS_RW_PASSWORD"),
        ("bearerToken", "K6_PROMETHEUS_RW_BEARER_TOKEN"),
        ("staleMarkers", "K6_PROMETHEUS_RW_STALE_MARKERS"),
        ("prefix", "GREENWS_PROMETHEUS_RW_PREFIX"),
        ("maxSeries", "GREENWS_PROMETHEUS_RW_MAX_SERIES"),
        ("finalFlushTimeout", "GREENWS_PROMETHEUS_RW_FINAL_FLUSH_TIMEOUT"),
        ("timeout", "GREENWS_PROMETHEUS_RW_TIMEOUT"),
    ):
        if env in environ:
            raw[key] = environ[env]
    for env, value in environ.items():
        if env.startswith("K6_PROMETHEUS_RW_HEADERS_"):
            headers[env[len("K6_PROMETHEUS_RW_HEADERS_") :]] = value
    if environ.get("K6_PROMETHEUS_RW_HTTP_HEADERS"):
        for pair in environ["K6_PROMETHEUS_RW_HTTP_HEADERS"].split(","):
            name, colon, value = pair.partition(":")
            if not colon or not name.strip():
                raise ValueError(f"K6_PROMETHEUS_RW_HTTP_HEADERS: {pair!r} is not NAME:VALUE")
            headers[name.strip()] = value.strip()
    argument = argument.strip()
    if argument and "://" in argument and not argument.startswith("url="):
        raw["url"] = argument
    elif argument:
        for option in argument.split(","):
            key, equals, value = option.partition("=")
            if not equals:
                raise ValueError(f"--out experimental-prometheus-rw: {option!r} is not key=value")
            if key.startswith("headers."):
                headers[key[len("headers.") :]] = value
            elif key in ("url", "pushInterval", "trendAsNativeHistogram", "insecureSkipTLSVerify",
                         "username", "password", "bearerToken", "staleMarkers", "prefix",
                         "maxSeries", "finalFlushTimeout", "timeout"):  # fmt: skip
                raw[key] = value
            else:
                raise ValueError(f"--out experimental-prometheus-rw: unknown option {key!r}")
    return _settings(raw, headers)


def _settings(raw: dict[str, str], headers: dict[str, str]) -> RemoteWriteSettings:
    values: dict[str, object] = {}
    url = raw.get("url", _DEFAULT_URL)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"prometheus remote write URL {url!r}: expected http(s)://host[:port]/path"
        )
    values["url"] = url
    if "pushInterval" in raw:
        values["push_interval"] = _seconds("pushInterval", raw["pushInterval"])
    if "timeout" in raw:
        values["timeout"] = _seconds("timeout", raw["timeout"])
    if "finalFlushTimeout" in raw:
        values["final_flush_timeout"] = _seconds("finalFlushTimeout", raw["finalFlushTimeout"])
    if "trendStats" in raw:
        stats = tuple(s.strip() for s in raw["trendStats"].split(",") if s.strip())
        if not stats:
            raise ValueError("K6_PROMETHEUS_RW_TREND_STATS: no stats given")
        for stat in stats:
            stat_suffix(stat)
        values["trend_stats"] = stats
    for key, attribute in (
        ("trendAsNativeHistogram", "native_histograms"),
        ("insecureSkipTLSVerify", "insecure"),
        ("staleMarkers", "stale_markers"),
    ):
        if key in raw:
            values[attribute] = _bool(key, raw[key])
    if "prefix" in raw:
        values["prefix"] = raw["prefix"]
    if "maxSeries" in raw:
        try:
            values["max_series"] = int(raw["maxSeries"])
        except ValueError:
            raise ValueError(f"maxSeries={raw['maxSeries']!r}: expected a number") from None
    if raw.get("bearerToken"):
        headers.setdefault("Authorization", "Bearer " + raw["bearerToken"])
    elif raw.get("username") or raw.get("password"):
        pair = f"{raw.get('username', '')}:{raw.get('password', '')}".encode()
        headers.setdefault("Authorization", "Basic " + base64.b64encode(pair).decode())
    values["headers"] = headers
    return RemoteWriteSettings(**values)  # type: ignore[arg-type]
