"""``greenws``: the command line. Monkey-patching happens here and nowhere else.

Exit codes are k6's: 0 ok, 99 thresholds failed, 100/101 setup/teardown timeout, 104 bad options
(an output file that cannot be written included), 105 interrupted, 107 script error, 108 aborted
by the script; and greenws's own 120: a file output or ``--summary-export`` is incomplete.

``greenws run`` and ``greenws inspect`` take the same flags and resolve options through the same
code (:func:`load_and_resolve`), so ``inspect`` shows exactly what ``run`` would run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from greenws.cli.parser import build_parser  # argparse only: safe before monkey-patching
from greenws.exit_codes import EXIT  # pure: safe before monkey-patching

if TYPE_CHECKING:
    from greenws.execution.engine import Engine
    from greenws.options.layers import Options

__all__ = ["load_and_resolve", "main"]


def _fail(code: int, message: str) -> int:
    print(f"greenws: error: {message}", file=sys.stderr)
    return code


def _configure_logs(args: argparse.Namespace) -> int:
    """``--log-output``, ``--log-format``, ``-v``: set before the script is imported, so its
    top-level ``console.log`` obeys them too; a bad value is one line and exit 104 (0: all well).
    """
    from greenws.runtime.logs import LogConfigError, logger_from_flags, set_logger

    try:
        logger = logger_from_flags(
            args.log_output, args.log_format, verbose=args.verbose, no_color=args.no_color
        )
    except LogConfigError as error:
        return _fail(EXIT["config"], str(error))
    set_logger(logger)
    return 0


def _cli_options(args: argparse.Namespace) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for key, value in (
        ("vus", args.vus),
        ("duration", args.duration),
        ("iterations", args.iterations),
        ("stages", args.stage),
        ("summaryTrendStats", args.summary_trend_stats),
        ("summaryTimeUnit", args.summary_time_unit),
        ("insecureSkipTLSVerify", args.insecure_skip_tls_verify),
        ("userAgent", getattr(args, "user_agent", None)),
        ("localIPs", getattr(args, "local_ips", None)),
        ("executionSegment", getattr(args, "execution_segment", None)),
        ("executionSegmentSequence", getattr(args, "execution_segment_sequence", None)),
    ):
        if value is not None:
            layer[key] = value
    if args.no_color:
        layer["noColor"] = True
    return layer


def load_and_resolve(args: argparse.Namespace, pluginmanager: Any) -> tuple[Engine, Options] | int:
    """Apply ``-e``, load the script, fold every option layer, derive scenarios, bind thresholds.

    Shared by ``run`` and ``inspect``. Returns the prepared engine and options, or an exit code
    (104 bad options, 107 bad script) after printing one line.
    """
    from greenws.execution.engine import Engine, ScriptError
    from greenws.metrics.thresholds import ThresholdError
    from greenws.options.layers import Options, options_from_env, resolve_options
    from greenws.options.values import OptionsError

    for key, value in args.env:
        os.environ[key] = value
    config_layer: dict[str, Any] = {}
    if args.config:
        try:
            with open(args.config, encoding="utf-8") as handle:
                config_layer = json.load(handle)
        except (OSError, ValueError) as error:
            return _fail(EXIT["config"], f"cannot read --config {args.config}: {error}")
    summary_mode = "disabled" if args.no_summary else args.summary_mode
    # The engine exists before the script is imported: custom metrics register at import time.
    engine = Engine(
        Options(),
        script_path=args.script,
        pluginmanager=pluginmanager,
        summary_mode=summary_mode,
        # k6: --no-summary also turns off handleSummary and --summary-export;
        # --summary-mode disabled only hides the text.
        summary_export=None if args.no_summary else args.summary_export,
        quiet=args.quiet,
        is_tty=sys.stderr.isatty(),
        breakdown=args.summary_mode == "full",
    )
    try:
        module = engine.load_script()
    except ScriptError as error:
        return _fail(EXIT["script"], str(error))
    try:
        options = resolve_options(
            ("--config", config_layer),
            ("script options", getattr(module, "options", None) or {}),
            ("environment", options_from_env(os.environ)),
            ("command line", _cli_options(args)),
        )
        if args.no_summary and args.summary_export:
            options.warnings.append(
                f"--summary-export {args.summary_export} is not written: --no-summary turns off "
                "the export too, as in k6 (use --summary-mode disabled to hide only the text)"
            )
        from greenws.runtime.logs import get_logger

        if options.no_color:  # the script's noColor too: logs follow the summary's colours
            get_logger().colored = False
        for warning in options.warnings:  # logged, as k6 logs its option warnings
            get_logger().warn(warning)
        engine.set_options(options, dict(args.tag))
        engine.no_summary = args.no_summary
        engine.no_setup, engine.no_teardown, engine.no_thresholds = (
            args.no_setup,
            args.no_teardown,
            args.no_thresholds,
        )
        if args.no_thresholds:
            options.thresholds = {}
        engine.prepare()
    except (OptionsError, ThresholdError, ValueError) as error:
        return _fail(EXIT["config"], str(error))
    except ScriptError as error:
        return _fail(EXIT["script"], str(error))
    return engine, options


def run_command(args: argparse.Namespace, pluginmanager: Any) -> int:
    """``greenws run``: load, configure, run; returns the exit code."""
    from greenws.outputs.file_destination import DestinationError, destination_problem
    from greenws.plugins.types import OutputSpec, RunConfig

    prepared = load_and_resolve(args, pluginmanager)
    if isinstance(prepared, int):
        return prepared
    engine, options = prepared
    export = engine.run_info.summary_export
    problem = destination_problem(export) if export is not None else None
    if problem:
        return _fail(EXIT["config"], f"--summary-export {export}: {problem}")
    outputs = []
    for text in args.out:
        kind, _, argument = text.partition("=")
        outputs.append(OutputSpec(kind, argument))
    config = RunConfig(options=options, args=args, pluginmanager=pluginmanager, outputs=outputs)
    claimed_by: dict[str, str] = {}  # kind -> plugin, for kinds a plugin never declared
    for impl in pluginmanager.hook.greenws_configure.get_hookimpls():
        name = pluginmanager.get_name(impl.plugin) or repr(impl.plugin)
        before = set(config.known_kinds)
        try:
            impl.function(*[{"config": config}[name] for name in impl.argnames])
        except DestinationError as error:  # already names the flag, the path and the reason
            return _fail(EXIT["config"], str(error))
        except Exception as error:
            return _fail(EXIT["config"], f"plugin {name}: greenws_configure failed: {error}")
        claimed_by.update(dict.fromkeys(config.known_kinds - before, name))
    unknown = [spec.kind for spec in outputs if not spec.claimed]
    if unknown:
        from greenws.plugins.catalog import available_outputs, unknown_output_error

        available = available_outputs(pluginmanager, claimed_by)
        return _fail(EXIT["config"], unknown_output_error(unknown[0], available))
    link_error = _attach_workers(engine, args, pluginmanager)
    if link_error:
        return _fail(EXIT["config"], link_error)
    echo = None
    if args.echo_server:
        from greenws.cli.echo_server import EchoServerProcess

        try:
            echo = EchoServerProcess("127.0.0.1", args.echo_port)
        except Exception as error:
            return _fail(EXIT["config"], f"--echo-server: {error}")
    gate_code = _coordinated_start(args, options)
    if gate_code:
        if echo is not None:
            echo.stop()
        return gate_code
    try:
        code = engine.run()
        if engine.worker_link is not None:
            engine.worker_link.status(engine, final=True, exit_code=code)
        return code
    finally:
        if echo is not None:
            echo.stop()


def _coordinated_start(args: argparse.Namespace, options: Options) -> int:
    """``--barrier`` then ``--start-at``: wait for the agreed instant; an exit code, or 0."""
    from greenws.execution.start_gate import (
        StartGateError,
        barrier_start,
        parse_start_at,
        wait_until,
    )
    from greenws.options.derive import options_tuple
    from greenws.options.durations import parse_duration
    from greenws.runtime.logs import get_logger

    start_at = getattr(args, "start_at", None)
    barrier = getattr(args, "barrier", None)
    if not start_at and not barrier:
        return 0
    instant = 0.0
    try:
        if start_at:
            instant = parse_start_at(start_at)
        if barrier:
            execution = options_tuple(options)
            if execution.is_full:
                return _fail(
                    EXIT["config"],
                    "--barrier needs --execution-segment and --execution-segment-sequence: the "
                    "sequence says how many runners to wait for",
                )
            timeout = parse_duration(args.barrier_timeout, name="--barrier-timeout")
            get_logger().info(
                f"barrier: segment {execution.segment} checked in to {barrier}, waiting for "
                f"{len(execution.sequence.segments)} runners (at most {timeout:g}s)"
            )
            instant = max(
                instant,
                barrier_start(
                    barrier,
                    execution,
                    timeout=timeout,
                    missing=args.barrier_missing,
                    warn=get_logger().warn,
                ),
            )
    except StartGateError as error:
        return _fail(error.code, str(error))
    except ValueError as error:
        return _fail(EXIT["config"], str(error))
    if instant - time.time() > 0:
        get_logger().info(f"starting at {_utc(instant)}")
    elif start_at and not barrier:
        get_logger().warn(f"--start-at {start_at} has passed: starting now")
    wait_until(instant)
    return 0


def _utc(instant: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(instant, timezone.utc).isoformat(timespec="milliseconds")


def _feed_coordinator_report(engine: Engine, start: float, tags: list[str]) -> None:
    """A worker's share of the coordinator's dashboard or HTML report: a report builder fed by
    this worker's aggregator (no step per sample), sent with each status; see
    ``greenws.outputs.html_report.worker_feed``."""
    from greenws.outputs.html_report.plugin import ReportBuilder

    assert engine.worker_link is not None
    feed = ReportBuilder(tags=tags)
    feed.start(start)  # the coordinator's origin, so both series' buckets line up
    engine.observe_samples(feed.add_metric)
    engine.worker_link.report_feed = feed


def _attach_workers(engine: Engine, args: argparse.Namespace, pluginmanager: Any) -> str:
    """``--workers``: make this process the coordinator; ``--worker-link``: one of its workers.

    Returns an error message, or "" when all is well.
    """
    from greenws.execution.workers import Coordinator, WorkerLink, resolve_worker_count

    if args.worker_link:
        link = json.loads(args.worker_link)
        engine.worker_link = WorkerLink(int(link["fd"]))
        if link["forward"]:
            pluginmanager.register(engine.worker_link, "worker-link")
        if link.get("report"):
            _feed_coordinator_report(engine, float(link["report_start"]), link["report_tags"])
        if "log_started" in link:  # one [0003] clock for the coordinator's and workers' lines
            from greenws.runtime.logs import get_logger

            get_logger().started_at = float(link["log_started"])
        if link.get("setup_data"):
            with open(link["setup_data"], encoding="utf-8") as handle:
                engine.context.setup_data = handle.read()
        return ""
    if args.workers is None:
        return ""
    if getattr(args, "execution_segment", None):
        return "--workers and --execution-segment cannot be combined: a worker is a segment"
    try:
        engine.workers = Coordinator(resolve_worker_count(args.workers), args)
        engine.run_info.workers = engine.workers.count
    except ValueError as error:
        return str(error)
    return ""


def inspect_command(args: argparse.Namespace, pluginmanager: Any) -> int:
    """``greenws inspect``: resolve options like ``run`` and print them; run nothing."""
    prepared = load_and_resolve(args, pluginmanager)
    if isinstance(prepared, int):
        return prepared
    from greenws.cli.inspection import inspect_document
    from greenws.runtime.logs import summary_stdout

    engine, options = prepared
    document = inspect_document(options, engine.scenarios)
    print(json.dumps(document, indent=2, ensure_ascii=False, default=str), file=summary_stdout())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``greenws`` console script."""
    import gevent
    from gevent import monkey

    monkey.patch_all()  # before anything else opens a socket; the only place greenws patches
    if "GEVENT_TRACK_GREENLET_TREE" not in os.environ:
        # Each greenlet would record who spawned it and that greenlet's stack: ~450 bytes per
        # idle VU and a stack walk per spawn (the standard WebSocket spawns its dial), for a
        # debugging aid greenws never reads. The environment variable still decides if set.
        gevent.config.track_greenlet_tree = False

    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("-p", dest="plugins", action="append", default=[])
    known, _ = pre.parse_known_args(argv)

    from greenws import kits
    from greenws.plugins.manager import PluginError, make_plugin_manager

    try:
        pluginmanager = make_plugin_manager(known.plugins)
        kits.install(kits.collect(pluginmanager))
    except (PluginError, ValueError) as error:
        return _fail(EXIT["config"], str(error))
    parser = build_parser()
    subparsers = next(
        action
        for action in parser._subparsers._group_actions  # type: ignore[union-attr]
        if isinstance(action, argparse._SubParsersAction)
    )
    for command in ("run", "inspect"):  # same flags, plugins' options included
        pluginmanager.hook.greenws_addoption(parser=subparsers.choices[command])
    from greenws.plugins.catalog import declared_outputs, output_table, undeclared_plugins

    try:  # declared, not claimed: --help must list the kinds without loading a script
        kinds = output_table(declared_outputs(pluginmanager), undeclared_plugins(pluginmanager))
    except PluginError as error:
        return _fail(EXIT["config"], str(error))
    subparsers.choices["run"].epilog = "--out kinds (KIND=ARG):\n" + kinds
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT["config"] if exit_.code not in (0, None) else 0
    if args.version:
        from greenws import __version__

        print(f"greenws {__version__}")
        return 0
    if args.command in ("run", "inspect"):
        failed = _configure_logs(args)
        if failed:
            return failed
        from greenws.runtime.logs import prints_to_stderr

        handler = run_command if args.command == "run" else inspect_command
        with prints_to_stderr():  # the script's print(): stdout is the summary's (or inspect's)
            return handler(args, pluginmanager)
    if args.command == "merge":
        from greenws.cli.merge import merge_command

        return merge_command(args)
    if args.command == "plugins":
        from greenws.plugins.listing import plugin_listing

        sys.stdout.write(plugin_listing(pluginmanager))
        return 0
    if args.command == "echo":
        from greenws.cli import echo_server

        flags = ["--host", args.host, "--port", str(args.port)]
        flags += ["-v"] * args.verbose + ["--watch"] * args.watch
        return echo_server.main(flags)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
