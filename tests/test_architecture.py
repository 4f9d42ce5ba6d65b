"""The folders are the layers of docs/architecture.md, and the code keeps to them.

Read from the source (module-level imports, outside ``if TYPE_CHECKING``), so a new import that
reaches up a layer, an import circle that would run at import time, or a module that grew past
500 lines fails here rather than in a review.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "greenws"

#: Lowest first; a module may import its own layer and the ones below it.
LAYERS = [
    (
        "pure cores",
        [
            "greenws.exit_codes",
            "greenws.protocol",
            "greenws.codecs",
            "greenws.metrics",
            "greenws.options",
            "greenws.summary",
            "greenws.runtime.timers",
            "greenws.runtime.logs",
            "greenws.outputs.file_destination",
        ],
    ),
    ("networking", ["greenws.net"]),
    ("the VU runtime", ["greenws.runtime"]),
    ("socket APIs", ["greenws.sockets"]),
    ("plugins, outputs and protocol kits", ["greenws.plugins", "greenws.outputs", "greenws.kits"]),
    ("execution", ["greenws.execution"]),
    ("script API", ["greenws.api", "greenws.websockets"]),
    ("command line", ["greenws.cli", "greenws.__main__"]),
]

#: The pure cores load none of these (a fresh interpreter imports every pure module).
IO_MODULES = ("gevent", "socket", "_socket", "asyncio", "ssl", "select", "selectors", "pluggy")


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        names[name] = path
    return names


MODULES = module_names()


def layer_of(module: str) -> int:
    """The index in LAYERS of the most specific prefix naming ``module`` (-1: the root)."""
    best, length = -1, 0
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = index, len(prefix)
    return best


def import_time_imports(path: Path) -> set[str]:
    """greenws modules that ``path`` imports when it is imported (not in functions or for types)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    found.add(full if full in MODULES else node.module)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(node.orelse)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {name for name in found if name in MODULES}


GRAPH = {module: import_time_imports(path) for module, path in MODULES.items()}


#: Below every layer, with the package itself: ``greenws.native`` picks compiled or pure modules
#: before anything else is imported, so it imports nothing of greenws.
ROOT_MODULES = ("greenws", "greenws.native")


def test_every_module_belongs_to_a_layer() -> None:
    assert [m for m in MODULES if m not in ROOT_MODULES and layer_of(m) < 0] == []


def test_the_import_switch_imports_nothing_of_greenws() -> None:
    assert GRAPH.get("greenws.native", set()) == set()


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if target != "greenws" and layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_no_import_circle_runs_at_import_time() -> None:
    circles = []
    done: set[str] = set()

    def walk(module: str, path: list[str]) -> None:
        if module in path:
            circles.append(" -> ".join([*path[path.index(module) :], module]))
            return
        if module in done:
            return
        for target in sorted(GRAPH.get(module, ())):
            walk(target, [*path, module])
        done.add(module)

    for module in sorted(GRAPH):
        walk(module, [])
    assert circles == []


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}


def test_the_pure_cores_load_no_io_module() -> None:
    pure = sorted(module for module in MODULES if layer_of(module) == 0)
    probe = (
        "import importlib, json, sys\n"
        f"for name in {pure!r}: importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {IO_MODULES!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert len(pure) > 30  # the probe really imported the cores
    assert json.loads(result.stdout) == []
