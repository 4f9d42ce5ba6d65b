"""What plugins are handed: the run's configuration before it starts, and its description while it runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy

from greenws.options.layers import Options
from greenws.options.scenarios import ScenarioConfig

__all__ = ["OutputSpec", "Progress", "RunConfig", "RunInfo"]


@dataclass
class OutputSpec:
    """One ``--out kind=arg``; ``claimed`` is set by the plugin that takes it."""

    kind: str
    argument: str
    claimed: bool = False


@dataclass
class RunConfig:
    """Handed to ``greenws_configure``: options, ``--out`` requests and the plugin manager."""

    options: Options
    args: Any  # the parsed argparse namespace, for plugins' own options
    pluginmanager: pluggy.PluginManager
    outputs: list[OutputSpec] = field(default_factory=list)
    #: Every ``--out`` kind some plugin looked for: what an unknown kind's error lists.
    known_kinds: set[str] = field(default_factory=set)

    def claim_outputs(self, kind: str) -> list[str]:
        """Arguments of every unclaimed ``--out kind=…``, now marked as taken."""
        self.known_kinds.add(kind)
        taken = []
        for spec in self.outputs:
            if spec.kind == kind and not spec.claimed:
                spec.claimed = True
                taken.append(spec.argument)
        return taken


@dataclass
class Progress:
    """A snapshot for live displays."""

    elapsed: float
    vus: int
    max_vus: int
    complete: int
    interrupted: int
    scenarios: list[tuple[str, str, float, str]]  # name, executor description, fraction, right text
    #: WebSocket connections open now (the ``open_connections`` gauge), all workers together.
    open_connections: int = 0


@dataclass
class RunInfo:
    """Handed to output hooks: what is running and how to ask how far it got."""

    script: str
    options: Options
    scenarios: list[ScenarioConfig]
    start_time: float
    progress: Callable[[], Progress]
    dropped_samples: Callable[[], dict[str, int]]
    is_tty: bool = False
    quiet: bool = False
    summary_mode: str = "compact"
    summary_export: str | None = None
    #: True when the script's ``handle_summary()`` produced the end-of-test output, which then
    #: replaces the default text summary (k6's ``handleSummary``).
    summary_handled: bool = False
    exit_code: int = 0
    end_time: float | None = None
    output_names: list[str] = field(default_factory=list)
    #: ``--workers N``: this process coordinates N worker processes (0: it runs the VUs itself).
    workers: int = 0
    #: The summary data so far (thresholds judged as on the periodic check), for live displays;
    #: computed on each call from the whole run's aggregates, so ask at most once a second.
    live_summary: Callable[[], dict[str, Any]] | None = None
    #: Ask for every batch the run's aggregator folds, grouped by metric, as ``observer(metric,
    #: samples, values, tags)`` calls (returns False when it cannot: under ``--workers``). A live view
    #: that charts everything costs the VUs far less this way than re-reading every sample.
    observe_samples: Callable[[Callable[[Any, list[Any], list[float], Any], None]], bool] | None = (
        None
    )
    #: Under ``--workers``, the other way to see them: ``observe_worker_reports(output, receiver,
    #: tags)`` has ``receiver(worker, report)`` get each worker's report-builder data (broken down
    #: by ``tags`` too) once a second (``greenws.outputs.html_report.worker_feed``), and ``output``
    #: then gets no worker samples. False when not under ``--workers``.
    observe_worker_reports: (
        Callable[[Any, Callable[[int, Any], None], Sequence[str]], bool] | None
    ) = None
