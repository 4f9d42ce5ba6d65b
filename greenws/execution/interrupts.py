"""Ctrl+C and SIGTERM: stop gracefully the first time, and always be able to stop for good.

gevent's own signal watchers run in the hub, so a VU stuck in a busy loop (a handler doing
``while True: pass``) would make the process deaf to every signal: only SIGKILL ended it. These
handlers are Python's own instead: CPython runs them in the main thread between two bytecodes,
in whatever greenlet is running, even a spinning one. The handler itself only asks the hub to
start the graceful stop; when that cannot happen (the hub never gets a turn) a second Ctrl+C, or a
SIGTERM once the grace period has passed, ends the process at once, after saying which VU was
running which line of the script.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from gevent import get_hub, getcurrent

__all__ = ["GRACE_PERIOD", "InterruptHandler", "running_where"]

#: How long after the first signal a SIGTERM counts as the same request repeated (an orchestrator
#: may signal a whole process group): later, a SIGTERM ends the process at once.
GRACE_PERIOD = 5.0


def running_where(frame: FrameType | None, script_path: str) -> str:
    """Where the interrupted code was: the innermost frame of the script, else the innermost one."""
    innermost = frame
    while frame is not None:
        if frame.f_code.co_filename == script_path:
            return f"{script_path}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    if innermost is None:
        return "an unknown place"
    code = innermost.f_code
    return f"{code.co_filename}:{innermost.f_lineno} in {code.co_name} (not in the script)"


class InterruptHandler:
    """Installed for SIGINT and SIGTERM while a test runs."""

    def __init__(
        self,
        graceful_stop: Callable[[], None],
        script_path: str,
        exit_code: int,
        announce: bool = True,
    ) -> None:
        self._graceful_stop = graceful_stop
        self._announce = announce
        self._script_path = script_path
        self._exit_code = exit_code
        self._first_at: float | None = None
        self._loop = get_hub().loop

    def install(self) -> None:
        """Take SIGINT and SIGTERM from here on."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if self._first_at is None:
            self._first_at = now
            if self._announce:  # said here, at once: the hub may not get a turn to say it
                os.write(2, b"\nstopping the test (interrupt again to exit now)...\n")
            # The graceful stop spawns greenlets and prints: the hub's work, not a signal
            # handler's (this may run inside a VU, between any two bytecodes).
            self._loop.run_callback_threadsafe(self._graceful_stop)
            return
        if signum == signal.SIGINT or now - self._first_at >= GRACE_PERIOD:
            self._exit_now(signum, frame)

    def _exit_now(self, signum: int, frame: FrameType | None) -> None:
        vu: Any = getattr(getcurrent(), "vu", None)
        if vu is None:
            running = "no VU was running"
        else:
            running = f"VU {vu.id} was running {running_where(frame, self._script_path)}"
        name = signal.Signals(signum).name
        # os.write, not print: this may interrupt a print to stderr half-way.
        os.write(2, f"\n{name} again: exiting now ({running})\n".encode())
        os._exit(self._exit_code)
