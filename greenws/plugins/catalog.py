"""Which ``--out`` kinds exist and which distribution provides each, known before anything runs.

An output claims its kinds in ``greenws_configure``, which runs only once a test is loaded, so
that alone cannot tell ``greenws run --help`` or ``greenws plugins`` what ``--out`` accepts.
Plugins therefore declare their kinds in ``greenws_output_kinds`` (kind -> one line of help); this
module asks every plugin, remembers which plugin and distribution answered, and words the table
and the unknown-kind error from that. A plugin written before the hook existed declares nothing
and still works: it is listed as undeclared, and the kinds it claims at configure time are added
to the error by :func:`available_outputs`.
"""

from __future__ import annotations

import difflib
import importlib.metadata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pluggy

from greenws import __version__

__all__ = [
    "OutputKind",
    "available_outputs",
    "declared_outputs",
    "output_table",
    "plugin_origins",
    "undeclared_plugins",
    "unknown_output_error",
]

#: What the table says for a plugin that claims kinds it never declared.
UNDECLARED = "(undeclared)"


@dataclass(frozen=True)
class OutputKind:
    """One ``--out`` kind: its help line, the plugin that claims it, and where that comes from."""

    kind: str
    help: str
    plugin: str
    #: ``distribution==version``, or ``-p module`` for a module not from any distribution.
    origin: str

    @property
    def distribution(self) -> str:
        """The distribution's name alone (``greenws-influxdb``), short enough for one error line."""
        return self.origin.split("==", 1)[0]


def _module_distribution(module_name: str) -> str | None:
    """``name==version`` of the installed distribution holding a ``-p`` module's package, if any."""
    top = module_name.split(".", 1)[0]
    names = importlib.metadata.packages_distributions().get(top) or []
    if not names:
        return None
    try:
        return f"{names[0]}=={importlib.metadata.version(names[0])}"
    except importlib.metadata.PackageNotFoundError:
        return None


def plugin_origins(manager: pluggy.PluginManager) -> dict[str, str]:
    """Plugin name -> ``distribution==version``; built-ins say ``greenws``, loose modules ``-p module``."""
    from_distribution = {
        entry_point.name: f"{entry_point.dist.name}=={entry_point.dist.version}"
        for entry_point in importlib.metadata.entry_points(group="greenws")
        if entry_point.dist is not None
    }
    origins = {}
    for name, plugin in manager.list_name_plugin():
        if plugin is None:  # blocked with -p no:NAME
            continue
        if name in from_distribution:
            origins[name] = from_distribution[name]
        elif getattr(plugin, "__name__", "").startswith("greenws."):
            origins[name] = f"greenws=={__version__}"
        else:
            found = _module_distribution(getattr(plugin, "__name__", name))
            origins[name] = f"{found} (-p)" if found else "-p module"
    return origins


def _check_declaration(name: str, declared: object) -> dict[str, str]:
    """A plugin's answer, or a PluginError naming it: a bad answer would mislead every listing."""
    from greenws.plugins.manager import PluginError

    if not isinstance(declared, Mapping):
        raise PluginError(
            f"plugin {name!r}: greenws_output_kinds must return a dict of --out kind to help "
            f"text, not {type(declared).__name__}"
        )
    kinds = {}
    for kind, text in declared.items():
        if not isinstance(kind, str) or not kind or "=" in kind or not isinstance(text, str):
            raise PluginError(
                f"plugin {name!r}: greenws_output_kinds: {kind!r}: {text!r} is not "
                "'kind' (no '=') to a help string"
            )
        kinds[kind] = text
    return kinds


