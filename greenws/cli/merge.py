"""``greenws merge a.json b.json …``: one summary and one threshold verdict for several runs.

k6 evaluates thresholds per instance: ten load generators that each stay under ``count<1000`` pass
even when together they sent ten thousand. greenws's ``--summary-export`` also carries each run's
mergeable state (``greenws_state``: every sink, histogram buckets included, the group tree, the
metric definitions and the thresholds), so this command can add the runs up exactly -- counts,
rates, checks, and trend percentiles alike -- print the summary ``greenws run`` would have
printed for one run holding every sample, and judge the thresholds on that.

The rules for combining runs are :mod:`greenws.metrics.state`'s: the test run duration is the
longest run's (the runs are taken to have run side by side, so Counter rates add up); thresholds
are the union of every file's expressions per metric; the summary options are the command line's,
else the first file's.

Each export also records which part of which test its run was (segment, sequence, fingerprints
of the script and the load options: :mod:`greenws.options.run_parts`). A merge checks that the
files make exactly one whole test: a missing segment (a lost runner), a duplicated one (a retried
runner) or runs of different scripts or options are named, one line each, and the merge exits 122
without a summary. ``--allow-partial`` merges what is there and marks the summary and the export
partial.

Exit codes are k6's: 0, 99 when a threshold fails on the merged data, 104 for bad input (a file
that is missing, not JSON, has no greenws state or another state version, files that conflict,
invalid flags); and greenws's 122 for an incomplete test. Pure apart from reading and writing the
named files: no gevent, no sockets.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from greenws.exit_codes import EXIT
from greenws.metrics.state import RunState, StateError
from greenws.metrics.thresholds import ThresholdError, evaluate_all, parse_thresholds
from greenws.options.layers import resolve_options
from greenws.options.run_parts import PartsReport, check_parts
from greenws.options.values import OptionsError
from greenws.summary.export import (
    DATA_STATE_KEY,
    EXPORT_STATE_KEY,
    GREENWS_KEY,
    summary_export_json,
)
from greenws.summary.text import render_summary

__all__ = [
    "MergeError",
    "add_merge_arguments",
    "load_state",
    "merge_command",
    "merge_files",
    "merged_summary",
]


class MergeError(Exception):
    """Input ``greenws merge`` cannot use; the message is one line and names the file."""


def _looks_like_json_lines(text: str) -> bool:
    """Whether ``text`` starts like k6's NDJSON output: a JSON object with a ``type`` per line."""
    first = text.lstrip().split("\n", 1)[0]
    try:
        record = json.loads(first)
    except ValueError:
        return False
    return isinstance(record, dict) and record.get("type") in ("Metric", "Point")


