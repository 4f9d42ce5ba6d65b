"""End-of-test summary and live progress, formatted as k6 formats them.

Pure functions from data to text: the aggregator builds k6's ``handleSummary`` data dict, and
these turn it into the text summary (:func:`render_summary`), the ``--summary-export`` JSON
(:func:`to_summary_export`) and the running progress lines (:func:`render_progress`). No I/O,
no gevent, no clock.
"""

from .export import summary_export_json, to_summary_export
from .formatting import (
    DEFAULT_TREND_STATS,
    humanize_bytes,
    humanize_duration,
    humanize_value,
)
from .progress import (
    BarStatus,
    ScenarioProgress,
    fixed_length_duration,
    render_bar,
    render_progress,
    render_run_status,
    render_scenarios_header,
)
from .sections import SECTIONS, Section, section_for
from .text import MODES, render_summary, stdout_summary

__all__ = [
    "DEFAULT_TREND_STATS",
    "MODES",
    "SECTIONS",
    "BarStatus",
    "ScenarioProgress",
    "Section",
    "fixed_length_duration",
    "humanize_bytes",
    "humanize_duration",
    "humanize_value",
    "render_bar",
    "render_progress",
    "render_run_status",
    "render_scenarios_header",
    "render_summary",
    "section_for",
    "stdout_summary",
    "summary_export_json",
    "to_summary_export",
]
