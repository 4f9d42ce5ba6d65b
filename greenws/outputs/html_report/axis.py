"""Axis ticks and their labels: round values, and time labels that never repeat.

The value axis takes steps of 1, 2 or 5 times a power of ten. The time axis takes the steps a
person counts time in (1 s, 15 s, 1 m, 5 m, 1 h…) and, below a second, decimal steps; its labels
carry as many digits as the step needs (``0.5s``, ``200ms``), because a label rounded to whole
seconds turns a sub-second or few-second run into ``0s 0s 0s 1s 1s``.

Pure: plain numbers in, numbers and strings out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

__all__ = ["elapsed_labels", "format_elapsed", "nice_ticks", "time_ticks"]

#: Time-axis steps from one second up, in seconds: what a clock is read in.
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)
_DAY = 86400


def _decimal_step(raw: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``raw``."""
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw * (1 - 1e-12))


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """Round axis ticks from 0 to at least ``maximum``: steps of 1, 2 or 5 times a power of ten."""
    if not math.isfinite(maximum) or maximum <= 0:
        return [0.0, 1.0]
    step = _decimal_step(maximum / count)
    ticks = [0.0]
    while ticks[-1] < maximum * (1 - 1e-9):
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def time_ticks(span: float, count: int = 5) -> list[float]:
    """Ticks from 0 to at most ``span`` seconds, about ``count`` steps apart, at clock steps.

    Below a second a step is decimal (0.1 s, 0.2 s, 0.5 s), from a second up it is one of
    ``_TIME_STEPS`` (or whole days), so a 10-minute run is marked every 2 minutes, not every
    200 seconds.
    """
    if not math.isfinite(span) or span <= 0:
        return [0.0]
    raw = span / count
    if raw < 1:
        step = _decimal_step(raw)
    else:
        step = next((float(s) for s in _TIME_STEPS if s >= raw), 0.0)
        if not step:
            step = _DAY * _decimal_step(raw / _DAY)
    ticks = [0.0]
    while ticks[-1] + step <= span * (1 + 1e-9):
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def format_elapsed(elapsed: float) -> str:
    """Label for whole seconds since the start: ``45s``, ``2m30s``, ``1h05m``, ``2h``."""
    seconds = round(elapsed)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes}m{rest:02d}s" if rest else f"{minutes}m"
    hours, rest = divmod(seconds // 60, 60)
    return f"{hours}h{rest:02d}m" if rest else f"{hours}h"


def _decimals(step: float) -> int:
    """Digits after the point that ``step`` needs: 0.5 -> 1, 0.05 -> 2, 2 -> 0."""
    return max(0, -math.floor(math.log10(step) + 1e-9))


def _trimmed(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def elapsed_labels(ticks: Sequence[float]) -> list[str]:
    """One label per tick, distinct, in the unit the step calls for.

    Whole-second steps read as clock times (``1m30s``); a run shorter than a second is labelled
    in milliseconds (``0ms 200ms 400ms``); sub-second steps of a longer run in fractional seconds
    (``0s 0.5s 1s 1.5s``). If rounding ever made two labels equal, the ticks are labelled with
    every digit they have instead, so no label repeats.
    """
    if len(ticks) < 2:
        return [format_elapsed(t) for t in ticks]
    step = min(b - a for a, b in pairwise(ticks))
    last = ticks[-1]
    if step >= 1 and all(math.isclose(t, round(t)) for t in ticks):
        labels = [format_elapsed(t) for t in ticks]
    elif last < 1:
        decimals = max(0, _decimals(step) - 3)
        labels = [_trimmed(t * 1000, decimals) + "ms" for t in ticks]
    else:
        labels = [_trimmed(t, _decimals(step)) + "s" for t in ticks]
    if len(set(labels)) < len(labels):
        labels = [f"{t:g}s" for t in ticks]
    return labels
