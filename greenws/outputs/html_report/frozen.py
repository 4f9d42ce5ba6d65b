"""Frozen histograms: a closed time bucket's Trend, a fraction of its size.

Trend histograms are the largest part of the report's series. Once a bucket lies
``freeze_after`` buckets behind the newest, its histograms are *frozen*: keys coarsened from
1/256 to 1/32 of an octave and packed into two ``array("q")`` (eight times fewer keys, 16 bytes
each; a percentile loses at most 1.6 %, count, sum, min and max stay exact). A frozen histogram
thaws only to be merged while downsampling, and its percentiles are worked out once: thawing an
hour's buckets at every live update cost ~0.8 s of the VUs' loop
(``benchmarks/dashboard_instructions.py``).

Pure: no clock, no I/O.
"""

from __future__ import annotations

from array import array

from greenws.metrics.histogram import Histogram

__all__ = ["PERCENTILES", "FrozenHistogram", "thawed"]

#: Percentiles drawn for each Trend.
PERCENTILES: tuple[float, ...] = (50.0, 95.0, 99.0)
_COARSE_BITS = 3  # 256 -> 32 sub-buckets per octave once frozen
_STATE_SHIFT = 44  # Histogram's key shift; frozen state must match it to thaw


class FrozenHistogram:
    """A closed bucket's Histogram, coarsened and packed; thaw it to merge or read it."""

    __slots__ = ("_percentiles", "count", "counts", "keys", "maximum", "minimum", "total")

    def __init__(self, histogram: Histogram) -> None:
        state = histogram.to_state()
        merged: dict[int, int] = {}
        for key, n in state["buckets"]:
            if key not in (0, -(1 << 63) >> _STATE_SHIFT):  # the zero buckets stay exact
                # Keep the top bits, point at the middle sub-bucket: its midpoint is the centre.
                key = (key >> _COARSE_BITS << _COARSE_BITS) | (1 << (_COARSE_BITS - 1))
            merged[key] = merged.get(key, 0) + n
        ordered = sorted(merged)
        self.keys = array("q", ordered)
        self.counts = array("q", (merged[k] for k in ordered))
        self.count = int(state["count"])
        self.total = float(state["sum"])
        self.minimum = state["min"]
        self.maximum = state["max"]
        self._percentiles: tuple[float | None, ...] | None = None

    def percentiles(self) -> tuple[float | None, ...]:
        """The charted :data:`PERCENTILES`, worked out on the first call and kept (the contents
        never change; merging makes a new object)."""
        if self._percentiles is None:
            live = self.thaw()
            self._percentiles = tuple(
                live.percentile(p) if live.count else None for p in PERCENTILES
            )
        return self._percentiles

    def thaw(self) -> Histogram:
        """A Histogram with the same (coarsened) contents."""
        return Histogram.from_state(
            {
                "version": 1,
                "shift": _STATE_SHIFT,
                "count": self.count,
                "sum": self.total,
                "min": self.minimum,
                "max": self.maximum,
                "buckets": [[k, n] for k, n in zip(self.keys, self.counts, strict=True)],
            }
        )


def thawed(hist: Histogram | FrozenHistogram) -> Histogram:
    """``hist`` as a live Histogram (a frozen one thawed)."""
    return hist.thaw() if isinstance(hist, FrozenHistogram) else hist
