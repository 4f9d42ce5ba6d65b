"""The plugin manager: built-ins first, then entry points, then ``-p`` modules.

``GREENWS_DISABLE_PLUGIN_AUTOLOAD=1`` turns off entry-point discovery (as pytest's
``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` does) and ``-p no:NAME`` blocks one plugin by name.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Iterable

import pluggy

from greenws.plugins import hookspecs

__all__ = ["BUILTIN_PLUGINS", "PluginError", "hookimpl", "make_plugin_manager"]

hookimpl = pluggy.HookimplMarker("greenws")

#: Plugin name → module, registered in every run exactly as an entry point would be
#: (``-p no:NAME`` blocks one).
BUILTIN_PLUGINS = {
    "console": "greenws.outputs.console",
    "json_lines": "greenws.outputs.json_lines",
    "csv_output": "greenws.outputs.csv_output",
    "html_report": "greenws.outputs.html_report.plugin",
    "dashboard": "greenws.outputs.dashboard.plugin",
}


class PluginError(RuntimeError):
    """A plugin that cannot be loaded; the message names it."""


def make_plugin_manager(
    extra_modules: Iterable[str] = (), *, load_entry_points: bool | None = None
) -> pluggy.PluginManager:
    """Build a manager with built-ins, entry points (unless disabled) and ``-p`` modules."""
    manager = pluggy.PluginManager("greenws")
    manager.add_hookspecs(hookspecs)
    blocked = {name[3:] for name in extra_modules if name.startswith("no:")}
    for name in blocked:
        manager.set_blocked(name)
    for short, module_name in BUILTIN_PLUGINS.items():
        if short not in blocked and module_name not in blocked:
            manager.register(importlib.import_module(module_name), name=short)
    if load_entry_points is None:
        load_entry_points = not os.environ.get("GREENWS_DISABLE_PLUGIN_AUTOLOAD")
    if load_entry_points:
        for entry_point in importlib.metadata.entry_points(group="greenws"):
            if manager.is_blocked(entry_point.name) or manager.has_plugin(entry_point.name):
                continue
            try:
                plugin = entry_point.load()
            except Exception as error:  # a broken third-party package must say which one it is
                raise PluginError(
                    f"could not load plugin {entry_point.name!r} "
                    f"(entry point {entry_point.value}): {type(error).__name__}: {error}"
                ) from error
            manager.register(plugin, name=entry_point.name)
    for module_name in extra_modules:
        if module_name.startswith("no:") or manager.has_plugin(module_name):
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as error:
            raise PluginError(f"could not import plugin module {module_name!r}: {error}") from error
        if not manager.is_registered(
            module
        ):  # `-p` of a built-in or an entry point: once is enough
            manager.register(module, name=module_name)
    try:
        manager.check_pending()  # a marked implementation with no matching hook
    except pluggy.PluginValidationError as error:
        raise PluginError(f"plugin {error.plugin!r}: {error}") from None
    _check_hook_names(manager)
    return manager


def _check_hook_names(manager: pluggy.PluginManager) -> None:
    """A ``greenws_*`` function that is not a hook (a typo, or the marker forgotten) is an error:
    pluggy would silently never call it."""
    known = {name for name in dir(manager.hook) if name.startswith("greenws_")}
    for name, plugin in manager.list_name_plugin():
        if plugin is None:
            continue
        implemented = {caller.name for caller in manager.get_hookcallers(plugin) or []}
        for attribute in dir(plugin):
            if not attribute.startswith("greenws_") or not callable(getattr(plugin, attribute)):
                continue
            if attribute not in known:
                raise PluginError(
                    f"plugin {name!r}: {attribute} is not a greenws hook (misspelled?)"
                )
            if attribute not in implemented:
                raise PluginError(
                    f"plugin {name!r}: {attribute} is not marked with @greenws.plugins.hookimpl"
                )
