"""``examples/grafana/dashboard-prometheus.json`` against what greenws writes to a real Prometheus.

A short run (sessions that succeed, a few that are refused so ``error_code`` has values, a
check) goes to Prometheus through ``--out experimental-prometheus-rw``. Then every panel's
PromQL runs on ``/api/v1/query`` the way Grafana would send it (``$testid`` and ``$scenario``
as their "All" regex, ``$__rate_interval`` as a minute), and each template variable's
``label_values`` on the labels API. Each must return data, so a renamed metric or label fails here
rather than on a user's screen.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any

from greenws_runner import ROOT, run_greenws
from influx_servers import http
from prometheus_servers import Prometheus
from servers import free_port

DASHBOARD = ROOT / "examples" / "grafana" / "dashboard-prometheus.json"
PYTHONPATH = os.pathsep.join([str(ROOT), str(ROOT / "plugins" / "greenws-prometheus")])

SCRIPT = """
import itertools, os
from greenws import ws, check

options = {"scenarios": {"chat": {"executor": "constant-vus", "vus": 2, "duration": "3s"}}}

calls = itertools.count()

def default():
    target = os.environ["REFUSED"] if next(calls) % 5 == 4 else os.environ["TARGET"]
    def session(socket):
        socket.on("open", lambda: (socket.ping(), socket.send("hi")))
        socket.on("message", lambda message: socket.close(1000))
    res = ws.connect(target, {}, session)
    check(res, {"status is 101": lambda r: r.status == 101})
"""


def grafana_expr(expr: str) -> str:
    """The query as Grafana sends it with every variable on "All"."""
    expr = expr.replace("$__rate_interval", "1m")
    return re.sub(r"\$(testid|scenario)", ".*", expr)


def test_every_panel_and_variable_returns_data(tmp_path: Path, echo_server: Any) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    with Prometheus(tmp_path / "prometheus") as prometheus:
        result = run_greenws(
            tmp_path,
            SCRIPT,
            "-p",
            "greenws_prometheus.plugin",
            "--out",
            f"experimental-prometheus-rw=url={prometheus.write_url},pushInterval=500ms",
            "--tag",
            "testid=grafana",
            env={
                "TARGET": echo_server.url,
                "REFUSED": f"ws://127.0.0.1:{free_port()}",
                "PYTHONPATH": PYTHONPATH,
            },
        )
        assert result.returncode == 0, result.stderr
        assert result.metric("ws_sessions")["count"] > 0
        empty = []
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "greenws-prometheus"
                expr = grafana_expr(target["expr"])
                if not prometheus.query(expr):
                    empty.append(f"{panel['title']}: {expr}")
        assert empty == []
        for variable in dashboard["templating"]["list"]:
            metric, label = re.fullmatch(
                r"label_values\((\w+), (\w+)\)", variable["query"]["query"]
            ).groups()  # type: ignore[union-attr]
            query = urllib.parse.urlencode({"match[]": metric})
            status, body = http("GET", f"{prometheus.url}/api/v1/label/{label}/values?{query}")
            assert status == 200 and json.loads(body)["data"], variable["name"]


def test_the_compose_files_prometheus_starts_as_configured() -> None:
    """examples/grafana/docker-compose.yml's Prometheus, checked by the real tools: its config
    passes ``promtool check config`` and every flag it is started with is one ``prometheus``
    knows (Debian's build; the image is newer, and these flags exist in both)."""
    import subprocess

    import yaml

    compose = yaml.safe_load((ROOT / "examples" / "grafana" / "docker-compose.yml").read_text())
    checked = subprocess.run(
        ["promtool", "check", "config", str(ROOT / "examples" / "grafana" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    usage = subprocess.run(
        ["prometheus", "--help"], capture_output=True, text=True, timeout=60
    )  # kingpin prints its help on stderr
    known = usage.stdout + usage.stderr
    for flag in compose["services"]["prometheus"]["command"]:
        assert flag.split("=", 1)[0] in known, flag
