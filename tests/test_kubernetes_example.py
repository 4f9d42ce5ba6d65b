"""``examples/kubernetes`` without a cluster: the pods' and the merge Job's commands, run locally.

The commands are read from the manifests and run through ``/bin/sh -c`` with the environment the
manifests set, so what is tested is what the pods would run. Only the addresses change: the echo
server and a real InfluxDB on 127.0.0.1 stand in for the cluster's services, and a temporary
directory for the shared volume. Two things a cluster does to a test are simulated: the pods come
up apart (they are started a moment after one another, and the barrier lines them up), and a pod
is lost mid-test (its process group is killed with SIGKILL, as a node failure would).
"""

from __future__ import annotations

import json
import os
import re
import runpy
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenws.execution.start_gate import LEAD_S
from greenws.options.derive import derive_scenarios
from greenws.options.layers import resolve_options
from greenws.options.schedule import scenario_arrivals
from greenws.options.segments import even_sequence

sys.path.insert(0, str(Path(__file__).parent / "outputs"))  # influx_servers: not a package
from influx_servers import InfluxDB

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "kubernetes"
COUNTED = ("iterations", "ws_sessions", "ws_msgs_sent", "ws_msgs_received")
#: The example script's load, as examples/kubernetes/script.py declares it.
SCENARIOS = runpy.run_path(str(EXAMPLE / "script.py"), run_name="options")["options"]["scenarios"]
STARTING = re.compile(r'msg="starting at ([^"]+)"')
#: Seconds between two pods coming up: enough that, without the barrier, they would not start
#: together (the test then asserts they did).
STAGGER_S = 0.7


def container_of(manifest: str) -> tuple[dict[str, Any], dict[str, Any]]:
    document = yaml.safe_load((EXAMPLE / manifest).read_text(encoding="utf-8"))
    (container,) = document["spec"]["template"]["spec"]["containers"]
    return document, container


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container["env"]}


def pod_environment(container: dict[str, Any], **overrides: str) -> dict[str, str]:
    env = {**os.environ, **env_of(container)}
    env.update(overrides)
    # the image's `greenws` is this checkout's, from this interpreter's environment
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    return env


def totals(summary: dict[str, Any]) -> dict[str, float]:
    metrics = summary["metrics"]
    counts = {name: metrics[name]["count"] for name in COUNTED}
    counts["checks passed"] = metrics["checks"]["passes"]
    counts["checks failed"] = metrics["checks"]["fails"]
    return counts


class Cluster:
    """The Job's pods and the merge Job's pod as local processes sharing one results volume."""

    def __init__(self, volume: Path, target_url: str, influx_database_url: str) -> None:
        self.job, self.pod = container_of("job.yaml")
        _, self.merger = container_of("merge-job.yaml")
        self.volume = volume
        self.overrides = {
            "TARGET_URL": target_url,
            "INFLUXDB_URL": influx_database_url,
            "SCRIPT": str(EXAMPLE / "script.py"),
            "RESULTS": str(volume),
        }
        self.pods = int(self.job["spec"]["completions"])
        self.run_dir = volume / env_of(self.pod)["TEST_RUN"]

    def start_pods(
        self, indexes: list[int] | None = None, **overrides: str
    ) -> list[subprocess.Popen[str]]:
        """Every pod (or those of ``indexes``), each a moment after the previous one, each in its
        own process group."""
        processes = []
        for count, index in enumerate(range(self.pods) if indexes is None else indexes):
            if count:
                time.sleep(STAGGER_S)
            processes.append(
                subprocess.Popen(
                    [*self.pod["command"], *self.pod["args"]],
                    env=pod_environment(
                        self.pod,
                        JOB_COMPLETION_INDEX=str(index),
                        **{**self.overrides, **overrides},
                    ),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,  # a lost pod takes its whole process tree with it
                )
            )
        return processes

    def merge(self, **overrides: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.merger["command"], *self.merger["args"]],
            env=pod_environment(self.merger, RESULTS=str(self.volume), **overrides),
            capture_output=True,
            text=True,
            timeout=60,
        )

    def start_instant(self, deadline_s: float = 60.0) -> float:
        """When the barrier will let the pods start: as they compute it, from their check-ins."""
        barrier = self.run_dir / "barrier"
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            found = sorted(barrier.glob("segment-*.json")) if barrier.is_dir() else []
            documents = [json.loads(path.read_text()) for path in found]
            if len(documents) == self.pods:
                return max(float(d["checked_in"]) for d in documents) + LEAD_S
            time.sleep(0.1)
        raise AssertionError(f"the {self.pods} pods did not all check in to {barrier} in time")


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, err = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    return process.returncode, err


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    with InfluxDB(tmp_path_factory.mktemp("influxdb")) as server:
        yield server


def test_manifests_agree_on_the_pods_and_the_test_run() -> None:
    job, container = container_of("job.yaml")
    _, merger = container_of("merge-job.yaml")
    env = env_of(container)
    pods = int(env["PODS"])
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == job["spec"]["parallelism"] == pods
    as_numbers = [Fraction(point) for point in env["SEQUENCE"].split(",")]
    assert as_numbers == [Fraction(point) for point in even_sequence(pods)]
    # one lost pod must not end the others' slices, and must not be retried
    assert job["spec"]["backoffLimitPerIndex"] == 0
    assert "backoffLimit" not in job["spec"] and "maxFailedIndexes" not in job["spec"]
    assert env_of(merger)["TEST_RUN"] == env["TEST_RUN"]  # the merge reads the pods' directory
    assert "--barrier" in container["args"][0]
    assert env_of(merger)["MERGE_FLAGS"] == ""  # complete or fail, unless the user asks


