"""``--summary-mode full`` end to end: real runs against the echo server, blocks read off stdout.

Counts only (sessions, messages, iterations, checks), never timings: every one of them is fixed
by the script, so each block's numbers are known exactly.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from greenws_runner import run_greenws

SCRIPT = """
import os
from greenws import ws, check, group, Counter

options = {OPTIONS}
history_reads = Counter("history_reads")

def echo(messages):
    def session(socket):
        left = [messages]
        def on_message(message):
            left[0] -= 1
            if left[0]:
                socket.send("again")
            else:
                socket.close(1000)
        socket.on("open", lambda: socket.send("hello"))
        socket.on("message", on_message)
    return ws.connect(os.environ["TARGET"], None, session)

def default():
    res = echo(1)
    check(res, {"status is 101": lambda r: r.status == 101})

def writer():
    def chat():
        res = echo(2)
        check(res, {"chat status is 101": lambda r: r.status == 101})
        group("history", lambda: history_reads.add(1))
    group("chat", chat)
"""

NAMED = (
    '{"scenarios": {'
    '"readers": {"executor": "shared-iterations", "vus": 2, "iterations": 4},'
    '"writers": {"executor": "per-vu-iterations", "vus": 1, "iterations": 3, "exec": "writer"}'
    "}}"
)

TITLE = re.compile(r"^ *[█↳] ")


def blocks(stdout: str) -> dict[str, list[str]]:
    """Each titled block of the summary (``█ SCENARIO: readers``, ``↳ GROUP: chat``) -> its
    lines up to the next title; nested titles are keyed by their path (``writers/chat``)."""
    found: dict[str, list[str]] = {}
    path: list[tuple[int, str]] = []
    current: list[str] = []
    for line in stdout.split("\n"):
        if TITLE.match(line):
            depth = len(line) - len(line.lstrip())
            name = line.strip()[2:].split(": ", 1)[-1]
            path = [(d, n) for d, n in path if d < depth] + [(depth, name)]
            current = found.setdefault("/".join(n for _, n in path), [])
        else:
            current.append(line)
    return found


def numbers(lines: list[str]) -> dict[str, str]:
    """``name -> first value`` of every metric line of a block."""
    found = {}
    for line in lines:
        match = re.match(r"^ *(\w+)\.+: (\S+)", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


@pytest.mark.parametrize("workers", [None, "2"], ids=["one-process", "two-workers"])
def test_full_mode_prints_each_scenario_and_group(
    tmp_path: Path, echo_server, workers: str | None
) -> None:
    extra = ["--workers", workers] if workers else []
    result = run_greenws(
        tmp_path,
        SCRIPT.replace("{OPTIONS}", NAMED),
        "--summary-mode",
        "full",
        *extra,
        env={"TARGET": echo_server.url},
    )
    assert result.returncode == 0, result.stderr
    found = blocks(result.stdout)
    # Named scenarios: no top-level GROUP block, the groups are inside their scenario.
    assert list(found)[-5:] == [
        "TOTAL RESULTS",
        "readers",
        "writers",
        "writers/chat",
        "writers/chat/history",
    ]
    total = numbers(found["TOTAL RESULTS"])
    assert (total["iterations"], total["ws_sessions"], total["ws_msgs_sent"]) == ("7", "7", "10")

    readers = numbers(found["readers"])
    assert readers["checks_total"] == "4"
    assert (readers["iterations"], readers["ws_sessions"], readers["ws_msgs_sent"]) == (
        "4",
        "4",
        "4",
    )
    assert "vus" not in readers  # no scenario tag: in TOTAL RESULTS only, as in k6
    assert "    ✓ status is 101" in found["readers"]

    writers = numbers(found["writers"])  # the whole scenario, its groups' samples included
    assert writers["checks_total"] == "3"
    assert (writers["iterations"], writers["ws_sessions"], writers["ws_msgs_sent"]) == (
        "3",
        "3",
        "6",
    )
    assert writers["history_reads"] == "3"
    assert "    ✓ chat status is 101" in found["writers"]

    chat = numbers(found["writers/chat"])  # the group's own samples only
    assert (chat["checks_total"], chat["ws_sessions"], chat["ws_msgs_sent"]) == ("3", "3", "6")
    assert "history_reads" not in chat and "iterations" not in chat
    assert "      ✓ chat status is 101" in found["writers/chat"]

    history = numbers(found["writers/chat/history"])
    assert history == {"history_reads": "3"}

    # The export stays k6's file; the blocks travel in greenws_state for greenws merge.
    assert "breakdown" not in result.summary
    assert "breakdown" in result.summary["greenws_state"]["aggregator"]


def test_without_named_scenarios_groups_are_top_level_blocks(tmp_path: Path, echo_server) -> None:
    script = SCRIPT.replace("{OPTIONS}", '{"vus": 1, "iterations": 2}').replace(
        "def default():\n    res = echo(1)", "def default():\n    writer()\n    res = echo(1)"
    )
    result = run_greenws(
        tmp_path, script, "--summary-mode", "full", env={"TARGET": echo_server.url}
    )
    assert result.returncode == 0, result.stderr
    found = blocks(result.stdout)
    # The derived "default" scenario prints no SCENARIO block.
    assert list(found)[-3:] == ["TOTAL RESULTS", "chat", "chat/history"]
    chat = numbers(found["chat"])
    assert (chat["checks_total"], chat["ws_sessions"], chat["ws_msgs_sent"]) == ("2", "2", "4")
    assert numbers(found["chat/history"]) == {"history_reads": "2"}


def test_compact_mode_prints_no_blocks(tmp_path: Path, echo_server) -> None:
    result = run_greenws(
        tmp_path, SCRIPT.replace("{OPTIONS}", NAMED), env={"TARGET": echo_server.url}
    )
    assert result.returncode == 0, result.stderr
    assert list(blocks(result.stdout))[-1] == "TOTAL RESULTS"
    assert "breakdown" not in result.summary["greenws_state"]["aggregator"]
