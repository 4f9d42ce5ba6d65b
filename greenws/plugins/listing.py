"""``greenws plugins``: what is loaded, from which distribution and version, and which hooks it implements."""

from __future__ import annotations

import importlib.metadata

import pluggy

from greenws import __version__

__all__ = ["plugin_listing"]


def plugin_listing(manager: pluggy.PluginManager) -> str:
    """One line per plugin: ``name  distribution==version  hook, hook``; built-ins say ``greenws``."""
    from_distribution = {
        entry_point.name: f"{entry_point.dist.name}=={entry_point.dist.version}"
        for entry_point in importlib.metadata.entry_points(group="greenws")
        if entry_point.dist is not None
    }
    rows = []
    for name, plugin in manager.list_name_plugin():
        if plugin is None:  # blocked with -p no:NAME
            continue
        hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])
        if name in from_distribution:
            origin = from_distribution[name]
        elif getattr(plugin, "__name__", "").startswith("greenws."):
            origin = f"greenws=={__version__}"
        else:
            origin = "-p module"
        rows.append((name, origin, ", ".join(hooks) or "(no hooks)"))
    width = [max((len(row[i]) for row in rows), default=0) for i in range(2)]
    lines = [f"{name:<{width[0]}}  {origin:<{width[1]}}  {hooks}" for name, origin, hooks in rows]
    return "\n".join(lines) + "\n"