def test_pods_started_apart_start_together_and_merge_to_one_process(
    tmp_path: Path, echo_server: Any, influx: InfluxDB
) -> None:
    cluster = Cluster(tmp_path / "results", echo_server.url, f"{influx.url}/together")
    results = [finish(p) for p in cluster.start_pods()]
    assert [code for code, _ in results] == [0] * cluster.pods, results
    # the barrier: every pod logs one and the same start instant, though they came up apart
    instants = [STARTING.findall(err) for _, err in results]
    assert all(len(found) == 1 for found in instants), results
    assert len({found[0] for found in instants}) == 1, instants
    stored = influx.counts("together")

    merged = cluster.merge()
    assert merged.returncode == 0, merged.stderr
    assert "ws_sessions" in merged.stdout  # the merged summary is printed
    assert "PARTIAL" not in merged.stdout
    merged_summary = json.loads((cluster.run_dir / "merged.json").read_text())

    single_export = tmp_path / "single.json"
    single = subprocess.run(
        [
            sys.executable,
            "-m",
            "greenws",
            "run",
            cluster.overrides["SCRIPT"],
            "-q",
            "--summary-export",
            str(single_export),
        ],
        env={**os.environ, "TARGET_URL": echo_server.url},
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert single.returncode == 0, single.stderr
    single_summary = json.loads(single_export.read_text())

    assert totals(merged_summary) == totals(single_summary)
    assert totals(single_summary)["iterations"] == 20 * 5 + 20 * 5
    # every pod's samples reached the one InfluxDB database, each once
    for metric in ("iterations", "ws_sessions"):
        assert stored[metric] == merged_summary["metrics"][metric]["count"]


def test_a_pod_that_never_comes_up_fails_the_others_at_the_barrier(
    tmp_path: Path, echo_server: Any, influx: InfluxDB
) -> None:
    cluster = Cluster(tmp_path / "results", echo_server.url, f"{influx.url}/never")
    # pod 3 is never scheduled; the others wait BARRIER_TIMEOUT (here 2s, 10m in the manifest)
    results = [finish(p) for p in cluster.start_pods([0, 1, 2], BARRIER_TIMEOUT="2s")]
    for code, err in results:
        assert code != 0, err  # the pod fails: its shell passes only 0 and 99
        assert "3 of 4 runners checked in within 2s; missing segment(s) 3/4:1" in err
    assert not list(cluster.run_dir.glob("summary-*.json"))  # no slice ran without the others
    merged = cluster.merge()
    assert merged.returncode == 104  # no summary at all: the glob names a file that is not there
    assert "summary-*.json" in merged.stderr


def test_a_pod_lost_mid_test_fails_the_merge_naming_its_segment(
    tmp_path: Path, echo_server: Any, influx: InfluxDB
) -> None:
    cluster = Cluster(tmp_path / "results", echo_server.url, f"{influx.url}/lost")
    processes = cluster.start_pods()
    lost = 2
    try:
        start = cluster.start_instant()
        # into the test: the arrivals scenario runs 5 s from the start
        time.sleep(max(0.0, start + 1.5 - time.time()))
        assert processes[lost].poll() is None  # the pod was still running when it was lost
        os.killpg(processes[lost].pid, signal.SIGKILL)
    finally:
        results = [finish(p) for p in processes]
    codes = [code for code, _ in results]
    assert codes[lost] == -signal.SIGKILL
    assert codes[:lost] + codes[lost + 1 :] == [0] * (cluster.pods - 1), results
    assert not (cluster.run_dir / f"summary-{lost}.json").exists()

    merged = cluster.merge()
    assert merged.returncode == 122, merged.stderr  # the Job fails: the test is not whole
    assert merged.stdout == ""
    assert "segment 1/2:3/4 of sequence 0,1/4,1/2,3/4,1 is missing" in merged.stderr
    assert not (cluster.run_dir / "merged.json").exists()

    partial = cluster.merge(MERGE_FLAGS="--allow-partial")
    assert partial.returncode == 0, partial.stderr
    assert "PARTIAL RESULTS: 3/4 of the test" in partial.stdout
    assert "missing 1/2:3/4" in partial.stdout
    exported = json.loads((cluster.run_dir / "merged.json").read_text())
    assert exported["greenws"]["partial"]["missing_segments"] == ["1/2:3/4"]
    # what is there is the three other pods' slices, exactly: 15 of the 20 users (striped
    # 5 + 5 + 5 + 5) with 5 sessions each, and the arrivals of the 3 segments, dealt as k6 deals
    # them (by how maxVUs split: 26 + 26 + 24 + 24 of 100), each started or dropped
    metrics = exported["metrics"]
    dropped = metrics.get("dropped_iterations", {}).get("count", 0)
    assert metrics["iterations"]["count"] + dropped == 15 * 5 + 100 - arrivals_of(lost, cluster)
    assert metrics["ws_sessions"]["count"] == metrics["iterations"]["count"]


def arrivals_of(pod: int, cluster: Cluster) -> int:
    """How many of the script's arrivals the pod's segment starts, by the pure core's maths."""
    env = env_of(cluster.pod)
    segment = f"{pod}/{cluster.pods}:{pod + 1}/{cluster.pods}"
    options = resolve_options(
        ("script", {"scenarios": SCENARIOS, "executionSegment": segment,
                    "executionSegmentSequence": env["SEQUENCE"]}),
    )  # fmt: skip
    (arrivals,) = (s for s in derive_scenarios(options) if s.name == "arrivals")
    return len(list(scenario_arrivals(arrivals)))
