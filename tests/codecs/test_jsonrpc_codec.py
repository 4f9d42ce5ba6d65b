"""JSON-RPC 2.0 messages built and read with plain values."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenws.codecs.jsonrpc import (
    Notification,
    Request,
    Response,
    RpcError,
    encode_batch,
    encode_notification,
    encode_request,
    parse,
)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def test_a_request_carries_version_method_params_and_id() -> None:
    assert json.loads(encode_request(7, "add", [1, 2])) == {
        "jsonrpc": "2.0",
        "method": "add",
        "params": [1, 2],
        "id": 7,
    }


def test_a_notification_has_no_id_and_params_are_left_out_when_none() -> None:
    assert json.loads(encode_notification("ping")) == {"jsonrpc": "2.0", "method": "ping"}


def test_a_batch_mixes_calls_and_notifications() -> None:
    batch = json.loads(encode_batch([(1, "a", {"x": 1}), (None, "b", None)]))
    assert batch == [
        {"jsonrpc": "2.0", "method": "a", "params": {"x": 1}, "id": 1},
        {"jsonrpc": "2.0", "method": "b"},
    ]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: encode_request(1, "", None), ValueError),
        (lambda: encode_request(1, "m", "scalar"), TypeError),
        (lambda: encode_batch([]), ValueError),
    ],
)
def test_what_the_specification_forbids_is_refused_before_sending(call, error) -> None:
    with pytest.raises(error):
        call()


@given(request_id=st.integers(min_value=0) | st.text(min_size=1, max_size=6), result=JSON_VALUES)
def test_a_result_is_read_back_unchanged(request_id, result) -> None:
    text = json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result})
    assert parse(text) == [Response(request_id, result=result)]


def test_an_error_answer_becomes_an_rpc_error_with_its_data() -> None:
    text = (
        '{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Method not found","data":[1]}}'
    )
    (response,) = parse(text)
    assert response.error == RpcError(-32601, "Method not found", [1])
    assert str(response.error) == "JSON-RPC error -32601: Method not found"


def test_a_batch_answer_keeps_its_order_and_server_messages_are_told_apart() -> None:
    text = json.dumps(
        [
            {"jsonrpc": "2.0", "id": 2, "result": "b"},
            {"jsonrpc": "2.0", "method": "eth_subscription", "params": {"subscription": "0x1"}},
            {"jsonrpc": "2.0", "id": 9, "method": "client_version"},
        ]
    )
    assert parse(text) == [
        Response(2, result="b"),
        Notification("eth_subscription", {"subscription": "0x1"}),
        Request(9, "client_version"),
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json", "not JSON"),
        ("[]", "empty batch"),
        ('{"jsonrpc":"1.0","id":1,"result":1}', '"jsonrpc" must be "2.0"'),
        ('{"jsonrpc":"2.0","result":1}', "without an id"),
        ('{"jsonrpc":"2.0","id":1}', "neither result nor error"),
        ('{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1}}', "both result and error"),
        ('{"jsonrpc":"2.0","id":1,"error":"bad"}', "int code"),
        ("3", "must be an object"),
    ],
)
def test_a_message_the_client_cannot_correlate_is_an_error_that_says_why(text, says) -> None:
    with pytest.raises(ValueError, match=says):
        parse(text)
