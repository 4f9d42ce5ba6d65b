"""The Prometheus remote-write output (``plugins/greenws-prometheus``) against real servers.

A run writes to a real Prometheus (Debian's, with the remote-write receiver) or VictoriaMetrics
on 127.0.0.1, then PromQL over the HTTP API must give back the summary's counts: k6's names
(``k6_ws_msgs_sent_total``, ``k6_ws_connecting_count``, …) summed over their series. Native
histograms go to a Prometheus started with ``--enable-feature=native-histograms``; an outage is
a port nobody listens on, and every sample the summary counted must then be counted as dropped,
with one warning line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import ROOT, RunResult, run_greenws, write_script
from prometheus_servers import Prometheus, Victoria
from servers import free_port

PYTHONPATH = os.pathsep.join([str(ROOT), str(ROOT / "plugins" / "greenws-prometheus")])
PLUGIN = ["-p", "greenws_prometheus.plugin"]

SCRIPT = """
import os
from greenws import ws, check, group, Counter

options = {"scenarios": {"chat": {"executor": "constant-vus", "vus": 2, "duration": "2s"}}}
hellos = Counter("hellos")

def default():
    def session(socket):
        sent = []
        def on_message(message):
            if len(sent) < 5:
                sent.append(1)
                socket.send("ping")
            else:
                socket.close(1000)
        def on_open():
            socket.ping()
            hellos.add(1)
            socket.send("ping")
        socket.on("open", on_open)
        socket.on("message", on_message)
    res = ws.connect(os.environ["TARGET"], {}, session)
    check(res, {"status is 101": lambda r: r.status == 101})
