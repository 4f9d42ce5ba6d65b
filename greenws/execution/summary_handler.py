"""The script's ``handle_summary(data)``: k6's ``handleSummary``, called once after teardown.

What it returns replaces the default text summary: ``"stdout"`` and ``"stderr"`` keys go to those
streams, any other key is a file path. A failure is one error line and the default summary is
printed instead, so a broken hook never hides the results.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from greenws.execution.file_results import output_errors
from greenws.metrics.state import RunState
from greenws.options.run_parts import options_fingerprint, run_part, script_fingerprint
from greenws.runtime.logs import summary_stdout
from greenws.runtime.vu import AbortTest, format_script_error
from greenws.summary.export import DATA_STATE_KEY, GREENWS_KEY

if TYPE_CHECKING:
    from greenws.execution.engine import Engine
    from greenws.metrics.thresholds import ThresholdReport

__all__ = ["call", "end_of_test_data", "find", "write"]

Report = Callable[[str, str], None]


def find(module: ModuleType | None) -> Callable[..., Any] | None:
    """The script's ``handle_summary`` (k6's ``handleSummary`` spelling is accepted too)."""
    for name in ("handle_summary", "handleSummary"):
        function = getattr(module, name, None)
        if callable(function):
            return function  # type: ignore[no-any-return]
    return None


def call(
    function: Callable[..., Any] | None,
    summary: dict[str, Any],
    report_error: Report,
    script_path: str,
) -> dict[str, bytes] | None:
    """Call ``function(copy of summary)``; returns destination → bytes to write.

    None when there is no ``handle_summary`` or it failed; then the default text summary is
    printed (after one error line). The script gets its own copy of the data, so it may change it
    freely.
    """
    if function is None:
        return None
    name = getattr(function, "__name__", "handle_summary")
    try:
        result = function(copy.deepcopy(summary))
    except (Exception, AbortTest) as error:  # abort() here has nothing left to stop
        report_error(
            "handle-summary",
            f"{name}() failed, printing the default summary instead: "
            f"{format_script_error(error, script_path)}",
        )
        return None
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        report_error(
            "handle-summary",
            f'{name}() must return a dict of destination to text ("stdout", "stderr" or a '
            f"file path), not {type(result).__name__}; printing the default summary instead",
        )
        return None
    out: dict[str, bytes] = {}
    for key, value in result.items():
        if isinstance(value, str):
            out[str(key)] = value.encode("utf-8")
        elif isinstance(value, (bytes, bytearray, memoryview)):
            out[str(key)] = bytes(value)
        else:
            report_error(
                f"handle-summary:{key}",
                f"{name}(): the value for {str(key)!r} must be str or bytes, "
                f"not {type(value).__name__}; nothing written there",
            )
    return out


def write(result: Mapping[str, bytes], report_error: Report) -> None:
    """Write ``stdout``/``stderr``/file destinations; a failed file is one error line each.

    As in k6, files are created or truncated but missing directories are not created.
    """
    for destination, content in result.items():
        if destination in ("stdout", "stderr"):
            # The real stdout: a script's print() goes to stderr while it runs (runtime/logs.py).
            stream = summary_stdout() if destination == "stdout" else sys.stderr
            stream.flush()
            raw = getattr(stream, "buffer", None)
            if raw is not None:
                raw.write(content)
                raw.flush()
            else:  # a replaced text stream
                stream.write(content.decode("utf-8", "replace"))
                stream.flush()
            continue
        try:
            with open(destination, "wb") as handle:
                handle.write(content)
        except OSError as error:
            report_error(
                f"handle-summary-file:{destination}",
                f"handle_summary(): could not write {destination!r}: {error.strerror or error}",
            )


def _run_part(engine: Engine) -> dict[str, Any]:
    """Which part of which test this run was, for ``greenws merge`` (see ``run_parts``)."""
    options = engine.context.options
    try:
        with open(engine.script_path, "rb") as handle:
            source = handle.read()
    except OSError:  # the script was loaded, so this is unlikely: fingerprint the path instead
        source = engine.script_path.encode()
    return run_part(
        segment=options.execution_segment,
        sequence=options.execution_segment_sequence,
        script=Path(engine.script_path).name,
        script_sha=script_fingerprint(source),
        options_sha=options_fingerprint(options),
    )


def end_of_test_data(engine: Engine, elapsed: float, report: ThresholdReport) -> dict[str, Any]:
    """The ``data`` of ``handle_summary`` (k6's shape), from the whole run's aggregates.

    Under ``--workers`` that is the coordinator's aggregator merged with every worker's final
    state. The mergeable state itself goes in too: ``--summary-export`` writes it for
    ``greenws merge``. So does ``data["greenws"]``: how many samples the outputs were given, how
    many each output lost (``dropped_samples``, by output name) and why (``output_errors``), so
    that a lost sample is never silent, not even to a machine reading the export.
    """
    options = engine.context.options
    aggregator = engine.current_aggregator()
    summary = aggregator.summary_data(
        duration_s=max(elapsed, 1e-9),
        trend_stats=options.summary_trend_stats,
        thresholds=report.summary_thresholds(),
    )
    state = summary.setdefault("state", {})
    state["testRunDurationMs"] = elapsed * 1000.0
    state["isStdOutTTY"] = state["isStdErrTTY"] = engine.run_info.is_tty
    dropped = engine.run_info.dropped_samples()
    state["droppedSamples"] = dropped
    # greenws's own, beside k6's keys: what the outputs were given and what each lost, and why.
    summary[GREENWS_KEY] = {
        "samples": engine.flusher.total,
        "dropped_samples": dict(dropped),
        "output_errors": output_errors(engine.pluginmanager, engine.flusher.channels),
    }
    summary["options"] = {
        "summaryTrendStats": list(options.summary_trend_stats),
        "summaryTimeUnit": options.summary_time_unit,
        "noColor": options.no_color,
    }
    state[DATA_STATE_KEY] = RunState(
        aggregator,
        duration_s=elapsed,
        thresholds={name: list(items) for name, items in options.thresholds.items()},
        trend_stats=tuple(options.summary_trend_stats),
        time_unit=options.summary_time_unit,
        parts=[_run_part(engine)],
    ).to_state()
    return summary
