"""``examples/kubernetes`` without a cluster: the pods' and the merge Job's commands, run locally.

The commands are read from the manifests and run through ``/bin/sh -c`` with the environment the
manifests set, so what is tested is what the pods would run. Only the addresses change: the echo
server and a real InfluxDB on 127.0.0.1 stand in for the cluster's services.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import yaml

from greenws.options.segments import even_sequence

sys.path.insert(0, str(Path(__file__).parent / "outputs"))  # influx_servers: not a package
from influx_servers import InfluxDB

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "kubernetes"
COUNTED = ("iterations", "ws_sessions", "ws_msgs_sent", "ws_msgs_received")


def container_of(manifest: str) -> dict:
    document = yaml.safe_load((EXAMPLE / manifest).read_text(encoding="utf-8"))
    (container,) = document["spec"]["template"]["spec"]["containers"]
    return document, container


def pod_environment(container: dict, **overrides: str) -> dict[str, str]:
    env = {**os.environ, **{item["name"]: item["value"] for item in container["env"]}}
    env.update(overrides)
    # the image's `greenws` is this checkout's, from this interpreter's environment
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    return env


def totals(summary: dict) -> dict[str, float]:
    metrics = summary["metrics"]
    counts = {name: metrics[name]["count"] for name in COUNTED}
    counts["checks passed"] = metrics["checks"]["passes"]
    counts["checks failed"] = metrics["checks"]["fails"]
    return counts


def test_manifests_agree_on_the_number_of_pods() -> None:
    job, container = container_of("job.yaml")
    env = {item["name"]: item["value"] for item in container["env"]}
    pods = int(env["PODS"])
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == job["spec"]["parallelism"] == pods
    as_numbers = [Fraction(point) for point in env["SEQUENCE"].split(",")]
    assert as_numbers == [Fraction(point) for point in even_sequence(pods)]


def test_pods_then_merge_equal_one_process(tmp_path: Path, echo_server) -> None:
    job, pod = container_of("job.yaml")
    _, merge = container_of("merge-job.yaml")
    results = tmp_path / "results"
    results.mkdir()
    script = str(EXAMPLE / "script.py")
    with InfluxDB(tmp_path / "influxdb") as influx:
        pods = [
            subprocess.Popen(
                [*pod["command"], *pod["args"]],
                env=pod_environment(
                    pod,
                    JOB_COMPLETION_INDEX=str(index),
                    TARGET_URL=echo_server.url,
                    INFLUXDB_URL=f"{influx.url}/greenws",
                    SCRIPT=script,
                    RESULTS=str(results),
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for index in range(job["spec"]["completions"])
        ]
        for process in pods:
            _, err = process.communicate(timeout=90)
            assert process.returncode == 0, err
        stored = influx.counts("greenws")
    merged = subprocess.run(
        [*merge["command"], *merge["args"]],
        env=pod_environment(merge, RESULTS=str(results)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert merged.returncode == 0, merged.stderr
    assert "ws_sessions" in merged.stdout  # the merged summary is printed
    merged_summary = json.loads((results / "summary-merged.json").read_text())

    single_export = tmp_path / "single.json"
    single = subprocess.run(
        [
            sys.executable,
            "-m",
            "greenws",
            "run",
            script,
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
    assert stored["iterations"] == merged_summary["metrics"]["iterations"]["count"]
    assert stored["ws_sessions"] == merged_summary["metrics"]["ws_sessions"]["count"]