"""

#: Counters whose ``k6_NAME_total`` must equal the summary's count.
COUNTERS = ("ws_sessions", "ws_msgs_sent", "ws_msgs_received", "iterations", "data_sent", "hellos")
#: Trends whose ``k6_NAME_count`` must equal the summary's count.
TRENDS = ("ws_connecting", "ws_ping", "ws_session_duration")


def child_env(echo_server: Any, **extra: str) -> dict[str, str]:
    return {"TARGET": echo_server.url, "PYTHONPATH": PYTHONPATH, **extra}


def dropped(result: RunResult) -> int:
    """What the console summary says the output lost (0 when it says nothing)."""
    found = re.findall(r"WARNING: output (prometheus-rw=\S*) lost (\d+) samples", result.stdout)
    assert len(found) <= 1, found
    return int(found[0][1]) if found else 0


# -- against real servers ---------------------------------------------------------------------


def _run(tmp_path: Path, echo_server: Any, url: str, *args: str, **env: str) -> RunResult:
    result = run_greenws(
        tmp_path,
        SCRIPT,
        *PLUGIN,
        "--out",
        f"experimental-prometheus-rw=url={url},pushInterval=500ms",
        *args,
        env=child_env(echo_server, **env),
    )
    assert result.returncode == 0, result.stderr
    return result


def _assert_counts_match(server: Any, result: RunResult, testid: str) -> None:
    for name in COUNTERS:
        expected = result.metric(name)["count"]
        got = server.settled(f'sum(k6_{name}_total{{testid="{testid}"}})', expected)
        assert got == expected, name
    for name in TRENDS:
        expected = result.metric(name)["count"]
        got = server.settled(f'sum(k6_{name}_count{{testid="{testid}"}})', expected)
        assert got == expected, name
    checks = server.scalar(f'avg(k6_checks_rate{{testid="{testid}"}})')
    assert checks == result.metric("checks")["value"] == 1.0
    assert dropped(result) == 0


def test_prometheus_holds_the_summarys_counts(tmp_path: Path, echo_server: Any) -> None:
    with Prometheus(tmp_path / "prometheus") as prometheus:
        result = _run(
            tmp_path,
            echo_server,
            prometheus.write_url,
            "--tag",
            "testid=stats",
            K6_PROMETHEUS_RW_TREND_STATS="p(95),p(99),count,avg",
        )
        _assert_counts_match(prometheus, result, "stats")
        p95 = prometheus.scalar('max(k6_ws_connecting_p95{testid="stats"})')
        assert p95 is not None and 0 < p95 < 60  # seconds, not milliseconds


def test_prometheus_back_after_an_outage_gets_every_count_with_one_warning(
    tmp_path: Path, echo_server: Any
) -> None:
    """Prometheus stopped mid-run and started again on the same port and data: the output
    warns once, says when it writes again, and since values are cumulative the pushes after
    the outage carry what the failed ones could not: the summary reports no loss, and PromQL is
    missing nothing (each counter's and Trend count's total is the summary's)."""
    summary = tmp_path / "summary.json"
    script = write_script(tmp_path, SCRIPT.replace('"duration": "2s"', '"duration": "10s"'))
    with Prometheus(tmp_path / "prometheus") as prometheus:
        command = [
            sys.executable, "-m", "greenws", "run", str(script), "-q", "--no-color", *PLUGIN,
            "--out", f"experimental-prometheus-rw=url={prometheus.write_url},pushInterval=500ms",
            "--tag", "testid=outage", "--summary-export", str(summary),
            "--summary-trend-stats", "avg,p(99),count",
        ]  # fmt: skip
        env = {**os.environ, **child_env(echo_server, K6_PROMETHEUS_RW_TREND_STATS="p(99),count")}
        process = subprocess.Popen(
            command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            first = prometheus.scalar('sum(k6_ws_msgs_sent_total{testid="outage"})', wait=30)
            assert first, "no write reached Prometheus before the outage"
            prometheus.stop()
            time.sleep(2.0)  # four push intervals fail
            assert process.poll() is None, "the run ended before Prometheus came back"
            prometheus.start()
            stdout, stderr = process.communicate(timeout=90)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        assert process.returncode == 0, stderr
        assert stderr.count("cannot write to") == 1, stderr  # one warning for the outage
        assert stderr.count(f"writing to {prometheus.write_url} again") == 1, stderr
        data = json.loads(summary.read_text())
        missing = 0.0
        for name, suffix in [(n, "total") for n in COUNTERS if n != "data_sent"] + [
            (n, "count") for n in TRENDS
        ]:
            expected = data["metrics"][name]["count"]
            got = prometheus.settled(f'sum(k6_{name}_{suffix}{{testid="outage"}})', expected)
            assert got is not None, name
            missing += expected - got
        lost = dropped(RunResult(process.returncode, stdout, stderr))
        assert missing == lost == 0
        assert data["metrics"]["ws_msgs_sent"]["count"] > first  # the run went on past it


def test_victoriametrics_holds_the_summarys_counts(tmp_path: Path, echo_server: Any) -> None:
    with Victoria(tmp_path / "vm") as vm:
        result = _run(
            tmp_path,
            echo_server,
            vm.write_url,
            "--tag",
            "testid=vm",
            K6_PROMETHEUS_RW_TREND_STATS="p(99),count",
        )
        _assert_counts_match(vm, result, "vm")


def test_native_histograms_count_every_trend_sample(tmp_path: Path, echo_server: Any) -> None:
    with Prometheus(tmp_path / "prometheus", native_histograms=True) as prometheus:
        result = _run(
            tmp_path,
            echo_server,
            prometheus.write_url,
            "--tag",
            "testid=native",
            K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM="true",
        )
        for name in TRENDS:
            expected = result.metric(name)["count"]
            got = prometheus.settled(
                f'sum(histogram_count(k6_{name}_seconds{{testid="native"}}))', expected
            )
            assert got == expected, name
        median = prometheus.scalar(
            'histogram_quantile(0.5, sum(k6_ws_connecting_seconds{testid="native"}))'
        )
        summary_median = result.metric("ws_connecting")["med"] / 1000.0
        assert median == pytest.approx(summary_median, rel=0.1)  # one schema-3 bucket is 9 %


def test_an_unreachable_server_loses_every_sample_exactly_with_one_warning(
    tmp_path: Path, echo_server: Any
) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v1/write"
    result = _run(tmp_path, echo_server, url, GREENWS_PROMETHEUS_RW_FINAL_FLUSH_TIMEOUT="1s")
    warnings = [line for line in result.stderr.splitlines() if "cannot write to" in line]
    assert len(warnings) == 1, result.stderr
    assert dropped(result) == len(result.points) > 0  # the JSON output got every sample
    assert "Connection refused" in result.stdout  # the summary says why, beside the count


def test_a_bad_setting_stops_the_run_with_exit_104(tmp_path: Path) -> None:
    result = run_greenws(
        tmp_path,
        "def default():\n    pass\n",
        *PLUGIN,
        "--out",
        "prometheus-rw=url=ftp://nowhere",
        env={"PYTHONPATH": PYTHONPATH},
        outputs=False,
    )
    assert result.returncode == 104
    assert "expected http(s)" in result.stderr
