"""The run's log: script ``console`` lines and greenws's own errors, in k6's formats.

k6 writes ``console.log`` and its errors through one logger (logrus) to stderr, so
``k6 run script.js > summary.txt`` captures the summary alone, and ``--log-output`` /
``--log-format`` / ``--verbose`` change every log line at once. greenws keeps the same promise
with this one module: :func:`get_logger` is the process's logger, configured once by the command
line (:func:`logger_from_flags`), and everything that logs (``console``, ``RunContext.report_error``,
warnings) goes through it.

The formats are k6 v2.2.0's, as its logrus settings print them:

- ``text`` on a terminal (stderr or stdout a TTY, ``TERM`` not ``dumb``, colours not turned
  off): ``INFO[0003] message`` with the level in colour, the message padded to 44 characters and
  the fields after it (``source=console``); the number is whole seconds since the process began.
- ``text`` anywhere else (a pipe, a file, ``--no-color``): logfmt,
  ``time="2026-01-02T03:04:05Z" level=info msg=message source=console``.
- ``json``: one object per line, keys sorted, ``{"level":…,"msg":…,"source":…,"time":…}``.
- ``raw``: the message alone.

A script's ``print`` is not a log line, but it must not land in the summary's stream either:
:func:`prints_to_stderr` points ``sys.stdout`` at stderr while script code can run, and greenws
writes what belongs on stdout (the summary, ``handle_summary``'s ``"stdout"``) to
:func:`summary_stdout`.

No gevent here: a line is one ``write``, so lines of several greenlets (or of several worker
processes appending to one file) never interleave.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

from greenws.outputs.file_destination import destination_problem

__all__ = [
    "FORMATS",
    "LEVELS",
    "LogConfigError",
    "Logger",
    "format_entry",
    "get_logger",
    "go_quote",
    "logger_from_flags",
    "prints_to_stderr",
    "rfc3339",
    "set_logger",
    "summary_stdout",
]

#: logrus's level names (``warning``, not ``warn``) and their order, least severe first.
LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
#: ``--log-format`` values k6 knows.
FORMATS = ("text", "json", "raw")

# logrus's colours (ANSI) and the four letters a terminal line starts with.
_COLOURS = {"debug": 37, "info": 36, "warning": 33, "error": 31}
_PADDED_MESSAGE = 44  # logrus pads the message so that fields line up
_BARE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._/@^+")
_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}
# Go's json encoder escapes these for HTML; Python's does not.
_JSON_HTML = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


class LogConfigError(ValueError):
    """A bad ``--log-output`` or ``--log-format``: one line, exit 104, before anything runs."""


# -- formats (plain values in, one line out) ----------------------------------------------------


def go_quote(text: str) -> str:
    """``text`` as Go's ``%q`` writes it, which logrus uses for values that need quotes."""
    out = ['"']
    for char in text:
        escaped = _GO_ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif char.isprintable():  # Python's and Go's "printable" are the same Unicode classes
            out.append(char)
        elif ord(char) < 0x20 or char == "\x7f":
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


def _logfmt_value(value: str) -> str:
    return value if all(char in _BARE for char in value) else go_quote(value)


def rfc3339(timestamp: float) -> str:
    """Local time to the second with its offset, ``Z`` for UTC: Go's ``time.RFC3339``."""
    moment = datetime.datetime.fromtimestamp(timestamp).astimezone()
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    offset = int((moment.utcoffset() or datetime.timedelta()).total_seconds()) // 60
    if offset == 0:
        return text + "Z"
    sign = "+" if offset > 0 else "-"
    return f"{text}{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"


