"""The ``greenws`` entry point: claims ``--out influxdb=URL`` and ``--out influxdb2=URL``."""

from __future__ import annotations

from typing import Any

from greenws.plugins import hookimpl
from greenws_influxdb.output import InfluxDBOutput
from greenws_influxdb.settings import parse_settings


@hookimpl
def greenws_output_kinds() -> dict[str, str]:
    """Both kinds, so ``greenws run --help`` lists them before any run."""
    return {
        "influxdb": "URL: InfluxDB 1.x, k6's layout",
        "influxdb2": "URL: the InfluxDB 2.x write API",
    }


@hookimpl
def greenws_configure(config: Any) -> None:
    """Build one output per ``--out``; a bad URL or setting is a configuration error (exit 104)."""
    for kind in ("influxdb", "influxdb2"):
        for argument in config.claim_outputs(kind):
            settings = parse_settings(kind, argument)
            name = f"{kind}={settings.base_url}/{settings.database}"
            config.pluginmanager.register(InfluxDBOutput(name, settings), name=name)
