"""``examples/grafana/dashboard.json`` against what greenws really writes to a real InfluxDB.

A short greenws run (two scenarios on two URLs, pings, a check that fails now and then) goes into
InfluxDB 1.6 through ``--out influxdb=``. Then every query of the dashboard, the panels' and the
template variables', runs on ``/query`` the way Grafana would send it: the ``$timeFilter``,
``$__interval`` and ``$__interval_ms`` macros replaced, ``$scenario``/``$url`` formatted the way
Grafana formats a multi-value variable inside a regex. Each must return a non-empty series, so a
renamed metric, tag or field, or an InfluxQL mistake, fails here rather than on a user's screen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from greenws_runner import ROOT, RunResult, run_greenws
from influx_servers import InfluxDB

GRAFANA = ROOT / "examples" / "grafana"
DATASOURCE_UID = "greenws-influxdb"
DATABASE = "k6"

SCRIPT = """
import itertools
from greenws import check, env, ws

# Two scenarios on two URLs (a scenario's env: k6's __ENV), so $scenario and $url have a choice.
options = {
    "scenarios": {
        "chat": {"executor": "constant-vus", "vus": 2, "duration": "3s", "env": {"ROOM": "chat"}},
        "feed": {"executor": "constant-vus", "vus": 1, "duration": "3s", "env": {"ROOM": "feed"}},
    }
}
sessions = itertools.count()

def default():
    def session(socket):
        received = []
        def on_message(message):
            received.append(message)
            if len(received) < 5:
                socket.send("m")
            else:
                socket.close(1000)
        socket.on("open", lambda: (socket.send("m"), socket.ping()))
        socket.on("message", on_message)
        socket.set_timeout(lambda: socket.close(1000), 5000)
    res = ws.connect(env["TARGET"] + "/" + env["ROOM"], None, session)
    check(res, {
        "status is 101": lambda r: r.status == 101,
        "every third session fails": lambda r: next(sessions) % 3 != 0,
    })
