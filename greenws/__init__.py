"""greenws: load-test WebSocket services with k6's ``k6/ws`` API, one gevent greenlet per VU.

A script imports what it needs::

    from greenws import ws, check, group, sleep, Counter, Gauge, Rate, Trend, vu

The script API is loaded lazily so that the pure cores (``greenws.protocol``, ``greenws.metrics``…)
can be imported without gevent.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_SCRIPT_API = {
    "ws",
    "check",
    "group",
    "sleep",
    "abort",
    "fail",
    "vu",
    "Counter",
    "Gauge",
    "Rate",
    "Trend",
}

__all__ = ["__version__", *sorted(_SCRIPT_API), "env"]


def __getattr__(name: str) -> Any:
    if name in _SCRIPT_API:
        from greenws.api import script

        return getattr(script, name)
    if name == "__VU":
        from greenws.runtime.vu import current_vu

        return current_vu().id
    if name == "__ITER":
        from greenws.runtime.vu import current_vu

        return current_vu().iteration
    if name == "env":
        import os

        return os.environ
    raise AttributeError(f"module 'greenws' has no attribute {name!r}")
