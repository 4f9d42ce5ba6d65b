"""Protocol kits: the protocols people run over WebSocket, first-class in a script.

``from greenws.kits import socketio, graphql, stomp, mqtt, jsonrpc`` gives the built-in ones;
``greenws.kits.get("name")`` finds any kit by name, a third party's included: a plugin
(an entry point in the ``greenws`` group, or ``-p module``) ships kits through the
``greenws_protocol_kits`` hook. See docs/protocols.md for the interface.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

from greenws.metrics.metric import MetricType, ValueType

__all__ = ["BUILTIN_KITS", "UnknownKit", "available", "declare_metrics", "get", "install"]

#: The kits greenws ships: name -> module (imported on first use).
BUILTIN_KITS = {
    "graphql": "greenws.kits.graphql",
    "jsonrpc": "greenws.kits.jsonrpc",
    "mqtt": "greenws.kits.mqtt",
    "socketio": "greenws.kits.socketio",
    "stomp": "greenws.kits.stomp",
}

#: Kits plugins declared, once a plugin manager was asked (``install``).
_PLUGIN_KITS: dict[str, Any] | None = None


class UnknownKit(LookupError):
    """No kit by that name: the message lists the ones there are."""


def install(kits: Mapping[str, Any]) -> None:
    """The kits the run's plugins declared (the command line calls this once)."""
    global _PLUGIN_KITS
    _PLUGIN_KITS = dict(kits)


def _plugin_kits() -> dict[str, Any]:
    global _PLUGIN_KITS
    if _PLUGIN_KITS is None:  # not under `greenws run` (a test, a REPL): ask the plugins now
        from greenws.plugins.manager import make_plugin_manager

        _PLUGIN_KITS = collect(make_plugin_manager())
    return _PLUGIN_KITS


def collect(pluginmanager: Any) -> dict[str, Any]:
    """Every kit the plugins' ``greenws_protocol_kits`` hooks declare; a name declared twice
    is an error naming both plugins (which one would win is not something to guess)."""
    kits: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for impl in pluginmanager.hook.greenws_protocol_kits.get_hookimpls():
        owner = pluginmanager.get_name(impl.plugin) or repr(impl.plugin)
        for name, kit in (impl.function() or {}).items():
            if name in BUILTIN_KITS or name in kits:
                first = "greenws" if name in BUILTIN_KITS else owners[name]
                raise ValueError(f"protocol kit {name!r} is declared by both {first} and {owner}")
            kits[name] = kit
            owners[name] = owner
    return kits


def available() -> list[str]:
    """The names of every kit, built-in and from plugins."""
    return sorted({*BUILTIN_KITS, *_plugin_kits()})


def get(name: str) -> Any:
    """The kit called ``name`` (a module or object with ``connect``)."""
    module = BUILTIN_KITS.get(name)
    if module is not None:
        return importlib.import_module(module)
    kit = _plugin_kits().get(name)
    if kit is None:
        raise UnknownKit(f"no protocol kit {name!r} (there are: {', '.join(available())})")
    return kit


def declare_metrics(registry: Any, metric_names: Iterable[str]) -> None:
    """Register the metrics of the kits that ``metric_names`` (thresholds') belong to.

    A kit creates its metrics when a session first records one, but thresholds are checked
    before any VU runs; without this, ``jsonrpc_duration`` in a threshold would be "no metric
    name found". A name whose prefix (before the first ``_``) is a kit's gets all of that kit's
    ``METRICS`` (name -> MetricType) registered; other names are left to the thresholds' check.
    """
    for name in metric_names:
        base = name.split("{", 1)[0].strip()
        prefix = base.split("_", 1)[0]
        if registry.get(base) is not None or prefix not in available():
            continue
        for metric_name, kind in getattr(get(prefix), "METRICS", {}).items():
            registry.get_or_create(metric_name, kind, time_valued(kind))


def time_valued(kind: MetricType) -> ValueType:
    """Kits' Trends are latencies (milliseconds); their counters and rates are plain."""
    return ValueType.TIME if kind is MetricType.TREND else ValueType.DEFAULT


def __getattr__(name: str) -> Any:
    """``from greenws.kits import socketio`` without importing every kit up front."""
    if name in BUILTIN_KITS:
        return importlib.import_module(BUILTIN_KITS[name])
    raise AttributeError(f"module 'greenws.kits' has no attribute {name!r}")
