"""``--out html=FILE`` (or ``GREENWS_HTML_REPORT=FILE``): one self-contained HTML report.

Registered like every output (pytest's ``junitxml`` pattern): ``greenws_configure`` claims the
``--out html=…`` entries and registers one :class:`HtmlReportOutput` per file. While the test runs
the writer only folds samples into bounded aggregates (time buckets, per-scenario and per-group
sinks); it writes the file once, at stop, from the same ``summary`` the console prints, so the
page and the terminal agree. The file is written next to its final name and renamed into place,
so a crashed run or a full disk never leaves half a page behind; a page that could not be written
is a failure of the whole report, and the run ends with exit 120.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from greenws.options.durations import format_duration
from greenws.outputs.dashboard.settings import parse_tags
from greenws.outputs.file_destination import FileOutput, check_destination, write_atomically
from greenws.plugins import hookimpl

from .breakdown import Breakdown
from .render import render_report
from .series import SeriesAggregator
from .worker_feed import export_series, export_tables, merge_series, merged_tables

__all__ = ["ENVIRONMENT_KEY", "HtmlReportOutput", "ReportBuilder", "run_header"]

_VALUE = itemgetter(2)

#: Writes a report as if ``--out html=FILE`` had been given (``GREENWS_*`` like every option).
ENVIRONMENT_KEY = "GREENWS_HTML_REPORT"


def _timestamp(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch).astimezone().isoformat(sep=" ", timespec="seconds")


def run_header(run: Any, dropped: dict[str, int]) -> dict[str, Any]:
    """The plain-data run header the renderer shows, from a ``RunInfo``."""
    end = run.end_time
    scenarios = []
    for scenario in run.scenarios:
        scenarios.append(
            {
                "name": scenario.name,
                "executor": scenario.executor,
                "description": scenario.describe(),
                "stages": [(format_duration(s.duration), s.target) for s in scenario.stages],
                "start_time": format_duration(scenario.start_time),
                "graceful_stop": format_duration(scenario.graceful_stop),
            }
        )
    return {
        "script": run.script,
        "start": _timestamp(run.start_time),
        "end": _timestamp(end),
        "duration_s": (end - run.start_time) if end is not None else 0.0,
        "exit_code": run.exit_code,
        "scenarios": scenarios,
        "dropped": dropped,
    }


class ReportBuilder:
    """The report's aggregates (time buckets, per-scenario, per-group and per-tag sinks) and
    the plain data the page is drawn from: one for the file at the end, and the same for every
    update of the live dashboard (``greenws.outputs.dashboard``)."""

    def __init__(self, *, max_buckets: int = 3600, tags: Sequence[str] = ()) -> None:
        self.max_buckets = max_buckets
        self.series: SeriesAggregator | None = None
        self.breakdown = Breakdown(tags)
        #: Under ``--workers``, each worker's latest breakdown tables (``worker_feed``).
        self._worker_tables: dict[int, Any] = {}

    def start(self, start_time: float) -> None:
        self.series = SeriesAggregator(start_time, max_buckets=self.max_buckets)

    def add_batch(self, samples: Sequence[Any]) -> None:
        """Fold a batch as an output receives it: grouped by metric first, in one pass."""
        groups: dict[Any, list[Any]] = {}
        for sample in samples:
            group = groups.get(sample[0])
            if group is None:
                group = groups[sample[0]] = []
            group.append(sample)
        for metric, group in groups.items():
            self.add_metric(metric, group, list(map(_VALUE, group)))

    def add_metric(
        self, metric: Any, samples: list[Any], values: list[float], tags: Any = None
    ) -> None:
        """One metric's samples of a batch (the engine's grouping, for the live dashboard);
        ``tags``: the batch's distinct TagSets by id, when known."""
        if self.series is None:
            raise RuntimeError("samples before the output started")
        self.series.add_metric(metric, samples, values)
        self.breakdown.add_metric(metric, samples, values, tags)

    def export_worker_report(self) -> dict[str, Any]:
        """In a ``--workers`` worker: what its status carries for the coordinator's page, the
        series filled since the last call (then started afresh) and the tables so far."""
        if self.series is None:
            raise RuntimeError("export before the output started")
        series = self.series
        self.series = SeriesAggregator(series.start, max_buckets=self.max_buckets)
        return {"series": export_series(series), "tables": export_tables(self.breakdown)}

    def merge_worker_report(self, worker: int, report: Any) -> None:
        """In the coordinator: worker ``worker``'s :meth:`export_worker_report`."""
        if self.series is None:
            raise RuntimeError("a worker's report before the output started")
        merge_series(self.series, report["series"])
        self._worker_tables[worker] = report["tables"]

    def observe(self, run: Any, output: Any) -> bool:
        """Be fed by the run's aggregator, grouped by metric, with no pass over every sample of
        our own (which cost a third of a ping-pong's throughput): True, and ``output``'s batches
        would count them twice. Under ``--workers`` by the workers' report data instead: False,
        since ``output``'s batches then hold the coordinator's own samples (``vus``, setup's and
        teardown's), which count; without either, the batches are every sample."""
        observe = getattr(run, "observe_samples", None)
        if observe is not None and observe(self.add_metric):
            return True
        from_workers = getattr(run, "observe_worker_reports", None)
        if from_workers is not None:
            from_workers(output, self.merge_worker_report, tuple(self.breakdown.by_tag))
        return False

    def report(self, summary: dict[str, Any], run: Any, *, end: float | None) -> dict[str, Any]:
        """What ``render_report`` draws: ``end`` is None while the test runs."""
        series = self.series or SeriesAggregator(run.start_time)
        state = summary.get("state") or {}
        duration_s = float(state.get("testRunDurationMs") or 0.0) / 1000.0
        trend_stats = (summary.get("options") or {}).get("summaryTrendStats") or []
        breakdown = self.breakdown
        if self._worker_tables:
            breakdown = merged_tables(breakdown, self._worker_tables.values())
        scenario_metrics, group_metrics = breakdown.tables(duration_s, trend_stats)
        dropped = dict(state.get("droppedSamples") or run.dropped_samples() or {})
        header = run_header(run, dropped)
        if end is None:
            header.update(running=True, duration_s=duration_s, end="")
        return {
            "run": header,
            "summary": summary,
            "series": series.to_data(end=end if end is not None else run.start_time + duration_s),
            "scenario_metrics": scenario_metrics,
            "group_metrics": group_metrics,
            "tag_metrics": breakdown.tag_tables(duration_s, trend_stats),
        }


