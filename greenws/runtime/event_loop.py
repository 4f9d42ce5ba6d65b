"""A VU's event loop for several sockets and the global ``set_timeout``/``set_interval`` timers.

The callback Socket of ``ws.connect`` is its own loop: one socket, the VU blocked in it. The
standard-API ``WebSocket`` (k6's ``k6/websockets``) lets one VU hold many sockets and k6's global
timers (``k6/timers``), so the VU needs one loop that waits on all of them and on the next timer
at once. Each connection gets a libev read watcher; when it fires while the VU is parked here,
its callback switches straight into the VU with the connection (no queue, and the watcher stays
started: the next message needs no restart); when the VU is busy elsewhere (a ``sleep``, a
blocking write) it stops the watcher and queues the connection. The VU's own greenlet then
reads, parses and runs handlers and timers one at a time. No greenlet is spent per connection,
and handlers of one VU never run concurrently (the invariant of DESIGN.md).

A new connection's dial waits for the VU too (:meth:`VULoop.dial_later`): if the VU reaches
this loop with nothing else to serve, the dial runs right here on its greenlet; if the VU
yields first (a ``sleep``) or has other sockets or timers to serve, the dial gets a greenlet
of its own at that yield, exactly when the greenlet spawned at construction used to start.

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

__all__ = ["Closable", "Dialling", "LoopMember", "VULoop", "call_and_drain", "loop_of"]


class Closable(Protocol):
    """Anything the loop closes when the iteration ends (``ws.open`` sockets)."""

    def abort(self, code: int) -> None:
        """End now without running handlers: say goodbye with ``code``, emit session samples."""


class LoopMember(Closable, Protocol):
    """A connection the loop serves (see :class:`greenws.sockets.websocket.WebSocket`)."""

    def handle_ready(self) -> None:
        """Called on the VU's greenlet when the connection is readable or finished dialling."""


class Dialling(LoopMember, Protocol):
    """A connection whose dial waits for :meth:`VULoop.dial_later` to start it."""

    def dial_here(self) -> None:
        """Dial on the calling (VU) greenlet, then handle the outcome (``open`` or ``error``)."""

    def start_dial(self) -> None:
        """Dial in a greenlet of its own (called in the hub); :meth:`VULoop.mark_ready` after."""