"""


def grafana_regex(values: list[str]) -> str:
    """A multi-value variable inside ``/…/``, as Grafana's InfluxDB data source formats it."""
    escaped = [re.sub(r"([\\^$*+?.()|{}\[\]/])", r"\\\1", value) for value in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def substitute(query: str, variables: dict[str, list[str]]) -> str:
    """Grafana's macros and variables, replaced for one query (longest names first)."""
    query = query.replace("$timeFilter", "time > now() - 1h")
    query = query.replace("$__interval_ms", "1000").replace("$__interval", "1s")
    for name in sorted(variables, key=len, reverse=True):
        query = query.replace(f"${name}", grafana_regex(variables[name]))
    leftover = re.findall(r"\$(?!tag_)\w+", query)
    assert not leftover, f"unreplaced {leftover} in {query}"
    return query


def tag_values(series: list[dict[str, Any]]) -> list[str]:
    """The values of a ``SHOW TAG VALUES`` answer (columns ``key``, ``value``)."""
    return sorted({row[1] for item in series for row in item["values"]})


def non_null_points(series: list[dict[str, Any]]) -> list[list[Any]]:
    return [row for item in series for row in item["values"] if any(v is not None for v in row[1:])]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads((GRAFANA / "dashboard.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def loaded(
    tmp_path_factory: pytest.TempPathFactory, echo_server: Any
) -> Iterator[tuple[InfluxDB, RunResult]]:
    """InfluxDB 1.6 holding one real greenws run, with ``url`` kept a tag (the README's setting)."""
    directory = tmp_path_factory.mktemp("grafana")
    with InfluxDB(directory / "influxdb") as influx:
        result = run_greenws(
            directory,
            SCRIPT,
            "--out",
            f"influxdb={influx.url}/{DATABASE}",
            env={
                "TARGET": echo_server.url,
                "GREENWS_INFLUXDB_TAGS_AS_FIELDS": "vu:int,iter:int",
                "GREENWS_DISABLE_PLUGIN_AUTOLOAD": "",
            },
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "lost" not in result.stdout, result.stdout
        for name in ("vus", "vus_max", "ws_sessions", "ws_ping", "ws_connecting", "checks"):
            assert name in result.summary["metrics"], name
        yield influx, result


# -- the JSON, the provisioning files ----------------------------------------------------------


def test_dashboard_structure(dashboard: dict[str, Any]) -> None:
    provisioned = (GRAFANA / "provisioning" / "datasources" / "influxdb.yml").read_text()
    uids = re.findall(r"^\s*uid:\s*(\S+)\s*$", provisioned, re.MULTILINE)
    assert uids == [DATASOURCE_UID]
    assert re.search(rf"^\s*dbName:\s*{DATABASE}\s*$", provisioned, re.MULTILINE)
    assert dashboard["uid"] and dashboard["title"]
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert panel["targets"], panel["title"]
        assert panel["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}, panel["title"]
        assert len({target["refId"] for target in panel["targets"]}) == len(panel["targets"])
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
            assert target["rawQuery"] is True and target["query"].startswith("SELECT ")
            assert "$timeFilter" in target["query"], target["query"]
            assert "GROUP BY time($__interval)" in target["query"], target["query"]
    variables = {item["name"]: item for item in dashboard["templating"]["list"]}
    assert set(variables) == {"scenario", "url"}
    for variable in variables.values():
        assert variable["type"] == "query"
        assert variable["datasource"]["uid"] == DATASOURCE_UID
        assert variable["query"].startswith("SHOW TAG VALUES ")
    titles = " ".join(panel["title"] for panel in panels)
    queries = " ".join(t["query"] for panel in panels for t in panel["targets"])
    for metric in ("vus", "vus_max", "ws_sessions", "ws_msgs_sent", "ws_msgs_received"):
        assert f'FROM "{metric}"' in queries, metric
    for metric in ("ws_connecting", "ws_ping"):
        assert f"{metric} p50 / p95 / p99" in titles
    assert 'FROM "checks"' in queries


def test_provisioning_mounts_what_it_names() -> None:
    compose = (GRAFANA / "docker-compose.yml").read_text()
    provider = (GRAFANA / "provisioning" / "dashboards" / "greenws.yml").read_text()
    assert "image: influxdb:1.8" in compose
    ports = re.findall(r'^\s*-\s*"([^"]+:\d+:\d+)"\s*$', compose, re.MULTILINE)
    assert ports and all(port.startswith("127.0.0.1:") for port in ports), ports
    assert "./provisioning:/etc/grafana/provisioning" in compose
    (path,) = re.findall(r"^\s*path:\s*(\S+)\s*$", provider, re.MULTILINE)
    assert f"./dashboard.json:{path}/" in compose


# -- the queries against a real run ------------------------------------------------------------


def test_template_variables_return_values(
    dashboard: dict[str, Any], loaded: tuple[InfluxDB, RunResult]
) -> None:
    influx, _ = loaded
    variables = {item["name"]: item["query"] for item in dashboard["templating"]["list"]}
    scenarios = tag_values(influx.query(DATABASE, substitute(variables["scenario"], {})))
    assert scenarios == ["chat", "feed"]
    urls = tag_values(influx.query(DATABASE, substitute(variables["url"], {"scenario": scenarios})))
    base = loaded[1].points_of("ws_sessions")[0]["data"]["tags"]["url"].rsplit("/", 1)[0]
    assert urls == [f"{base}/chat", f"{base}/feed"]
    # $url follows $scenario: one scenario, its one URL.
    only_feed = substitute(variables["url"], {"scenario": ["feed"]})
    assert tag_values(influx.query(DATABASE, only_feed)) == [f"{base}/feed"]


def all_values(influx: InfluxDB) -> dict[str, list[str]]:
    """Grafana's ``All`` for a variable with no custom all-value: every value, as a regex group."""
    return {
        key: tag_values(influx.query(DATABASE, f'SHOW TAG VALUES WITH KEY = "{key}"'))
        for key in ("scenario", "url")
    }


def every_target(dashboard: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            yield f"{panel['title']} [{target['refId']}]", target


def test_every_panel_query_returns_data(
    dashboard: dict[str, Any], loaded: tuple[InfluxDB, RunResult]
) -> None:
    influx, _ = loaded
    chosen = all_values(influx)
    empty = []
    for label, target in every_target(dashboard):
        query = substitute(target["query"], chosen)
        if not non_null_points(influx.query(DATABASE, query)):
            empty.append(f"{label}: {query}")
    assert not empty, "queries with no data:\n" + "\n".join(empty)


def test_panel_numbers_agree_with_the_summary(
    dashboard: dict[str, Any], loaded: tuple[InfluxDB, RunResult]
) -> None:
    """Per-second rates add up to the summary's counts; the failure rate is the checks' one."""
    influx, result = loaded
    targets = dict(every_target(dashboard))
    everything = all_values(influx)

    def rows(label: str, variables: dict[str, list[str]] = everything) -> list[list[Any]]:
        query = substitute(targets[label]["query"], variables)
        return non_null_points(influx.query(DATABASE, query))

    sessions = sum(row[1] for row in rows("WebSocket sessions / s [A]"))  # 1 s buckets: a sum
    assert sessions == result.metric("ws_sessions")["count"]
    sent = sum(row[1] for row in rows("Messages / s [A]"))
    assert sent == result.metric("ws_msgs_sent")["count"]
    feed_only = sum(
        row[1] for row in rows("WebSocket sessions / s [A]", {**everything, "scenario": ["feed"]})
    )
    assert 0 < feed_only < sessions
    failure = [row[1] for row in rows("Checks failure rate [A]")]
    assert all(0 <= value <= 1 for value in failure) and max(failure) > 0
    assert max(row[1] for row in rows("Virtual users [A]")) == 3
    p99 = [row[1] for row in rows("ws_ping p50 / p95 / p99 [C]")]
    assert 0 < max(p99) <= result.metric("ws_ping")["max"] + 1e-6
