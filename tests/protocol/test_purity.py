"""The protocol core is pure: importing it loads neither gevent, nor socket, nor asyncio.

This matters twice: the core stays testable with plain values and reusable by any I/O
layer, and importing it can never load ``socket`` before the CLI has monkey-patched it.
The check runs in a fresh interpreter, since this one has long since imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# With "stub", the parent package `greenws` is replaced by an empty module so the check
# covers what greenws.protocol itself imports, whatever greenws/__init__.py pulls in.
PROBE = """
import json, sys, types
if sys.argv[2] == "stub":
    stub = types.ModuleType("greenws")
    stub.__path__ = [sys.argv[1] + "/greenws"]
    sys.modules["greenws"] = stub
else:
    sys.path.insert(0, sys.argv[1])
import greenws.protocol
from greenws.protocol import frames
forbidden = ("gevent", "socket", "_socket", "asyncio", "ssl", "select", "selectors")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
print(json.dumps({"loaded": loaded, "speedup": frames.apply_mask_speedup is not None,
                  "websockets": sorted(m for m in sys.modules if m.startswith("websockets"))}))
"""


def run_probe(parent: str = "stub") -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO), parent],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    probe: dict[str, object] = json.loads(result.stdout)
    return probe


def test_protocol_imports_no_io_modules() -> None:
    probe = run_probe()
    assert probe["loaded"] == []


def test_importing_through_the_real_parent_package_stays_pure() -> None:
    # greenws/__init__.py loads the script API lazily precisely so that this holds.
    probe = run_probe("real")
    assert probe["loaded"] == []


def test_speedup_loaded_without_importing_websockets_package() -> None:
    try:
        import websockets.speedups  # noqa: F401
    except ImportError:  # pragma: no cover - websockets is a dependency
        return
    probe = run_probe()
    assert probe["speedup"] is True
    assert probe["websockets"] == []  # its __init__ would import socket via importlib.metadata
