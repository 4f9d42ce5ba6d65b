"""The engine: loads the script, runs setup → scenarios → teardown, and ends with a summary.

It owns the shared pieces every VU writes into (the metric registry, the sample list) and the
greenlets around the VUs: the flusher, the ``vus`` gauges, threshold evaluation, signal handling.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import ssl
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
import pluggy

from greenws.exit_codes import EXIT
from greenws.metrics.aggregator import Aggregator
from greenws.metrics.builtin import BuiltinMetrics, register_builtin
from greenws.metrics.metric import Registry
from greenws.metrics.sample import Sample
from greenws.metrics.tags import TagInterner, TagSet
from greenws.options import Options, ScenarioConfig, derive_scenarios
from greenws.runtime import file_results, output_hooks, summary_handler
from greenws.runtime.config import Progress, RunInfo
from greenws.runtime.event_loop import call_and_drain
from greenws.runtime.executors import ScenarioRunner, build_runners
from greenws.runtime.flusher import DEFAULT_QUEUE_LIMIT, Flusher
from greenws.runtime.interrupts import InterruptHandler
from greenws.runtime.open_files import report_open_files
from greenws.runtime.script_module import ScriptError, load_script_module
from greenws.runtime.vu import (
    AbortTest,
    IterationInterrupted,
    VirtualUser,
    VUGreenlet,
    accepted_arguments,
    format_script_error,
)
from greenws.scenarios import global_vu_ids
from greenws.thresholds import ThresholdError, evaluate_all, parse_thresholds

if TYPE_CHECKING:
    from greenws.runtime.workers import Coordinator, WorkerLink

__all__ = ["EXIT", "Engine", "ScriptError"]

log = logging.getLogger("greenws")

_ACTIVE: Engine | None = None


def active_engine() -> Engine:
    """The engine of the run in progress (custom metrics are created at script import time)."""
    if _ACTIVE is None:
        raise RuntimeError("no greenws run is in progress: run the script with `greenws run`")
    return _ACTIVE


class Engine:
    """One test run."""

    def __init__(
        self,
        options: Options,
        *,
        script_path: str,
        pluginmanager: pluggy.PluginManager,
        run_tags: dict[str, str] | None = None,
        summary_mode: str = "compact",
        summary_export: str | None = None,
        quiet: bool = False,
        is_tty: bool = False,
    ) -> None:
        global _ACTIVE
        self.options = options
        self.script_path = str(Path(script_path).resolve())
        self.pluginmanager = pluginmanager
        self.run_tags = {**options.tags, **(run_tags or {})}
        self.registry = Registry()
        self.metrics: BuiltinMetrics = register_builtin(self.registry)
        self.samples: list[Sample] = []
        self.aggregator = Aggregator(self.registry)
        self.flusher = Flusher(self.samples, self.aggregator)
        #: Samples one output may have queued before its batches are dropped (and counted).
        self.queue_limit = int(os.environ.get("GREENWS_OUTPUT_QUEUE_LIMIT", DEFAULT_QUEUE_LIMIT))
        self.scenarios_started = gevent.event.Event()
        self.module: ModuleType | None = None
        self.scenarios: list[ScenarioConfig] = []
        #: Each scenario's ``env`` (k6's ``scenarios.NAME.env``), layered over os.environ in
        #: ``greenws.env`` for that scenario's VUs.
        self.scenario_envs: dict[str, Mapping[str, str]] = {}
        self.runners: list[ScenarioRunner] = []
        self.threshold_sets: list[Any] = []
        self.started = time.time()
        self.started_monotonic = time.monotonic()
        self.ended: float | None = None
        self.interrupted = False
        self.abort_reason: str | None = None
        self.threshold_abort = False
        # --no-setup, --no-teardown, --no-thresholds
        self.no_setup = self.no_teardown = self.no_thresholds = self.no_summary = False
        self.summary: dict[str, Any] = {}
        self._errors_seen: dict[str, int] = {}
        #: Sessions with equal tags share one TagSet (see TagInterner).
        self.intern_tags = TagInterner().intern
        self._tls: dict[bool, ssl.SSLContext] = {}
        self._hub_loop = gevent.get_hub().loop
        self._setup_data: Any = None
        self._setup_greenlet: VUGreenlet | None = None
        #: ``--workers``: the coordinator of the worker processes (this process runs no VUs).
        self.workers: Coordinator | None = None
        #: This process is one of those workers: its channel to the coordinator.
        self.worker_link: WorkerLink | None = None
        self.run_info = RunInfo(
            script=script_path,
            options=options,
            scenarios=[],
            start_time=self.started,
            progress=self.progress,
            dropped_samples=self.dropped_samples,
            is_tty=is_tty,
            quiet=quiet,
            summary_mode=summary_mode,
            summary_export=summary_export,
        )
        _ACTIVE = self

    # -- loading -----------------------------------------------------------------------------

    def load_script(self) -> ModuleType:
        """Import the script as a module; errors become one-line :class:`ScriptError`s."""
        self.module = load_script_module(self.script_path)
        return self.module

    def set_options(self, options: Options, run_tags: dict[str, str] | None = None) -> None:
        """Options are final only after the script's own ``options`` were read: set them here."""
        self.options = options
        self.run_tags = {**options.tags, **(run_tags or {})}
        self.run_info.options = options

    def prepare(self) -> None:
        """Derive scenarios, check exec functions, bind thresholds (after the script's import)."""
        self.scenarios = derive_scenarios(self.options)
        self.run_info.scenarios = self.scenarios
        self.scenario_envs = {
            scenario.name: dict(scenario.env) for scenario in self.scenarios if scenario.env
        }
        for scenario in self.scenarios:
            self.script_function(scenario.exec_name)
        self.threshold_sets = parse_thresholds(self.options.thresholds)
        for threshold_set in self.threshold_sets:
            threshold_set.bind(self.aggregator)

    def script_function(self, name: str) -> Callable[..., Any]:
        """The script's function ``name`` (``default`` unless a scenario says ``exec``)."""
        function = getattr(self.module, name, None)
        if not callable(function):
            if name == "default":
                raise ScriptError(f"{Path(self.script_path).name} has no default() function to run")
            raise ScriptError(
                f"{Path(self.script_path).name} has no function {name!r} (scenario exec)"
            )
        return function  # type: ignore[no-any-return]

    # -- helpers the runtime and script API use -----------------------------------------------

    def tls_context(self, insecure: bool) -> ssl.SSLContext:
        """A cached client TLS context; verification on unless ``insecureSkipTLSVerify``."""
        context = self._tls.get(insecure)
        if context is None:
            context = ssl.create_default_context()
            if insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls[insecure] = context
        return context

    def report_error(self, key: str, message: str) -> None:
        """Log an error once per distinct ``key``; repeats are counted and summed up at the end."""
        count = self._errors_seen.get(key, 0)
        self._errors_seen[key] = count + 1
        if count == 0:
            elapsed = int(time.monotonic() - self.started_monotonic)
            print(f"ERRO[{elapsed:04d}] {message}", file=sys.stderr, flush=True)

    def report_script_error(self, vu: VirtualUser, error: BaseException) -> None:
        """An exception escaped the script: log it once (with VU and where), end the iteration."""
        text = format_script_error(error, self.script_path)
        self.report_error(text, f"{text} vu={vu.id} iter={vu.iteration}")

    def report_connect_error(
        self, vu: VirtualUser, url: str, message: str, api: str = "ws.connect"
    ) -> None:
        """A failed dial or handshake (``api`` names the call); the script sees it too."""
        self.report_error(f"connect:{url}:{message}", f"{api} {url}: {message} vu={vu.id}")

    def run_iteration(
        self, vu: VirtualUser, function: Callable[..., Any], runner: ScenarioRunner
    ) -> bool:
        """Run one iteration of ``function``; False when the VU was interrupted."""
        vu.iteration += 1
        vu.enter_group("")
        loop = self._hub_loop
        turn = loop.iteration
        started = time.perf_counter()
        try:
            # The iteration lasts until its WebSockets are closed and its timers done (k6).
            if accepted_arguments(function, 1):
                call_and_drain(vu, function, self._vu_data(vu))
            else:
                call_and_drain(vu, function)
        except IterationInterrupted:
            runner.interrupted += 1
            return False
        except AbortTest as abort:
            self.abort(abort.reason)
            runner.interrupted += 1
            return False
        except Exception as error:
            self.report_script_error(vu, error)
        now = time.time()
        tags = vu.tags
        self.samples.append(
            (self.metrics.iteration_duration, now, (time.perf_counter() - started) * 1000.0, tags)
        )
        self.samples.append((self.metrics.iterations, now, 1.0, tags))
        runner.complete += 1
        if loop.iteration == turn:
            # Greenlets are not preempted: an iteration that never waited (a script that only
            # computes, a dial that fails at once) would loop without ever letting the hub run
            # the other VUs, timers and signals. Costs one hub turn only when it happens.
            gevent.sleep(0)
        return True

    def _vu_data(self, vu: VirtualUser) -> Any:
        if self._setup_data is None:
            return None
        # A copy per call, like k6's per-VU copy: one VU's changes never leak into another's.
        return json.loads(self._setup_data)

    # -- progress, gauges, thresholds ------------------------------------------------------------

    def progress(self) -> Progress:
        """What a live display shows."""
        if self.workers is not None:
            return self.workers.progress(time.monotonic() - self.started_monotonic, self.scenarios)
        scenarios = []
        for runner in self.runners:
            fraction, right = runner.progress()
            scenarios.append((runner.config.name, runner.config.describe(), fraction, right))
        return Progress(
            elapsed=time.monotonic() - self.started_monotonic,
            vus=sum(runner.active for runner in self.runners),
            max_vus=sum(len(runner.vus) for runner in self.runners),
            complete=sum(runner.complete for runner in self.runners),
            interrupted=sum(runner.interrupted for runner in self.runners),
            scenarios=scenarios,
        )

    def _emit_vu_gauges(self) -> None:
        """``vus`` and ``vus_max`` every second, from the moment the first scenario starts."""
        tags = TagSet(dict(self.run_tags))
        self.scenarios_started.wait()
        while True:
            progress = self.progress()
            now = time.time()
            self.samples.append((self.metrics.vus, now, float(progress.vus), tags))
            self.samples.append((self.metrics.vus_max, now, float(progress.max_vus), tags))
            gevent.sleep(1.0)

    def _evaluate_thresholds(self, final: bool = False) -> Any:
        elapsed = time.monotonic() - self.started_monotonic
        # During the run a metric without samples yet is skipped, as in k6; at the end it counts.
        return evaluate_all(
            self.threshold_sets,
            self.current_aggregator(),
            max(elapsed, 1e-9),
            elapsed_s=elapsed,
            ignore_empty=not final,
        )

    def dropped_samples(self) -> dict[str, int]:
        """Samples each output lost (the workers' losses on the way here included)."""
        dropped = self.flusher.dropped()
        return dropped if self.workers is None else {**dropped, **self.workers.dropped()}

    def current_aggregator(self) -> Aggregator:
        """This process's aggregator, merged with the workers' latest states under ``--workers``."""
        return self.aggregator if self.workers is None else self.workers.merged(self.aggregator)

    def _watch_thresholds(self) -> None:
        while True:
            gevent.sleep(2.0)
            self.flusher.flush()
            report = self._evaluate_thresholds()
            if report.abort and not self.threshold_abort:
                self.threshold_abort = True
                self.report_error(
                    "threshold-abort", "a threshold with abortOnFail failed: stopping the test"
                )
                self.stop_all()

    # -- stopping ----------------------------------------------------------------------------

    def stop_all(self) -> None:
        """Interrupt every scenario now."""
        for runner in self.runners:
            runner.stop()
        if self.workers is not None:
            self.workers.stop()

    def abort(self, reason: str) -> None:
        """The script called ``abort()``."""
        if self.abort_reason is None:
            self.abort_reason = reason or "aborted by the script"
            self.report_error("abort", f"test aborted: {self.abort_reason}")
        gevent.spawn(self.stop_all)

    def _on_signal(self) -> None:
        """The graceful stop of Ctrl+C or SIGTERM (see :mod:`greenws.runtime.interrupts`)."""
        if self.interrupted:
            return
        self.interrupted = True
        setup = self._setup_greenlet
        if setup is not None and not setup.dead:  # k6 does not wait for setup() to finish
            setup.kill(IterationInterrupted(), block=False)
        gevent.spawn(self.stop_all)

    # -- the run -----------------------------------------------------------------------------

    def _call_outputs(self, hook: str, **kwargs: Any) -> set[str]:
        return output_hooks.call_each(self.pluginmanager, hook, self.report_error, **kwargs)

    def _start_outputs(self) -> None:
        output_hooks.start_outputs(
            self.pluginmanager, self.flusher, self.run_info, self.queue_limit, self.report_error
        )

    def _run_in_vu0(
        self, function: Callable[..., Any], args: tuple[Any, ...], timeout: float, group: str
    ) -> Any:
        """Run setup/teardown as VU 0: group ``::setup``/``::teardown``, no scenario tag."""
        vu = VirtualUser(0, self, "", {})
        vu.base_tags.pop("scenario", None)
        vu.enter_group(group)
        failure: list[BaseException] = []

        def body(*arguments: Any) -> Any:
            # Caught here and raised again below: a greenlet that dies of an exception has gevent
            # print its whole traceback, and the caller's one-line error is all a user should see.
            try:
                return call_and_drain(vu, function, *arguments)
            except BaseException as error:
                failure.append(error)
                return None

        greenlet = VUGreenlet(vu, body, *args)
        if group == "::setup":
            self._setup_greenlet = greenlet
        greenlet.start()
        greenlet.join(timeout)
        if not greenlet.ready():
            greenlet.kill(IterationInterrupted(), block=True, timeout=5)
            raise TimeoutError
        if failure:
            raise failure[0]
        return greenlet.get()

    def run(self) -> int:
        """Run the whole test; returns the exit code."""
        # The script, greenws and gevent live until exit: frozen out of the collector's view, a
        # full collection walks only what the VUs made since. Measured (3 runs each, medians):
        # ping-pong 13.4 -> 12.7 us of client CPU a round trip; churn 146 -> 144 us a session.
        gc.collect()
        gc.freeze()
        # The coordinator of --workers runs no VUs: each worker checks its own share.
        report_open_files(None if self.workers else sum(s.max_vus for s in self.scenarios))
        self.started = self.run_info.start_time = time.time()
        self.started_monotonic = time.monotonic()
        # A worker is stopped by its coordinator, which says so once for the whole test.
        announce = self.worker_link is None
        InterruptHandler(self._on_signal, self.script_path, EXIT["interrupted"], announce).install()
        self._start_outputs()
        self.flusher.start()
        if self.worker_link is not None:  # the coordinator emits ``vus`` and checks thresholds
            helpers = [gevent.spawn(self.worker_link.report_loop, self)]
        else:
            helpers = [gevent.spawn(self._emit_vu_gauges)]
            if self.threshold_sets:
                helpers.append(gevent.spawn(self._watch_thresholds))
        exit_code = self._run_phases()
        for helper in helpers:
            helper.kill()
        self.ended = time.time()
        elapsed = time.monotonic() - self.started_monotonic
        self.flusher.stop()
        report = self._evaluate_thresholds(final=True)
        summary = summary_handler.end_of_test_data(self, elapsed, report)
        if exit_code == 0 and report.failed and not self.no_thresholds:
            exit_code = EXIT["thresholds"]
        if self.threshold_abort and not self.no_thresholds:
            exit_code = EXIT["thresholds"]
        self.run_info.exit_code = exit_code
        self.run_info.end_time = self.ended
        self.summary = summary
        handled = None
        if not self.no_summary:
            function = summary_handler.find(self.module)
            handled = summary_handler.call(function, summary, self.report_error, self.script_path)
        self.run_info.summary_handled = handled is not None
        failed = self._call_outputs("greenws_output_stop", summary=summary, run=self.run_info)
        if handled is not None:
            summary_handler.write(handled, self.report_error)
        if not file_results.finish(self, summary, failed) and exit_code == 0:
            exit_code = self.run_info.exit_code = EXIT["incomplete_output"]
        for key, count in self._errors_seen.items():
            if count > 1:
                print(f"  ({count - 1} more of: {key[:160]})", file=sys.stderr)
        return exit_code

    def _run_phases(self) -> int:
        """setup → scenarios → teardown, with k6's exit codes for each way it can end."""
        setup = getattr(self.module, "setup", None)
        teardown = getattr(self.module, "teardown", None)
        data = None
        if callable(setup) and not self.no_setup:
            try:
                data = self._run_in_vu0(setup, (), self.options.setup_timeout, "::setup")
            except TimeoutError:
                self.report_error(
                    "setup-timeout",
                    f"setup() did not finish within {self.options.setup_timeout:g}s",
                )
                return EXIT["setup_timeout"]
            except AbortTest as abort:
                self.abort_reason = abort.reason or "aborted in setup"
                return EXIT["aborted"]
            except IterationInterrupted:
                return EXIT["interrupted"]
            except Exception as error:
                self.report_error(
                    "setup", f"setup() failed: {format_script_error(error, self.script_path)}"
                )
                return EXIT["script"]
            if data is not None:
                try:
                    self._setup_data = json.dumps(data)
                except (TypeError, ValueError) as error:
                    self.report_error(
                        "setup-data", f"setup() must return JSON-serialisable data: {error}"
                    )
                    return EXIT["script"]
        if self.workers is None:  # the coordinator of --workers runs no VUs itself
            self.runners = build_runners(self, self.scenarios, global_vu_ids(self.options))
        worker_failure = 0
        if self.interrupted or self.abort_reason is not None:
            pass
        elif self.workers is not None:
            worker_failure = self.workers.run(self, self._setup_data)
        else:
            gevent.joinall([gevent.spawn(runner.run) for runner in self.runners])
        if callable(teardown) and not self.no_teardown:
            teardown_data = json.loads(self._setup_data) if self._setup_data is not None else None
            try:
                args = (teardown_data,) if accepted_arguments(teardown, 1) else ()
                self._run_in_vu0(teardown, args, self.options.teardown_timeout, "::teardown")
            except TimeoutError:
                self.report_error(
                    "teardown-timeout",
                    f"teardown() did not finish within {self.options.teardown_timeout:g}s",
                )
                return EXIT["teardown_timeout"]
            except (AbortTest, IterationInterrupted):
                pass
            except Exception as error:
                self.report_error(
                    "teardown", f"teardown() failed: {format_script_error(error, self.script_path)}"
                )
        if self.abort_reason is not None:
            return EXIT["aborted"]
        if self.interrupted:
            return EXIT["interrupted"]
        return worker_failure or EXIT["ok"]


__all__ += ["ThresholdError", "active_engine"]
