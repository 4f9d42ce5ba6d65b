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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from greenws.exit_codes import EXIT  # pure: safe before monkey-patching

if TYPE_CHECKING:
    from greenws.execution.engine import Engine
    from greenws.options.layers import Options

__all__ = ["build_parser", "load_and_resolve", "main"]


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    """The flags of ``greenws run``; ``greenws inspect`` takes the same ones."""
    run.add_argument(
        "script", help="the Python test script (options, default(), setup(), teardown())"
    )
    shape = run.add_argument_group("load shape (override the script's options)")
    shape.add_argument("-u", "--vus", type=int, help="number of virtual users")
    shape.add_argument("-d", "--duration", help="test duration, e.g. 30s, 1m30s")
    shape.add_argument("-i", "--iterations", type=int, help="total iterations shared by the VUs")
    shape.add_argument(
        "-s",
        "--stage",
        action="append",
        metavar="DURATION:TARGET",
        help="ramping stage (repeatable)",
    )
    run.add_argument("--config", metavar="FILE", help="JSON file with options (lowest precedence)")
    run.add_argument(
        "-e",
        "--env",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="set an environment variable for the script (greenws.env and os.environ)",
    )
    run.add_argument(
        "--tag",
        action="append",
        type=_key_value,
        default=[],
        metavar="NAME=VALUE",
        help="add a tag to every sample",
    )
    run.add_argument(
        "-o",
        "--out",
        action="append",
        default=[],
        metavar="KIND[=ARG]",
        help="send samples to an output, e.g. json=results.json (repeatable)",
    )
    run.add_argument(
        "-p",
        dest="plugins",
        action="append",
        default=[],
        metavar="MODULE",
        help="load a plugin module (-p no:NAME blocks one)",
    )
    run.add_argument(
        "--echo-server",
        action="store_true",
        help="start the embedded echo server on 127.0.0.1 for the run (a child process)",
    )
    run.add_argument(
        "--echo-port",
        type=int,
        default=8765,
        metavar="PORT",
        help="port of --echo-server (default 8765)",
    )
    summary = run.add_argument_group("summary")
    summary.add_argument(
        "--summary-export", metavar="FILE", help="write the summary as k6's JSON export"
    )
    summary.add_argument("--summary-trend-stats", metavar="STATS", help="e.g. avg,med,p(99),max")
    summary.add_argument("--summary-time-unit", choices=["s", "ms", "us"])
    summary.add_argument(
        "--summary-mode",
        choices=["compact", "full", "disabled"],
        default="compact",
        help="the end-of-test text summary; disabled prints none, but --summary-export is still "
        "written and handle_summary() still called",
    )
    summary.add_argument(
        "--no-summary",
        action="store_true",
        help="no end-of-test summary at all, as k6: no text, no handle_summary(), no "
        "--summary-export (--summary-mode disabled only hides the text)",
    )
    summary.add_argument("--no-color", action="store_true", help="no ANSI colours")
    run.add_argument("--no-thresholds", action="store_true", help="evaluate no thresholds")
    run.add_argument("--no-setup", action="store_true", help="skip setup()")
    run.add_argument("--no-teardown", action="store_true", help="skip teardown()")
    run.add_argument(
        "--insecure-skip-tls-verify",
        action="store_true",
        default=None,
        help="do not verify TLS certificates",
    )
    run.add_argument(
        "-q", "--quiet", action="store_true", help="no progress output (logs are unchanged, as k6)"
    )
    logs = run.add_argument_group("logs (console.log and greenws's errors; print() goes to stderr)")
    logs.add_argument(
        "--log-output",
        metavar="stderr|stdout|none|file=PATH",
        help="where log lines go (default stderr; file=PATH[,level=LEVEL] appends to PATH)",
    )
    logs.add_argument("--log-format", metavar="text|json|raw", help="log line format (text)")
    logs.add_argument(
        "-v", "--verbose", action="store_true", help="show debug lines (console.debug)"
    )
    run.add_argument(
        "--workers",
        metavar="N|auto",
        help="run the VUs in N processes (auto: one per core), each a slice of every scenario; "
        "one progress, summary and exit code",
    )
    run.add_argument("--worker-link", help=argparse.SUPPRESS)  # set by the coordinator only
    segments = run.add_argument_group("execution segments (split one test between processes)")
    segments.add_argument(
        "--execution-segment",
        metavar="A:B",
        help="run only this part of the test, e.g. 0:1/3, 1/3:2/3, 50%%:100%%",
    )
    segments.add_argument(
        "--execution-segment-sequence",
        metavar="POINTS",
        help="all the parts, e.g. 0,1/3,2/3,1: VUs, iterations and arrivals are striped so "
        "the parts add up exactly to the whole test",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; plugins add their own options to ``run`` (and ``inspect``)."""
    parser = argparse.ArgumentParser(
        prog="greenws", description="Load-test WebSocket services with k6's k6/ws API, in Python."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run a test script", description="Run a test script.")
    add_run_arguments(run)
    inspect = commands.add_parser(
        "inspect",
        help="print the resolved options and scenarios of a script as JSON; runs nothing",
        description=(
            "Load a script, resolve its options exactly as `greenws run` would with the same "
            "flags, and print them with the scenarios they imply as JSON (k6 inspect "
            "--execution-requirements). Nothing runs: no setup(), no VUs, no connections. Flags "
            "that only matter while running (--out, --summary-export, --echo-server…) are "
            "accepted and ignored, so a run's command line can be inspected as it is."
        ),
    )
    add_run_arguments(inspect)

    echo = commands.add_parser(
        "echo",
        help="run the embedded echo server",
        description="Run the embedded WebSocket echo server.",
    )
    echo.add_argument("--host", default="127.0.0.1")
    echo.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    echo.add_argument("-v", "--verbose", action="store_true", help="debug logging to stderr")
    echo.add_argument("--watch", action="store_true", help=argparse.SUPPRESS)  # exit with parent

    merge = commands.add_parser(
        "merge",
        help="merge runs' --summary-export files: one summary, thresholds on the merged data",
        description=(
            "Merge the --summary-export files of several runs (e.g. one per load generator) "
            "into one summary, and evaluate every file's thresholds on the merged data: exit 99 "
            "if one fails, 104 for a bad file."
        ),
    )
    from greenws.cli.merge import add_merge_arguments

    add_merge_arguments(merge)

    plugins = commands.add_parser(
        "plugins",
        help="list the loaded plugins, their versions and hooks",
        description="List the loaded plugins (built-in, entry points, -p), versions and hooks.",
    )
    plugins.add_argument("-p", dest="plugins", action="append", default=[], metavar="MODULE")
    return parser


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
    for impl in pluginmanager.hook.greenws_configure.get_hookimpls():
        try:
            impl.function(*[{"config": config}[name] for name in impl.argnames])
        except DestinationError as error:  # already names the flag, the path and the reason
            return _fail(EXIT["config"], str(error))
        except Exception as error:
            name = pluginmanager.get_name(impl.plugin) or repr(impl.plugin)
            return _fail(EXIT["config"], f"plugin {name}: greenws_configure failed: {error}")
    unknown = [spec.kind for spec in outputs if not spec.claimed]
    if unknown:
        return _fail(
            EXIT["config"],
            f"unknown output {unknown[0]!r} in --out "
            f"(available: {', '.join(sorted(config.known_kinds)) or 'none'})",
        )
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
    try:
        code = engine.run()
        if engine.worker_link is not None:
            engine.worker_link.status(engine, final=True, exit_code=code)
        return code
    finally:
        if echo is not None:
            echo.stop()


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
    from gevent import monkey

    monkey.patch_all()  # before anything else opens a socket; the only place greenws patches

    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("-p", dest="plugins", action="append", default=[])
    known, _ = pre.parse_known_args(argv)

    from greenws.plugins.manager import PluginError, make_plugin_manager

    try:
        pluginmanager = make_plugin_manager(known.plugins)
    except PluginError as error:
        return _fail(EXIT["config"], str(error))
    parser = build_parser()
    subparsers = next(
        action
        for action in parser._subparsers._group_actions  # type: ignore[union-attr]
        if isinstance(action, argparse._SubParsersAction)
    )
    for command in ("run", "inspect"):  # same flags, plugins' options included
        pluginmanager.hook.greenws_addoption(parser=subparsers.choices[command])
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
