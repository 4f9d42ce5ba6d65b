"""What the tests of ``greenws.websockets`` share: a script prelude that logs events to a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from greenws_runner import RunResult, run_greenws

#: Prepended to every test script: ``record(...)`` appends to a log that ``dump()`` writes.
PRELUDE = """
import json, os
from greenws import ws, check
from greenws.websockets import *

TARGET = os.environ["TARGET"]
LOG = []

def record(*item):
    LOG.append(list(item))

def dump():
    with open(os.environ["EVENTS_FILE"], "w") as handle:
        json.dump(LOG, handle)
"""


def run_logged(tmp_path: Path, body: str, url: str, *args: str) -> tuple[RunResult, list[Any]]:
    """Run ``PRELUDE + body`` against ``url``; return the run and the events it dumped."""
    events = tmp_path / "events.json"
    env = {"EVENTS_FILE": str(events), "TARGET": url}
    result = run_greenws(tmp_path, PRELUDE + body, *args, env=env)
    log = json.loads(events.read_text()) if events.exists() else []
    return result, log


def tag_values(result: RunResult, metric: str, tag: str) -> set[str]:
    """Every value of ``tag`` on the JSON-output points of ``metric``."""
    return {point["data"]["tags"].get(tag) for point in result.points_of(metric)}
