"""The console: live progress while the test runs, then k6's end-of-test summary.

On a terminal the progress is redrawn in place a few times a second; otherwise (CI logs) one line is
printed every 10 seconds. ``--summary-export`` is written here too, from the same summary data.
"""

from __future__ import annotations

import sys
from typing import Any

import gevent

from greenws.plugins import hookimpl
from greenws.runtime.config import RunInfo

__all__ = ["ConsoleOutput"]


def _render_progress_line(run: RunInfo) -> str:
    from greenws.summary.progress import render_run_status

    progress = run.progress()
    return str(
        render_run_status(
            elapsed_s=progress.elapsed,
            vus=progress.vus,
            max_vus=progress.max_vus,
            complete=progress.complete,
            interrupted=progress.interrupted,
        )
    )


class ConsoleOutput:
    """Progress and summary; one instance per run."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        self._progress: gevent.Greenlet | None = None
        self._drawn = False

    @hookimpl
    def greenws_output_start(self, run: RunInfo) -> None:
        err = sys.stderr
        from greenws.durations import format_duration

        lines = ["  execution: local", f"     script: {run.script}", ""]
        for scenario in run.scenarios:
            grace = f"gracefulStop: {format_duration(scenario.graceful_stop)}"
            lines.append(f"  scenarios: (100.00%) 1 scenario, {scenario.max_vus} max VUs")
            lines.append(f"           * {scenario.name}: {scenario.describe()} ({grace})")
        if not run.quiet:
            print("\n".join(lines) + "\n", file=err, flush=True)
            self._progress = gevent.spawn(self._show_progress, run)

    def _show_progress(self, run: RunInfo) -> None:
        err = sys.stderr
        tty = run.is_tty
        interval = 0.5 if tty else 10.0
        while True:
            gevent.sleep(interval)
            line = _render_progress_line(run)
            if tty:
                err.write("\r\x1b[K" + line)
                self._drawn = True
            else:
                err.write(line + "\n")
            err.flush()

    @hookimpl
    def greenws_output_stop(self, summary: dict[str, Any], run: RunInfo) -> None:
        if self._progress is not None:
            self._progress.kill()
        err = sys.stderr
        if not run.quiet:
            if self._drawn:
                err.write("\r\x1b[K")
            err.write(_render_progress_line(run) + "\n\n")
            err.flush()
        if run.summary_export:
            from greenws.summary.export import summary_export_json

            with open(run.summary_export, "w", encoding="utf-8") as handle:
                handle.write(summary_export_json(summary))
        if run.summary_mode != "disabled":
            from greenws.summary.text import render_summary

            color = run.is_tty and not run.options.no_color
            self.stream.write(render_summary(summary, mode=run.summary_mode, color=color) + "\n")
        dropped = summary.get("state", {}).get("droppedSamples") or {}
        for name, count in dropped.items():
            self.stream.write(f"  WARNING: output {name} dropped {count} samples\n")
        self.stream.flush()


@hookimpl
def greenws_configure(config: Any) -> None:
    """The console is always on; ``--summary-mode disabled`` and ``-q`` silence parts of it."""
    config.pluginmanager.register(ConsoleOutput(), name="console-output")
