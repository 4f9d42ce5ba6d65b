"""The GraphQL kit against real servers of both protocols: strawberry (Python, both), the
graphql-ws library (Node, graphql-transport-ws) and Apollo's SubscriptionServer (Node, the
legacy subscriptions-transport-ws). Each runs scripts through ``greenws run``; what the client
measured is compared with what the server counted (``GET /stats``)."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from greenws_runner import RunResult, run_greenws, run_recorded
from servers import ROOT, ScriptServer

HERE = ROOT / "tests" / "kits"
TRANSPORT, LEGACY = "graphql-transport-ws", "subscriptions-transport-ws"
#: The servers' ping / keep-alive period: short, so a 1.5 s sleep spans several.
BEAT_MS = 200


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ScriptServer]]:
    started: dict[str, ScriptServer] = {}
    try:
        started["strawberry"] = ScriptServer(
            HERE / "graphql_strawberry_server.py", "--keep-alive", str(BEAT_MS / 1000)
        )
        started["graphql-ws"] = ScriptServer(
            HERE / "graphql_ws_server.js", "--ping-ms", str(BEAT_MS)
        )
        started["subscriptions-transport-ws"] = ScriptServer(
            HERE / "subscriptions_transport_server.js", "--keep-alive-ms", str(BEAT_MS)
        )
        yield started
    finally:
        for server in started.values():
            server.stop()


def stats(server: ScriptServer) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://{server.host}:{server.port}/stats", timeout=5) as reply:
        return json.loads(reply.read())  # type: ignore[no-any-return]


def delta(before: dict[str, Any], after: dict[str, Any], *path: str) -> int:
    def get(table: dict[str, Any]) -> int:
        for key in path[:-1]:
            table = table.get(key, {})
        return int(table.get(path[-1], 0))

    return get(after) - get(before)


PRELUDE = """
import json, os, uuid
from greenws import sleep
from greenws.kits import graphql
from greenws.kits.graphql import GraphQLError, GraphQLProtocolError, OperationComplete

URL = os.environ["URL"]
PROTOCOL = os.environ.get("PROTOCOL", "graphql-transport-ws")
PUBLISHER = os.environ.get("PUBLISHER", PROTOCOL)

"""


def run_script(
    tmp_path: Path, body: str, env: dict[str, str], *args: str
) -> tuple[RunResult, list[Any]]:
    return run_recorded(tmp_path, PRELUDE + body, *args, env=env)


def by_tag(result: RunResult, metric: str, tag: str) -> Counter[str]:
    """Per value of ``tag``: the sum of a Counter's samples, the number of a Trend's."""
    types = {line["metric"]: line["data"]["type"] for line in result.metric_lines}
    trend = types.get(metric) == "trend"
    counts: Counter[str] = Counter()
    for point in result.points_of(metric):
        counts[point["data"]["tags"].get(tag)] += 1 if trend else int(point["data"]["value"])
    return counts


# -- one session's whole life, per server and protocol ----------------------------------------

SESSION = """
PUBLISH = "mutation Publish($c: String!, $text: String!) { publish(channel: $c, text: $text) }"
FEED = "subscription Feed($c: String!) { feed(channel: $c) { text seq } }"

def default():
    with graphql.connect(URL + "/graphql", protocol=PROTOCOL, payload={"token": "ok"}) as gql:
        record("ack", gql.ack_payload)
        countdown = gql.subscribe(
            "subscription Countdown($n: Int!) { countdown(start: $n) }", {"n": 3}
        )
        record("countdown", [event["data"]["countdown"] for event in countdown], countdown.done)
        failing = gql.subscribe("subscription Failing { failing(after: 2) }")
        results = list(failing)
        record("failing", [r["data"] and r["data"]["failing"] for r in results],
               [e["message"] for r in results for e in r.get("errors") or []])
        try:
            for event in gql.subscribe("subscription Nope { nope }"):
                record("nope", "result", [e["message"] for e in event.get("errors") or []])
        except GraphQLError as error:
            record("nope", "raised", error.messages)
        channel = uuid.uuid4().hex  # this iteration's own: the other VU publishes too
        feed = gql.subscribe(FEED, {"c": channel})
        with graphql.connect(URL + "/graphql", protocol=PUBLISHER) as publisher:
            for attempt in range(100):  # until the server has the feed subscription
                reached = publisher.execute(PUBLISH, {"c": channel, "text": f"t{attempt}"})
                if reached["data"]["publish"] >= 1:
                    break
                sleep(0.02)
            record("published", attempt + 1)
        record("feed", feed.recv(timeout=5)["data"]["feed"]["text"])
        feed.complete()
        try:
            feed.recv(timeout=1)
        except OperationComplete:
            record("feed complete", feed.done)
