"""A VU's event loop for several sockets and the global ``set_timeout``/``set_interval`` timers.

The callback Socket of ``ws.connect`` is its own loop: one socket, the VU blocked in it. The
standard-API ``WebSocket`` (k6's ``k6/websockets``) lets one VU hold many sockets and k6's global
timers (``k6/timers``), so the VU needs one loop that waits on all of them and on the next timer
at once. Each connection gets a libev read watcher whose callback only marks the connection ready
and, if the VU is parked here, switches back into it; the VU's own greenlet then reads, parses
and runs handlers and timers one at a time. No greenlet is spent per connection, and handlers of
one VU never run concurrently (the invariant of DESIGN.md).

The loop is made on first use in an iteration (a ``WebSocket``, a timer, ``ws.open``). When the
iteration's function returns, :func:`call_and_drain` runs it until no socket is open and no timer
is pending, as k6 does; whatever is still open when the iteration ends otherwise (an exception,
the end of the test) is closed with 1000 and its session samples emitted.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import Any, Protocol

from gevent import get_hub, getcurrent

from greenws.runtime.timers import TimerQueue
from greenws.runtime.vu import VirtualUser, current_vu

__all__ = ["Closable", "LoopMember", "VULoop", "call_and_drain", "loop_of"]


class Closable(Protocol):
    """Anything the loop closes when the iteration ends (``ws.open`` sockets)."""

    def abort(self, code: int) -> None:
        """End now without running handlers: say goodbye with ``code``, emit session samples."""


class LoopMember(Closable, Protocol):
    """A connection the loop serves (see :class:`greenws.sockets.websocket.WebSocket`)."""

    def handle_ready(self) -> None:
        """Called on the VU's greenlet when the connection is readable or finished dialling."""


