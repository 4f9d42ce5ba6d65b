"""Build greenws, with its pure hot-path modules compiled by mypyc when that is possible.

Everything else is in ``pyproject.toml``; this file only adds the optional compiled modules
(listed in ``greenws/native_modules.txt``, the one list the runtime reads too). They are
C extensions made from the same typed Python sources: the sources stay the reference and the
fallback. The build never fails because of them: without mypy/mypyc, without a C compiler, or
with ``GREENWS_PURE_PYTHON=1`` set at install time, greenws is installed as pure Python and a
warning says why (``pip install -v`` shows it).
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
#: The shared library mypyc builds for the group goes inside the package, not beside setup.py.
GROUP = "greenws._compiled"


def _warn(message: str) -> None:
    # Printed, as pip shows a build backend's stderr with -v; warnings alone may be filtered.
    print(f"greenws: {message}; installing the pure-Python modules", file=sys.stderr)
    warnings.warn(message, stacklevel=2)


def _compiled_sources() -> list[str]:
    listing = (ROOT / "greenws" / "native_modules.txt").read_text().split()
    return [str(Path(*name.split(".")).with_suffix(".py")) for name in listing]


def _extensions() -> list[Any]:
    if os.environ.get("GREENWS_PURE_PYTHON", "") not in ("", "0"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _warn("mypyc (part of mypy) is not importable")
        return []
    try:
        extensions: list[Any] = mypycify(_compiled_sources(), opt_level="3", group_name=GROUP)
    except BaseException as error:  # mypyc type-checks first; any failure means "pure"
        _warn(f"mypyc could not compile the hot-path modules ({error!r})")
        return []
    return extensions


class _OptionalBuildExt(build_ext):  # type: ignore[misc]
    """``build_ext`` whose failure (no C compiler, no Python headers) is a warning.

    All or nothing: a compiled module imports the group's shared library, so if any extension
    fails, the ones already built are removed again and every module stays pure Python.
    """

    def run(self) -> None:
        self._remove_leftovers()
        try:
            super().run()
        except Exception as error:
            _warn(f"the C compiler failed ({error})")
            self._remove_outputs()

    def _remove_leftovers(self) -> None:
        """Delete compiled modules of earlier builds that this one does not make (a module taken
        off the list, or everything when mypyc is missing now): a leftover shim would import a
        part of the shared library that is gone, or run code older than its source."""
        wanted = {(ROOT / self.get_ext_filename(ext.name)).resolve() for ext in self.extensions}
        suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
        for path in (ROOT / "greenws").rglob("*" + suffix):
            if path.resolve() not in wanted:
                path.unlink()

    def _remove_outputs(self) -> None:
        for ext in self.extensions:
            for path in (
                Path(self.get_ext_fullpath(ext.name)),
                ROOT / Path(self.get_ext_filename(ext.name)),
            ):
                if path.exists():
                    path.unlink()
        self.extensions = []


setup(ext_modules=_extensions(), cmdclass={"build_ext": _OptionalBuildExt})
