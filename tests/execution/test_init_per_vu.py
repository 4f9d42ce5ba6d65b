"""Each VU runs the script's init code itself, as in k6; SharedArray is loaded once and shared.

The scripts append what their init code and iterations saw to a file (one JSON line each, a
process-wide append), and the tests read it back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import run_greenws

RECORDER = """
import json, os
LOG = os.environ["LOG"]

def record(**fields):
    with open(LOG, "a", encoding="utf-8") as log:
        log.write(json.dumps(fields) + "\\n")
"""


def records(log: Path, kind: str) -> list[dict[str, Any]]:
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [record for record in map(json.loads, lines) if record["kind"] == kind]


def test_module_level_state_is_per_vu_and_init_runs_once_more_for_the_options(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log.ndjson"
    script = (
        RECORDER
        + """
import random
from greenws import vu

options = {"scenarios": {"each": {"executor": "per-vu-iterations", "vus": 5, "iterations": 3}}}
drawn = random.random()
count = 0
record(kind="init", drawn=drawn)

def default():
    global count
    count += 1
    record(kind="iteration", vu=vu.id, drawn=drawn, count=count)
"""
    )
    result = run_greenws(tmp_path, script, env={"LOG": str(log)})
    assert result.returncode == 0, result.stderr
    assert len(records(log, "init")) == 5 + 1  # every VU, and once for the options (as k6)
    iterations = records(log, "iteration")
    assert len(iterations) == 15
    by_vu: dict[int, list[dict[str, Any]]] = {}
    for item in iterations:
        by_vu.setdefault(item["vu"], []).append(item)
    assert sorted(by_vu) == [1, 2, 3, 4, 5]
    # a module-level counter counts one VU's iterations; a module-level draw is the VU's own
    assert all(sorted(i["count"] for i in items) == [1, 2, 3] for items in by_vu.values())
    assert len({items[0]["drawn"] for items in by_vu.values()}) == 5
    assert all(len({i["drawn"] for i in items}) == 1 for items in by_vu.values())


def test_setup_and_teardown_share_the_first_run_and_vus_do_not_see_its_globals(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log.ndjson"
    script = (
        RECORDER
        + """
options = {"vus": 2, "iterations": 2}
seen = "init"

def setup():
    global seen
    seen = "set by setup"
    return {"token": "t"}

def default(data):
    record(kind="iteration", seen=seen, token=data["token"])

def teardown(data):
    record(kind="teardown", seen=seen)
"""
    )
    result = run_greenws(tmp_path, script, env={"LOG": str(log)})
    assert result.returncode == 0, result.stderr
    assert [r["seen"] for r in records(log, "iteration")] == ["init", "init"]
    assert [r["token"] for r in records(log, "iteration")] == ["t", "t"]
    assert [r["seen"] for r in records(log, "teardown")] == ["set by setup"]


def test_a_vu_whose_init_fails_stops_the_test_before_setup_with_107(tmp_path: Path) -> None:
    log = tmp_path / "log.ndjson"
    script = (
        RECORDER
        + """
import os
options = {"vus": 3, "iterations": 3}
runs = os.path.join(os.path.dirname(LOG), "inits")
with open(runs, "a") as handle:
    handle.write("x")
if os.path.getsize(runs) == 3:  # the options run and VU 1 succeed, VU 2's init fails
    raise RuntimeError("no more accounts")

def setup():
    record(kind="setup")

def default():
    record(kind="iteration")
"""
    )
    result = run_greenws(tmp_path, script, env={"LOG": str(log)})
    assert result.returncode == 107, result.stderr
    assert "error initialising VU 2: RuntimeError: no more accounts" in result.stderr
    assert records(log, "setup") == [] and records(log, "iteration") == []


def test_arrival_rate_vus_beyond_the_preallocated_ones_are_initialised_only_when_needed(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log.ndjson"
    script = (
        RECORDER
        + """
options = {"scenarios": {"arrivals": {
    "executor": "constant-arrival-rate", "rate": 4, "timeUnit": "1s", "duration": "1s",
    "preAllocatedVUs": 2, "maxVUs": 50,
}}}
record(kind="init")

def default():
    record(kind="iteration")
"""
    )
    result = run_greenws(tmp_path, script, env={"LOG": str(log)})
    assert result.returncode == 0, result.stderr
    assert len(records(log, "iteration")) == 4
    # iterations take no time, so the 2 pre-allocated VUs serve every arrival: 48 never init
    assert len(records(log, "init")) == 1 + 2


def test_a_shared_array_is_loaded_once_shared_by_every_vu_and_read_only(tmp_path: Path) -> None:
    log = tmp_path / "log.ndjson"
    script = (
        RECORDER
        + """