class VULoop:
    """One VU's loop over its connections and timers."""

    __slots__ = ("_active", "_greenlet", "_hub", "_owned", "_parked", "_ready", "timers")

    def __init__(self) -> None:
        self._hub = get_hub()
        self.timers = TimerQueue()
        #: Connections that keep the iteration alive (connecting, open or closing).
        self._active: set[Any] = set()
        #: Connections closed at the end of the iteration but not waited for (``ws.open``).
        self._owned: set[Any] = set()
        self._ready: deque[Any] = deque()
        self._parked = False
        self._greenlet: Any = None

    # -- connections ---------------------------------------------------------------------------

    def add(self, member: LoopMember) -> None:
        """``member`` keeps the iteration running until :meth:`remove`."""
        self._active.add(member)

    def remove(self, member: Closable) -> None:
        """``member`` is closed: it no longer keeps the iteration alive."""
        self._active.discard(member)
        self._owned.discard(member)

    def own(self, member: Closable) -> None:
        """Close ``member`` at the end of the iteration if the script did not (``ws.open``)."""
        self._owned.add(member)

    def watch(self, fd: int, member: LoopMember) -> Any:
        """A started read watcher for ``fd``; restart it with :meth:`rearm` after each read."""
        watcher = self._hub.loop.io(fd, 1)
        watcher.start(self._on_readable, watcher, member)
        return watcher

    def rearm(self, watcher: Any, member: LoopMember) -> None:
        """Watch again after a read (the watcher stops itself when it fires)."""
        watcher.start(self._on_readable, watcher, member)

    def _on_readable(self, watcher: Any, member: LoopMember) -> None:
        # Runs in the hub. Stopping keeps a level-triggered watcher from firing on every libev
        # turn while the VU is busy elsewhere (in a handler, in sleep(), in ws.connect).
        watcher.stop()
        self.mark_ready(member)

    def mark_ready(self, member: LoopMember) -> None:
        """Queue ``member`` for :meth:`LoopMember.handle_ready`; wake the VU if it waits here.

        Called in the hub (watcher callbacks) it switches straight into the VU. From any other
        greenlet (a background dial) the wake-up goes through the hub, so that greenlet is not
        left suspended forever by a direct switch.
        """
        self._ready.append(member)
        if self._parked:
            if getcurrent() is self._hub:
                self._parked = False
                self._greenlet.switch()
            else:
                self._hub.loop.run_callback(self._on_timer)

    # -- timers (k6/timers) --------------------------------------------------------------------

    def set_timeout(self, callback: Callable[..., Any], delay_ms: float, *args: Any) -> int:
        """Run ``callback(*args)`` once, ``delay_ms`` milliseconds from now."""
        function = _bind(callback, args)
        return self.timers.add(monotonic(), float(delay_ms) / 1000.0, function)

    def set_interval(self, callback: Callable[..., Any], interval_ms: float, *args: Any) -> int:
        """Run ``callback(*args)`` every ``interval_ms`` milliseconds until cleared."""
        if interval_ms <= 0:
            raise ValueError(f"set_interval: interval must be positive, got {interval_ms!r}")
        function = _bind(callback, args)
        return self.timers.add(monotonic(), float(interval_ms) / 1000.0, function, repeat=True)

    def clear(self, timer_id: int | None) -> None:
        """Cancel a timeout or interval; unknown or fired ids are ignored, as in JavaScript."""
        if timer_id is not None:
            self.timers.cancel(timer_id)

    # -- running -------------------------------------------------------------------------------

    def run(self) -> None:
        """Serve connections and timers on the calling (VU) greenlet until nothing is left."""
        self._greenlet = getcurrent()
        ready = self._ready
        timers = self.timers
        while self._active or ready or len(timers):
            # Everything readable now first, then due timers: a flooding socket cannot starve
            # the timers, and a timer cannot starve a socket.
            for _ in range(len(ready)):
                ready.popleft().handle_ready()
            deadline = timers.next_deadline()
            if deadline is not None:
                now = monotonic()
                if deadline <= now:
                    for callback in timers.due(now):
                        callback()
                    continue
            if ready:
                continue
            if self._active or deadline is not None:
                self._park(None if deadline is None else deadline - monotonic())

    def _park(self, timeout: float | None) -> None:
        timer = None
        if timeout is not None:
            timer = self._hub.loop.timer(max(timeout, 0.0))
            timer.start(self._on_timer)
        self._parked = True
        try:
            self._hub.switch()
        finally:
            self._parked = False
            if timer is not None:
                timer.close()

    def _on_timer(self) -> None:
        if self._parked:
            self._parked = False
            self._greenlet.switch()

    def shutdown(self, code: int = 1000) -> None:
        """The iteration is over: close what is still open with ``code``, forget the timers."""
        self.timers.clear()
        self._ready.clear()
        for member in [*self._active, *self._owned]:
            with contextlib.suppress(Exception):
                member.abort(code)
        self._active.clear()
        self._owned.clear()


def _bind(callback: Callable[..., Any], args: tuple[Any, ...]) -> Callable[[], Any]:
    if not callable(callback):
        raise TypeError(f"timer callback must be callable, not {type(callback).__name__}")
    if not args:
        return callback
    return lambda: callback(*args)


def loop_of(vu: VirtualUser | None = None) -> VULoop:
    """The running VU's loop, made on first use in this iteration."""
    if vu is None:
        vu = current_vu()
    loop: VULoop | None = vu.event_loop
    if loop is None:
        loop = vu.event_loop = VULoop()
    return loop


def call_and_drain(vu: VirtualUser, function: Callable[..., Any], *args: Any) -> Any:
    """Run ``function(*args)`` as an iteration body: then its sockets and timers until done.

    However the body ends, whatever it left open is closed with 1000 (k6 closes the sockets of
    an ended iteration; the callback Socket's ``1001`` on interruption is kept for ``ws.connect``).
    """
    try:
        # Not ``function(*args)`` for the usual zero or one argument: CPython 3.11 runs a
        # star-call through C (CALL_FUNCTION_EX), a second interpreter frame on the C stack
        # that every parked VU greenlet keeps a copy of (368 bytes a VU, ``_stack_saved``).
        if not args:
            result = function()
        elif len(args) == 1:
            result = function(args[0])
        else:
            result = function(*args)
        loop = vu.event_loop
        if loop is not None:
            loop.run()
        return result
    finally:
        loop = vu.event_loop
        if loop is not None:
            vu.event_loop = None
            loop.shutdown(1000)
