"""``greenws plugins``: what is loaded, from which distribution and version, which hooks it
implements, and every ``--out`` kind with the distribution that provides it."""

from __future__ import annotations

import pluggy

from greenws.plugins.catalog import (
    declared_outputs,
    output_table,
    plugin_origins,
    undeclared_plugins,
)

__all__ = ["plugin_listing"]


def plugin_listing(manager: pluggy.PluginManager) -> str:
    """One line per plugin, ``name  distribution==version  hook, hook`` (built-ins say
    ``greenws``), then the ``--out`` kinds, so one command answers "what can --out write to?"."""
    origins = plugin_origins(manager)
    rows = []
    for name, plugin in manager.list_name_plugin():
        if plugin is None:  # blocked with -p no:NAME
            continue
        hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])
        rows.append((name, origins[name], ", ".join(hooks) or "(no hooks)"))
    width = [max((len(row[i]) for row in rows), default=0) for i in range(2)]
    lines = [f"{name:<{width[0]}}  {origin:<{width[1]}}  {hooks}" for name, origin, hooks in rows]
    kinds = output_table(declared_outputs(manager), undeclared_plugins(manager), plugins=True)
    return "\n".join(lines) + "\n\n--out kinds (greenws run --out KIND=ARG):\n" + kinds
