"""What the tests of ``greenws.websockets`` share: a script prelude that logs events to a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from greenws_runner import RunResult, run_greenws

#: Prepended to every test script: ``record(...)`` appends an event to the VU's ``LOG`` and, as
#: a JSON line, to the events file. Each VU runs the script's top level itself (as in k6), so
#: ``LOG`` is one VU's; the file holds every VU's events in the order they happened.
PRELUDE = """
import json, os
from greenws import ws, check
from greenws.websockets import *

TARGET = os.environ["TARGET"]
LOG = []

def record(*item):
    LOG.append(list(item))
    with open(os.environ["EVENTS_FILE"], "a") as handle:
        handle.write(json.dumps(list(item)) + "\\n")
"""


def run_logged(tmp_path: Path, body: str, url: str, *args: str) -> tuple[RunResult, list[Any]]:
    """Run ``PRELUDE + body`` against ``url``; return the run and the events it recorded."""
    events = tmp_path / "events.json"
    env = {"EVENTS_FILE": str(events), "TARGET": url}
    events.unlink(missing_ok=True)
    result = run_greenws(tmp_path, PRELUDE + body, *args, env=env)
    lines = events.read_text().splitlines() if events.exists() else []
    log = [json.loads(line) for line in lines]
    return result, log


def tag_values(result: RunResult, metric: str, tag: str) -> set[str]:
    """Every value of ``tag`` on the JSON-output points of ``metric``."""
    return {point["data"]["tags"].get(tag) for point in result.points_of(metric)}
