"""The ``greenws`` command's arguments: ``run``/``inspect`` flags, and the other commands.

Kept apart from :mod:`greenws.cli.main` (which resolves and runs) so the flags read as one
list; it imports argparse and nothing that opens a socket, so it is safe before monkey-patching.
"""

from __future__ import annotations

import argparse

__all__ = ["add_run_arguments", "build_parser"]


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
        help="send samples to an output, e.g. json=results.json (repeatable; kinds below)",
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
        "--user-agent",
        metavar="TEXT",
        help='the handshake\'s User-Agent (default greenws/<version>; "" sends none)',
    )
    run.add_argument(
        "--local-ips",
        metavar="IPS",
        help="source addresses for the VUs' sockets (k6's localIPs): addresses, ranges and "
        "CIDRs, e.g. 127.0.0.2-127.0.0.20,10.0.1.0/24; VU n binds to address n-1, round-robin",
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
        "--start-at",
        metavar="TIME",
        help="wait until this wall-clock time to start (RFC 3339 such as 2026-12-06T18:30:00Z, "
        "or Unix seconds): every runner given the same TIME starts together",
    )
    segments.add_argument(
        "--barrier",
        metavar="DIR",
        help="a directory all runners share: wait until every segment of the sequence has "
        "checked in there, then all start at the same instant",
    )
    segments.add_argument(
        "--barrier-timeout",
        metavar="DURATION",
        default="5m",
        help="how long to wait for the other runners (default 5m)",
    )
    segments.add_argument(
        "--barrier-missing",
        choices=["fail", "start"],
        default="fail",
        help="when runners are missing after --barrier-timeout: fail (exit 123, the default) "
        "or start without them",
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

    run = commands.add_parser(
        "run",
        help="run a test script",
        description="Run a test script.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keeps the --out table's columns
    )
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
