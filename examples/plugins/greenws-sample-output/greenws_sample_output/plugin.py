"""``--out summary-counts=FILE``: per-metric sample counts (and sums), as JSON, written at stop.

The file looks like::

    {"metrics": {"ws_sessions": {"type": "counter", "samples": 40, "sum": 40.0}, ...},
     "total": 4451, "dropped": 0}

``samples`` is how many samples of the metric this output received; ``sum`` is their values added
up (for a Counter, the summary's ``count``). ``dropped`` is what the summary says was lost overall.
"""

from __future__ import annotations

import json
from typing import Any

from greenws.plugins import hookimpl


class SummaryCountsOutput:
    """Counts every sample it is given; batches come from the flusher, never from a VU."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.metrics: dict[str, dict[str, Any]] = {}

    @hookimpl
    def greenws_output_samples(self, samples: Any) -> None:
        for metric, _when, value, _tags in samples:
            entry = self.metrics.get(metric.name)
            if entry is None:
                entry = {"type": metric.type.value, "samples": 0, "sum": 0.0}
                self.metrics[metric.name] = entry
            entry["samples"] += 1
            entry["sum"] += value

    @hookimpl
    def greenws_output_stop(self, summary: Any, run: Any) -> None:
        document = {
            "metrics": dict(sorted(self.metrics.items())),
            "total": sum(entry["samples"] for entry in self.metrics.values()),
            "dropped": summary["state"]["droppedSamples"],
        }
        with open(self.path, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")


@hookimpl
def greenws_output_kinds() -> dict[str, str]:
    """Declare the kind, so ``greenws run --help`` and ``greenws plugins`` list it before a run.

    Optional: without it the output still works, but greenws cannot name its kind until it runs.
    """
    return {"summary-counts": "FILE: per-metric sample counts as JSON"}


@hookimpl
def greenws_configure(config: Any) -> None:
    """Claim each ``--out summary-counts=FILE`` and register one output per file."""
    for path in config.claim_outputs("summary-counts"):
        name = f"summary-counts={path}"
        config.pluginmanager.register(SummaryCountsOutput(path), name=name)
