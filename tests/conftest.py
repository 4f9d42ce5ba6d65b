"""Shared fixtures: the servers greenws is tested against, one process each per session."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "runtime"))  # greenws_runner

from servers import ROOT, ScriptServer, free_port

from greenws.echo_server import EchoServerProcess

__all__ = ["free_port"]  # re-exported: a port that was free a moment ago


@pytest.fixture(scope="session")
def echo_server() -> Iterator[EchoServerProcess]:
    """greenws's own echo target in a child process; ``.url`` is ``ws://127.0.0.1:PORT``."""
    with EchoServerProcess("127.0.0.1", 0) as server:
        yield server


@pytest.fixture(scope="session")
def websockets_server() -> Iterator[ScriptServer]:
    """The independent ``websockets`` server; ``.url`` is the base, append a route path."""
    server = ScriptServer(ROOT / "tests" / "interop" / "websockets_server.py")
    try:
        yield server
    finally:
        server.stop()