from greenws import SharedArray, vu

options = {"vus": 20, "iterations": 20}

def load():
    record(kind="load")
    return [{"name": f"user{i}", "roles": ["a", "b"]} for i in range(100)]

users = SharedArray("users", load)

def default():
    user = users[vu.id - 1]
    refused = []
    for change in (lambda: user.__setitem__("name", "x"), lambda: user["roles"].append("c")):
        try:
            change()
        except (TypeError, AttributeError):
            refused.append(True)
    record(kind="iteration", identity=id(users), name=user["name"], size=len(users),
           refused=len(refused))
"""
    )
    result = run_greenws(tmp_path, script, env={"LOG": str(log)})
    assert result.returncode == 0, result.stderr
    assert len(records(log, "load")) == 1  # 21 inits, one load
    iterations = records(log, "iteration")
    assert len(iterations) == 20
    assert len({r["identity"] for r in iterations}) == 1
    assert sorted(r["name"] for r in iterations) == sorted(f"user{i}" for i in range(20))
    assert all(r["size"] == 100 and r["refused"] == 2 for r in iterations)


MEMORY_SCRIPT = (
    RECORDER
    + """
import os, sys
from greenws import SharedArray

options = {"vus": 5000, "iterations": 5000}
ROWS = int(os.environ["ROWS"])

def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))

def load():
    rows = [f"user-{i:08d}-" + "x" * 80 for i in range(ROWS)]
    record(kind="load", size=sum(sys.getsizeof(row) for row in rows) + sys.getsizeof(rows))
    return rows

users = SharedArray("users", load)
try:  # the first init (the options' run) notes the memory once the array is loaded
    os.close(os.open(LOG + ".loaded", os.O_CREAT | os.O_EXCL))
    record(kind="loaded", rss=rss())
except FileExistsError:
    pass

def setup():  # every VU has run its init code by now, and no iteration has run yet
    record(kind="initialised", rss=rss())

def default():
    assert len(users) == ROWS
"""
)


def test_five_thousand_vus_over_a_10_mb_shared_array_hold_one_copy(tmp_path: Path) -> None:
    """What 5,000 VUs' init adds to the memory is the same over a 10 MB array as over one row.

    Measured inside the run between the array's load and setup(), when no sample has been
    recorded yet, so the figure does not depend on how far the outputs are behind.
    """

    def vus_growth(rows: int, log: Path) -> tuple[int, int]:
        result = run_greenws(
            tmp_path,
            MEMORY_SCRIPT,
            env={"LOG": str(log), "ROWS": str(rows)},
            timeout=180,
            outputs=False,
        )
        assert result.returncode == 0, result.stderr
        [loaded] = records(log, "loaded")
        [initialised] = records(log, "initialised")
        [load] = records(log, "load")
        return initialised["rss"] - loaded["rss"], load["size"]

    big_growth, array_bytes = vus_growth(100_000, tmp_path / "big.ndjson")
    small_growth, _ = vus_growth(1, tmp_path / "small.ndjson")
    assert array_bytes > 10_000_000
    assert 0 < small_growth < 5000 * 4096  # the VUs' own init state, a few KB each at most
    # A copy per VU, even of the references only, would be 5,000 x 800 kB.
    assert big_growth - small_growth < 1_000_000, (big_growth, small_growth)


def test_a_vu_of_the_k6_example_costs_under_2_kb_of_init_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Memory counted by tracemalloc, not RSS: the same on a busy machine as on a quiet one."""
    import gc
    import sys
    import tracemalloc

    monkeypatch.setattr(sys, "path", list(sys.path))  # load_script puts examples/ first
    monkeypatch.delitem(sys.modules, "greenws_user_script", raising=False)

    from greenws.execution.script_module import load_script
    from greenws.options.layers import resolve_options
    from greenws.runtime.context import RunContext

    example = str(Path(__file__).resolve().parents[2] / "examples" / "k6_ws_example.py")
    RunContext(resolve_options(), script_path=example)  # its custom metrics need a run
    script = load_script(example)
    namespaces = [script.new_vu_namespace(vu_id) for vu_id in range(1, 51)]  # warm caches
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        namespaces += [script.new_vu_namespace(vu_id) for vu_id in range(51, 1051)]
        gc.collect()
        per_vu = (tracemalloc.get_traced_memory()[0] - before) / 1000
    finally:
        tracemalloc.stop()
    assert len({id(namespace["default"]) for namespace in namespaces}) == len(namespaces)
    assert 100 < per_vu < 2048
