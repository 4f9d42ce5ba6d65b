"""Durations as k6 writes them: ``"1m30s"``, ``"500ms"``, ``"1.5s"``, ``"2h"``, or a bare number.

k6 reads a bare number in a duration option as milliseconds; so do we. Everything is returned in
seconds (float), which is what the runtime sleeps and compares with.
"""

from __future__ import annotations

import re

__all__ = ["DurationError", "format_duration", "parse_duration"]

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)")


class DurationError(ValueError):
    """A duration that k6 would reject too; the message names the offending text."""


def parse_duration(value: str | int | float, *, name: str = "duration") -> float:
    """Return ``value`` in seconds.

    Raises:
        DurationError: for anything that is not a non-negative k6 duration, e.g. ``"5x"``.
    """
    if isinstance(value, bool):
        raise DurationError(f"invalid {name} {value!r}: expected a duration like '30s' or '1m30s'")
    if isinstance(value, (int, float)):
        if value < 0:
            raise DurationError(f"invalid {name} {value!r}: must not be negative")
        return float(value) / 1000.0
    if not isinstance(value, str):
        raise DurationError(f"invalid {name} {value!r}: expected a duration like '30s' or '1m30s'")
    text = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text) / 1000.0
    position, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if not text or position != len(text):
        raise DurationError(f"invalid {name} {value!r}: expected a duration like '30s' or '1m30s'")
    return total


def format_duration(seconds: float) -> str:
    """k6's compact form for a whole duration: ``90`` → ``"1m30s"``, ``0.25`` → ``"250ms"``."""
    if seconds < 1 and seconds > 0:
        return f"{seconds * 1000:g}ms"
    whole = round(seconds, 3)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    out = ""
    if hours:
        out += f"{int(hours)}h"
    if minutes or hours:
        out += f"{int(minutes)}m"
    out += f"{secs:g}s"  # Go's Duration.String keeps "0s" after hours and minutes
    return out
