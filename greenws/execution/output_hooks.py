"""Calling output plugins from the engine: each output on its own, so one failure stays its own.

A hook is called per implementation rather than through pluggy's fan-out: a broken output is
reported once by name and switched off, and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pluggy

from greenws.execution.flusher import Flusher, OutputChannel
from greenws.plugins.types import RunInfo

__all__ = ["call_each", "start_outputs"]

Report = Callable[[str, str], None]


def call_each(
    manager: pluggy.PluginManager, hook: str, report_error: Report, **kwargs: Any
) -> set[str]:
    """Call ``hook`` on every implementation; returns the names of the plugins that raised."""
    failed = set()
    for impl in getattr(manager.hook, hook).get_hookimpls():
        try:
            impl.function(*[kwargs[name] for name in impl.argnames])
        except Exception as error:
            name = manager.get_name(impl.plugin) or repr(impl.plugin)
            failed.add(name)
            report_error(
                f"output:{name}:{hook}",
                f"output {name}: {hook} failed, output switched off: "
                f"{type(error).__name__}: {error}",
            )
    return failed


def start_outputs(
    manager: pluggy.PluginManager,
    flusher: Flusher,
    run: RunInfo,
    queue_limit: int,
    report_error: Report,
) -> None:
    """Start every output, then give each a queue; one whose start failed gets a dead one.

    A dead queue still counts what it refuses, so the summary says what that output lost.
    """
    impls = manager.hook.greenws_output_samples.get_hookimpls()
    # Named before they start, so the console's header can list them.
    names = [manager.get_name(impl.plugin) or repr(impl.plugin) for impl in impls]
    run.output_names.extend(name for name in names if name != "worker-link")
    failed = call_each(manager, "greenws_output_start", report_error, run=run)
    for impl, name in zip(impls, names, strict=True):
        channel = OutputChannel(
            name, _deliverer(impl.function, impl.argnames), queue_limit, report_error
        )
        if name in failed:
            channel.dead = "its start failed"
        flusher.add_channel(channel)


def _deliverer(function: Callable[..., Any], argnames: Sequence[str]) -> Callable[[Any], Any]:
    """Call a ``greenws_output_samples`` implementation with the arguments it declared."""
    if "samples" in argnames:
        return lambda batch: function(samples=batch)
    return lambda batch: function()
