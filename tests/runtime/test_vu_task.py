"""VUTask: the plain greenlet an executor runs a VU's loop on (see its docstring for why)."""

from __future__ import annotations

from typing import Any

import gevent
import pytest

from greenws.options.layers import resolve_options
from greenws.runtime.context import RunContext
from greenws.runtime.vu import VirtualUser, VUTask, current_vu


class Stop(BaseException):
    """What an executor throws in (IterationInterrupted's stand-in)."""


@pytest.fixture
def vu() -> VirtualUser:
    return VirtualUser(1, RunContext(resolve_options(), script_path="x.py"), "default", {})


def test_runs_the_function_on_the_vu_and_reports_its_exit(vu: VirtualUser) -> None:
    seen: list[Any] = []
    task = VUTask(vu, lambda v: seen.append((v, current_vu())), lambda: seen.append("exit"))
    assert not task.dead
    task.start()
    assert seen == []  # it starts at the hub's next turn, as gevent's Greenlet.start
    gevent.sleep(0)
    assert seen == [(vu, vu), "exit"]
    assert task.dead


def test_kill_raises_in_a_parked_task(vu: VirtualUser) -> None:
    seen: list[str] = []

    def loop(_vu: VirtualUser) -> None:
        try:
            gevent.sleep(30)
        except Stop:
            seen.append("stopped")
            raise

    task = VUTask(vu, loop, lambda: seen.append("exit"))
    task.start()
    gevent.sleep(0)
    task.kill(Stop())
    assert not task.dead  # not blocking: the exception arrives at the hub's next turn
    gevent.sleep(0)
    assert seen == ["stopped", "exit"]
    assert task.dead


def test_killed_before_it_starts_it_never_runs(vu: VirtualUser) -> None:
    seen: list[str] = []
    task = VUTask(vu, lambda _vu: seen.append("ran"), lambda: seen.append("exit"))
    task.start()
    task.kill(Stop())
    assert task.dead
    gevent.sleep(0)
    assert seen == ["exit"]


def test_an_error_goes_to_the_hub_and_the_exit_still_runs(
    vu: VirtualUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    reported: list[tuple[Any, type]] = []
    hub = gevent.get_hub()
    monkeypatch.setattr(
        hub, "handle_error", lambda ctx, kind, value, tb: reported.append((ctx, kind))
    )
    seen: list[str] = []

    def fail(_vu: VirtualUser) -> None:
        raise ValueError("boom")

    task = VUTask(vu, fail, lambda: seen.append("exit"))
    task.start()
    gevent.sleep(0)
    assert reported == [(task, ValueError)]
    assert seen == ["exit"]
