"""The run context: what VUs, sockets and the script API need from the run, and nothing else.

k6 hands each VU a ``lib.State`` (sample sink, builtin metrics, options, tags, TLS config,
logger) rather than the engine; this is the same idea. The engine builds one context per run
and keeps the orchestration (phases, outputs, thresholds, workers) to itself, so a socket API or
the script API can be read, tested and changed without knowing how a run is driven.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any

from greenws.metrics.builtin import BuiltinMetrics, register_builtin
from greenws.metrics.metric import Registry
from greenws.metrics.sample import Sample
from greenws.metrics.tags import TagInterner, TagSet
from greenws.options.layers import Options
from greenws.runtime.logs import get_logger
from greenws.runtime.vu import VirtualUser, format_script_error

__all__ = ["RunContext", "active_context"]

_ACTIVE: RunContext | None = None


def active_context() -> RunContext:
    """The context of the run in progress (custom metrics are created at script import time)."""
    if _ACTIVE is None:
        raise RuntimeError("no greenws run is in progress: run the script with `greenws run`")
    return _ACTIVE


class RunContext:
    """One run's sample sink, metrics, options, tags, TLS contexts and error log."""

    def __init__(
        self,
        options: Options,
        *,
        script_path: str,
        run_tags: Mapping[str, str] | None = None,
        on_abort: Callable[[str], None] | None = None,
    ) -> None:
        global _ACTIVE
        self.script_path = script_path
        self.registry = Registry()
        self.metrics: BuiltinMetrics = register_builtin(self.registry)
        #: Every sample of the run, appended by the VUs and taken whole by the flusher.
        self.samples: list[Sample] = []
        #: ``samples.append``, bound once for the run: a connection keeps a reference to it
        #: rather than binding its own (72 bytes per idle session). The list is never replaced.
        self.push_sample: Callable[[Sample], None] = self.samples.append
        #: Sessions with equal tags share one TagSet (see TagInterner).
        self.intern_tags: Callable[[Mapping[str, str]], TagSet] = TagInterner().intern
        #: Each scenario's ``env`` (k6's ``scenarios.NAME.env``), layered over os.environ in
        #: ``greenws.env`` for that scenario's VUs.
        self.scenario_envs: dict[str, Mapping[str, str]] = {}
        #: What ``setup()`` returned, as JSON text; each iteration gets its own copy.
        self.setup_data: str | None = None
        #: When the run started (``Engine.elapsed`` counts from it).
        self.started_monotonic = time.monotonic()
        #: How often each distinct error was reported (the first is printed, see report_error).
        self.errors_seen: dict[str, int] = {}
        #: WebSocket connections open now: +1 when a session takes over its dialled socket, -1
        #: when it lets go (sockets/connection.py); the ``open_connections`` gauge reads it.
        self.open_connections = 0
        self._on_abort = on_abort
        self._tls: dict[bool, ssl.SSLContext] = {}
        self.set_options(options, run_tags)
        _ACTIVE = self

    def set_options(self, options: Options, run_tags: Mapping[str, str] | None = None) -> None:
        """Options are final only after the script's own ``options`` were read: set them here."""
        self.options = options
        self.run_tags: dict[str, str] = {**options.tags, **(run_tags or {})}

    # -- what VUs and sockets use -----------------------------------------------------------------

    def vu_data(self) -> Any:
        """A fresh copy of the setup data, like k6's per-VU copy: one VU's changes never leak."""
        return None if self.setup_data is None else json.loads(self.setup_data)

    def tls_context(self, insecure: bool) -> ssl.SSLContext:
        """A cached client TLS context; verification on unless ``insecureSkipTLSVerify``."""
        context = self._tls.get(insecure)
        if context is None:
            context = ssl.create_default_context()
            if insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls[insecure] = context
        return context

    def abort(self, reason: str) -> None:
        """The script called ``abort()``: the engine stops the test."""
        if self._on_abort is not None:
            self._on_abort(reason)

    # -- errors -----------------------------------------------------------------------------------

    def report_error(self, key: str, message: str) -> None:
        """Log an error once per distinct ``key``; repeats are counted and summed up at the end.

        Through the process's logger, like the script's ``console``: ``--log-output`` and
        ``--log-format`` apply to both, as they do to everything k6 logs.
        """
        count = self.errors_seen.get(key, 0)
        self.errors_seen[key] = count + 1
        if count == 0:
            get_logger().error(message)

    def report_script_error(self, vu: VirtualUser, error: BaseException) -> None:
        """An exception escaped the script: log it once (with VU and where), end the iteration."""
        text = format_script_error(error, self.script_path)
        self.report_error(text, f"{text} vu={vu.id} iter={vu.iteration}")

    def report_connect_error(
        self, vu: VirtualUser, url: str, message: str, api: str = "ws.connect"
    ) -> None:
        """A failed dial or handshake (``api`` names the call); the script sees it too."""
        self.report_error(f"connect:{url}:{message}", f"{api} {url}: {message} vu={vu.id}")

    def print_repeats(self) -> None:
        """At the end of the run: how many more times each error happened after its first line."""
        for key, count in self.errors_seen.items():
            if count > 1:
                get_logger().error(f"{count - 1} more of: {key[:160]}")
