"""Which hot-path modules run compiled, and the switch that makes them all pure Python again.

``pip install -e .`` compiles the modules listed in ``native_modules.txt`` with mypyc (see
``setup.py``): C extensions made from the same typed sources, placed beside them, so Python's
import system prefers them. The sources stay the reference: every test can run against either.

- ``GREENWS_PURE_PYTHON=1`` in the environment makes greenws import every listed module from its
  ``.py`` file, compiled copies or not (tests of the fallback, bisecting a suspected
  compiled-only bug, profiling Python code line by line).
- A compiled module older than its source (the ``.py`` was edited after the build) is never
  used: a stale extension would silently run the old code. Then the whole group is imported
  from source, since compiled modules call each other's compiled code directly, and one warning
  says to rebuild.

:func:`install` runs once when ``greenws`` is imported, before any listed module is.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import warnings
from pathlib import Path
from types import ModuleType

__all__ = ["ENV_PURE", "MODULES", "compiled_modules", "install", "pure_requested"]

#: The environment variable that asks for pure-Python modules.
ENV_PURE = "GREENWS_PURE_PYTHON"

_PACKAGE_DIR = Path(__file__).resolve().parent
#: The modules ``setup.py`` compiles (one per line in ``native_modules.txt``).
MODULES: tuple[str, ...] = tuple((_PACKAGE_DIR / "native_modules.txt").read_text().split())
_SOURCE_ONLY = (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)
_EXTENSIONS_ONLY = (
    importlib.machinery.ExtensionFileLoader,
    importlib.machinery.EXTENSION_SUFFIXES,
)


def pure_requested() -> bool:
    """Whether ``GREENWS_PURE_PYTHON`` asks for the pure-Python modules."""
    return os.environ.get(ENV_PURE, "") not in ("", "0")


def _source_path(name: str) -> Path:
    return _PACKAGE_DIR.joinpath(*name.split(".")[1:]).with_suffix(".py")


#: The shared library that holds the compiled code of every listed module (``setup.py``'s group);
#: each module's own extension is only a small shim that imports its part of it.
_LIBRARY = "greenws._compiled__mypyc"


def _extension_path(name: str) -> Path | None:
    directory = _PACKAGE_DIR.joinpath(*name.split(".")[1:-1])
    spec = importlib.machinery.FileFinder(str(directory), _EXTENSIONS_ONLY).find_spec(name)
    return None if spec is None or spec.origin is None else Path(spec.origin)


def _stale_modules() -> list[str]:
    """Listed modules whose source changed after the build (empty when nothing is built).

    Compared with the shared library, not with the module's shim: a rebuild after an edit
    recompiles the library, while setuptools leaves an unchanged shim (and its old date) alone.
    A shim without its library cannot be imported at all, so every built module counts then.
    """
    if not (_PACKAGE_DIR.parent / "setup.py").exists():
        # An installed wheel, not a source tree: nobody edits it, and an installer may write
        # the sources after the extensions, so their dates say nothing.
        return []
    built = [name for name in MODULES if _extension_path(name) is not None]
    if not built:
        return []
    library = _extension_path(_LIBRARY)
    if library is None:
        return built
    newest = library.stat().st_mtime
    return [name for name in MODULES if _source_path(name).stat().st_mtime > newest]


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the listed modules' ``.py`` files, ahead of the compiled copies."""

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MODULES:
            return None
        source = _source_path(fullname)
        finder = importlib.machinery.FileFinder(str(source.parent), _SOURCE_ONLY)
        return finder.find_spec(fullname)


_FINDER = _SourceFinder()


def install() -> None:
    """Put the source finder first on ``sys.meta_path`` when pure modules are asked for, or
    when a compiled copy is stale. Idempotent; call before any listed module is imported."""
    if _FINDER in sys.meta_path:
        return
    if pure_requested():
        sys.meta_path.insert(0, _FINDER)
        return
    stale = _stale_modules()
    if stale:
        warnings.warn(
            f"greenws: {', '.join(stale)} changed since it was compiled; using the Python "
            f"sources (rebuild with `pip install -e .`)",
            RuntimeWarning,
            stacklevel=2,
        )
        sys.meta_path.insert(0, _FINDER)


def compiled_modules() -> dict[str, bool]:
    """Each listed module that is imported, and whether it is the compiled one."""
    loaded = {}
    for name in MODULES:
        module = sys.modules.get(name)
        if module is not None:
            origin = getattr(module, "__file__", None) or ""
            loaded[name] = not origin.endswith(".py")
    return loaded
