"""The workers' report data, merged in the coordinator, draws what one process would have drawn.

Plain values, no processes: two "workers" fold alternate batches into report builders of their
own and export them now and then (each export starts the worker's series afresh); the
coordinator's builder merges every export. Its charts and tables must equal those of one builder
that saw every batch.
"""

from __future__ import annotations

import json
from typing import Any

from test_html_report_series import START, _mixed_batches, _rounded

from greenws.outputs.html_report.plugin import ReportBuilder

TAGS = ("room",)


def test_merged_worker_reports_draw_what_one_process_draws() -> None:
    alone = ReportBuilder(max_buckets=8, tags=TAGS)
    coordinator = ReportBuilder(max_buckets=8, tags=TAGS)
    workers = [ReportBuilder(tags=TAGS), ReportBuilder(tags=TAGS)]
    for builder in (alone, coordinator, *workers):
        builder.start(START)
    batches = _mixed_batches()
    for tick, batch in enumerate(batches):
        alone.add_batch(batch)
        worker = tick % 2
        workers[worker].add_batch(batch)
        if tick % 7 == 6 or tick == len(batches) - 1:  # a status now and then, and the last
            for index, builder in enumerate(workers):
                report = json.loads(json.dumps(builder.export_worker_report()))  # over the pipe
                coordinator.merge_worker_report(index, report)
    assert coordinator.series is not None and alone.series is not None
    assert coordinator.series.width == alone.series.width > 1  # downsampled on the way
    expected = alone.series.to_data(end=START + 24)
    got = coordinator.series.to_data(end=START + 24)
    assert got["errors"] and got["custom"]["my_rate"]["values"]  # the test covers them
    assert _rounded(got["totals"]) == _rounded(expected["totals"])
    assert _rounded(got["rates"]) == _rounded(expected["rates"])
    assert _rounded(got["custom"]) == _rounded(expected["custom"])
    assert got["errors"] == expected["errors"] and got["error_names"] == expected["error_names"]
    assert got["trends"] == expected["trends"]
    # The tables: the coordinator saw no sample itself, every number is the workers'.
    assert coordinator.breakdown.scenarios == {}
    mine = coordinator.report({}, _Run(), end=START + 24)
    theirs = alone.report({}, _Run(), end=START + 24)
    for key in ("scenario_metrics", "group_metrics", "tag_metrics"):
        assert mine[key] and _rounded(mine[key]) == _rounded(theirs[key]), key


class _Run:
    """The little of a RunInfo that ``ReportBuilder.report`` reads."""

    start_time = START
    end_time = START + 24
    script = "script.py"
    exit_code = 0
    scenarios: tuple[Any, ...] = ()

    def dropped_samples(self) -> dict[str, int]:
        return {}
