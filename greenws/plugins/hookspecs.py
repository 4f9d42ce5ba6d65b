"""Every hook greenws calls, in lifecycle order.

A plugin is any module or object with functions named like these and marked with
:data:`greenws.plugins.hookimpl`. Built-in outputs (console, JSON lines, CSV, the HTML report)
are registered exactly like a third party's (the InfluxDB output *is* a third party's, in
``plugins/greenws-influxdb``): through this module's specifications, from a module listed in
:data:`greenws.plugins.manager.BUILTIN_PLUGINS`, an entry point in the ``greenws`` group, or
``-p module`` on the command line.

Output plugins follow pytest's ``junitxml`` pattern: the module declares its ``--out`` kinds in
:func:`greenws_output_kinds`, adds its option in :func:`greenws_addoption`, claims its ``--out``
entries in :func:`greenws_configure`, builds the writer object only when selected, and registers
*that object*, which then receives the output hooks.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from greenws.metrics.sample import Sample
    from greenws.plugins.types import RunConfig, RunInfo

hookspec = pluggy.HookspecMarker("greenws")


# -- set-up -----------------------------------------------------------------------------------


@hookspec
def greenws_output_kinds() -> Mapping[str, str]:
    """The ``--out`` kinds this plugin's ``greenws_configure`` claims: kind -> one line of help
    (``{"json": "FILE[.gz]: k6's JSON lines, one per sample"}``); ``{}`` for a plugin that claims none.

    Claims happen only once a test is loaded, so without this nothing could tell ``greenws run
    --help``, ``greenws plugins`` or the error for an unknown ``--out`` kind which kinds exist and
    which distribution provides each. Called before arguments are parsed; it must not do more than
    answer. Optional: a plugin without it still claims its kinds exactly as before, and is listed
    as undeclared.
    """
    raise NotImplementedError  # a specification: pluggy calls the plugins' functions, never this


@hookspec
def greenws_protocol_kits() -> Mapping[str, Any]:
    """The protocol kits this plugin ships: name -> kit, a module or object whose
    ``connect(url, params=None, ...)`` returns a session (see docs/protocols.md;
    ``greenws.kits.KitSession`` is the base that answers heartbeats in the background).

    Scripts reach a kit with ``greenws.kits.get(name)``. A name already taken (by greenws or
    another plugin) is an error naming both. Must only answer: build nothing here.
    """
    raise NotImplementedError


@hookspec
def greenws_addoption(parser: argparse.ArgumentParser) -> None:
    """Add command-line options to ``greenws run``.

    Called once, before arguments are parsed. Use an option group named after the plugin.
    """


@hookspec
def greenws_configure(config: RunConfig) -> None:
    """Options are resolved; the run has not started.

    ``config.claim_outputs("kind")`` returns the arguments of every ``--out kind=ARG`` and marks them
    taken; an output plugin builds its writer for each and registers it with
    ``config.pluginmanager.register(writer, name)``. An ``--out`` kind that no plugin claims is an
    error (exit 104), so a typo never silently writes nothing.
    """


# -- one run ----------------------------------------------------------------------------------


@hookspec
def greenws_output_start(run: RunInfo) -> None:
    """The test starts: open files and connections here. ``run`` describes the test and offers
    ``run.progress()`` for live displays. An exception here is reported in one line and this output
    is switched off for the run; the test goes on."""


@hookspec
def greenws_output_samples(samples: Sequence[Sample]) -> int | None:
    """A batch of samples, in emission order, called from the flusher greenlet (never from a VU).

    Each sample is a tuple ``(metric, time, value, tags)``: ``metric.name``/``.type``/``.contains``,
    ``time`` in epoch seconds, ``value`` a float (Trend times in milliseconds), ``tags`` a read-only
    mapping. Batches arrive through a bounded queue per output: a slow output loses whole batches,
    which are counted and reported in the summary, rather than stalling the virtual users.

    An output that buffers or writes asynchronously (a database over the network) may lose samples
    on its own: it returns how many it dropped since its previous return (an ``int``; ``None``
    means none), and the summary counts them. After the last batch the flusher calls this hook
    once more with an empty ``samples``: the end of the test, time to write out everything held
    back (the call is awaited, bounded by 30 s) and return the final losses. To say why, the
    output object may set a ``failure`` attribute (a short ``str``, e.g. the last write error):
    the summary prints it beside the count and ``data["greenws"]["output_errors"]`` carries it.
    An output whose product is a file subclasses ``greenws.outputs.file_destination.FileOutput``: then a
    loss also makes the run exit 120.
    """


@hookspec
def greenws_output_stop(summary: dict[str, Any], run: RunInfo) -> None:
    """The test ended and every batch this output accepted was delivered.

    ``summary`` is the k6 ``handleSummary`` data: the same totals the console summary prints. Flush
    and close here.
    """
