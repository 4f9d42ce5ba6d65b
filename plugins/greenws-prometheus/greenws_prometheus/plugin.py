"""The ``greenws`` entry point: claims ``--out experimental-prometheus-rw`` (k6's name) and
``--out prometheus-rw`` (the short alias)."""

from __future__ import annotations

import os
from typing import Any

from greenws.plugins import hookimpl
from greenws_prometheus.output import RemoteWriteOutput
from greenws_prometheus.settings import parse_settings

KINDS = ("experimental-prometheus-rw", "prometheus-rw")


@hookimpl
def greenws_output_kinds() -> dict[str, str]:
    """Both spellings, so ``greenws run --help`` lists them before any run."""
    return {
        "experimental-prometheus-rw": "[URL | url=…,pushInterval=…]: Prometheus remote write, "
        "k6's names (K6_PROMETHEUS_RW_*)",
        "prometheus-rw": "the same, short",
    }


@hookimpl
def greenws_configure(config: Any) -> None:
    """One output per ``--out``; a bad setting is a configuration error (exit 104)."""
    for kind in KINDS:
        for argument in config.claim_outputs(kind):
            settings = parse_settings(argument, os.environ)
            name = f"prometheus-rw={settings.url}"
            config.pluginmanager.register(RemoteWriteOutput(name, settings), name=name)