class VULoop:
    """One VU's loop over its connections and timers."""

    __slots__ = (
        "_active",
        "_dial_start",
        "_greenlet",
        "_hub",
        "_owned",
        "_parked",
        "_pending",
        "_ready",
        "timers",
    )

    def __init__(self) -> None:
        self._hub = get_hub()
        self.timers = TimerQueue()
        #: Connections that keep the iteration alive (connecting, open or closing).
        self._active: set[Any] = set()
        #: Connections closed at the end of the iteration but not waited for (``ws.open``).
        self._owned: set[Any] = set()
        #: What to run next on the VU's greenlet: readable connections' ``handle_ready``,
        #: finished dials, due deadlines.
        self._ready: deque[Callable[[], None]] = deque()
        #: Connections whose dial has not started (see :meth:`dial_later`), and the hub callback
        #: that gives them greenlets if the VU yields before its loop can dial them itself.
        self._pending: list[Any] = []
        self._dial_start: Any = None
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
        if self._pending and member in self._pending:
            self._pending.remove(member)

    def dial_later(self, member: Dialling) -> None:
        """Start ``member``'s dial when the VU has nothing else to do, on the VU's greenlet.

        A greenlet per dial cost a run-queue hop, a switch into it, the greenlet's own page of
        the interpreter's frame stack (an mmap/munmap pair per session) and a second hop back
        to the VU with the result. When the VU reaches :meth:`run` with this dial the only thing
        it waits for, nothing can happen meanwhile that the VU would have to serve, so the dial
        runs right there. Otherwise (several dials, timers, other sockets, or the VU yields
        before reaching its loop) a hub callback starts each dial in a greenlet at the VU's next
        yield, when the greenlet ``gevent.spawn`` made in the constructor used to start.
        """
        self._pending.append(member)
        if self._dial_start is None:
            self._dial_start = self._hub.loop.run_callback(self._start_dials)

    def _start_dials(self) -> None:
        # Runs in the hub: the VU yielded with dials not started.
        self._dial_start = None
        pending, self._pending = self._pending, []
        for member in pending:
            member.start_dial()

    def _dial_here(self) -> None:
        callback, self._dial_start = self._dial_start, None
        if callback is not None:
            callback.stop()
        self._pending.pop().dial_here()

    def own(self, member: Closable) -> None:
        """Close ``member`` at the end of the iteration if the script did not (``ws.open``)."""
        self._owned.add(member)

    def watch(self, fd: int, member: LoopMember, watcher: Any = None) -> Any:
        """A started read watcher for ``fd``; restart it with :meth:`rearm` if it was stopped.

        ``watcher`` is a stopped read watcher the connection already has for ``fd`` (the plain
        transport's): reusing it spares a watcher, the ``fcntl`` gevent makes to check a new
        one's fd and an ``epoll_ctl`` that libev retries when a second watcher adds the fd.
        """
        if watcher is None:
            watcher = self._hub.loop.io(fd, 1)
        watcher.start(self._on_readable, watcher, member.handle_ready)
        return watcher

    def rearm(self, watcher: Any, member: LoopMember) -> None:
        """Watch again after a read that found the watcher stopped (see ``_on_readable``)."""
        watcher.start(self._on_readable, watcher, member.handle_ready)

    def _on_readable(self, watcher: Any, handle: Callable[[], None]) -> None:
        # Runs in the hub. A VU parked here gets the connection's handler with the switch
        # (``_park`` returns it) and the watcher stays started: a message costs no queue and no
        # restart. Otherwise the VU is busy elsewhere (sleep(), a blocking write, ws.connect):
        # stopping keeps the level-triggered watcher from firing on every libev turn until it
        # is back, and the handler waits in the queue (the connection restarts its watcher
        # after the read: see ``WebSocket.handle_ready``).
        if self._parked:
            self._parked = False
            self._greenlet.switch(handle)
        else:
            watcher.stop()
            self._ready.append(handle)

    def mark_ready(self, member: LoopMember) -> None:
        """Queue ``member`` for :meth:`LoopMember.handle_ready`; wake the VU if it waits here.

        Called in the hub it switches straight into the VU. From any other greenlet (a
        background dial) the wake-up goes through the hub, so that greenlet is not left
        suspended forever by a direct switch.
        """
        self._ready.append(member.handle_ready)
        if self._parked:
            if getcurrent() is self._hub:
                self._parked = False
                self._greenlet.switch()
            else:
                self._hub.loop.run_callback(self._on_timer)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Any:
        """Run ``callback`` on the VU's greenlet ``delay`` seconds from now, like a ready
        connection; returns the libev timer, whose ``close()`` cancels it.

        For a connection's own deadline (the close handshake's): a libev timer is cheaper than
        an entry in :attr:`timers`, which also made every wait while closing start a timer of
        its own.
        """
        timer = self._hub.loop.timer(delay)
        timer.start(self._on_due, callback)
        return timer

    def _on_due(self, callback: Callable[[], None]) -> None:
        # Runs in the hub, as _on_readable.
        if self._parked:
            self._parked = False
            self._greenlet.switch(callback)
        else:
            self._ready.append(callback)

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
        heap = timers._heap  # empty: no timer pending, and no call to ask (stable list)
        active = self._active
        while True:
            # Everything readable now first, then due timers: a flooding socket cannot starve
            # the timers, and a timer cannot starve a socket.
            if ready:
                for _ in range(len(ready)):
                    ready.popleft()()
            deadline = timers.next_deadline() if heap else None
            if deadline is not None:
                now = monotonic()
                if deadline <= now:
                    for callback in timers.due(now):
                        callback()
                    continue
            elif not active:
                if ready:
                    continue
                return
            if ready:
                continue
            pending = self._pending
            if pending and deadline is None and len(pending) == len(active) == 1:
                self._dial_here()  # the only thing left to wait for: dial it on this greenlet
                continue
            woken = self._park(None if deadline is None else deadline - monotonic())
            if woken:  # a readable connection's handler or a due deadline (_on_readable, _on_due)
                woken()

    def _park(self, timeout: float | None) -> Any:
        """Wait in the hub; returns what ``_on_readable`` or ``_on_due`` woke the VU to run,
        or ``()`` (a timer here, or a wake-up from ``mark_ready``)."""
        timer = None
        if timeout is not None:
            timer = self._hub.loop.timer(max(timeout, 0.0))
            timer.start(self._on_timer)
        self._parked = True
        try:
            return self._hub.switch()
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
        self._pending.clear()
        if self._dial_start is not None:
            self._dial_start.stop()
            self._dial_start = None
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
