"""``greenws``: the command line. Monkey-patching happens here and nowhere else.

Exit codes are k6's: 0 ok, 99 thresholds failed, 100/101 setup/teardown timeout, 104 bad options,
105 interrupted, 107 script error, 108 aborted by the script.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; plugins add their own options to ``run``."""
    parser = argparse.ArgumentParser(
        prog="greenws", description="Load-test WebSocket services with k6's k6/ws API, in Python."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run a test script", description="Run a test script.")
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
        help="set an environment variable for the script (os.environ)",
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
        "--summary-mode", choices=["compact", "full", "disabled"], default="compact"
    )
    summary.add_argument(
        "--no-summary", action="store_true", help="same as --summary-mode disabled"
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
    run.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    echo = commands.add_parser(
        "echo",
        help="run the embedded echo server",
        description="Run the embedded WebSocket echo server.",
    )
    echo.add_argument("--host", default="127.0.0.1")
    echo.add_argument("--port", type=int, default=8765)
    return parser


def _fail(code: int, message: str) -> int:
    print(f"greenws: error: {message}", file=sys.stderr)
    return code


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
    ):
        if value is not None:
            layer[key] = value
    if args.no_color:
        layer["noColor"] = True
    return layer


def run_command(args: argparse.Namespace, pluginmanager: Any) -> int:
    """``greenws run``: load, configure, run; returns the exit code."""
    from greenws.options import OptionsError, options_from_env, resolve_options
    from greenws.runtime.config import OutputSpec, RunConfig
    from greenws.runtime.engine import EXIT, Engine, ScriptError
    from greenws.thresholds import ThresholdError

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
    is_tty = sys.stderr.isatty()
    from greenws.options import Options

    engine = Engine(
        Options(),
        script_path=args.script,
        pluginmanager=pluginmanager,
        summary_mode=summary_mode,
        summary_export=args.summary_export,
        quiet=args.quiet,
        is_tty=is_tty,
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
        for warning in options.warnings:
            print(f"greenws: warning: {warning}", file=sys.stderr)
        engine.set_options(options, dict(args.tag))
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
    outputs = []
    for text in args.out:
        kind, _, argument = text.partition("=")
        outputs.append(OutputSpec(kind, argument))
    config = RunConfig(options=options, args=args, pluginmanager=pluginmanager, outputs=outputs)
    for impl in pluginmanager.hook.greenws_configure.get_hookimpls():
        try:
            impl.function(*[{"config": config}[name] for name in impl.argnames])
        except Exception as error:
            name = pluginmanager.get_name(impl.plugin) or repr(impl.plugin)
            return _fail(EXIT["config"], f"plugin {name}: greenws_configure failed: {error}")
    unknown = [spec.kind for spec in outputs if not spec.claimed]
    if unknown:
        return _fail(
            EXIT["config"],
            f"unknown output {unknown[0]!r} in --out (available: json, or a plugin's)",
        )
    echo = None
    if args.echo_server:
        from greenws.echo_server import EchoServerProcess

        try:
            echo = EchoServerProcess("127.0.0.1", args.echo_port)
        except Exception as error:
            return _fail(EXIT["config"], f"--echo-server: {error}")
    try:
        return engine.run()
    finally:
        if echo is not None:
            echo.stop()


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
        return _fail(104, str(error))
    parser = build_parser()
    run_parser = next(
        action
        for action in parser._subparsers._group_actions  # type: ignore[union-attr]
        if isinstance(action, argparse._SubParsersAction)
    ).choices["run"]
    pluginmanager.hook.greenws_addoption(parser=run_parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return 104 if exit_.code not in (0, None) else 0
    if args.version:
        from greenws import __version__

        print(f"greenws {__version__}")
        return 0
    if args.command == "run":
        return run_command(args, pluginmanager)
    if args.command == "echo":
        from greenws.echo_server import serve

        serve(args.host, args.port)
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
