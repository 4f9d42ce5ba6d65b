"""The test script: compiled once, run once for the options and once per VU (k6's init context).

In k6 every VU runs the script's init code itself, so module-level state is per VU: a value
drawn at random at the top of the script differs between VUs, and a module-level counter counts
one VU's iterations. greenws does the same: :func:`load_script` compiles the file once and runs
it as a module (for ``options``, ``setup``, ``teardown`` and ``handle_summary``, as k6's first
init does), and :meth:`Script.new_vu_namespace` runs the same code object again in a fresh
namespace for each VU. Compiling once keeps that cheap; big read-only data belongs in a
:class:`~greenws.api.shared_array.SharedArray`, loaded once per process and shared.
"""

from __future__ import annotations

import builtins
import sys
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from greenws.runtime.vu import format_script_error

__all__ = ["MODULE_NAME", "Script", "ScriptError", "load_script"]

#: The module name a script runs under (its ``__name__``), in every VU as in the first run.
MODULE_NAME = "greenws_user_script"


class ScriptError(Exception):
    """The script cannot be loaded or its setup failed (exit 107); one line, file:line included."""


@dataclass(frozen=True)
class Script:
    """A compiled test script and its first run (the module ``options`` are read from)."""

    path: str
    code: CodeType
    module: ModuleType

    def new_vu_namespace(self, vu_id: int) -> dict[str, Any]:
        """Run the script's init code again for VU ``vu_id``; its globals are that VU's own."""
        namespace: dict[str, Any] = {
            "__name__": MODULE_NAME,
            "__file__": self.path,
            "__builtins__": builtins,
        }
        try:
            exec(self.code, namespace)
        except Exception as error:
            raise ScriptError(
                f"error initialising VU {vu_id}: {format_script_error(error, self.path)}"
            ) from None
        return namespace


def load_script(script_path: str) -> Script:
    """Compile ``script_path`` and run it as the module ``greenws_user_script``; its folder goes
    on ``sys.path`` so a script can import its own helper modules, as k6 scripts import relative
    files.
    """
    path = Path(script_path)
    if not path.is_file():
        raise ScriptError(f"script not found: {path}")
    if path.suffix != ".py":
        raise ScriptError(f"cannot load {path}: not a Python file (.py)")
    try:
        source = path.read_bytes()
    except OSError as error:
        raise ScriptError(f"cannot read {path}: {error.strerror}") from None
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as error:
        raise ScriptError(f"syntax error in {error.filename}:{error.lineno}: {error.msg}") from None
    except ValueError as error:  # e.g. null bytes: not a Python file
        raise ScriptError(f"cannot load {path}: {error}") from None
    module = ModuleType(MODULE_NAME)
    module.__file__ = str(path)
    sys.modules[MODULE_NAME] = module
    sys.path.insert(0, str(path.parent))
    try:
        exec(code, module.__dict__)
    except Exception as error:
        raise ScriptError(
            f"error loading {path.name}: {format_script_error(error, script_path)}"
        ) from None
    return Script(str(path), code, module)
