"""The engine: loads the script, runs setup → scenarios → teardown, and ends with a summary.

It drives the run: the phases, the greenlets around the VUs (the flusher, the ``vus`` gauges,
threshold evaluation, signal handling), the outputs and the exit code. What the VUs themselves
need (sample sink, metrics, options, tags, TLS, error log) is the run's
:class:`~greenws.runtime.context.RunContext`, which they get instead of the engine.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
import pluggy

from greenws import kits
from greenws.execution import file_results, output_hooks, summary_handler
from greenws.execution.executors import ScenarioRunner, build_runners
from greenws.execution.flusher import DEFAULT_QUEUE_LIMIT, Flusher
from greenws.execution.interrupts import InterruptHandler
from greenws.execution.open_files import report_open_files
from greenws.execution.script_module import Script, ScriptError, load_script
from greenws.exit_codes import EXIT
from greenws.metrics.aggregator import Aggregator
from greenws.metrics.tags import TagSet
from greenws.metrics.thresholds import ThresholdError, evaluate_all, parse_thresholds
from greenws.options.derive import derive_scenarios, global_vu_ids
from greenws.options.layers import Options
from greenws.options.scenarios import ScenarioConfig
from greenws.plugins.types import Progress, RunInfo
from greenws.runtime.context import RunContext
from greenws.runtime.event_loop import call_and_drain
from greenws.runtime.logs import get_logger
from greenws.runtime.vu import (
    AbortTest,
    IterationInterrupted,
    VirtualUser,
    VUGreenlet,
    accepted_arguments,
    format_script_error,
)

if TYPE_CHECKING:
    from greenws.execution.workers import Coordinator, WorkerLink

__all__ = ["EXIT", "Engine", "ScriptError"]

log = logging.getLogger("greenws")


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
        breakdown: bool = False,
    ) -> None:
        self.script_path = str(Path(script_path).resolve())
        self.pluginmanager = pluginmanager
        self.context = RunContext(
            options, script_path=self.script_path, run_tags=run_tags, on_abort=self.abort
        )
        # Full mode's per-scenario and per-group blocks cost the flusher a little; aggregated
        # only when asked for (a worker of a full-mode run is asked too: it prints nothing).
        self.aggregator = Aggregator(self.context.registry, breakdown=breakdown)
        # k6 always aggregates this submetric (engine.go, with the default system tags): the
        # summary's HTTP block shows it under http_req_duration once there are requests.
        self.aggregator.add_submetric("http_req_duration{expected_response:true}")
        self.flusher = Flusher(self.context.samples, self.aggregator)
        #: Samples one output may have queued before its batches are dropped (and counted).
        self.queue_limit = int(os.environ.get("GREENWS_OUTPUT_QUEUE_LIMIT", DEFAULT_QUEUE_LIMIT))
        self.scenarios_started = gevent.event.Event()
        self.script: Script | None = None
        self.scenarios: list[ScenarioConfig] = []
        self.runners: list[ScenarioRunner] = []
        self.threshold_sets: list[Any] = []
        self.started = time.time()
        self.ended: float | None = None
        self.interrupted = False
        self.abort_reason: str | None = None
        self.threshold_abort = False
        # --no-setup, --no-teardown, --no-thresholds
        self.no_setup = self.no_teardown = self.no_thresholds = self.no_summary = False
        self.summary: dict[str, Any] = {}
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
            live_summary=self.live_summary,
            observe_samples=self.observe_samples,
            observe_worker_reports=self.observe_worker_reports,
            is_tty=is_tty,
            quiet=quiet,
            summary_mode=summary_mode,
            summary_export=summary_export,
        )

    # -- loading -----------------------------------------------------------------------------

    def load_script(self) -> ModuleType:
        """Import the script as a module; errors become one-line :class:`ScriptError`s."""
        self.script = load_script(self.script_path)
        return self.script.module

    @property
    def module(self) -> ModuleType | None:
        """The script's first run, which ``options``, ``setup``, ``teardown`` and
        ``handle_summary`` come from (each VU has its own run, see ``build_runners``)."""
        return None if self.script is None else self.script.module

    def set_options(self, options: Options, run_tags: dict[str, str] | None = None) -> None:
        """Options are final only after the script's own ``options`` were read: set them here."""
        self.context.set_options(options, run_tags)
        self.run_info.options = options

    def prepare(self) -> None:
        """Derive scenarios, check exec functions, bind thresholds (after the script's import)."""
        self.scenarios = derive_scenarios(self.context.options)
        self.run_info.scenarios = self.scenarios
        self.context.scenario_envs = {
            scenario.name: dict(scenario.env) for scenario in self.scenarios if scenario.env
        }
        for scenario in self.scenarios:
            self.script_function(scenario.exec_name)
        self.threshold_sets = parse_thresholds(self.context.options.thresholds)
        kits.declare_metrics(self.context.registry, (t.metric_name for t in self.threshold_sets))
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

    # -- progress, gauges, thresholds ------------------------------------------------------------

    def progress(self) -> Progress:
        """What a live display shows."""
        if self.workers is not None:
            return self.workers.progress(self.elapsed(), self.scenarios)
        scenarios = []
        for runner in self.runners:
            fraction, right = runner.progress()
            scenarios.append((runner.config.name, runner.config.describe(), fraction, right))
        return Progress(
            elapsed=self.elapsed(),
            vus=sum(runner.active for runner in self.runners),
            max_vus=sum(len(runner.vus) for runner in self.runners),
            complete=sum(runner.complete for runner in self.runners),
            interrupted=sum(runner.interrupted for runner in self.runners),
            scenarios=scenarios,
            open_connections=self.context.open_connections,
        )

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.context.started_monotonic

    def _emit_vu_gauges(self) -> None:
        """``vus``, ``vus_max`` and ``open_connections`` every second, from the moment the first
        scenario starts; ``open_connections`` once more at the end (what was left open)."""
        self.scenarios_started.wait()
        while True:
            self._push_gauges()
            gevent.sleep(1.0)

    def _push_gauges(self, *, connections_only: bool = False) -> None:
        context = self.context
        tags = TagSet(dict(context.run_tags))
        push = context.samples.append
        progress = self.progress()
        now = time.time()
        if not connections_only:
            push((context.metrics.vus, now, float(progress.vus), tags))
            push((context.metrics.vus_max, now, float(progress.max_vus), tags))
        push((context.metrics.open_connections, now, float(progress.open_connections), tags))

    def _evaluate_thresholds(self, final: bool = False) -> Any:
        elapsed = self.elapsed()
        # During the run a metric without samples yet is skipped, as in k6; at the end it counts.
        return evaluate_all(
            self.threshold_sets,
            self.current_aggregator(),
            max(elapsed, 1e-9),
            elapsed_s=elapsed,
            ignore_empty=not final,
        )

    def live_summary(self) -> dict[str, Any]:
        """The summary data so far (k6's ``handleSummary`` shape, thresholds judged as on the
        periodic check): what a live display shows. Under ``--workers`` the workers' latest
        states are merged in, so it covers the whole test."""
        options = self.context.options
        elapsed = max(self.elapsed(), 1e-9)
        report = self._evaluate_thresholds()
        summary = self.current_aggregator().summary_data(
            duration_s=elapsed,
            trend_stats=options.summary_trend_stats,
            thresholds=report.summary_thresholds(),
        )
        summary.setdefault("state", {})["testRunDurationMs"] = elapsed * 1000.0
        summary["options"] = {
            "summaryTrendStats": list(options.summary_trend_stats),
            "summaryTimeUnit": options.summary_time_unit,
        }
        return summary

    def observe_samples(self, observer: Callable[[Any, list[Any], list[float], Any], None]) -> bool:
        """Give ``observer`` every batch the aggregator folds, grouped by metric (see
        ``Aggregator.observers``). False under ``--workers``: this process merges the workers'
        states, not their samples, so a live view takes the forwarded batches as outputs do."""
        if self.workers is not None:
            return False
        observers = self.aggregator.observers

        def guarded(metric: Any, samples: list[Any], values: list[float], tags: Any) -> None:
            try:
                observer(metric, samples, values, tags)
            except Exception as error:  # a live view must never cost the summary a sample
                observers.remove(guarded)
                get_logger().warn(f"{observer!r} failed and sees no more samples: {error!r}")

        observers.append(guarded)
        return True

    def observe_worker_reports(
        self, output: Any, receiver: Callable[[int, Any], None], tags: Sequence[str] = ()
    ) -> bool:
        """Under ``--workers``: ``receiver`` gets each worker's report data with its status, and
        ``output`` none of the workers' samples (no worker pickles every sample for it)."""
        if self.workers is None:
            return False
        self.flusher.report_fed.add(self.pluginmanager.get_name(output) or repr(output))
        self.workers.report_receivers.append(receiver)
        self.workers.report_tags.extend(tag for tag in tags if tag not in self.workers.report_tags)
        return True

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
                self.context.report_error(
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
            self.context.report_error("abort", f"test aborted: {self.abort_reason}")
        gevent.spawn(self.stop_all)

    def _on_signal(self) -> None:
        """The graceful stop of Ctrl+C or SIGTERM (see :mod:`greenws.execution.interrupts`)."""
        if self.interrupted:
            return
        self.interrupted = True
        setup = self._setup_greenlet
        if setup is not None and not setup.dead:  # k6 does not wait for setup() to finish
            setup.kill(IterationInterrupted(), block=False)
        gevent.spawn(self.stop_all)

    # -- the run -----------------------------------------------------------------------------

    def _call_outputs(self, hook: str, **kwargs: Any) -> set[str]:
        return output_hooks.call_each(self.pluginmanager, hook, self.context.report_error, **kwargs)

    def _start_outputs(self) -> None:
        output_hooks.start_outputs(
            self.pluginmanager,
            self.flusher,
            self.run_info,
            self.queue_limit,
            self.context.report_error,
        )

    def _run_in_vu0(
        self, function: Callable[..., Any], args: tuple[Any, ...], timeout: float, group: str
    ) -> Any:
        """Run setup/teardown as VU 0: group ``::setup``/``::teardown``, no scenario tag."""
        vu = VirtualUser(0, self.context, "", {})
        vu.base_tags = self.context.intern_tags(
            {k: v for k, v in vu.base_tags.items() if k != "scenario"}
        )
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
        self.context.started_monotonic = time.monotonic()
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
        if self.worker_link is None and self.scenarios_started.is_set():
            self._push_gauges(connections_only=True)
        self.ended = time.time()
        elapsed = self.elapsed()
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
            handled = summary_handler.call(
                function, summary, self.context.report_error, self.script_path
            )
        self.run_info.summary_handled = handled is not None
        failed = self._call_outputs("greenws_output_stop", summary=summary, run=self.run_info)
        if handled is not None:
            summary_handler.write(handled, self.context.report_error)
        if not file_results.finish(self, summary, failed) and exit_code == 0:
            exit_code = self.run_info.exit_code = EXIT["incomplete_output"]
        self.context.print_repeats()
        return exit_code

    def _run_phases(self) -> int:
        """setup → scenarios → teardown, with k6's exit codes for each way it can end."""
        setup = getattr(self.module, "setup", None)
        teardown = getattr(self.module, "teardown", None)
        data = None
        if self.workers is None:  # the coordinator of --workers runs no VUs itself
            # Each VU runs the script's init code before setup(), as in k6.
            assert self.script is not None
            try:
                self.runners = build_runners(
                    self.context,
                    self.scenarios,
                    global_vu_ids(self.context.options),
                    self.script,
                    self.scenarios_started,
                )
            except ScriptError as error:
                self.context.report_error("init", str(error))
                return EXIT["script"]
        if callable(setup) and not self.no_setup:
            try:
                data = self._run_in_vu0(setup, (), self.context.options.setup_timeout, "::setup")
            except TimeoutError:
                self.context.report_error(
                    "setup-timeout",
                    f"setup() did not finish within {self.context.options.setup_timeout:g}s",
                )
                return EXIT["setup_timeout"]
            except AbortTest as abort:
                self.abort_reason = abort.reason or "aborted in setup"
                return EXIT["aborted"]
            except IterationInterrupted:
                return EXIT["interrupted"]
            except Exception as error:
                self.context.report_error(
                    "setup", f"setup() failed: {format_script_error(error, self.script_path)}"
                )
                return EXIT["script"]
            if data is not None:
                try:
                    self.context.setup_data = json.dumps(data)
                except (TypeError, ValueError) as error:
                    self.context.report_error(
                        "setup-data", f"setup() must return JSON-serialisable data: {error}"
                    )
                    return EXIT["script"]
        worker_failure = 0
        if self.interrupted or self.abort_reason is not None:
            pass
        elif self.workers is not None:
            worker_failure = self.workers.run(self, self.context.setup_data)
        else:
            gevent.joinall([gevent.spawn(runner.run) for runner in self.runners])
        if callable(teardown) and not self.no_teardown:
            teardown_data = self.context.vu_data()
            try:
                args = (teardown_data,) if accepted_arguments(teardown, 1) else ()
                self._run_in_vu0(
                    teardown, args, self.context.options.teardown_timeout, "::teardown"
                )
            except TimeoutError:
                self.context.report_error(
                    "teardown-timeout",
                    f"teardown() did not finish within {self.context.options.teardown_timeout:g}s",
                )
                return EXIT["teardown_timeout"]
            except (AbortTest, IterationInterrupted):
                pass
            except Exception as error:
                self.context.report_error(
                    "teardown", f"teardown() failed: {format_script_error(error, self.script_path)}"
                )
        if self.abort_reason is not None:
            return EXIT["aborted"]
        if self.interrupted:
            return EXIT["interrupted"]
        return worker_failure or EXIT["ok"]


__all__ += ["ThresholdError"]
