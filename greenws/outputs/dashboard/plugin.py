"""``--dashboard`` (or ``GREENWS_WEB_DASHBOARD=true``, or k6's ``K6_WEB_DASHBOARD=true``).

An output like any other (registered only when asked for), so it sees exactly the samples the
summary counts, through its own bounded queue, in the flusher's greenlet and never in a VU's.
With ``--workers`` only the coordinator registers it: it receives every worker's samples and
serves one dashboard of the whole test.

The page is the HTML report's (:mod:`greenws.outputs.html_report`), drawn from the same
:class:`~greenws.outputs.html_report.plugin.ReportBuilder`: while the test runs its tables come
from the engine's live aggregates (``run.live_summary()``, thresholds judged as on the periodic
check), at the end from the final summary, and ``--dashboard-export FILE`` writes that final page,
byte for byte what ``--out html=FILE`` writes. Updates are drawn once per period and only while a
browser is watching, so a dashboard nobody looks at costs its aggregation alone; a page so large
that drawing it would take more than 1 % of the loop is drawn less often (``next_update_in``).
"""

from __future__ import annotations

import argparse
import os
import time
import webbrowser
from collections.abc import Sequence
from typing import Any

import gevent

from greenws.outputs.file_destination import FileOutput, check_destination, write_atomically
from greenws.outputs.html_report.plugin import ReportBuilder
from greenws.outputs.html_report.render import render_main, render_report, report_data
from greenws.plugins import hookimpl
from greenws.runtime.logs import get_logger

from .server import DashboardServer, sse_message
from .settings import DashboardSettings, next_update_in, parse_settings

__all__ = ["DashboardOutput", "ExportingDashboard"]

_EVENTS = "/events"


class DashboardOutput:
    """The live dashboard: aggregates samples, serves the page, pushes an update per period."""

    def __init__(self, settings: DashboardSettings) -> None:
        self.settings = settings
        self.builder = ReportBuilder(tags=settings.tags)
        self.server: DashboardServer | None = None
        self.updates = 0  # updates drawn and pushed (for tests and benchmarks)
        self.last_update_cost = 0.0  # CPU seconds the last update took to draw
        self._run: Any = None
        self._pusher: gevent.Greenlet | None = None
        self._final: dict[str, Any] | None = None
        self._observing = False  # fed by the engine's aggregator, not by output batches

    def listen(self) -> None:
        """Bind the port now, before the test: a port in use is an option error, not a test
        that runs an hour with nobody able to watch it."""
        if not self.settings.serves:
            return
        server = DashboardServer(
            self.settings.host,
            self.settings.port,
            live_page=self._live_page,
            frozen_page=self._frozen_page,
        )
        try:
            server.start()
        except OSError as error:
            where = f"{self.settings.host}:{self.settings.port}"
            raise ValueError(
                f"the web dashboard cannot listen on {where}: {error.strerror or error} "
                "(--dashboard-port 0 takes any free port, -1 serves nothing)"
            ) from None
        self.server = server

    # -- hooks ------------------------------------------------------------------------------

    @hookimpl
    def greenws_output_start(self, run: Any) -> None:
        self._run = run
        self.builder.start(run.start_time)
        self._observing = self.builder.observe(run, self)
        if self.server is None:
            return
        get_logger().log("info", f"web dashboard: {self.server.url}")
        self._pusher = gevent.spawn(self._push_loop)
        if self.settings.open_browser:
            url = self.server.url
            gevent.spawn(lambda: webbrowser.open(url))

    @hookimpl
    def greenws_output_samples(self, samples: Sequence[Any]) -> None:
        if samples and not self._observing:
            self.builder.add_batch(samples)

    @hookimpl
    def greenws_output_stop(self, summary: dict[str, Any], run: Any) -> None:
        if self._pusher is not None:
            self._pusher.kill()
        self._final = self.builder.report(summary, run, end=run.end_time)
        try:
            self._export(self._final)
        finally:
            if self.server is not None:
                message = {"main": render_main(self._final), "data": report_data(self._final)}
                self.server.finish(sse_message("end", message))

    def _export(self, report: dict[str, Any]) -> None:
        """Nothing to write: see :class:`ExportingDashboard`."""

    # -- drawing ----------------------------------------------------------------------------

    def _current(self) -> dict[str, Any]:
        if self._final is not None:
            return self._final
        run = self._run
        summary = run.live_summary() if run.live_summary is not None else {}
        return self.builder.report(summary, run, end=None)

    def _live_page(self) -> str:
        return render_report(self._current(), live_events=_EVENTS)

    def _frozen_page(self) -> str:
        return render_report(self._current())

    def _push_loop(self) -> None:
        server = self.server
        assert server is not None
        wait = self.settings.period
        while True:
            gevent.sleep(wait)
            wait = self.settings.period
            if server.clients:
                # CPU time of this thread: the drawing never yields, so this is what it took from
                # the VUs, whatever else the machine is doing.
                started = time.thread_time()
                server.publish(sse_message("update", {"main": render_main(self._current())}))
                self.updates += 1
                self.last_update_cost = time.thread_time() - started
                wait = next_update_in(self.settings.period, self.last_update_cost)


