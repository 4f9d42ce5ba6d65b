"""JSON-RPC 2.0 messages: requests, notifications and batches out; responses and server
notifications in (https://www.jsonrpc.org/specification).

Parsing is strict about what the kit relies on (an ``id`` to correlate, ``result`` xor
``error``) and says what is wrong in one line, since a server that breaks the specification is
a finding of the test, not something to guess around.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Notification",
    "Request",
    "Response",
    "RpcError",
    "encode_batch",
    "encode_notification",
    "encode_request",
    "parse",
]


@dataclass(frozen=True)
class RpcError(Exception):
    """An ``error`` member: ``code``, ``message`` and optional ``data``."""

    code: int
    message: str
    data: Any = None

    def __str__(self) -> str:
        return f"JSON-RPC error {self.code}: {self.message}"


@dataclass(frozen=True)
class Response:
    """The answer to the request with ``id``: ``result``, or ``error`` if it failed."""

    id: Any
    result: Any = None
    error: RpcError | None = None


@dataclass(frozen=True)
class Notification:
    """A message from the server with a method and no id (``eth_subscription`` and friends)."""

    method: str
    params: Any = None


@dataclass(frozen=True)
class Request:
    """A request from the server to the client (a method *and* an id): rare, passed on."""

    id: Any
    method: str
    params: Any = None


Message = Response | Notification | Request


def _call(method: str, params: Any, request_id: Any = None) -> dict[str, Any]:
    if not isinstance(method, str) or not method:
        raise ValueError(f"JSON-RPC method must be a non-empty string, not {method!r}")
    if params is not None and not isinstance(params, (list, tuple, dict)):
        raise TypeError(
            f"JSON-RPC params must be a list or a dict (or None), not {type(params).__name__}"
        )
    call: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        call["params"] = list(params) if isinstance(params, tuple) else params
    if request_id is not None:
        call["id"] = request_id
    return call


#: One compact encoder for every message: ``json.dumps`` with ``separators`` builds a new
#: JSONEncoder per call (about a third of the encoding's cost for a small request).
_encode = json.JSONEncoder(separators=(",", ":")).encode


def encode_request(request_id: int | str, method: str, params: Any = None) -> str:
    """A request the server must answer, as text."""
    return _encode(_call(method, params, request_id))


def encode_notification(method: str, params: Any = None) -> str:
    """A notification (no id: the server sends no answer), as text."""
    return _encode(_call(method, params))


def encode_batch(calls: Sequence[tuple[int | str | None, str, Any]]) -> str:
    """Several calls in one message; an id of None makes that call a notification."""
    if not calls:
        raise ValueError("a JSON-RPC batch must not be empty")
    return _encode([_call(m, p, i) for i, m, p in calls])


def parse(text: str | bytes) -> list[Message]:
    """The messages in one WebSocket message (a batch answer holds several).

    Raises:
        ValueError: not JSON, or not JSON-RPC 2.0 in a way the client cannot correlate.
    """
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ValueError(f"not JSON: {error}") from None
    if isinstance(document, list):
        if not document:
            raise ValueError("an empty batch response")
        return [_parse_one(item) for item in document]
    return [_parse_one(document)]


def _parse_one(item: Any) -> Message:
    if not isinstance(item, dict):
        raise ValueError(f"a JSON-RPC message must be an object, not {type(item).__name__}")
    if item.get("jsonrpc") != "2.0":
        raise ValueError(f'"jsonrpc" must be "2.0", got {item.get("jsonrpc")!r}')
    method = item.get("method")
    if method is not None:
        if not isinstance(method, str):
            raise ValueError(f"method must be a string, got {method!r}")
        if "id" in item:
            return Request(item["id"], method, item.get("params"))
        return Notification(method, item.get("params"))
    if "id" not in item:
        raise ValueError("a response without an id")
    has_result, error = "result" in item, item.get("error")
    if error is not None:
        if has_result:
            raise ValueError(f"response {item['id']!r} has both result and error")
        if not isinstance(error, dict) or not isinstance(error.get("code"), int):
            raise ValueError(f"response {item['id']!r}: error must be an object with an int code")
        return Response(
            item["id"],
            error=RpcError(error["code"], str(error.get("message", "")), error.get("data")),
        )
    if not has_result:
        raise ValueError(f"response {item['id']!r} has neither result nor error")
    return Response(item["id"], result=item["result"])
