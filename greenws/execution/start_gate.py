"""A coordinated start for runners on several machines: ``--start-at`` and ``--barrier DIR``.

Runners of one distributed test (k6-operator's pods, a Job's indexed pods, boxes started by hand)
come up seconds or minutes apart; each starting as soon as it is ready skews the first part of
the test, and a runner that never comes up at all goes unnoticed. Two ways to line them up:

- ``--start-at TIME``: every runner waits until the same wall-clock instant (RFC 3339, e.g.
  ``2026-12-06T18:30:00Z``, or Unix seconds). Needs synchronised clocks (NTP), nothing else.
- ``--barrier DIR``: a directory every runner can see (the Job's shared volume). A runner knows
  from its ``--execution-segment-sequence`` how many runners the test has and which one it is;
  it writes a check-in file named after its segment and waits until every segment has checked in.
  The start instant is then the latest check-in time plus a lead of ``LEAD_S`` seconds: every
  runner reads the same files, so every runner computes the same instant without talking to the
  others. A runner that does not arrive within ``--barrier-timeout`` makes the others fail with
  exit 123 (``--barrier-missing fail``, the default), or start without it after one warning that
  names the missing segments (``--barrier-missing start``): the first runner to time out writes
  ``start.json`` with the instant, and the others take it from there. A runner that checks in
  after the test started without it fails at once instead of running a late, partial segment.

A runner whose own check-in file already exists stops: either another runner was given the
same segment or the directory is left over from an earlier test; both would corrupt the result.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from greenws.options.segments import ExecutionTuple

__all__ = ["LEAD_S", "StartGateError", "barrier_start", "parse_start_at", "wait_until"]

#: Seconds between the last check-in and the start: time for every runner to see the last file
#: (shared volumes cache directory listings; polling is every POLL_S).
LEAD_S = 2.0
POLL_S = 0.1
START_FILE = "start.json"


class StartGateError(Exception):
    """The runner must not start; ``code`` is its exit code, the message one line."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def parse_start_at(text: str) -> float:
    """``--start-at``: RFC 3339 / ISO 8601 (a missing zone is UTC) or Unix seconds → Unix time.

    Raises:
        ValueError: with a one-line message naming the value.
    """
    raw = text.strip()
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--start-at {text!r}: expected an RFC 3339 time such as 2026-12-06T18:30:00Z "
            "or Unix seconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def wait_until(instant: float, sleep: Callable[[float], None] = time.sleep) -> None:
    """Sleep until Unix time ``instant`` (at once if it has passed)."""
    while True:
        left = instant - time.time()
        if left <= 0:
            return
        sleep(min(left, 1.0))


def _file_name(segment: str) -> str:
    return "segment-" + segment.replace("/", "_").replace(":", "-") + ".json"


def _read_json(path: Path) -> dict[str, object] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # not there yet, or half-written by a non-atomic volume
        return None
    return value if isinstance(value, dict) else None


def _write_atomically(path: Path, document: dict[str, object], *, exclusive: bool) -> bool:
    """Write ``document`` to ``path`` all at once; with ``exclusive``, False if it exists."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document), encoding="utf-8")
    try:
        if exclusive:
            try:
                os.link(temporary, path)  # atomic, and fails if another runner got there first
            except FileExistsError:
                return False
        else:
            os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return True


def barrier_start(
    directory: str | Path,
    execution: ExecutionTuple,
    *,
    timeout: float,
    missing: str,
    warn: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Check in to the barrier in ``directory`` and return the Unix time to start at.

    ``missing`` is ``"fail"`` or ``"start"`` (what to do when the others have not all arrived
    after ``timeout`` seconds); ``warn`` logs one line.

    Raises:
        StartGateError: this runner must not start (exit 123 for a barrier that timed out or a
            test that started without this runner; 104 for a directory that cannot be used).
    """
    from greenws.exit_codes import EXIT

    folder = Path(directory)
    segments = [str(s) for s in execution.sequence.segments]
    mine = str(execution.segment)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        started = _read_json(folder / START_FILE)
        if started is not None and float(str(started.get("at", 0))) < time.time():
            raise StartGateError(
                f"--barrier {folder}: the test started at {_when(float(str(started['at'])))} "
                f"without segment {mine} (it arrived after --barrier-timeout)",
                EXIT["barrier_timeout"],
            )
        checked_in = time.time()
        document: dict[str, object] = {
            "segment": mine,
            "sequence": str(execution.sequence),
            "checked_in": checked_in,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        if not _write_atomically(folder / _file_name(mine), document, exclusive=True):
            raise StartGateError(
                f"--barrier {folder}: segment {mine} has already checked in there (two runners "
                "with the same segment, or a directory left from an earlier test: use a fresh one)",
                EXIT["config"],
            )
    except OSError as error:
        raise StartGateError(
            f"--barrier {folder}: cannot use it: {error.strerror or error}", EXIT["config"]
        ) from None
    deadline = checked_in + timeout
    while True:
        started = _read_json(folder / START_FILE)
        times = {}
        for segment in segments:
            found = _read_json(folder / _file_name(segment))
            if found is not None:
                times[segment] = float(str(found.get("checked_in", 0)))
        if started is not None:  # a runner timed out and set the start for all who are here
            gone = ", ".join(s for s in segments if s not in times)
            if gone:
                warn(f"barrier: starting without segment(s) {gone} (another runner timed out)")
            return float(str(started.get("at", 0)))
        if len(times) == len(segments):
            return max(times.values()) + LEAD_S
        if time.time() >= deadline:
            names = ", ".join(s for s in segments if s not in times)
            if missing == "fail":
                raise StartGateError(
                    f"--barrier {folder}: {len(times)} of {len(segments)} runners checked in "
                    f"within {timeout:g}s; missing segment(s) {names} (--barrier-missing start "
                    "runs without them)",
                    EXIT["barrier_timeout"],
                )
            at = time.time() + LEAD_S
            if _write_atomically(folder / START_FILE, {"at": at}, exclusive=True):
                warn(
                    f"barrier: starting without segment(s) {names}: {len(times)} of "
                    f"{len(segments)} runners checked in within {timeout:g}s; greenws merge "
                    "will report the test incomplete"
                )
                return at
            continue  # another runner wrote the start first: read it on the next turn
        sleep(POLL_S)


def _when(instant: float) -> str:
    return datetime.fromtimestamp(instant, timezone.utc).isoformat(timespec="milliseconds")
