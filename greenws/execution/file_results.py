"""The end of a run for the files it writes: the ``--summary-export``, and which files are incomplete.

A release gate reads these files, so a file that is not the whole run must not look like one: the
run then ends with its own exit code, 120 (``EXIT["incomplete_output"]``), after the summary. The
export is written here, by the engine after every output stopped, and not by the console: an
export that cannot be written is one error line, and can no longer take the text summary with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import pluggy

from greenws.execution.flusher import OutputChannel
from greenws.outputs.file_destination import FileOutput, write_atomically
from greenws.summary.export import summary_export_json

if TYPE_CHECKING:
    from greenws.execution.engine import Engine

__all__ = ["finish", "incomplete_file_outputs", "output_errors", "write_summary_export"]


def finish(engine: Engine, summary: Mapping[str, object], stop_failed: Iterable[str]) -> bool:
    """After the outputs stopped: write the export; True when every file is the whole run.

    ``stop_failed`` names the outputs whose ``greenws_output_stop`` raised. An incomplete file
    was already reported (the summary's warning, or an error line); the caller turns False into
    exit 120.
    """
    exported = write_summary_export(
        engine.run_info.summary_export, summary, engine.context.report_error
    )
    # Under --workers, a batch a worker dropped on its way here is missing from every file.
    lost_in_transit = engine.workers is not None and bool(engine.workers.dropped())
    incomplete = incomplete_file_outputs(
        engine.pluginmanager, engine.dropped_samples(), stop_failed, lost_in_transit
    )
    return exported and not incomplete


def write_summary_export(
    path: str | None, summary: Mapping[str, object], report_error: Callable[[str, str], None]
) -> bool:
    """Write the export to ``path`` (nothing when None); False when it could not be written.

    Written beside its name and renamed into place, so a full disk leaves no truncated file.
    """
    if path is None:
        return True
    try:
        write_atomically(path, summary_export_json(summary).encode("utf-8"))
    except OSError as error:
        report_error("summary-export", f"--summary-export {path}: not written: {error}")
        return False
    return True


def output_errors(
    manager: pluggy.PluginManager, channels: Iterable[OutputChannel]
) -> dict[str, str]:
    """Why each output that failed lost samples: its own words, else what switched it off.

    An output says why through a ``failure`` attribute (a ``str``; :class:`FileOutput` has one),
    so a network output can explain its losses in the summary too.
    """
    errors = {}
    for channel in channels:
        failure = getattr(manager.get_plugin(channel.name), "failure", None)
        reason = (failure if isinstance(failure, str) else None) or channel.dead
        if reason:
            errors[channel.name] = reason
    return errors


def incomplete_file_outputs(
    manager: pluggy.PluginManager,
    dropped: Mapping[str, int],
    stop_failed: Iterable[str],
    lost_in_transit: bool = False,
) -> list[str]:
    """Names of the file outputs whose file is not the whole run.

    One that lost samples (a failed write, a start that failed, a queue that overflowed), or
    whose ``greenws_output_stop`` raised (an HTML page that could not be written); every one
    when samples were lost before reaching the outputs at all (``lost_in_transit``).
    """
    failed = set(stop_failed)
    names = []
    for plugin in manager.get_plugins():
        if isinstance(plugin, FileOutput):
            name = manager.get_name(plugin) or repr(plugin)
            if lost_in_transit or dropped.get(name) or name in failed or plugin.failure:
                names.append(name)
    return names
