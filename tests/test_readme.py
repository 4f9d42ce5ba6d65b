"""Every Python snippet in the README runs as written against the embedded echo server.

A snippet is a whole script (it has ``default``) or a ``handle_summary`` for one; a snippet that
is neither fails here, so a README example cannot sit at a place where it would not run.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from greenws_runner import run_greenws
from servers import free_port

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPETS = [
    textwrap.dedent(block)
    for block in re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
]


def as_script(snippet: str) -> str:
    if "def default" in snippet:
        return snippet
    if "def handle_summary" in snippet:  # what it summarises: a run of one empty iteration
        return snippet + "\n\ndef default():\n    pass\n"
    raise AssertionError(f"a README snippet is not a script nor a handle_summary:\n{snippet}")


def test_the_readme_has_snippets() -> None:
    assert len(SNIPPETS) >= 4


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"snippet{i}" for i in range(len(SNIPPETS))])
def test_readme_snippet_runs_as_written(tmp_path: Path, snippet: str) -> None:
    (tmp_path / "users.json").write_text(json.dumps([{"name": "ann"}, {"name": "bob"}]))
    # The README's port, 8765, moved to a free one: another run may hold 8765 right now.
    port = str(free_port())
    script = as_script(snippet).replace("127.0.0.1:8765", f"127.0.0.1:{port}")
    result = run_greenws(tmp_path, script, "--echo-server", "--echo-port", port, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.metric("iterations")["count"] >= 1
    assert "ERRO" not in result.stderr