def load_state(path: str | Path) -> dict[str, Any]:
    """The greenws state of one file: a ``--summary-export`` file, or handleSummary data as JSON.

    Raises:
        MergeError: the file is missing or unreadable, not JSON, or holds no greenws state.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MergeError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise MergeError(f"{path}: cannot read it: {reason}") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        if _looks_like_json_lines(text):
            raise MergeError(
                f"{path}: this is --out json output (one JSON object per line); greenws merge "
                "reads the --summary-export files of the runs"
            ) from None
        raise MergeError(f"{path}: not JSON ({error})") from None
    state: Any = None
    if isinstance(document, Mapping):
        state = document.get(EXPORT_STATE_KEY)
        inner = document.get("state")
        if state is None and isinstance(inner, Mapping):  # handle_summary data dumped as is
            state = inner.get(DATA_STATE_KEY)
    if not isinstance(state, Mapping):
        raise MergeError(
            f"{path}: no greenws state in it (expected a --summary-export file of greenws run, "
            f'with a "{EXPORT_STATE_KEY}" key)'
        )
    return dict(state)


def merge_files(
    paths: Sequence[str | Path],
    warn: TextIO | None = None,
    *,
    full: bool = False,
    named_parts: list[tuple[str, Mapping[str, Any]]] | None = None,
    unrecorded: list[str] | None = None,
) -> RunState:
    """Load and merge every file's state, in order.

    A submetric that only some files tracked (a threshold on ``name{tag:value}`` that the other
    runs did not have) holds only those files' samples: a warning line on ``warn`` says so. With
    ``full`` (the summary will print full mode's per-scenario and per-group blocks) the same goes
    for those blocks when only some runs were made with ``--summary-mode full``. Each file's
    recorded parts go to ``named_parts`` as ``(file, part)``; files that recorded none (an older
    greenws) go to ``unrecorded``.

    Raises:
        MergeError: for the first file that cannot be read or merged.
    """
    if not paths:
        raise MergeError("no files to merge")
    run: RunState | None = None
    tracked: dict[str, list[str]] = {}  # submetric -> files that tracked it
    with_blocks: list[str] = []  # files of --summary-mode full runs
    for path in paths:
        state = load_state(path)
        try:
            if run is None:
                run = RunState.from_state(state)
            else:
                run.merge_state(state)
        except StateError as error:
            raise MergeError(f"{path}: {error}") from None
        for name in _submetric_names(state):
            tracked.setdefault(name, []).append(str(path))
        recorded = state.get("parts") or []
        if named_parts is not None:
            named_parts.extend((str(path), part) for part in recorded)
        if unrecorded is not None and not recorded:
            unrecorded.append(str(path))
        if state["aggregator"].get("breakdown") is not None:
            with_blocks.append(str(path))
    assert run is not None
    if warn is not None:
        for name, files in tracked.items():
            if len(files) < len(paths):
                warn.write(
                    f"greenws: warning: submetric {name} was not tracked in "
                    f"{_others(paths, files)}: its merged values come from {', '.join(files)} only\n"
                )
        if full and with_blocks and len(with_blocks) < len(paths):
            warn.write(
                f"greenws: warning: {_others(paths, with_blocks)} ran without --summary-mode full: "
                f"the per-scenario and per-group blocks hold {', '.join(with_blocks)} only\n"
            )
    return run


def _others(paths: Sequence[str | Path], files: list[str]) -> str:
    return ", ".join(str(p) for p in paths if str(p) not in files)


def _submetric_names(state: Mapping[str, Any]) -> list[str]:
    metrics = state["aggregator"]["metrics"]  # merge_state checked the shape
    return [
        f"{name}{{{suffix}}}"
        for name, item in metrics.items()
        for suffix in item.get("submetrics") or {}
    ]


def merged_summary(
    run: RunState,
    *,
    trend_stats: Sequence[str],
    time_unit: str | None,
    no_color: bool = False,
    is_tty: bool = False,
    thresholds: bool = True,
) -> tuple[dict[str, Any], bool]:
    """The handleSummary-shaped data of the merged run, and whether a threshold failed.

    The data is what ``greenws run`` builds for one run (so the same renderer and export apply),
    with the merged state under ``state.greenwsState``: a merged export can be merged again.

    Raises:
        MergeError: a threshold definition that does not parse or names an unknown metric.
    """
    report = None
    duration_s = max(run.duration_s, 1e-9)
    if thresholds:
        try:
            sets = parse_thresholds(run.thresholds)
            for threshold_set in sets:
                threshold_set.bind(run.aggregator)
            report = evaluate_all(sets, run.aggregator, duration_s, elapsed_s=run.duration_s)
        except ThresholdError as error:
            raise MergeError(str(error)) from None
    summary = run.aggregator.summary_data(
        duration_s=duration_s,
        trend_stats=trend_stats,
        thresholds=report.summary_thresholds() if report is not None else None,
    )
    summary["state"] = {
        "testRunDurationMs": run.duration_s * 1000.0,
        "isStdOutTTY": is_tty,
        "isStdErrTTY": is_tty,
        DATA_STATE_KEY: run.to_state(),
    }
    summary["options"] = {
        "summaryTrendStats": list(trend_stats),
        "summaryTimeUnit": time_unit,
        "noColor": no_color,
    }
    return summary, report is not None and report.failed


def _check_completeness(
    named: list[tuple[str, Mapping[str, Any]]],
    unrecorded: list[str],
    err: TextIO,
    *,
    allow: bool,
) -> PartsReport | int | None:
    """None for one whole test; the report of a partial one that ``allow`` lets through; else
    the exit code 122 after one line per problem."""
    if not named:  # every file is an older greenws's: nothing to check, merged as before
        return None
    if unrecorded:
        err.write(
            f"greenws: warning: {', '.join(unrecorded)} recorded no execution segment (written by "
            "an older greenws): whether the test is complete cannot be checked\n"
        )
        return None
    report = check_parts(named)
    if report.complete:
        return None
    level = "warning" if allow else "error"
    for problem in report.problems:
        err.write(f"greenws: {level}: incomplete test: {problem}\n")
    if allow:
        return report
    err.write(
        f"greenws: error: not merging an incomplete test (exit {EXIT['incomplete_test']}); "
        "--allow-partial prints what is there, marked partial\n"
    )
    return EXIT["incomplete_test"]


def _partial_banner(report: PartsReport) -> str:
    """The line above a partial merge's summary, so nobody reads it as the whole test."""
    what = f"{report.covered} of the test" if report.covered != 1 else "the whole test, once"
    missing = f", missing {', '.join(report.missing)}" if report.missing else ""
    twice = f", duplicated {', '.join(report.duplicated)}" if report.duplicated else ""
    return f"\n  PARTIAL RESULTS: {what} (sequence {report.sequence}{missing}{twice})\n"


def add_merge_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``greenws merge`` (the summary flags mean what they mean for ``run``)."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="--summary-export files of runs")
    parser.add_argument(
        "--summary-export", metavar="FILE", help="write the merged summary (mergeable again)"
    )
    parser.add_argument("--summary-trend-stats", metavar="STATS", help="e.g. avg,med,p(99),max")
    parser.add_argument("--summary-time-unit", choices=["s", "ms", "us"])
    parser.add_argument(
        "--summary-mode", choices=["compact", "full", "disabled"], default="compact"
    )
    parser.add_argument("--no-color", action="store_true", help="no ANSI colours")
    parser.add_argument(
        "--no-thresholds", action="store_true", help="evaluate no thresholds (exit 0)"
    )
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="merge a test with missing or duplicated segments (or runs of different "
        "scripts/options) anyway, the summary and export marked partial; without it such a "
        "merge exits 122",
    )


