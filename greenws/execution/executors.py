"""Executors: greenlets that run a scenario's iterations with k6's semantics.

The load shape itself (VUs at time t) comes from :mod:`greenws.options.schedule`; an executor only starts,
parks and stops VUs, and runs each iteration (:meth:`ScenarioRunner.run_iteration`). Every executor
ends the same way: when its time or iterations are used up, VUs start no new iteration; running
ones get ``gracefulStop`` to finish, then are interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import gevent
import gevent.event

from greenws.execution.script_module import Script, ScriptError
from greenws.metrics.tags import TagSet
from greenws.options.scenarios import ScenarioConfig
from greenws.options.schedule import scenario_arrivals, scenario_length, scenario_vus_at
from greenws.runtime.context import RunContext
from greenws.runtime.event_loop import call_and_drain
from greenws.runtime.vu import (
    AbortTest,
    IterationInterrupted,
    VirtualUser,
    VUTask,
    accepted_arguments,
)

__all__ = ["ScenarioRunner", "build_runners", "progress_line"]

_RAMP_TICK = 0.1


def build_runners(
    context: RunContext,
    scenarios: Sequence[ScenarioConfig],
    vu_ids: Mapping[str, Sequence[int]],
    script: Script,
    started: gevent.event.Event,
) -> list[ScenarioRunner]:
    """A runner per scenario with its VUs, numbered by ``vu_ids`` (see ``global_vu_ids``).

    Each VU runs the script's init code now (k6 initialises VUs before ``setup()``), except an
    arrival-rate scenario's VUs beyond ``preAllocatedVUs``: they are initialised when first
    needed, as k6 does. Raises :class:`ScriptError` if a VU's init code fails. ``started`` is
    set when the first scenario starts (the ``vus`` gauge waits for it).
    """
    runners = []
    vu_id = 0
    for scenario in scenarios:
        ids = iter(vu_ids.get(scenario.name, ()))
        vus = []
        initialised = scenario.pre_allocated_vus if scenario.is_arrival_rate else scenario.max_vus
        for index in range(scenario.max_vus):
            vu_id += 1
            vu = VirtualUser(next(ids, vu_id), context, scenario.name, dict(scenario.tags))
            if index < initialised:
                vu.namespace = script.new_vu_namespace(vu.id)
            vus.append(vu)
        runners.append(ScenarioRunner(context, scenario, vus, script, started))
    return runners


def progress_line(
    config: ScenarioConfig, active: int, done: int, elapsed: float | None
) -> tuple[float, str]:
    """A scenario's fraction done and k6's right-hand progress text.

    A function of plain numbers, so that ``--workers``' coordinator can write the whole test's
    line from its workers' added-up counts.
    """
    from greenws.summary.progress import go_duration

    vus = f"{active} VUs" if active != 1 else "1 VU"
    if elapsed is None:
        return 0.0, "waiting"
    length = scenario_length(config)
    if length:
        shown = min(elapsed, length)
        return min(1.0, elapsed / length), f"{vus}  {go_duration(shown)}/{go_duration(length)}"
    if config.executor == "per-vu-iterations":
        total = (config.iterations or 0) * config.vus
        return (
            done / total if total else 1.0
        ), f"{vus}  {done}/{total} iters, {config.iterations} per VU"
    total = config.iterations or 0
    return (done / total if total else 1.0), f"{vus}  {done}/{total} shared iters"


class ScenarioRunner:
    """Runs one scenario on its own VUs; :meth:`run` returns when the scenario is over."""

    def __init__(
        self,
        context: RunContext,
        config: ScenarioConfig,
        vus: list[VirtualUser],
        script: Script,
        started: gevent.event.Event,
    ) -> None:
        self.context = context
        self.config = config
        self.vus = vus
        self._script = script
        self._scenarios_started = started
        self._hub_loop = gevent.get_hub().loop
        self.started: float | None = None
        self.complete = 0
        self.interrupted = 0
        self.dropped = 0
        self._spare: list[VirtualUser] = []
        self._stopping = gevent.event.Event()
        self._next_shared = 0
        self._iterating: dict[int, bool] = {}
        self._stop_new = False
        self._greenlets: list[VUTask] = []
        #: VU tasks not finished yet, and an event set whenever that is none: how
        #: :meth:`_stop_at` waits for them without a link object per VU (gevent's joinall).
        self._running = 0
        self._all_finished = gevent.event.Event()
        self._all_finished.set()
        self._on_task_exit = self._task_finished  # one bound method for all of them
        self._ramp_limit = len(vus)

    # -- progress ----------------------------------------------------------------------------

    def progress(self) -> tuple[float, str]:
        """Fraction done and k6's right-hand text, e.g. ``2 VUs  2.5s/5s`` or ``3/10 shared iters``."""
        return progress_line(self.config, self.active, self.done, self.elapsed())

    @property
    def done(self) -> int:
        """Iterations finished, completely or not."""
        return self.complete + self.interrupted

    def elapsed(self) -> float | None:
        """Seconds since the scenario started (None before it starts)."""
        return None if self.started is None else time.monotonic() - self.started

    # -- running -----------------------------------------------------------------------------

    def run(self) -> None:
        """Run the scenario to its end, including gracefulStop."""
        config = self.config
        if config.start_time:
            gevent.sleep(config.start_time)
        self.started = time.monotonic()
        # Waiters (the vus gauge) run at the next hub turn, after this method spawned its VUs.
        self._scenarios_started.set()
        executor = config.executor
        if executor == "constant-vus":
            end = self.started + (config.duration or 0)
            self._spawn_all(lambda vu: self._loop_until(vu, end))
            self._stop_at(end)
        elif executor == "shared-iterations":
            end = self.started + (config.max_duration or 600)
            self._spawn_all(lambda vu: self._loop_shared(vu, end))
            self._stop_at(end)
        elif executor == "per-vu-iterations":
            end = self.started + (config.max_duration or 600)
            self._spawn_all(lambda vu: self._loop_per_vu(vu, end))
            self._stop_at(end)
        elif config.is_arrival_rate:
            self._run_arrivals()
        elif executor == "ramping-vus":
            end = self.started + (scenario_length(config) or 0)
            self._ramp_limit = scenario_vus_at(config, 0.0)
            self._spawn_all(lambda vu: self._loop_ramping(vu, end))
            controller = gevent.spawn(self._control_ramp, end)
            self._stop_at(end)
            controller.kill()
        else:  # guarded by options validation
            raise ValueError(f"unknown executor {executor!r}")

    # -- arrival-rate executors ----------------------------------------------------------------

    def _run_arrivals(self) -> None:
        """Start iterations on schedule whether or not earlier ones finished.

        Each iteration runs in a fresh greenlet on an idle VU. With no idle VU, another is
        initialised up to maxVUs; beyond that the iteration is dropped and counted in
        ``dropped_iterations`` rather than silently started late.
        """
        config = self.config
        context = self.context
        self._spare = self.vus[config.pre_allocated_vus :]
        del self.vus[config.pre_allocated_vus :]
        idle = list(self.vus)
        dropped_tags = TagSet({**context.run_tags, **config.tags, "scenario": config.name})
        started = self.started or time.monotonic()
        end = started + (scenario_length(config) or 0)

        def run_one(vu: VirtualUser) -> None:
            try:
                self.run_iteration(vu)
            finally:
                idle.append(vu)

        for offset in scenario_arrivals(config):
            if self._stop_new:
                break
            wait = started + offset - time.monotonic()
            if wait > 0:
                self._stopping.wait(wait)  # woken early by stop()
                if self._stop_new or time.monotonic() >= end:
                    break
            if not idle and self._spare:
                new_vu = self._spare.pop(0)
                try:
                    new_vu.namespace = self._script.new_vu_namespace(new_vu.id)
                except ScriptError as error:  # k6 aborts the test when a VU cannot initialise
                    context.report_error("init", str(error))
                    context.abort(str(error))
                    break
                self.vus.append(new_vu)
                idle.append(new_vu)
            if not idle:
                context.samples.append(
                    (context.metrics.dropped_iterations, time.time(), 1.0, dropped_tags)
                )
                self.dropped += 1
                continue
            vu = idle.pop()
            self._start_task(vu, run_one)
            if len(self._greenlets) > 4 * len(self.vus) + 64:  # forget finished ones, keep it small
                self._greenlets = [g for g in self._greenlets if not g.dead]
        self._stop_at(end)

    def stop(self) -> None:
        """Stop now: no new iterations, running ones interrupted (Ctrl+C, abort, failed threshold)."""
        self._stop_new = True
        self._stopping.set()
        for greenlet in self._greenlets:
            if not greenlet.dead:
                greenlet.kill(IterationInterrupted())

    def _spawn_all(self, loop: Callable[[VirtualUser], None]) -> None:
        for vu in self.vus:
            self._start_task(vu, loop)

    def _start_task(self, vu: VirtualUser, function: Callable[[VirtualUser], None]) -> None:
        task = VUTask(vu, function, self._on_task_exit)
        self._running += 1
        self._all_finished.clear()
        task.start()
        self._greenlets.append(task)

    def _task_finished(self) -> None:
        self._running -= 1
        if not self._running:
            self._all_finished.set()

    def _stop_at(self, end: float) -> None:
        """Wait for the natural end, then give running iterations gracefulStop, then interrupt."""
        self._all_finished.wait(timeout=max(0.0, end - time.monotonic()))
        self._stop_new = True
        self._all_finished.wait(timeout=self.config.graceful_stop)
        for greenlet in self._greenlets:
            if not greenlet.dead:
                greenlet.kill(IterationInterrupted())
        self._all_finished.wait(timeout=5)

    # -- loops per executor --------------------------------------------------------------------

    @property
    def active(self) -> int:
        """VUs running this scenario's loop now (k6's ``vus``); parked ramping VUs don't count."""
        live = sum(1 for greenlet in self._greenlets if not greenlet.dead)
        if self.config.is_arrival_rate:
            return min(live, len(self.vus))
        if self.config.executor == "ramping-vus":
            return min(live, self._ramp_limit)
        return live

    def run_iteration(self, vu: VirtualUser) -> bool:
        """Run one iteration of the scenario's function; False when the VU was interrupted."""
        context = self.context
        function = vu.namespace.get(self.config.exec_name)  # each VU has its own globals
        if not callable(function):  # its init code left the function out (it ran conditionally)
            context.report_error(
                f"exec:{vu.id}", f"VU {vu.id}: the script defined no {self.config.exec_name}()"
            )
            self.interrupted += 1
            return False
        vu.iteration += 1
        vu.enter_group("")
        if not context.options.no_cookies_reset:  # k6 gives each iteration an empty jar
            vu.cookie_jar.clear()
        loop = self._hub_loop
        turn = loop.iteration
        started = time.perf_counter()
        try:
            # The iteration lasts until its WebSockets are closed and its timers done (k6).
            if accepted_arguments(function, 1):
                call_and_drain(vu, function, context.vu_data())
            else:
                call_and_drain(vu, function)
        except IterationInterrupted:
            self.interrupted += 1
            return False
        except AbortTest as abort:
            context.abort(abort.reason)
            self.interrupted += 1
            return False
        except Exception as error:
            context.report_script_error(vu, error)
        now = time.time()
        tags = vu.tags
        push = context.samples.append
        metrics = context.metrics
        push((metrics.iteration_duration, now, (time.perf_counter() - started) * 1000.0, tags))
        push((metrics.iterations, now, 1.0, tags))
        self.complete += 1
        if loop.iteration == turn:
            # Greenlets are not preempted: an iteration that never waited (a script that only
            # computes, a dial that fails at once) would loop without ever letting the hub run
            # the other VUs, timers and signals. Costs one hub turn only when it happens.
            gevent.sleep(0)
        return True

    def _loop_until(self, vu: VirtualUser, end: float) -> None:
        while not self._stop_new and time.monotonic() < end and self.run_iteration(vu):
            pass

    def _loop_shared(self, vu: VirtualUser, end: float) -> None:
        total = self.config.iterations or 0
        while not self._stop_new and time.monotonic() < end and self._next_shared < total:
            self._next_shared += 1
            if not self.run_iteration(vu):
                return

    def _loop_per_vu(self, vu: VirtualUser, end: float) -> None:
        for _ in range(self.config.iterations or 0):
            if self._stop_new or time.monotonic() >= end or not self.run_iteration(vu):
                return

    def _loop_ramping(self, vu: VirtualUser, end: float) -> None:
        index = self.vus.index(vu)
        while not self._stop_new and time.monotonic() < end:
            if index >= self._ramp_limit:
                gevent.sleep(_RAMP_TICK)  # parked: not counted in ``vus``
                continue
            self._iterating[index] = True
            try:
                if not self.run_iteration(vu):
                    continue  # interrupted by ramp-down: park, maybe resume later
            finally:
                self._iterating[index] = False

    def _control_ramp(self, end: float) -> None:
        """Follow the stages; VUs above the target finish within gracefulRampDown or are interrupted."""
        config = self.config
        over_since: dict[int, float] = {}
        while time.monotonic() < end:
            now = time.monotonic()
            self._ramp_limit = scenario_vus_at(config, now - (self.started or now))
            for index, greenlet in enumerate(self._greenlets):
                if index >= self._ramp_limit and self._iterating.get(index):
                    since = over_since.setdefault(index, now)
                    if now - since >= config.graceful_ramp_down:
                        greenlet.kill(IterationInterrupted())
                        over_since.pop(index, None)
                else:
                    over_since.pop(index, None)
            gevent.sleep(_RAMP_TICK)