class ExportingDashboard(DashboardOutput, FileOutput):
    """A dashboard that also writes its final page (``--dashboard-export FILE``); a page that
    could not be written makes the run end with exit 120, as ``--out html`` does."""

    def __init__(self, settings: DashboardSettings) -> None:
        super().__init__(settings)
        self.path = settings.export or ""

    def _export(self, report: dict[str, Any]) -> None:
        try:
            write_atomically(self.path, render_report(report).encode("utf-8"))
        except OSError as error:
            self.failure = f"could not write {self.path}: {error}"
            raise


# -- the plugin's hooks -----------------------------------------------------------------------


@hookimpl
def greenws_addoption(parser: argparse.ArgumentParser) -> None:
    """The dashboard's flags; each has a ``GREENWS_WEB_DASHBOARD_*`` (and k6) variable."""
    group = parser.add_argument_group(
        "web dashboard (also GREENWS_WEB_DASHBOARD*, or k6's K6_WEB_DASHBOARD*)"
    )
    group.add_argument(
        "--dashboard",
        action="store_true",
        default=None,
        help="serve a live page of the test on http://127.0.0.1:5665 while it runs",
    )
    group.add_argument("--dashboard-host", metavar="HOST", help="address to listen on")
    group.add_argument(
        "--dashboard-port", metavar="PORT", type=int, help="5665; 0 any free port; -1 no server"
    )
    group.add_argument("--dashboard-period", metavar="DURATION", help="time between updates (1s)")
    group.add_argument(
        "--dashboard-export",
        metavar="FILE",
        help="write the final page to FILE (the same page as --out html=FILE)",
    )
    group.add_argument(
        "--dashboard-open", action="store_true", default=None, help="open it in a browser"
    )
    group.add_argument(
        "--dashboard-tag",
        metavar="TAG",
        action="append",
        default=[],
        help="break the tables down by this tag too (repeat, or a,b); --out html follows it",
    )


def settings_from(args: Any, environ: Any = None) -> DashboardSettings:
    """The settings of a run from its parsed arguments and the environment."""
    return parse_settings(
        os.environ if environ is None else environ,
        enabled=getattr(args, "dashboard", None),
        host=getattr(args, "dashboard_host", None),
        port=getattr(args, "dashboard_port", None),
        period=getattr(args, "dashboard_period", None),
        export=getattr(args, "dashboard_export", None),
        open_browser=getattr(args, "dashboard_open", None),
        tags=getattr(args, "dashboard_tag", None) or (),
    )


@hookimpl
def greenws_configure(config: Any) -> None:
    """Register the dashboard when asked for, in the coordinator only (never in a worker)."""
    if getattr(config.args, "worker_link", None):
        return
    settings = settings_from(config.args)
    if not settings.enabled:
        return
    for warning in settings.warnings:
        get_logger().warn(warning)
    if settings.export:
        check_destination(f"--dashboard-export {settings.export}", settings.export)
        output: DashboardOutput = ExportingDashboard(settings)
    else:
        output = DashboardOutput(settings)
    output.listen()
    config.pluginmanager.register(output, name="web-dashboard")
