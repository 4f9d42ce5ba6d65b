"""A mergeable, bounded-memory log-linear histogram whose percentiles follow k6's formula.

k6 keeps every Trend value and sorts them; that costs memory proportional to the test length and
cannot be merged across processes. We keep counts per bucket instead, and estimate each order
statistic from the bucket that holds it.

Buckets come straight from the IEEE-754 bit pattern of the value: the sign, the 11 exponent bits
and the top 8 mantissa bits (``bits >> 44``). That is a log-linear layout with 256 sub-buckets per
power of two, so a bucket spans at most 1/256 (0.39 %) of its value and its midpoint is within
0.2 % of anything in it. Zero and negative values get buckets of their own the same way. Because
the key is a bit shift, a whole batch is bucketed with C-level iteration
(``array`` -> ``map(rshift)`` -> ``Counter.update``): no Python code runs per value.

Percentiles use k6's definition (``metrics/sink.go``): sort the values, take ``i = p * (n - 1)``,
and interpolate linearly between ``v[floor(i)]`` and ``v[ceil(i)]``. We do the same with estimated
order statistics: the lowest rank is the exact minimum, the highest the exact maximum, anything in
between the midpoint of its bucket clamped to ``[min, max]``. So one value, two values, or p(0) and
p(100) are exact, and everything else is within the bucket resolution.
"""

from __future__ import annotations

import math
import struct
from array import array
from bisect import bisect_right
from collections import Counter
from itertools import repeat
from operator import rshift
from typing import Any

__all__ = ["Histogram", "HistogramStateError"]

_SHIFT = 44  # 52 mantissa bits, keep the top 8 -> 256 sub-buckets per power of two
_MASK64 = (1 << 64) - 1
_NEG_ZERO_KEY = -(1 << 63) >> _SHIFT
_FOLD_AT = 4096  # raw values buffered before they are bucketed (bounds memory, amortises work)
_STATE_VERSION = 1
_Q = struct.Struct("<Q")
_D = struct.Struct("<d")


class HistogramStateError(ValueError):
    """A ``to_state()`` dict that this version cannot read."""


def _bits_to_float(bits: int) -> float:
    value: float = _D.unpack(_Q.pack(bits & _MASK64))[0]
    return value


def _representative(key: int) -> float:
    """The value that stands for every value in bucket ``key``: its midpoint."""
    if key == 0 or key == _NEG_ZERO_KEY:
        return 0.0  # the bucket of zero (and of subnormals smaller than 2**-1030)
    edge = _bits_to_float(key << _SHIFT)
    other = _bits_to_float((key + 1) << _SHIFT)
    if math.isfinite(edge) and math.isfinite(other):
        return edge + (other - edge) * 0.5
    return edge  # +-inf, or the last finite bucket below it