def declared_outputs(manager: pluggy.PluginManager) -> list[OutputKind]:
    """Every kind some plugin declares, sorted by kind; a declaration that fails is a PluginError."""
    from greenws.plugins.manager import PluginError

    origins = plugin_origins(manager)
    found = []
    for impl in manager.hook.greenws_output_kinds.get_hookimpls():
        name = manager.get_name(impl.plugin) or repr(impl.plugin)
        try:
            declared = impl.function()
        except Exception as error:
            raise PluginError(
                f"plugin {name!r}: greenws_output_kinds failed: {type(error).__name__}: {error}"
            ) from error
        for kind, text in _check_declaration(name, declared).items():
            found.append(OutputKind(kind, text, name, origins.get(name, "-p module")))
    return sorted(found, key=lambda item: (item.kind, item.plugin))


def undeclared_plugins(manager: pluggy.PluginManager) -> list[tuple[str, str]]:
    """``(plugin, origin)`` of plugins that may claim ``--out`` kinds but declare none.

    That is a plugin with ``greenws_configure`` and no ``greenws_output_kinds``: written before
    the hook existed, it still works, but only running it would show what it claims.
    """
    origins = plugin_origins(manager)
    declaring = {id(impl.plugin) for impl in manager.hook.greenws_output_kinds.get_hookimpls()}
    found = []
    for impl in manager.hook.greenws_configure.get_hookimpls():
        if id(impl.plugin) not in declaring:
            name = manager.get_name(impl.plugin) or repr(impl.plugin)
            found.append((name, origins.get(name, "-p module")))
    return sorted(found)


def available_outputs(
    manager: pluggy.PluginManager, claimed_by: Mapping[str, str]
) -> list[OutputKind]:
    """The declared kinds plus those claimed in ``greenws_configure`` without a declaration.

    ``claimed_by`` maps each kind some plugin asked ``config.claim_outputs`` for to that plugin's
    name, so an old plugin's kinds are still listed, with their distribution, in the error.
    """
    kinds = declared_outputs(manager)
    known = {item.kind for item in kinds}
    origins = plugin_origins(manager)
    for kind, plugin in claimed_by.items():
        if kind not in known:
            kinds.append(OutputKind(kind, "", plugin, origins.get(plugin, "-p module")))
    return sorted(kinds, key=lambda item: (item.kind, item.plugin))


def output_table(
    kinds: Iterable[OutputKind],
    undeclared: Iterable[tuple[str, str]] = (),
    *,
    plugins: bool = False,
) -> str:
    """Aligned rows ``  kind  distribution==version  help``, then the undeclared plugins.

    ``plugins`` adds the plugin's name (what ``-p no:NAME`` blocks) as a third column; ``--help``
    leaves it out to stay narrow.
    """
    rows = [(item.kind, item.origin, item.plugin if plugins else "", item.help) for item in kinds]
    rows += [
        (UNDECLARED, origin, name, "claims its kinds at run time")
        if plugins
        else (UNDECLARED, origin, "", f"plugin {name} claims its kinds at run time")
        for name, origin in undeclared
    ]
    if not rows:
        return "  (none)\n"
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    return "".join(
        "  "
        + "  ".join(f"{cell:<{width[i]}}" for i, cell in enumerate(row[:3]) if width[i])
        + f"  {row[3]}".rstrip()
        + "\n"
        for row in rows
    )


def unknown_output_error(kind: str, kinds: Iterable[OutputKind]) -> str:
    """One line for an ``--out`` kind nobody claimed: close names first, then every kind and its
    distribution, so a typo and a missing ``pip install`` are both answered where they happen."""
    kinds = list(kinds)
    declared_by = [item for item in kinds if item.kind == kind]
    if declared_by:  # declared, yet its configure did not claim it: the plugin's bug, say whose
        item = declared_by[0]
        return (
            f"--out {kind}: plugin {item.plugin} ({item.distribution}) declares this kind but "
            "did not claim it in greenws_configure"
        )
    names = sorted({item.kind for item in kinds})
    close = difflib.get_close_matches(kind, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = ", ".join(f"{item.kind} ({item.distribution})" for item in kinds) or "none"
    return f"unknown output {kind!r} in --out{hint}; available: {listed}"
