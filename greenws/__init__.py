"""greenws: load-test WebSocket services with k6's ``k6/ws`` API, one gevent greenlet per VU.

A script imports what it needs::

    from greenws import ws, check, group, sleep, Counter, Gauge, Rate, Trend, vu, env, console
    from greenws import set_timeout, set_interval, clear_timeout, clear_interval
    from greenws import http   # k6/http: http.get, http.post, http.batch, http.cookie_jar...

``greenws.env`` is k6's ``__ENV``: a read-only mapping of the environment (``-e KEY=VALUE``
included) with the running scenario's ``env`` on top. ``text_summary`` renders the default
end-of-test summary for a script's ``handle_summary(data)``. ``console`` is k6's: ``console.log``
and friends write log lines (to stderr unless ``--log-output`` says otherwise), never into the
summary on stdout.

The script API is loaded lazily so that the pure cores (``greenws.protocol``, ``greenws.metrics``…)
can be imported without gevent.
"""

from __future__ import annotations

from typing import Any

from greenws import native

__version__ = "0.1.0"

# Before any compiled hot-path module can be imported: GREENWS_PURE_PYTHON, stale builds.
native.install()

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
    "SharedArray",
    "CookieJar",
    "cookie_jar",
    "cookieJar",
    "env",
    "text_summary",
    "textSummary",
    "console",
    # k6/timers: global timers on the VU's loop (several sockets per VU, greenws.websockets)
    "set_timeout",
    "set_interval",
    "clear_timeout",
    "clear_interval",
    "setTimeout",
    "setInterval",
    "clearTimeout",
    "clearInterval",
}

__all__ = ["__version__", "http", *sorted(_SCRIPT_API)]


def __getattr__(name: str) -> Any:
    if name in _SCRIPT_API:
        from greenws.api import script

        return getattr(script, name)
    if name == "http":  # k6/http: a module of its own, as `import http from "k6/http"`
        from greenws.api import http

        return http
    if name == "__VU":
        from greenws.runtime.vu import current_vu

        return current_vu().id
    if name == "__ITER":
        from greenws.runtime.vu import current_vu

        return current_vu().iteration
    if name == "__ENV":
        from greenws.api import script

        return script.env
    raise AttributeError(f"module 'greenws' has no attribute {name!r}")