def format_entry(
    level: str,
    message: str,
    fields: Mapping[str, str],
    *,
    fmt: str,
    colored: bool,
    timestamp: float,
    elapsed: float,
) -> str:
    """One log line, newline included, exactly as k6's logrus formatter for ``fmt`` prints it.

    ``elapsed`` (seconds since the process began) is the ``[0003]`` of a terminal line;
    ``timestamp`` (epoch seconds) the ``time`` of the others.
    """
    if fmt == "raw":
        return message + "\n"
    if fmt == "json":
        data = {**fields, "level": level, "msg": message, "time": rfc3339(timestamp)}
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        for char, escaped in _JSON_HTML.items():
            text = text.replace(char, escaped)
        return text + "\n"
    keys = sorted(fields)
    if colored:
        colour = _COLOURS[level]
        message = message.removesuffix("\n")
        head = f"\x1b[{colour}m{level.upper()[:4]}\x1b[0m[{int(elapsed):04d}]"
        tail = "".join(f" \x1b[{colour}m{key}\x1b[0m={_logfmt_value(fields[key])}" for key in keys)
        return f"{head} {message:<{_PADDED_MESSAGE}} {tail}\n"
    pairs = [("time", rfc3339(timestamp)), ("level", level)]
    if message:
        pairs.append(("msg", message))
    pairs += [(key, fields[key]) for key in keys]
    return " ".join(f"{key}={_logfmt_value(value)}" for key, value in pairs) + "\n"


# -- where lines go -----------------------------------------------------------------------------