"""

CASES = [
    ("strawberry", TRANSPORT, TRANSPORT),
    ("strawberry", LEGACY, TRANSPORT),  # strawberry runs only subscriptions over the legacy one
    ("graphql-ws", TRANSPORT, TRANSPORT),
    ("subscriptions-transport-ws", LEGACY, LEGACY),
]


@pytest.mark.parametrize(("server", "protocol", "publisher"), CASES, ids=lambda v: str(v))
def test_subscriptions_queries_and_mutations_as_the_server_counted_them(
    tmp_path: Path, servers: dict[str, ScriptServer], server: str, protocol: str, publisher: str
) -> None:
    target = servers[server]
    before = stats(target)
    env = {"URL": target.url, "PROTOCOL": protocol, "PUBLISHER": publisher}
    result, log = run_script(tmp_path, SESSION, env, "--vus", "2", "--iterations", "2")
    after = stats(target)
    assert result.returncode == 0, result.stderr
    assert "level=error" not in result.stderr, result.stderr
    events = {}
    for item in log:
        events.setdefault(item[0], []).append(item[1:])
    assert len(events["ack"]) == 2
    assert events["countdown"] == [[[3, 2, 1, 0], True]] * 2
    assert events["failing"] == [[[0, 1, None], ["failing after 2"]]] * 2
    assert len(events["nope"]) == 2 and all("nope" in str(item) for item in events["nope"])
    assert events["feed"] == [[f"t{n - 1}"] for (n,) in events["published"]]
    assert events["feed complete"] == [[True]] * 2
    published = sum(n for (n,) in events["published"])

    # The client's counts are the server's.
    assert delta(before, after, "inits") == 4  # 2 iterations (shared by the VUs) x 2 sessions
    assert result.metric("graphql_connect_duration")["count"] == 4
    assert delta(before, after, "mutations") == published
    assert delta(before, after, "subscriptions", "countdown") == 2
    assert delta(before, after, "subscriptions", "failing") == 2
    assert delta(before, after, "subscriptions", "feed") == 2
    assert delta(before, after, "stopped") == 2  # the two feeds the script completed
    events_by_operation = by_tag(result, "graphql_events", "operation")
    assert events_by_operation["Countdown"] == delta(before, after, "events", "countdown") == 8
    assert events_by_operation["Feed"] == delta(before, after, "events", "feed") == 2
    assert events_by_operation["Failing"] == 6  # 2 x (0, 1, the error)
    assert delta(before, after, "events", "failing") == 4
    assert events_by_operation["Publish"] == published
    assert result.metric("graphql_events")["count"] == 8 + 2 + 6 + published + by_tag(
        result, "graphql_events", "operation"
    ).get("Nope", 0)

    # An error in a result and an error for the operation both count, tagged with which.
    errors = by_tag(result, "graphql_errors", "operation")
    assert errors["Failing"] == 2 and errors["Nope"] == 2
    assert set(by_tag(result, "graphql_errors", "error")) <= {"result", "error"}
    # Timing: first events of the three subscriptions that produced one (Nope may not have).
    first = by_tag(result, "graphql_subscribe_first_event", "operation")
    assert first["Countdown"] == first["Failing"] == first["Feed"] == 2
    assert result.metric("graphql_subscribe_first_event")["min"] > 0
    durations = by_tag(result, "graphql_operation_duration", "operation_type")
    assert durations["mutation"] == published  # executed, completed by the server
    assert durations["subscription"] >= 4  # Countdown and Failing completed; Feed stopped
    assert "Feed" not in by_tag(result, "graphql_operation_duration", "operation")
    kinds = {p["data"]["tags"]["operation_type"] for p in result.points_of("graphql_events")}
    assert kinds == {"subscription", "mutation"}
    assert {p["data"]["tags"]["subproto"] for p in result.points_of("graphql_events")} >= {
        "graphql-transport-ws" if protocol == TRANSPORT else "graphql-ws"
    }
    assert result.metric("ws_sessions")["count"] == 4  # subscriber and publisher, 2 iterations


# -- heartbeats while the VU sleeps ---------------------------------------------------------

SLEEPER = """
def default():
    keepalive = float(os.environ.get("KEEPALIVE", "0")) or None  # the client's own pings
    with graphql.connect(URL + "/graphql", protocol=PROTOCOL, keepalive=keepalive) as gql:
        countdown = gql.subscribe("subscription { countdown(start: 2, interval: 0.3) }")
        sleep(1.5)  # longer than the server waits for a pong (graphql-ws: one period)
        record("open after sleep", not gql.closed)
        record("events", [event["data"]["countdown"] for event in countdown])
        record("keepalives", gql.keepalives)
    record("close", gql.close_code)
