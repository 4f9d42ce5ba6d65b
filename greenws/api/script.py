"""The functions and objects a test script imports from ``greenws``.

Thin by design: each forwards to the VU running the call and its run's context.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import gevent

from greenws.api.console import console
from greenws.api.shared_array import SharedArray
from greenws.metrics.metric import Metric, MetricType, ValueType
from greenws.metrics.tags import TagSet
from greenws.net.cookies import CookieJar
from greenws.runtime.context import active_context
from greenws.runtime.event_loop import loop_of
from greenws.runtime.vu import AbortTest, current_vu
from greenws.sockets import session
from greenws.sockets.sequential import SequentialSocket, open_socket

__all__ = [
    "CookieJar",
    "Counter",
    "EnvView",
    "Gauge",
    "Rate",
    "SharedArray",
    "Trend",
    "VUInfo",
    "abort",
    "check",
    "clearInterval",
    "clearTimeout",
    "clear_interval",
    "clear_timeout",
    "console",
    "cookieJar",
    "cookie_jar",
    "env",
    "fail",
    "group",
    "setInterval",
    "setTimeout",
    "set_interval",
    "set_timeout",
    "sleep",
    "textSummary",
    "text_summary",
    "vu",
    "ws",
]

T = TypeVar("T")


class _WebSocketModule:
    """``ws``: k6's ``k6/ws`` module."""

    def connect(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        handler: Callable[[session.Socket], Any] | None = None,
    ) -> session.Response:
        """Open a WebSocket, call ``handler(socket)`` to set it up, block until it closes.

        As in k6 the params may be left out: ``ws.connect(url, handler)``.
        """
        if handler is None and callable(params):
            params, handler = None, params
        vu = current_vu()
        return session.connect(vu.context, vu, url, params, handler)

    def open(self, url: str, params: Mapping[str, Any] | None = None) -> SequentialSocket:
        """Connect now and return a socket to ``send``/``recv``/``request`` on, in sequence.

        Use it as ``with ws.open(url) as sock:``; see :mod:`greenws.websockets`.
        """
        vu = current_vu()
        return open_socket(vu.context, vu, url, params)


ws = _WebSocketModule()


def set_timeout(callback: Callable[..., Any], delay_ms: float = 0, *args: Any) -> int:
    """Run ``callback(*args)`` after ``delay_ms`` milliseconds on this VU's loop (k6/timers).

    The iteration waits for pending timers, as k6 does; returns an id for ``clear_timeout``.
    """
    return loop_of().set_timeout(callback, delay_ms, *args)


def set_interval(callback: Callable[..., Any], interval_ms: float = 0, *args: Any) -> int:
    """Run ``callback(*args)`` every ``interval_ms`` milliseconds until ``clear_interval``."""
    return loop_of().set_interval(callback, interval_ms, *args)


def clear_timeout(timer_id: int | None) -> None:
    """Cancel a ``set_timeout`` (or ``set_interval``) timer; unknown ids are ignored."""
    loop_of().clear(timer_id)


clear_interval = clear_timeout
setTimeout = set_timeout
setInterval = set_interval
clearTimeout = clear_timeout
clearInterval = clear_interval


def check(value: T, checks: Mapping[str, Any], tags: Mapping[str, str] | None = None) -> bool:
    """Run each named check on ``value``; record a ``checks`` sample each; True if all passed.

    A check is a callable taking ``value`` (or nothing) or a plain truthy value. A check that raises
    fails and the error is logged once, as k6 does with a throwing check.
    """
    vu = current_vu()
    context = vu.context
    push = context.samples.append
    metric = context.metrics.checks
    from greenws.runtime.vu import call_flexibly

    all_passed = True
    now = time.time()
    for name, condition in checks.items():
        try:
            passed = bool(call_flexibly(condition, value) if callable(condition) else condition)
        except Exception as error:
            context.report_script_error(vu, error)
            passed = False
        check_tags = vu.check_tags(str(name))
        if tags:
            check_tags = check_tags.merged({str(k): str(v) for k, v in tags.items()})
        push((metric, now, 1.0 if passed else 0.0, check_tags))
        all_passed = all_passed and passed
    return all_passed


def group(name: str, function: Callable[[], T]) -> T:
    """Run ``function`` inside group ``name``; samples inside carry ``group=::…::name``."""
    if "::" in name:
        raise ValueError(f"group name {name!r} must not contain '::'")
    vu = current_vu()
    previous = vu.enter_group(f"{vu.group}::{name}")
    started = time.perf_counter()
    try:
        return function()
    finally:
        tags = vu.tags
        vu.context.samples.append(
            (
                vu.context.metrics.group_duration,
                time.time(),
                (time.perf_counter() - started) * 1000.0,
                tags,
            )
        )
        vu.enter_group(previous)


def sleep(seconds: float) -> None:
    """Pause this VU for ``seconds`` (other VUs keep running)."""
    gevent.sleep(seconds)


def abort(reason: str = "") -> None:
    """Stop the whole test now: teardown runs, the summary prints, exit code 108 (k6 ``test.abort``)."""
    raise AbortTest(reason)


def fail(message: str = "") -> None:
    """End this iteration with an error (k6's ``fail``)."""
    raise RuntimeError(message or "fail() called")