def merge_command(
    args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """``greenws merge``: merge, print the summary, write the export; returns the exit code."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    try:
        named: list[tuple[str, Mapping[str, Any]]] = []
        unrecorded: list[str] = []
        run = merge_files(
            args.files,
            warn=err,
            full=args.summary_mode == "full",
            named_parts=named,
            unrecorded=unrecorded,
        )
        parts = _check_completeness(named, unrecorded, err, allow=args.allow_partial)
        if isinstance(parts, int):
            return parts
        from_files: dict[str, Any] = {}
        if run.trend_stats is not None:
            from_files["summaryTrendStats"] = list(run.trend_stats)
        if run.time_unit is not None:
            from_files["summaryTimeUnit"] = run.time_unit
        from_flags: dict[str, Any] = {}
        if args.summary_trend_stats is not None:
            from_flags["summaryTrendStats"] = args.summary_trend_stats
        if args.summary_time_unit is not None:
            from_flags["summaryTimeUnit"] = args.summary_time_unit
        try:
            options = resolve_options(("merged files", from_files), ("command line", from_flags))
        except OptionsError as error:
            raise MergeError(str(error)) from None
        is_tty = out.isatty()
        summary, failed = merged_summary(
            run,
            trend_stats=options.summary_trend_stats,
            time_unit=options.summary_time_unit,
            no_color=args.no_color,
            is_tty=is_tty,
            thresholds=not args.no_thresholds,
        )
        if parts is not None:
            summary.setdefault(GREENWS_KEY, {})["partial"] = parts.as_dict()
        if args.summary_export:
            try:
                Path(args.summary_export).write_text(summary_export_json(summary), encoding="utf-8")
            except OSError as error:
                raise MergeError(
                    f"cannot write --summary-export {args.summary_export}: "
                    f"{error.strerror or error}"
                ) from None
    except MergeError as error:
        err.write(f"greenws: error: {error}\n")
        return EXIT["config"]
    if args.summary_mode == "full" and run.aggregator.breakdown is None:
        err.write(
            "greenws: warning: no file holds the per-scenario and per-group blocks of "
            "--summary-mode full (their runs were compact): the GROUP blocks show checks only "
            "and there are no SCENARIO blocks\n"
        )
    if args.summary_mode != "disabled":
        if parts is not None:
            out.write(_partial_banner(parts))
        out.write(
            render_summary(summary, mode=args.summary_mode, color=is_tty and not args.no_color)
        )
        out.flush()
    return EXIT["thresholds"] if failed else EXIT["ok"]