"""


@pytest.mark.parametrize(
    ("server", "protocol", "kind"),
    [
        ("graphql-ws", TRANSPORT, "ping"),
        ("strawberry", LEGACY, "ka"),
        ("subscriptions-transport-ws", LEGACY, "ka"),
    ],
    ids=lambda v: str(v),
)
def test_a_session_survives_a_sleep_longer_than_the_servers_keepalive(
    tmp_path: Path, servers: dict[str, ScriptServer], server: str, protocol: str, kind: str
) -> None:
    target = servers[server]
    before = stats(target)
    env = {"URL": target.url, "PROTOCOL": protocol, "KEEPALIVE": "0.25"}
    result, log = run_script(tmp_path, SLEEPER, env, "--iterations", "1")
    after = stats(target)
    assert result.returncode == 0, result.stderr
    assert log[0] == ["open after sleep", True]
    assert log[1] == ["events", [2, 1, 0]]  # delivered while the VU slept, read afterwards
    assert log[2][1] >= 1
    # Ours is 1000; Apollo's server answers connection_terminate with a close of its own
    # without a status (1005), which can cross ours.
    assert log[3][1] == 1000 or (server == LEGACY and log[3][1] == 1005)
    keepalives = by_tag(result, "graphql_keepalives", "type")
    assert set(keepalives) == {kind}
    assert keepalives[kind] == log[2][1]
    if kind == "ping":  # every ping the client saw was answered, as the server counted
        assert delta(before, after, "pongs") == keepalives["ping"]
        assert delta(before, after, "pings") >= delta(before, after, "pongs")
        assert delta(before, after, "clientPings") >= 1  # keepalive=0.25 across the sleep


# -- refusals: the protocol's close codes and the legacy connection_error ----------------------

REFUSALS = """
CASES = json.loads(os.environ["CASES"])

def default():
    for name, url, protocol, payload in CASES:
        try:
            with graphql.connect(url + "/graphql", protocol=protocol, payload=payload, timeout=10):
                record(name, "connected")
        except GraphQLProtocolError as error:
            record(name, error.code, error.meaning, error.payload, isinstance(error, ConnectionError))
"""


def test_refusals_raise_protocol_errors_with_the_code_and_its_meaning(
    tmp_path: Path, servers: dict[str, ScriptServer]
) -> None:
    straw, gws, stws = (servers[n] for n in ("strawberry", "graphql-ws", LEGACY))
    cases = [
        ("strawberry bad token", straw.url, TRANSPORT, {"token": "bad"}),
        ("graphql-ws bad token", gws.url, TRANSPORT, {"token": "bad"}),
        ("strawberry bad payload", straw.url, TRANSPORT, "not an object"),
        ("graphql-ws bad payload", gws.url, TRANSPORT, "not an object"),
        ("graphql-ws offered the legacy subprotocol", gws.url, LEGACY, None),
        ("strawberry legacy bad token", straw.url, LEGACY, {"token": "bad"}),
        ("apollo legacy bad token", stws.url, LEGACY, {"token": "bad"}),
    ]
    before = {name: stats(servers[name]) for name in servers}
    result, log = run_script(
        tmp_path, REFUSALS, {"URL": "", "CASES": json.dumps(cases)}, "--iterations", "1"
    )
    after = {name: stats(servers[name]) for name in servers}
    assert result.returncode == 0, result.stderr
    outcomes = {item[0]: item[1:] for item in log}
    forbidden = "forbidden: the server rejected the connection_init (its payload, e.g. the token)"
    bad = "bad request: the server could not use a message it received"
    assert outcomes["strawberry bad token"] == [4403, forbidden, None, True]
    assert outcomes["graphql-ws bad token"] == [4403, forbidden, None, True]
    assert outcomes["strawberry bad payload"] == [4400, bad, None, True]
    assert outcomes["graphql-ws bad payload"] == [4400, bad, None, True]
    assert outcomes["graphql-ws offered the legacy subprotocol"][:2] == [
        4406,
        "subprotocol not acceptable: the server does not speak the one offered",
    ]
    # The legacy protocol refuses with connection_error (its payload), then the server closes.
    assert outcomes["strawberry legacy bad token"] == [
        1011,
        "connection_error",
        {"message": "bad token"},
        True,
    ]
    assert outcomes["apollo legacy bad token"][1:3] == [
        "connection_error",
        {"message": "bad token"},
    ]
    for name, rejected in (("strawberry", 2), ("graphql-ws", 1), (LEGACY, 1)):
        assert delta(before[name], after[name], "rejected") == rejected
    errors = by_tag(result, "graphql_errors", "error")
    assert errors["4403"] == 2 and errors["4400"] == 2 and errors["4406"] == 1
    assert errors["connection_error"] == 2
    assert "graphql_connect_duration" not in result.summary["metrics"]  # none connected


# -- handlers, client-side complete, execute's errors, broadcast latency -----------------------

HANDLERS = """
FEED = 'subscription Feed { feed(channel: "room") { text } }'
PUBLISH = 'mutation Publish($t: String!) { publish(channel: "room", text: $t) }'