def _is_terminal(stream: Any) -> bool:
    """k6's test: a TTY, unless ``TERM=dumb``."""
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Logger:
    """Writes entries at or above its level to one destination, in one format.

    ``destination`` is ``"stderr"``, ``"stdout"`` (both looked up at each write, so a replaced
    stream is honoured), ``"none"``, or an open file descriptor (``--log-output file=…``,
    appended to as k6 does).
    """

    def __init__(
        self,
        destination: str | int = "stderr",
        *,
        fmt: str = "text",
        level: str = "info",
        no_color: bool = False,
        started_at: float | None = None,
        name: str = "stderr",
    ) -> None:
        self.destination = destination
        self.fmt = fmt
        self.floor = LEVELS[level]
        #: Wall-clock time the ``[0003]`` counter starts from (a worker gets its coordinator's).
        self.started_at = time.time() if started_at is None else started_at
        #: How the user named the destination, for the one line a failed write gets.
        self.name = name
        stream = self._stream()
        self.tty = stream is not None and _is_terminal(stream)
        #: k6 colours text lines only on a terminal, and never with --no-color.
        self.colored = fmt == "text" and self.tty and not no_color
        self._write_failed = False

    def _stream(self) -> TextIO | None:
        if self.destination == "stderr":
            return sys.stderr
        if self.destination == "stdout":
            return summary_stdout()
        return None

    def enabled(self, level: str) -> bool:
        """Whether an entry of ``level`` would be written (``debug`` needs ``--verbose``)."""
        return LEVELS[level] >= self.floor and self.destination != "none"

    def log(self, level: str, message: str, fields: Mapping[str, str] | None = None) -> None:
        """Write one entry; never raises, so a lost log line never ends an iteration."""
        if not self.enabled(level):
            return
        now = time.time()
        line = format_entry(
            level,
            message,
            fields or {},
            fmt=self.fmt,
            colored=self.colored,
            timestamp=now,
            elapsed=max(0.0, now - self.started_at),
        )
        try:
            if isinstance(self.destination, int):
                data = line.encode("utf-8", "replace")
                while data:
                    data = data[os.write(self.destination, data) :]
                return
            stream = self._stream()
            if stream is not None:
                if self.tty:  # as k6: erase what a progress display left on the line
                    line = line.replace("\n", "\x1b[0K\n")
                stream.write(line)
                stream.flush()
        except (OSError, ValueError) as error:
            self._lost(error)

    def _lost(self, error: BaseException) -> None:
        """The first failed write says so once on stderr; later lines are dropped quietly."""
        if self._write_failed:
            return
        self._write_failed = True
        with contextlib.suppress(OSError, ValueError):
            reason = getattr(error, "strerror", None) or error
            sys.stderr.write(f"greenws: warning: --log-output {self.name}: {reason}; log lost\n")

    def debug(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        """An entry shown only with ``--verbose``."""
        self.log("debug", message, fields)

    def info(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        """An informational entry."""
        self.log("info", message, fields)

    def warn(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        """A warning (logrus level ``warning``, ``WARN`` on a terminal)."""
        self.log("warning", message, fields)

    def error(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        """An error (``ERRO`` on a terminal)."""
        self.log("error", message, fields)


_LOGGER = Logger()


def get_logger() -> Logger:
    """The process's logger (stderr, text, info and above until the command line sets it)."""
    return _LOGGER


def set_logger(logger: Logger) -> Logger:
    """Make ``logger`` the process's logger; returns the one it replaces."""
    global _LOGGER
    previous, _LOGGER = _LOGGER, logger
    return previous


def _file_destination(value: str) -> tuple[str, str]:
    """``file=PATH[,level=LEVEL]`` → (path, level), checked as k6 checks it."""
    path, level = "", "debug"
    for token in value.split(","):
        key, sep, argument = token.partition("=")
        if not sep or not argument:
            if key == "file":
                raise LogConfigError(f"--log-output {value}: expected file=PATH")
            raise LogConfigError(f"--log-output {value}: {key!r} has no value")
        if key == "file":
            path = argument
        elif key == "level":
            level = {"warn": "warning"}.get(argument, argument)
            if level not in LEVELS:
                raise LogConfigError(
                    f"--log-output {value}: unknown level {argument!r} "
                    f"(debug, info, warning, error)"
                )
        else:
            raise LogConfigError(f"--log-output {value}: unknown key {key!r} (file, level)")
    problem = destination_problem(path)
    if problem is not None:
        raise LogConfigError(f"--log-output {value}: {problem}")
    return path, level


def logger_from_flags(
    output: str | None,
    fmt: str | None,
    *,
    verbose: bool = False,
    no_color: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Logger:
    """The logger ``--log-output``, ``--log-format``, ``--verbose`` and ``--no-color`` ask for.

    Unset flags fall back to ``GREENWS_LOG_OUTPUT`` / ``GREENWS_LOG_FORMAT``, then k6's
    ``K6_LOG_OUTPUT`` / ``K6_LOG_FORMAT``; colours are off with ``GREENWS_NO_COLOR``,
    ``K6_NO_COLOR`` or ``NO_COLOR`` set, as in k6. A file is opened here, so a destination
    that cannot be written fails before the test starts (:class:`LogConfigError`).
    """
    env = os.environ if environ is None else environ

    def setting(flag: str | None, name: str, default: str) -> str:
        if flag is not None:
            return flag
        return env.get(f"GREENWS_{name}") or env.get(f"K6_{name}") or default

    output = setting(output, "LOG_OUTPUT", "stderr")
    fmt = setting(fmt, "LOG_FORMAT", "text")
    if fmt not in FORMATS:
        raise LogConfigError(f"--log-format {fmt!r} is not one of {', '.join(FORMATS)}")
    no_color = no_color or bool(env.get("GREENWS_NO_COLOR") or env.get("K6_NO_COLOR"))
    no_color = no_color or "NO_COLOR" in env
    floor = "debug" if verbose else "info"
    if output in ("stderr", "stdout", "none"):
        return Logger(output, fmt=fmt, level=floor, no_color=no_color, name=output)
    if output.partition("=")[0] == "file":
        path, level = _file_destination(output)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as error:
            raise LogConfigError(f"--log-output {output}: {error.strerror or error}") from None
        os.set_inheritable(descriptor, False)
        floor = max(floor, level, key=LEVELS.__getitem__)
        return Logger(descriptor, fmt=fmt, level=floor, no_color=True, name=output)
    if output.partition("=")[0] == "loki":
        raise LogConfigError(f"--log-output {output}: greenws has no Loki output (k6 has)")
    raise LogConfigError(
        f"--log-output {output!r} is not one of stderr, stdout, none, file=PATH[,level=LEVEL]"
    )


# -- print() and the summary's stream ----------------------------------------------------------

_REAL_STDOUT: list[TextIO] = []


@contextlib.contextmanager
def prints_to_stderr() -> Iterator[None]:
    """While script code may run, ``print()`` (any ``sys.stdout`` write) goes to stderr.

    k6 scripts have no ``print``; their ``console.log`` goes to stderr, and so ``k6 run … >
    summary.txt`` holds only the summary. A Python script's ``print`` keeps that promise this way.
    What greenws itself writes to stdout goes to :func:`summary_stdout`.
    """
    _REAL_STDOUT.append(sys.stdout)
    sys.stdout.flush()
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stdout = _REAL_STDOUT.pop()


def summary_stdout() -> TextIO:
    """The real stdout, even while :func:`prints_to_stderr` points ``sys.stdout`` elsewhere."""
    return _REAL_STDOUT[0] if _REAL_STDOUT else sys.stdout
