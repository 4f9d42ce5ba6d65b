"""The GraphQL-over-WebSocket codec with plain values: both dialects' words, one set of
messages, the operation a query runs, and what each close code means."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenws.codecs.graphql import (
    CLOSE_MEANINGS,
    GRAPHQL_TRANSPORT_WS,
    PROTOCOLS,
    SUBSCRIPTIONS_TRANSPORT_WS,
    Ack,
    Complete,
    ConnectionRejected,
    Error,
    GraphQLError,
    KeepAlive,
    Next,
    Ping,
    Pong,
    close_meaning,
    encode_complete,
    encode_init,
    encode_ping,
    encode_pong,
    encode_subscribe,
    encode_terminate,
    operation_of,
    parse,
)

BOTH = (GRAPHQL_TRANSPORT_WS, SUBSCRIPTIONS_TRANSPORT_WS)
names = st.from_regex(r"[_A-Za-z][_0-9A-Za-z]{0,12}", fullmatch=True)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def test_the_subprotocols_offered() -> None:
    assert PROTOCOLS == {
        "graphql-transport-ws": "graphql-transport-ws",
        "subscriptions-transport-ws": "graphql-ws",
    }


@pytest.mark.parametrize(
    ("protocol", "start", "stop"),
    [
        (GRAPHQL_TRANSPORT_WS, "subscribe", "complete"),
        (SUBSCRIPTIONS_TRANSPORT_WS, "start", "stop"),
    ],
)
def test_each_dialect_has_its_own_words(protocol: str, start: str, stop: str) -> None:
    message = json.loads(encode_subscribe(protocol, "7", "{ a }", {"x": 1}, "Q"))
    assert message == {
        "id": "7",
        "type": start,
        "payload": {"query": "{ a }", "variables": {"x": 1}, "operationName": "Q"},
    }
    assert json.loads(encode_complete(protocol, "7")) == {"id": "7", "type": stop}
    assert json.loads(encode_init(protocol)) == {"type": "connection_init"}
    assert json.loads(encode_init(protocol, {"token": "t"}))["payload"] == {"token": "t"}


def test_optional_fields_are_left_out_and_bad_operations_refused() -> None:
    message = json.loads(encode_subscribe(GRAPHQL_TRANSPORT_WS, "1", "{ a }"))
    assert message["payload"] == {"query": "{ a }"}
    with pytest.raises(ValueError, match="non-empty"):
        encode_subscribe(GRAPHQL_TRANSPORT_WS, "1", "  ")
    with pytest.raises(TypeError, match="dict"):
        encode_subscribe(GRAPHQL_TRANSPORT_WS, "1", "{ a }", [1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown GraphQL protocol"):
        encode_init("graphql-sse")


def test_goodbye_ping_and_pong() -> None:
    assert encode_terminate(GRAPHQL_TRANSPORT_WS) is None  # the close frame says it
    assert json.loads(encode_terminate(SUBSCRIPTIONS_TRANSPORT_WS) or "") == {
        "type": "connection_terminate"
    }
    assert json.loads(encode_ping()) == {"type": "ping"}
    assert json.loads(encode_pong({"n": 1})) == {"type": "pong", "payload": {"n": 1}}


@pytest.mark.parametrize(
    ("protocol", "text", "expected"),
    [
        (GRAPHQL_TRANSPORT_WS, '{"type":"connection_ack"}', Ack()),
        (GRAPHQL_TRANSPORT_WS, '{"type":"connection_ack","payload":{"a":1}}', Ack({"a": 1})),
        (GRAPHQL_TRANSPORT_WS, '{"type":"ping"}', Ping()),
        (GRAPHQL_TRANSPORT_WS, '{"type":"pong","payload":{"t":2}}', Pong({"t": 2})),
        (
            GRAPHQL_TRANSPORT_WS,
            '{"id":"1","type":"next","payload":{"data":{}}}',
            Next("1", {"data": {}}),
        ),
        (
            GRAPHQL_TRANSPORT_WS,
            '{"id":"1","type":"error","payload":[{"message":"m"}]}',
            Error("1", [{"message": "m"}]),
        ),
        (GRAPHQL_TRANSPORT_WS, '{"id":"1","type":"complete"}', Complete("1")),
        (SUBSCRIPTIONS_TRANSPORT_WS, '{"type":"ka"}', KeepAlive()),
        (
            SUBSCRIPTIONS_TRANSPORT_WS,
            '{"id":2,"type":"data","payload":{"data":null}}',
            Next("2", {"data": None}),
        ),
        (
            SUBSCRIPTIONS_TRANSPORT_WS,
            '{"id":"2","type":"error","payload":{"message":"m"}}',
            Error("2", [{"message": "m"}]),
        ),
        (
            SUBSCRIPTIONS_TRANSPORT_WS,
            '{"id":"2","type":"error","payload":"oops"}',
            Error("2", [{"message": "oops"}]),
        ),
        (
            SUBSCRIPTIONS_TRANSPORT_WS,
            '{"type":"connection_error","payload":{"message":"no"}}',
            ConnectionRejected({"message": "no"}),
        ),
        (SUBSCRIPTIONS_TRANSPORT_WS, b'{"id":"3","type":"complete"}', Complete("3")),
    ],
)
def test_server_messages_of_both_dialects_read_into_one_set(
    protocol: str, text: str | bytes, expected: Any
) -> None:
    assert parse(protocol, text) == expected


@pytest.mark.parametrize(
    ("protocol", "text", "complaint"),
    [
        (GRAPHQL_TRANSPORT_WS, "nope", "not JSON"),
        (GRAPHQL_TRANSPORT_WS, "[1]", "must be an object"),
        (GRAPHQL_TRANSPORT_WS, '{"type":"ka"}', "unknown graphql-transport-ws message type 'ka'"),
        (
            GRAPHQL_TRANSPORT_WS,
            '{"id":"1","type":"data","payload":{}}',
            "'data' is not a graphql-transport-ws",
        ),
        (
            SUBSCRIPTIONS_TRANSPORT_WS,
            '{"id":"1","type":"next","payload":{}}',
            "'next' is not a subscriptions",
        ),
        (SUBSCRIPTIONS_TRANSPORT_WS, '{"type":"ping"}', "unknown subscriptions-transport-ws"),
        (GRAPHQL_TRANSPORT_WS, '{"type":"next","payload":{}}', "without an id"),
        (
            GRAPHQL_TRANSPORT_WS,
            '{"id":"1","type":"next","payload":[]}',
            "payload must be an object",
        ),
    ],
)
def test_what_breaks_the_protocol_is_said_in_one_line(
    protocol: str, text: str, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse(protocol, text)


@given(
    st.sampled_from(BOTH),
    st.integers(min_value=1, max_value=10**9).map(str),
    st.dictionaries(names, json_values, max_size=4),
)
def test_a_result_the_server_echoes_back_in_either_dialect_reads_as_sent(
    protocol: str, operation_id: str, data: dict[str, Any]
) -> None:
    # What the client sends as a subscribe, a server sends back in its result: same id.
    sent = json.loads(encode_subscribe(protocol, operation_id, "{ a }", data or None))
    word = "next" if protocol == GRAPHQL_TRANSPORT_WS else "data"
    payload = {"data": sent["payload"].get("variables")}
    reply = json.dumps({"id": sent["id"], "type": word, "payload": payload})
    assert parse(protocol, reply) == Next(operation_id, payload)
    stop = json.loads(encode_complete(protocol, operation_id))
    assert parse(protocol, json.dumps({"id": stop["id"], "type": "complete"})) == Complete(
        operation_id
    )


@pytest.mark.parametrize(
    ("query", "name", "expected"),
    [
        ("{ hello }", None, ("query", "anonymous")),
        ("query { hello }", None, ("query", "anonymous")),
        ("query Hello { hello }", None, ("query", "Hello")),
        ("mutation Pub($t: String!) { publish(text: $t) }", None, ("mutation", "Pub")),
        ('subscription { feed(channel: "query X") { text } }', None, ("subscription", "anonymous")),
        ('# mutation Fake\n"""query Nope""" subscription S { s }', None, ("subscription", "S")),
        ("fragment F on Q { a } query A { ...F }", None, ("query", "A")),
        ("query A { a } mutation B { b }", "B", ("mutation", "B")),
        ("query A { a } mutation B { b }", None, ("query", "A")),
        ("query A { a }", "Missing", ("query", "Missing")),
        ("subscription @live { a }", None, ("subscription", "anonymous")),
        ("", None, ("query", "anonymous")),
    ],
)
def test_the_operation_a_query_runs(
    query: str, name: str | None, expected: tuple[str, str]
) -> None:
    assert operation_of(query, name) == expected


@given(st.sampled_from(("query", "mutation", "subscription")), names, names)
def test_any_named_operation_is_found_behind_a_fragment(kind: str, name: str, field: str) -> None:
    query = f"fragment Frag on T {{ {field} }}\n{kind} {name}($v: Int = 1) {{ {field}(a: {{b: 1}}) {{ ...Frag }} }}"
    assert operation_of(query) == (kind, name)


def test_every_close_code_of_the_protocol_has_a_meaning() -> None:
    for code in (4400, 4401, 4403, 4406, 4408, 4409, 4429):
        assert close_meaning(code) == CLOSE_MEANINGS[code]
    assert "forbidden" in (close_meaning(4403) or "")
    assert "subprotocol" in (close_meaning(4406) or "")
    assert close_meaning(1000) is None and close_meaning(4000) is None


def test_a_graphql_error_says_the_first_message_and_keeps_them_all() -> None:
    error = GraphQLError([{"message": "bad field", "path": ["a"]}, {"message": "two"}], "Q")
    assert str(error) == "GraphQL Q: bad field (and 1 more)"
    assert error.messages == ["bad field", "two"]
    assert error.errors[0]["path"] == ["a"]
    assert str(GraphQLError(["plain"])) == "GraphQL anonymous: plain"