def default():
    with graphql.connect(URL + "/graphql") as gql, graphql.connect(URL + "/graphql") as pub:
        seen = []
        feed = gql.subscribe(FEED, broadcast=lambda event: event["data"]["feed"]["text"])
        feed.on(lambda event: seen.append(event["data"]["feed"]["text"]))
        for attempt in range(100):
            if pub.execute(PUBLISH, {"t": f"warm{attempt}"})["data"]["publish"]:
                break
            sleep(0.02)
        for n in range(5):
            pub.execute(PUBLISH, {"t": f"m{n}"}, broadcast=f"m{n}")
        for _ in range(100):
            if len(seen) >= 6:
                break
            sleep(0.02)
        record("seen by the handler", seen[1:])
        try:
            feed.recv(timeout=0.2)
        except Exception as error:
            record("recv with a handler", type(error).__name__)
        feed.complete()
        record("done", feed.done)
        try:
            gql.execute("{ missing }")
        except GraphQLError as error:
            record("execute error", error.operation, "missing" in str(error))
        record("hello", gql.execute("query Hi { hello(name: \\"gql\\") }")["data"])
"""


def test_handlers_client_complete_execute_errors_and_broadcast_latency(
    tmp_path: Path, servers: dict[str, ScriptServer]
) -> None:
    target = servers["graphql-ws"]
    before = stats(target)
    result, log = run_script(tmp_path, HANDLERS, {"URL": target.url}, "--iterations", "1")
    after = stats(target)
    assert result.returncode == 0, result.stderr
    assert log == [
        ["seen by the handler", ["m0", "m1", "m2", "m3", "m4"]],
        ["recv with a handler", "ReceiveTimeout"],  # handled events are not queued as well
        ["done", True],
        ["execute error", "anonymous", True],
        ["hello", {"hello": "hello gql"}],
    ]
    assert delta(before, after, "stopped") == 1
    assert (
        delta(before, after, "events", "feed")
        == by_tag(result, "graphql_events", "operation")["Feed"]
    )
    latency = result.metric("graphql_broadcast_latency")
    assert latency["count"] == 5  # the five marked publishes, not the warm-up
    assert latency["min"] > 0
    assert by_tag(result, "graphql_broadcast_latency", "operation") == Counter({"Feed": 5})
    assert by_tag(result, "graphql_errors", "error")["error"] == 1


# -- the example ---------------------------------------------------------------------------------


def test_the_feed_example_runs_against_the_strawberry_server(
    tmp_path: Path, servers: dict[str, ScriptServer]
) -> None:
    target = servers["strawberry"]
    before = stats(target)
    example = ROOT / "examples" / "protocols" / "graphql_feed.py"
    result = run_greenws(
        tmp_path, example, env={"GRAPHQL_URL": target.url + "/graphql", "DURATION": "3s"}
    )
    after = stats(target)
    assert result.returncode == 0, result.stderr
    assert result.metric("checks")["fails"] == 0
    assert result.metric("graphql_subscribe_first_event")["count"] >= 1
    published = delta(before, after, "mutations")
    assert published >= 1
    assert by_tag(result, "graphql_events", "operation")["Publish"] == published
    # A subscriber that completes its feed while a publish is on the way misses that one, so
    # the server may have sent a few more than were read (exact counts: the tests above).
    feed = by_tag(result, "graphql_events", "operation")["Feed"]
    assert 1 <= feed <= delta(before, after, "events", "feed")
    assert result.metric("graphql_broadcast_latency")["count"] == feed
    assert "graphql_subscribe_first_event" in result.stdout
