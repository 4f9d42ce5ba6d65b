"""Importing a test script as a module, with errors a user can act on in one line."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from greenws.runtime.vu import format_script_error

__all__ = ["ScriptError", "load_script_module"]


class ScriptError(Exception):
    """The script cannot be loaded or its setup failed (exit 107); one line, file:line included."""


def load_script_module(script_path: str) -> ModuleType:
    """Import ``script_path`` as ``greenws_user_script``; its folder goes on ``sys.path`` so a
    script can import its own helper modules, as k6 scripts import relative files.
    """
    path = Path(script_path)
    if not path.is_file():
        raise ScriptError(f"script not found: {path}")
    spec = importlib.util.spec_from_file_location("greenws_user_script", path)
    if spec is None or spec.loader is None:
        raise ScriptError(f"cannot load {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules["greenws_user_script"] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise ScriptError(f"syntax error in {error.filename}:{error.lineno}: {error.msg}") from None
    except Exception as error:
        raise ScriptError(
            f"error loading {path.name}: {format_script_error(error, script_path)}"
        ) from None
    return module
