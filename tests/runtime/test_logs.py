"""k6's log line formats, byte for byte, and the checks of ``--log-output`` / ``--log-format``.

Plain values in, one line out: what k6 v2.2.0's logrus settings print (``internal/cmd/root.go``
``setupLoggers``; logrus's text and JSON formatters), so tools that read k6's logs read these.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenws.runtime.logs import (
    LogConfigError,
    format_entry,
    go_quote,
    logger_from_flags,
    rfc3339,
)

NOON = 1767355200.0  # 2026-01-02T12:00:00Z
CONSOLE = {"source": "console"}


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC for the test (Go prints local time, as does greenws)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def line(level: str, message: str, fields: dict[str, str], fmt: str = "text", **kw: bool) -> str:
    colored = kw.get("colored", False)
    return format_entry(
        level, message, fields, fmt=fmt, colored=colored, timestamp=NOON, elapsed=3.9
    )


def test_rfc3339_is_go_s_z_for_utc_and_an_offset_otherwise(
    monkeypatch: pytest.MonkeyPatch, utc: None
) -> None:
    assert rfc3339(NOON) == "2026-01-02T12:00:00Z"
    monkeypatch.setenv("TZ", "IST-5:30")  # POSIX: 5 h 30 east of UTC
    time.tzset()
    assert rfc3339(NOON) == "2026-01-02T17:30:00+05:30"
    monkeypatch.setenv("TZ", "EST+5")
    time.tzset()
    assert rfc3339(NOON) == "2026-01-02T07:00:00-05:00"


def test_a_pipe_gets_logfmt_with_time_level_msg_then_sorted_fields(utc: None) -> None:
    assert line("info", "hello world", CONSOLE) == (
        'time="2026-01-02T12:00:00Z" level=info msg="hello world" source=console\n'
    )
    # bare words are not quoted; warn is logrus's "warning"; fields sort by name
    assert line("warning", "hello", {"source": "console", "a": "b c"}) == (
        'time="2026-01-02T12:00:00Z" level=warning msg=hello a="b c" source=console\n'
    )
    # an empty message leaves msg out, as logrus does
    assert line("error", "", CONSOLE) == (
        'time="2026-01-02T12:00:00Z" level=error source=console\n'
    )


def test_a_terminal_gets_k6s_coloured_line_with_the_seconds_and_a_padded_message() -> None:
    assert line("info", "hello", CONSOLE, colored=True) == (
        "\x1b[36mINFO\x1b[0m[0003] " + "hello".ljust(44) + "  \x1b[36msource\x1b[0m=console\n"
    )
    assert line("error", "boom", {}, colored=True) == (
        "\x1b[31mERRO\x1b[0m[0003] " + "boom".ljust(44) + " \n"
    )
    assert line("warning", "w", {}, colored=True).startswith("\x1b[33mWARN\x1b[0m[0003] w ")
    assert line("debug", "d", {}, colored=True).startswith("\x1b[37mDEBU\x1b[0m[0003] d ")
    long = "x" * 60  # longer than the padding: nothing is cut
    assert f"] {long}  \x1b[36msource" in line("info", long, CONSOLE, colored=True)


def test_values_are_quoted_as_go_quotes_them() -> None:
    assert go_quote('say "hi"\\') == '"say \\"hi\\"\\\\"'
    assert go_quote("a\tb\nc\x01\x7f") == '"a\\tb\\nc\\x01\\x7f"'
    assert go_quote("zero\u200bwidth") == '"zero\\u200bwidth"'  # a format character
    assert go_quote("héllo ✓ 🙂") == '"héllo ✓ 🙂"'  # printable stays as it is
    assert line("info", "a=b", {}).split(" ", 2)[2] == 'msg="a=b"\n'
    assert line("info", "v1.2_x/y@z^+-", {}).split(" ", 2)[2] == "msg=v1.2_x/y@z^+-\n"


def test_json_is_one_object_per_line_with_sorted_keys_and_go_s_html_escapes(utc: None) -> None:
    text = line("info", 'a <b> & "c"\n\u2028', CONSOLE, fmt="json")
    assert text == (
        '{"level":"info","msg":"a \\u003cb\\u003e \\u0026 \\"c\\"\\n\\u2028",'
        '"source":"console","time":"2026-01-02T12:00:00Z"}\n'
    )
    assert json.loads(text) == {
        "level": "info",
        "msg": 'a <b> & "c"\n\u2028',
        "source": "console",
        "time": "2026-01-02T12:00:00Z",
    }
    assert json.loads(line("warning", "x", {}, fmt="json"))["level"] == "warning"


def test_raw_is_the_message_alone() -> None:
    assert line("info", "just this", CONSOLE, fmt="raw") == "just this\n"


def test_flags_and_environment_choose_format_and_level(tmp_path: Path) -> None:
    assert logger_from_flags(None, None, environ={}).fmt == "text"
    assert logger_from_flags(None, None, environ={"K6_LOG_FORMAT": "json"}).fmt == "json"
    both = {"K6_LOG_FORMAT": "json", "GREENWS_LOG_FORMAT": "raw"}
    assert logger_from_flags(None, None, environ=both).fmt == "raw"
    assert logger_from_flags(None, "text", environ=both).fmt == "text"  # the flag wins
    assert logger_from_flags("none", None, environ={}).enabled("error") is False
    quiet = logger_from_flags(None, None, environ={})
    assert not quiet.enabled("debug") and quiet.enabled("info")
    assert logger_from_flags(None, None, verbose=True, environ={}).enabled("debug")
    path = tmp_path / "k6.log"
    filtered = logger_from_flags(f"file={path},level=warning", None, verbose=True, environ={})
    assert not filtered.enabled("info") and filtered.enabled("warning")
    assert filtered.colored is False  # a file never gets colours


def test_a_log_file_is_appended_to_as_k6_does(tmp_path: Path) -> None:
    path = tmp_path / "k6.log"
    path.write_text("an earlier run\n", encoding="utf-8")
    logger = logger_from_flags(f"file={path}", "raw", environ={})
    logger.info("this run", CONSOLE)
    assert path.read_text(encoding="utf-8") == "an earlier run\nthis run\n"
    fresh = tmp_path / "fresh.log"
    logger_from_flags(f"file={fresh}", None, environ={})
    assert os.stat(fresh).st_mode & 0o777 == 0o600  # k6's mode: logs may hold secrets


@pytest.mark.parametrize(
    ("output", "fmt", "expected"),
    [
        ("stderr", "xml", "--log-format 'xml' is not one of text, json, raw"),
        ("syslog", "text", "--log-output 'syslog' is not one of stderr, stdout, none, file="),
        ("loki=http://127.0.0.1:3100", "text", "greenws has no Loki output"),
        ("file", "text", "--log-output file: expected file=PATH"),
        ("file=", "text", "--log-output file=: expected file=PATH"),
        ("file={dir}/x.log,colour=red", "text", "unknown key 'colour'"),
        ("file={dir}/x.log,level=loud", "text", "unknown level 'loud'"),
        ("file={dir}/missing/x.log", "text", "directory {dir}/missing does not exist"),
        ("file={dir}", "text", "{dir} is a directory"),
    ],
    ids=[
        "format",
        "output",
        "loki",
        "file-alone",
        "file-empty",
        "file-key",
        "file-level",
        "file-dir",
        "file-is-dir",
    ],
)
def test_bad_values_are_refused_with_a_line_that_names_them(
    tmp_path: Path, output: str, fmt: str, expected: str
) -> None:
    with pytest.raises(LogConfigError) as raised:
        logger_from_flags(output.format(dir=tmp_path), fmt, environ={})
    assert expected.format(dir=tmp_path) in str(raised.value)
    assert "\n" not in str(raised.value)
