"""The sample: one measurement, as a plain tuple because tuples are the cheapest thing to build.

Every WebSocket message produces samples, so the runtime creates them with a tuple display
``(metric, time.time(), value, tags)`` -- no class, no keyword arguments, no validation. Readers
unpack them positionally; the index constants below exist for ``operator.itemgetter``.
"""

from __future__ import annotations

from typing import TypeAlias

from greenws.metrics.metric import Metric
from greenws.metrics.tags import TagSet

__all__ = ["METRIC", "TAGS", "TIME", "VALUE", "Sample"]

Sample: TypeAlias = tuple[Metric, float, float, TagSet]
"""``(metric, time in epoch seconds, value, tags)``; Trend times are float milliseconds."""

METRIC = 0
TIME = 1
VALUE = 2
TAGS = 3
