"""A virtual user: one greenlet, its identity, tags and group path, and how an iteration runs.

Script API calls (``check``, ``group``, custom metrics, ``ws.connect``) find their VU through
:func:`current_vu`, an attribute lookup on the running greenlet: no thread-locals, no globals per VU.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import time
import traceback
from collections.abc import Callable
from types import CodeType, FunctionType
from typing import TYPE_CHECKING, Any

import gevent
from gevent import Greenlet, GreenletExit, get_hub

# greenlet's own class, as gevent's hub names it (greenlet ships no type hints; gevent's are
# ignored by the mypy settings already).
from gevent.hub import RawGreenlet

from greenws.metrics.tags import TagSet
from greenws.net.cookies import CookieJar

if TYPE_CHECKING:
    from greenws.runtime.context import RunContext

__all__ = [
    "AbortTest",
    "IterationInterrupted",
    "ScriptUsageError",
    "VUGreenlet",
    "VUTask",
    "VirtualUser",
    "call_flexibly",
    "current_vu",
]


class IterationInterrupted(BaseException):
    """Raised into a VU to end its iteration (end of test, graceful stop, ramp-down, Ctrl+C).

    A BaseException, like ``GreenletExit``, so a script's ``except Exception`` cannot swallow it.
    """


class AbortTest(BaseException):
    """The script called ``abort()`` (k6's ``test.abort``): stop everything, exit code 108."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class ScriptUsageError(RuntimeError):
    """A script API used where it cannot work, e.g. ``check`` at import time."""


class VirtualUser:
    """One VU's state. ``tags`` always reflect the current group, so samples pick it up for free."""

    __slots__ = (
        "_check_tags",
        "base_tags",
        "context",
        "cookie_jar",
        "event_loop",
        "group",
        "http",
        "id",
        "iteration",
        "local_ip",
        "namespace",
        "scenario",
        "tags",
    )

    def __init__(
        self, vu_id: int, context: RunContext, scenario: str, scenario_tags: dict[str, str]
    ) -> None:
        self.id = vu_id
        self.context = context
        self.scenario = scenario
        self.iteration = -1  # k6's __ITER starts at 0 in the first iteration
        self.group = ""
        # Interned: every VU of a scenario has the same tags, and 10,000 idle VUs each holding
        # their own dict and TagSet of them was ~470 bytes a VU (benchmarks/idle_memory.py).
        base = {**context.run_tags, **scenario_tags, "scenario": scenario}
        self.base_tags: TagSet = context.intern_tags(base)
        self.tags: TagSet = context.intern_tags({**base, "group": ""})
        #: Made on the first ``check``: a VU that never checks keeps no empty dict (64 bytes).
        self._check_tags: dict[tuple[TagSet, str], TagSet] | None = None
        #: The iteration's multi-socket loop (greenws.runtime.event_loop), made on first use.
        self.event_loop: Any = None
        #: The VU's own run of the script's init code: its globals and functions (k6's per-VU
        #: init context); empty until the executor initialises the VU.
        self.namespace: dict[str, Any] = {}
        #: The VU's cookies (k6's per-VU jar), emptied at each iteration unless
        #: ``noCookiesReset``; the three socket APIs use it unless given a ``jar`` param.
        self.cookie_jar = CookieJar()
        #: The source address this VU's sockets bind to (k6's ``localIPs``: VU n takes the
        #: pool's address n-1, round-robin); None lets the kernel choose.
        pool = context.options.local_ips
        self.local_ip: str | None = None if pool is None else pool.for_vu(vu_id)
        #: The ``http`` module's per-VU state (keep-alive pool, response callback), made on
        #: first use: a VU that never makes a request pays nothing for it.
        self.http: Any = None

    def enter_group(self, path: str) -> str:
        """Switch to group ``path``; returns the previous path to restore."""
        previous = self.group
        if path != previous:
            self.group = path
            self.tags = self.context.intern_tags({**self.base_tags, "group": path})
        return previous

    def check_tags(self, name: str) -> TagSet:
        """Tags of a ``checks`` sample for check ``name`` in the current group (cached)."""
        key = (self.tags, name)
        cache = self._check_tags
        if cache is None:
            cache = self._check_tags = {}
        tags = cache.get(key)
        if tags is None:
            tags = self.tags.merged({"check": name})
            cache[key] = tags
        return tags


class VUGreenlet(Greenlet):  # type: ignore[misc]
    """A greenlet that knows its VU."""

    def __init__(self, vu: VirtualUser, run: Callable[..., Any], *args: Any) -> None:
        super().__init__(run, *args)
        self.vu = vu


class VUTask(RawGreenlet):  # type: ignore[misc]
    """A VU's iteration loop on a plain greenlet: what an executor needs of gevent's Greenlet.

    Why not :class:`VUGreenlet`: a parked VU keeps this object and a copy of the C stack below
    its park point alive. gevent's compiled ``Greenlet.run`` is one more C frame on that stack
    (352 bytes a VU, ``_stack_saved``), and a Greenlet with its ``args``, ``kwargs``, links,
    start event and ``__dict__`` was 704 traced bytes a VU against 336 for this class
    (``benchmarks/idle_memory.py``). What gevent's
    Greenlet gave the executors is kept: :meth:`start` on the next hub turn, a non-blocking
    :meth:`kill`, :attr:`dead`, and errors reported through the hub as gevent reports a
    Greenlet's. Joining is the executor's: ``on_exit`` (one callable shared by a scenario's
    VUs, so no object per VU) is called when the task ends, however it ends.
    """

    __slots__ = ("_function", "_on_exit", "vu")

    def __init__(
        self,
        vu: VirtualUser,
        function: Callable[[VirtualUser], Any],
        on_exit: Callable[[], Any],
    ) -> None:
        # greenlet calls a plain function straight into the interpreter; a ``run`` method would
        # go through a bound method, 144 bytes more of saved C stack a VU.
        super().__init__(_run_task, get_hub())
        self.vu = vu
        #: None once killed before it started: it then never runs ``function``.
        self._function: Callable[[VirtualUser], Any] | None = function
        self._on_exit = on_exit

    def start(self) -> None:
        """Run at the hub's next turn (gevent's ``Greenlet.start``)."""
        self.parent.loop.run_callback(self.switch, self)

    @property
    def dead(self) -> bool:
        """Finished, or killed before it started (it will not run again)."""
        return bool(RawGreenlet.dead.__get__(self)) or self._function is None

    def kill(self, exception: BaseException) -> None:
        """Raise ``exception`` in the VU at the hub's next turn (gevent's ``kill(block=False)``);
        before it started, it never runs."""
        if not self and not RawGreenlet.dead.__get__(self):  # not started yet
            self._function = None
        else:
            self.parent.loop.run_callback(self._throw, exception)

    def _throw(self, exception: BaseException) -> None:
        if self:  # it may have finished since
            self.throw(exception)


def _run_task(task: VUTask) -> None:
    """A :class:`VUTask`'s body: its function, and nothing escaping to the hub."""
    function = task._function
    try:
        if function is not None:
            function(task.vu)
    except GreenletExit:
        pass
    except BaseException:
        # As gevent's Greenlet does: printed (unless the hub's NOT_ERROR), and a SYSTEM_ERROR
        # (KeyboardInterrupt, SystemExit) is raised in the main greenlet.
        task.parent.handle_error(task, *sys.exc_info())
    finally:
        task._on_exit()


def current_vu() -> VirtualUser:
    """The VU whose code is running now; a clear error outside of one."""
    vu = getattr(gevent.getcurrent(), "vu", None)
    if vu is None:
        raise ScriptUsageError(
            "this can only be called while a VU runs (in default(), setup() or teardown()), "
            "not at the top level of the script"
        )
    return vu  # type: ignore[no-any-return]


def call_flexibly(function: Callable[..., Any], *args: Any) -> Any:
    """Call ``function`` with as many of ``args`` as it accepts, as JavaScript does with handlers."""
    return function(*args[: accepted_arguments(function, len(args))])


_ARITY_CACHE: dict[Any, int] = {}
#: The same answers for plain functions, by code object alone (their key above is
#: ``(code, False)``): a handler registered per session (a new lambda each time) is then one
#: dict lookup, without ``getattr``, ``inspect.ismethod`` and a key tuple (churn benchmark).
_FUNCTION_ARITY: dict[CodeType, int] = {}


def accepted_arguments(function: Callable[..., Any], offered: int) -> int:
    """How many positional arguments ``function`` takes, capped at ``offered`` (cached per function)."""
    if type(function) is FunctionType:
        known = _FUNCTION_ARITY.get(function.__code__)
        if known is not None:
            return known if known < offered else offered
    code = getattr(function, "__code__", None)
    # Bound methods share their function's code object but hide ``self`` from the signature.
    key: Any = (code, inspect.ismethod(function)) if code is not None else function
    try:
        cached = _ARITY_CACHE.get(key)
    except TypeError:
        cached = None
    if cached is None:
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):  # builtins without a signature: give them everything
            cached = 1 << 16
        else:
            cached = 0
            for parameter in parameters:
                if parameter.kind is parameter.VAR_POSITIONAL:
                    cached = 1 << 16
                    break
                if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
                    cached += 1
        with contextlib.suppress(TypeError):  # unhashable callables are simply not cached
            _ARITY_CACHE[key] = cached
    if type(function) is FunctionType:
        if len(_FUNCTION_ARITY) >= 4096:  # a script may compile new code objects forever
            _FUNCTION_ARITY.clear()
        _FUNCTION_ARITY[function.__code__] = cached
    return min(cached, offered)


def format_script_error(error: BaseException, script_path: str | None) -> str:
    """A short traceback: the frames of the user's script only, then the error line."""
    frames = traceback.extract_tb(error.__traceback__)
    mine = [frame for frame in frames if script_path and frame.filename == script_path] or frames[
        -1:
    ]
    where = "; ".join(f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in mine[-3:])
    return f"{type(error).__name__}: {error} (at {where})"


def now() -> float:
    """Wall-clock seconds; sample timestamps are epoch times like k6's."""
    return time.time()
