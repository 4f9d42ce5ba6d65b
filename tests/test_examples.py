"""Every example under examples/ runs, briefly, against the embedded echo server."""

from __future__ import annotations

from pathlib import Path

import pytest
from greenws_runner import run_greenws

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_against_the_echo_server(tmp_path: Path, example: Path) -> None:
    """Shortened to 3 s with -d; the example's own checks must all pass."""
    result = run_greenws(tmp_path, example, "--echo-server", "--echo-port", "8765", "-d", "3s")
    assert result.returncode == 0, result.stderr
    assert result.metric("ws_sessions")["count"] >= 1
    checks = result.summary["metrics"].get("checks")
    if checks:
        assert checks["fails"] == 0
    assert "WEBSOCKET" in result.stdout
    assert "source=console" not in result.stdout  # console.log goes to stderr, as in k6