class _CustomMetric:
    _type: MetricType

    def __init__(self, name: str, is_time: bool = False) -> None:
        contains = ValueType.TIME if is_time else ValueType.DEFAULT
        self.metric: Metric = active_context().registry.get_or_create(name, self._type, contains)
        self.name = name

    def add(self, value: float | bool, tags: Mapping[str, str] | None = None) -> None:
        """Record ``value`` with the VU's tags plus ``tags``."""
        vu = current_vu()
        sample_tags: TagSet = vu.tags
        if tags:
            sample_tags = sample_tags.merged({str(k): str(v) for k, v in tags.items()})
        vu.context.samples.append((self.metric, time.time(), float(value), sample_tags))


class Counter(_CustomMetric):
    """A cumulative custom metric (k6 ``Counter``)."""

    _type = MetricType.COUNTER


class Gauge(_CustomMetric):
    """A custom metric that keeps the last value, min and max (k6 ``Gauge``)."""

    _type = MetricType.GAUGE


class Rate(_CustomMetric):
    """A custom metric of the share of non-zero values (k6 ``Rate``)."""

    _type = MetricType.RATE


class Trend(_CustomMetric):
    """A custom metric with percentiles; ``Trend(name, True)`` holds times in ms (k6 ``Trend``)."""

    _type = MetricType.TREND


class VUInfo:
    """The running VU as k6's ``exec.vu``: ``vu.id`` (``__VU``), ``vu.iteration`` (``__ITER``)."""

    @property
    def id(self) -> int:
        return current_vu().id

    @property
    def iteration(self) -> int:
        return current_vu().iteration

    @property
    def scenario(self) -> str:
        return current_vu().scenario

    idInTest = id
    iterationInScenario = iteration


vu = VUInfo()


def cookie_jar() -> CookieJar:
    """The running VU's cookie jar (k6's ``http.cookieJar()``): handshakes send its cookies and
    keep the ones servers set; it is emptied at each iteration unless ``noCookiesReset``."""
    return current_vu().cookie_jar


cookieJar = cookie_jar


class EnvView(Mapping[str, str]):
    """``greenws.env``: k6's ``__ENV`` as a read-only mapping.

    It holds the process environment (``os.environ``, where ``-e KEY=VALUE`` values are set too)
    and, for a VU of a scenario that has ``env`` in its options, that scenario's values on top:
    they override the ``-e`` and system values of the same name, for that scenario's VUs only. At
    the top level of the script, in ``setup()``, ``teardown()`` and ``handle_summary()`` there is
    no scenario, so only the process environment shows. The view is live: it reflects
    ``os.environ`` as it is when read.
    """

    __slots__ = ()

    @staticmethod
    def _scenario_env() -> Mapping[str, str]:
        vu = getattr(gevent.getcurrent(), "vu", None)
        if vu is None or not vu.scenario:
            return {}
        return vu.context.scenario_envs.get(vu.scenario, {})  # type: ignore[no-any-return]

    def __getitem__(self, key: str) -> str:
        scenario = self._scenario_env()
        if key in scenario:
            return scenario[key]
        return os.environ[key]

    def __contains__(self, key: object) -> bool:
        return key in self._scenario_env() or key in os.environ

    def __iter__(self) -> Iterator[str]:
        scenario = self._scenario_env()
        yield from scenario
        for key in list(os.environ):
            if key not in scenario:
                yield key

    def __len__(self) -> int:
        scenario = self._scenario_env()
        return len(scenario) + sum(1 for key in os.environ if key not in scenario)

    def __setitem__(self, key: str, value: str) -> None:
        raise TypeError(
            "greenws.env is read-only: pass values with -e KEY=VALUE or a scenario's env"
        )

    def __delitem__(self, key: str) -> None:
        raise TypeError("greenws.env is read-only")

    def __repr__(self) -> str:
        return f"greenws.env({dict(self)!r})"


env = EnvView()


def text_summary(
    data: Mapping[str, Any],
    indent: str | Mapping[str, Any] = "",
    enable_colors: bool = False,
    *,
    mode: str = "compact",
    summary_trend_stats: list[str] | tuple[str, ...] | None = None,
    summary_time_unit: str | None = None,
) -> str:
    """The default end-of-test text summary of ``data``, for ``handle_summary`` (k6's
    ``textSummary`` from ``k6-summary``).

    ``indent`` is put in front of every non-empty line. A k6-style options dict may be passed
    instead: ``text_summary(data, {"indent": " ", "enableColors": True})``. ``summary_trend_stats``
    and ``summary_time_unit`` override the run's ``summaryTrendStats``/``summaryTimeUnit``.
    """
    from greenws.summary.text import render_summary

    if isinstance(indent, Mapping):
        k6_options = indent
        indent = str(k6_options.get("indent", ""))
        enable_colors = bool(k6_options.get("enableColors", enable_colors))
        summary_trend_stats = k6_options.get("summaryTrendStats", summary_trend_stats)
        summary_time_unit = k6_options.get("summaryTimeUnit", summary_time_unit)
    if summary_trend_stats is not None or summary_time_unit is not None:
        run_options = dict(data.get("options") or {})
        if summary_trend_stats is not None:
            run_options["summaryTrendStats"] = list(summary_trend_stats)
        if summary_time_unit is not None:
            run_options["summaryTimeUnit"] = summary_time_unit
        data = {**data, "options": run_options}
    text = render_summary(data, mode=mode, color=enable_colors)
    if indent:
        text = "\n".join(indent + line if line else line for line in text.split("\n"))
    return text


textSummary = text_summary