class HtmlReportOutput(FileOutput):
    """Aggregates samples during the run and writes ``path`` at the end."""

    def __init__(self, path: str, *, max_buckets: int = 3600, tags: Sequence[str] = ()) -> None:
        self.path = path
        self.builder = ReportBuilder(max_buckets=max_buckets, tags=tags)
        self._observing = False

    @hookimpl
    def greenws_output_start(self, run: Any) -> None:
        self.builder.start(run.start_time)
        # As the live dashboard does: the engine's per-metric groups, no pass of our own.
        self._observing = self.builder.observe(run, self)

    @hookimpl
    def greenws_output_samples(self, samples: Sequence[Any]) -> None:
        if not self._observing:
            self.builder.add_batch(samples)

    @hookimpl
    def greenws_output_stop(self, summary: dict[str, Any], run: Any) -> None:
        page = render_report(self.builder.report(summary, run, end=run.end_time))
        try:
            write_atomically(self.path, page.encode("utf-8"))
        except OSError as error:
            self.failure = f"could not write {self.path}: {error}"
            raise


@hookimpl
def greenws_output_kinds() -> dict[str, str]:
    """``html``, for ``--help``, ``greenws plugins`` and the unknown-kind error."""
    return {"html": "FILE: one self-contained HTML report"}


@hookimpl
def greenws_configure(config: Any) -> None:
    """Register one writer per ``--out html=FILE`` and for ``GREENWS_HTML_REPORT``."""
    paths = config.claim_outputs("html")
    from_env = os.environ.get(ENVIRONMENT_KEY)
    if from_env and from_env not in paths:
        paths.append(from_env)
    tags = parse_tags("--dashboard-tag", getattr(config.args, "dashboard_tag", None) or ())
    for path in paths:
        if not path:
            raise ValueError("--out html needs a file name: --out html=report.html")
        check_destination(f"--out html={path}", path)
        config.pluginmanager.register(HtmlReportOutput(path, tags=tags), name=f"html={path}")
