"""The console: k6's run header, live progress, then the end-of-test summary.

On a terminal the progress block is redrawn in place twice a second; otherwise (CI logs) one
status line is printed every 10 seconds. Progress goes to stderr and the summary to stdout, so
``greenws run … > summary.txt`` keeps a clean summary. When the script defines ``handle_summary``
and it succeeded, the text summary is not printed: what the script returned replaces it.
``--summary-export`` is not written here but by the engine after every output stopped, from the
same summary data, so an export that cannot be written never keeps the summary from printing.
Every output that lost samples gets one warning line after the summary: its name, the count and,
when it knows, why.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from typing import Any

import gevent

from greenws import __version__
from greenws.options.derive import options_tuple
from greenws.options.scenarios import ScenarioConfig
from greenws.plugins import hookimpl
from greenws.plugins.types import RunInfo
from greenws.runtime.logs import summary_stdout
from greenws.summary.progress import (
    ScenarioProgress,
    render_progress,
    render_run_status,
    render_scenarios_header,
)

__all__ = ["ConsoleOutput", "dropped_warnings", "max_test_duration"]


def max_test_duration(scenarios: Sequence[ScenarioConfig]) -> float:
    """The longest the test can take, graceful stops included (k6 prints it in the header and
    ``k6 inspect --execution-requirements`` reports it as ``totalDuration``)."""
    from greenws.options.schedule import scenario_length

    longest = 0.0
    for scenario in scenarios:
        length = scenario_length(scenario)
        if length is None:  # bounded by iterations: maxDuration is the limit
            length = scenario.max_duration or 0.0
        elif scenario.executor == "ramping-vus":
            length += scenario.graceful_ramp_down
        longest = max(longest, scenario.start_time + length + scenario.graceful_stop)
    return longest


def _max_duration(run: RunInfo) -> float:
    return max_test_duration(run.scenarios)


class ConsoleOutput:
    """Header, progress and summary; one instance per run."""

    def __init__(self, stream: Any = None, err: Any = None) -> None:
        # The real stdout even while a script's print() is sent to stderr (runtime/logs.py).
        self.stream = stream or summary_stdout()
        self.err = err or sys.stderr
        self._progress: gevent.Greenlet | None = None
        self._drawn = False

    @hookimpl
    def greenws_output_start(self, run: RunInfo) -> None:
        if run.quiet:
            return
        scenarios = [
            ScenarioProgress(s.name, f"{s.describe()} (gracefulStop: {_go(s.graceful_stop)})", 0.0)
            for s in run.scenarios
        ]
        max_vus = sum(s.max_vus for s in run.scenarios)
        execution = "local" + (f", {run.workers} worker processes" if run.workers else "")
        # Under --execution-segment, this process runs a share of the test: k6 shows it as a %.
        fraction = float(options_tuple(run.options).segment.length)
        header = (
            f"\n  greenws {__version__}\n\n"
            f"     execution: {execution}\n"
            f"        script: {run.script}\n"
            f"        output: {', '.join(run.output_names) or '-'}\n\n"
            + render_scenarios_header(
                scenarios,
                max_vus=max_vus,
                max_duration_s=_max_duration(run),
                segment_fraction=fraction,
            )
        )
        self.err.write(header + "\n")
        self.err.flush()
        self._progress = gevent.spawn(self._show_progress, run)

    def _block(self, run: RunInfo, *, redraw: bool) -> str:
        progress = run.progress()
        scenarios = [
            ScenarioProgress(name, description, fraction, right)
            for name, description, fraction, right in progress.scenarios
        ]
        return render_progress(
            elapsed_s=progress.elapsed,
            vus=progress.vus,
            max_vus=progress.max_vus,
            complete=progress.complete,
            interrupted=progress.interrupted,
            scenarios=scenarios,
            max_duration_s=_max_duration(run),
            tty=True,
            color=not run.options.no_color,
            term_width=shutil.get_terminal_size((80, 24)).columns,
            redraw=redraw,
        )

    def _line(self, run: RunInfo) -> str:
        progress = run.progress()
        return render_run_status(
            elapsed_s=progress.elapsed,
            vus=progress.vus,
            max_vus=progress.max_vus,
            complete=progress.complete,
            interrupted=progress.interrupted,
            max_duration_s=_max_duration(run),
        )

    def _show_progress(self, run: RunInfo) -> None:
        interval = 0.5 if run.is_tty else 10.0
        while True:
            gevent.sleep(interval)
            if run.is_tty:
                self.err.write(self._block(run, redraw=True))
                self._drawn = True
            else:
                self.err.write(self._line(run) + "\n")
            self.err.flush()

    @hookimpl
    def greenws_output_stop(self, summary: dict[str, Any], run: RunInfo) -> None:
        if self._progress is not None:
            self._progress.kill()
        if not run.quiet:
            if run.is_tty:
                self.err.write(self._block(run, redraw=False))
            else:
                self.err.write(self._line(run) + "\n")
            self.err.flush()
        # The script's handle_summary() replaces the text summary (the export is still written).
        if run.summary_mode != "disabled" and not run.summary_handled:
            from greenws.summary.text import render_summary

            color = run.is_tty and not run.options.no_color
            self.stream.write(render_summary(summary, mode=run.summary_mode, color=color))
        self.stream.write(dropped_warnings(summary))
        self.stream.flush()


def dropped_warnings(summary: dict[str, Any]) -> str:
    """One line per output that lost samples: its name, the count, and why when it is known."""
    dropped = summary.get("state", {}).get("droppedSamples") or {}
    errors = (summary.get("greenws") or {}).get("output_errors") or {}
    return "".join(
        f"  WARNING: output {name} lost {count} samples "
        f"({errors.get(name) or 'it was too slow or failed'})\n"
        for name, count in dropped.items()
    )


def _go(seconds: float) -> str:
    from greenws.summary.progress import go_duration

    return str(go_duration(seconds))


@hookimpl
def greenws_output_kinds() -> dict[str, str]:
    """None: the console is not an ``--out`` kind, so it is not listed as undeclared either."""
    return {}


@hookimpl
def greenws_configure(config: Any) -> None:
    """The console is always on; ``--summary-mode disabled`` and ``-q`` silence parts of it."""
    config.pluginmanager.register(ConsoleOutput(), name="console-output")
