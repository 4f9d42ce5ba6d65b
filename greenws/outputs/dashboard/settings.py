"""The dashboard's settings: flags, then ``GREENWS_WEB_DASHBOARD_*``, then k6's ``K6_WEB_DASHBOARD_*``.

k6's names are honoured so a k6 user's CI keeps working: ``K6_WEB_DASHBOARD=true`` turns it on,
``_HOST``, ``_PORT`` (``-1``: no server, only the export, which is how k6 users keep CI from
hanging), ``_PERIOD``, ``_EXPORT`` and ``_OPEN``. greenws's own spelling wins over k6's, and a
flag over both. Unlike k6, the default host is loopback: binding beyond it is asked for and
warned about, because the page shows the target's URLs and tags to anyone who can reach it.

Pure: a mapping of environment variables in, a value or a one-line :class:`ValueError` out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from greenws.options.durations import parse_duration

__all__ = ["MAX_LOOP_SHARE", "DashboardSettings", "next_update_in", "parse_settings"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_TAG = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

#: The most of the VUs' loop the live page may take. Drawing is done on the loop that runs the
#: VUs, and the page grows by a point per line every second: after an hour of test one update
#: costs ~100 times what it costs after a minute. Rather than let a watched page take a growing
#: share (issue 17 allows 2 % of throughput with one tab open), the wait before the next update
#: stretches to keep drawing at or below this share.
MAX_LOOP_SHARE = 0.01


def next_update_in(period: float, spent: float, share: float = MAX_LOOP_SHARE) -> float:
    """Seconds to wait before the next update, given the CPU seconds the last one ``spent``:
    the period, or longer when drawing would otherwise take more than ``share`` of the loop."""
    return max(period, spent / share - spent)


@dataclass(frozen=True)
class DashboardSettings:
    """Where the dashboard listens, how often it updates, what it exports."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 5665  # -1: no server (export only); 0: any free port
    period: float = 1.0  # seconds between updates
    export: str | None = None
    open_browser: bool = False
    tags: tuple[str, ...] = ()  # tags to break the tables down by, beyond scenario and group
    warnings: list[str] = field(default_factory=list, compare=False)

    @property
    def serves(self) -> bool:
        return self.enabled and self.port >= 0

    @property
    def public(self) -> bool:
        return self.host not in _LOOPBACK


def _env(environ: Mapping[str, str], suffix: str) -> tuple[str, str] | None:
    for prefix in ("GREENWS_WEB_DASHBOARD", "K6_WEB_DASHBOARD"):
        key = prefix + suffix
        if key in environ:
            return key, environ[key]
    return None


def _flag(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name}={text!r}: expected true or false")


def parse_tags(name: str, text: str | Sequence[str]) -> tuple[str, ...]:
    """``"url,method"`` or ``["url", "method"]`` -> ``("url", "method")``, each a tag name."""
    items = text.split(",") if isinstance(text, str) else [p for t in text for p in t.split(",")]
    tags = tuple(dict.fromkeys(t.strip() for t in items if t.strip()))
    for tag in tags:
        if not _TAG.match(tag):
            raise ValueError(f"{name}: {tag!r} is not a tag name")
    return tags


def parse_settings(
    environ: Mapping[str, str],
    *,
    enabled: bool | None = None,
    host: str | None = None,
    port: int | None = None,
    period: str | None = None,
    export: str | None = None,
    open_browser: bool | None = None,
    tags: Sequence[str] = (),
) -> DashboardSettings:
    """Fold the flags (None when not given) over the environment; errors name the setting."""
    values: dict[str, object] = {}
    found = _env(environ, "")
    if enabled is None and found:
        enabled = _flag(*found)
    found = _env(environ, "_EXPORT")
    if export is None and found and found[1]:
        export = found[1]
    if export and enabled is None:
        enabled = True  # k6: asking for an export is asking for the dashboard
    found = _env(environ, "_HOST")
    if host is None and found:
        host = found[1] or "127.0.0.1"
    if host is not None:
        values["host"] = host
    found = _env(environ, "_PORT")
    if port is None and found:
        try:
            port = int(found[1])
        except ValueError:
            raise ValueError(f"{found[0]}={found[1]!r}: expected a port number") from None
    if port is not None:
        if not -1 <= port <= 65535:
            raise ValueError(f"dashboard port {port}: expected 0 to 65535, or -1 for no server")
        values["port"] = port
    found = _env(environ, "_PERIOD")
    if period is None and found:
        period = found[1]
    if period is not None:
        try:
            seconds = parse_duration(period)
        except ValueError as error:
            raise ValueError(f"dashboard period {period!r}: {error}") from None
        if not 0.1 <= seconds <= 3600:
            raise ValueError(f"dashboard period {period!r}: expected 100ms to 1h")
        values["period"] = seconds
    found = _env(environ, "_OPEN")
    if open_browser is None and found:
        open_browser = _flag(*found)
    if not tags:
        found = _env(environ, "_TAGS")
        if found:
            values["tags"] = parse_tags(found[0], found[1])
    else:
        values["tags"] = parse_tags("--dashboard-tag", tags)
    settings = DashboardSettings(
        enabled=bool(enabled),
        export=export or None,
        open_browser=bool(open_browser),
        **values,  # type: ignore[arg-type]
    )
    if settings.serves and settings.public:
        settings.warnings.append(
            f"the web dashboard listens on {settings.host}:{settings.port}, beyond this machine: "
            "anyone who can reach it sees the test's URLs, tags and results"
        )
    return settings
