"""The functions and objects a test script imports from ``greenws``.

Thin by design: each forwards to the VU running the call and the engine running the test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import gevent

from greenws.metrics.metric import Metric, MetricType, ValueType
from greenws.metrics.tags import TagSet
from greenws.runtime import session
from greenws.runtime.engine import active_engine
from greenws.runtime.vu import AbortTest, current_vu

__all__ = [
    "Counter",
    "Gauge",
    "Rate",
    "Trend",
    "VUInfo",
    "abort",
    "check",
    "fail",
    "group",
    "sleep",
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
        return session.connect(vu.engine, vu, url, params, handler)


ws = _WebSocketModule()


def check(value: T, checks: Mapping[str, Any], tags: Mapping[str, str] | None = None) -> bool:
    """Run each named check on ``value``; record a ``checks`` sample each; True if all passed.

    A check is a callable taking ``value`` (or nothing) or a plain truthy value. A check that raises
    fails and the error is logged once, as k6 does with a throwing check.
    """
    vu = current_vu()
    engine = vu.engine
    push = engine.samples.append
    metric = engine.metrics.checks
    from greenws.runtime.vu import call_flexibly

    all_passed = True
    now = time.time()
    for name, condition in checks.items():
        try:
            passed = bool(call_flexibly(condition, value) if callable(condition) else condition)
        except Exception as error:
            engine.report_script_error(vu, error)
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
        vu.engine.samples.append(
            (
                vu.engine.metrics.group_duration,
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
        self.metric: Metric = active_engine().registry.get_or_create(name, self._type, contains)
        self.name = name

    def add(self, value: float | bool, tags: Mapping[str, str] | None = None) -> None:
        """Record ``value`` with the VU's tags plus ``tags``."""
        vu = current_vu()
        sample_tags: TagSet = vu.tags
        if tags:
            sample_tags = sample_tags.merged({str(k): str(v) for k, v in tags.items()})
        vu.engine.samples.append((self.metric, time.time(), float(value), sample_tags))


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