class Histogram:
    """Counts of float values in log-linear buckets, plus the exact count, sum, min and max."""

    __slots__ = ("_buckets", "_count", "_cum", "_max", "_min", "_pending", "_reps", "_sum")

    def __init__(self) -> None:
        self._buckets: Counter[int] = Counter()
        self._pending: list[float] = []
        self._count = 0
        self._sum = 0.0
        self._min = math.inf
        self._max = -math.inf
        # Sorted bucket representatives and cumulative counts; None when stale.
        self._reps: list[float] | None = None
        self._cum: list[int] = []

    # -- adding ---------------------------------------------------------------------------------
    def add(self, value: float) -> None:
        """Add one value (buffered; bucketed in bulk later)."""
        pending = self._pending
        pending.append(value)
        if len(pending) >= _FOLD_AT:
            self._settle()

    def add_many(self, values: list[float]) -> None:
        """Add a batch of values; the cheap path the aggregator uses."""
        pending = self._pending
        pending.extend(values)
        if len(pending) >= _FOLD_AT:
            self._settle()

    def _settle(self) -> None:
        """Bucket the buffered values. NaN is ignored: it has no place in an order."""
        values = self._pending
        if not values:
            return
        self._pending = []
        # sum/min/max over the list are faster than over the array (the floats already exist).
        total = sum(values)
        if total != total:  # a NaN, or +inf and -inf together
            values = [v for v in values if v == v]
            if not values:
                return
            total = sum(values)
        raw = array("d", values)  # also rejects anything that is not a number
        self._count += len(raw)
        self._sum += float(total)
        low, high = float(min(values)), float(max(values))
        if low < self._min:
            self._min = low
        if high > self._max:
            self._max = high
        # Reinterpret the doubles as int64 and shift: the bucket keys, without a Python loop.
        self._buckets.update(map(rshift, array("q", raw.tobytes()), repeat(_SHIFT)))
        self._reps = None

    def merge(self, other: Histogram) -> None:
        """Add everything ``other`` holds; the result equals adding its values one by one."""
        other._settle()
        self._settle()
        if not other._count:
            return
        self._buckets.update(other._buckets)
        self._count += other._count
        self._sum += other._sum
        self._min = min(self._min, other._min)
        self._max = max(self._max, other._max)
        self._reps = None

    # -- reading --------------------------------------------------------------------------------
    @property
    def count(self) -> int:
        self._settle()
        return self._count

    @property
    def sum(self) -> float:
        self._settle()
        return self._sum

    @property
    def min(self) -> float:
        """The exact minimum, or 0 when empty (as k6 reports an empty Trend)."""
        self._settle()
        return self._min if self._count else 0.0

    @property
    def max(self) -> float:
        """The exact maximum, or 0 when empty."""
        self._settle()
        return self._max if self._count else 0.0

    @property
    def mean(self) -> float:
        self._settle()
        return self._sum / self._count if self._count else 0.0

    @property
    def bucket_count(self) -> int:
        """How many buckets are in use (the histogram's memory is proportional to this)."""
        self._settle()
        return len(self._buckets)

    def percentile(self, p: float) -> float:
        """k6's percentile ``p`` (0..100): linear interpolation between adjacent order statistics.

        Returns 0 for an empty histogram, as k6 does.
        """
        if not 0.0 <= p <= 100.0:
            raise ValueError(f"percentile must be between 0 and 100, got {p!r}")
        self._settle()
        n = self._count
        if n == 0:
            return 0.0
        if n == 1:
            return self._min
        i = (p / 100.0) * (n - 1)
        lower = math.floor(i)
        upper = math.ceil(i)
        a = self._order_statistic(lower)
        if upper == lower:
            return a
        b = self._order_statistic(upper)
        return a + (b - a) * (i - lower)

    def _order_statistic(self, rank: int) -> float:
        """Estimate of the ``rank``-th smallest value (0-based)."""
        if rank <= 0:
            return self._min
        if rank >= self._count - 1:
            return self._max
        reps = self._reps
        if reps is None:
            reps = self._index()
        value = reps[bisect_right(self._cum, rank)]
        if value < self._min:
            return self._min
        if value > self._max:
            return self._max
        return value

    def _index(self) -> list[float]:
        pairs = sorted((_representative(key), n) for key, n in self._buckets.items() if n)
        reps = [rep for rep, _ in pairs]
        cum: list[int] = []
        running = 0
        for _, n in pairs:
            running += n
            cum.append(running)
        self._reps, self._cum = reps, cum
        return reps

    # -- persistence ----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """A JSON-able snapshot; ``from_state`` of it merges like the original."""
        self._settle()
        return {
            "version": _STATE_VERSION,
            "shift": _SHIFT,
            "count": self._count,
            "sum": self._sum,
            "min": self._min if self._count else None,
            "max": self._max if self._count else None,
            "buckets": sorted([key, n] for key, n in self._buckets.items() if n),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Histogram:
        """Rebuild a histogram from :meth:`to_state` output (possibly from another process)."""
        if state.get("version") != _STATE_VERSION or state.get("shift") != _SHIFT:
            raise HistogramStateError(
                f"unsupported histogram state (version {state.get('version')!r}, "
                f"shift {state.get('shift')!r}); expected version {_STATE_VERSION}, "
                f"shift {_SHIFT}"
            )
        hist = cls()
        try:
            buckets = {int(key): int(n) for key, n in state["buckets"]}
            count = int(state["count"])
            if sum(buckets.values()) != count:
                raise HistogramStateError("histogram state: bucket counts do not add up to count")
            hist._buckets.update(buckets)
            hist._count = count
            hist._sum = float(state["sum"])
            if count:
                hist._min = float(state["min"])
                hist._max = float(state["max"])
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, HistogramStateError):
                raise
            raise HistogramStateError(f"malformed histogram state: {exc}") from exc
        return hist

    def __repr__(self) -> str:
        return (
            f"Histogram(count={self.count}, min={self.min!r}, max={self.max!r}, "
            f"buckets={len(self._buckets)})"
        )
