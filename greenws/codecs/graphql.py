"""GraphQL over WebSocket, both dialects people run: the graphql-ws library's
``graphql-transport-ws`` (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md) and
Apollo's legacy ``subscriptions-transport-ws`` (subprotocol ``graphql-ws``).

The two say the same things in different words (``subscribe``/``start``, ``next``/``data``,
``complete``/``stop``; a server ``ping`` that wants a ``pong``, or a ``ka`` that wants nothing),
so encoding takes the dialect and parsing gives one set of message types for both: the kit
above handles one protocol, not two. Also here, because a load test reports per operation:
the operation's type and name read from the query text (a small tokenizer, no GraphQL
library), and the meaning of each close code the specification defines.

Pure: plain values in and out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CLOSE_MEANINGS",
    "GRAPHQL_TRANSPORT_WS",
    "PROTOCOLS",
    "SUBSCRIPTIONS_TRANSPORT_WS",
    "Ack",
    "Complete",
    "ConnectionRejected",
    "Error",
    "GraphQLError",
    "KeepAlive",
    "Next",
    "Ping",
    "Pong",
    "close_meaning",
    "encode_complete",
    "encode_init",
    "encode_ping",
    "encode_pong",
    "encode_subscribe",
    "encode_terminate",
    "operation_of",
    "parse",
]

#: The graphql-ws library's protocol (its subprotocol has the same name).
GRAPHQL_TRANSPORT_WS = "graphql-transport-ws"
#: Apollo's legacy protocol; its subprotocol is, confusingly, ``graphql-ws``.
SUBSCRIPTIONS_TRANSPORT_WS = "subscriptions-transport-ws"
#: Protocol name -> the subprotocol offered in the handshake.
PROTOCOLS = {GRAPHQL_TRANSPORT_WS: "graphql-transport-ws", SUBSCRIPTIONS_TRANSPORT_WS: "graphql-ws"}

#: What the ``graphql-transport-ws`` close codes mean, in one line each (PROTOCOL.md).
CLOSE_MEANINGS = {
    4400: "bad request: the server could not use a message it received",
    4401: "unauthorized: an operation was sent before the connection was acknowledged",
    4403: "forbidden: the server rejected the connection_init (its payload, e.g. the token)",
    4406: "subprotocol not acceptable: the server does not speak the one offered",
    4408: "connection initialisation timeout: no connection_init reached the server in time",
    4409: "subscriber already exists: an operation id was reused while still running",
    4429: "too many initialisation requests: connection_init was sent twice",
    4500: "internal server error",
}


def close_meaning(code: int) -> str | None:
    """The one-line meaning of a GraphQL close code, None for codes the protocol leaves open."""
    return CLOSE_MEANINGS.get(code)


# -- messages from the server ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    """connection_ack: the server accepted connection_init (``payload`` is optional)."""

    payload: Any = None


@dataclass(frozen=True)
class ConnectionRejected:
    """Legacy connection_error: connection_init refused (the server then closes)."""

    payload: Any = None


@dataclass(frozen=True)
class Ping:
    """graphql-transport-ws ping: answer with a pong, or the server may close."""

    payload: Any = None


@dataclass(frozen=True)
class Pong:
    """The answer to a ping the client sent."""

    payload: Any = None


@dataclass(frozen=True)
class KeepAlive:
    """Legacy ``ka``: the server is alive; nothing to answer."""


@dataclass(frozen=True)
class Next:
    """One result of operation ``id``: ``payload`` is ``{"data": ..., "errors": [...]}``."""

    id: str
    payload: Any


@dataclass(frozen=True)
class Error:
    """Operation ``id`` failed before or instead of executing (validation, a refused
    subscribe): ``errors`` is a list of GraphQL error objects; the operation is over."""

    id: str
    errors: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Complete:
    """Operation ``id`` has sent its last result."""

    id: str


ServerMessage = Ack | ConnectionRejected | Ping | Pong | KeepAlive | Next | Error | Complete


class GraphQLError(Exception):
    """A GraphQL operation failed: ``errors`` as the server sent them (each an object with a
    ``message``), ``operation`` the operation's name."""

    def __init__(self, errors: list[Any], operation: str = "anonymous") -> None:
        self.errors = errors
        self.operation = operation
        first = errors[0] if errors else {}
        text = first.get("message", str(first)) if isinstance(first, dict) else str(first)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"GraphQL {operation}: {text}{more}")

    @property
    def messages(self) -> list[str]:
        """Each error's message."""
        return [e.get("message", "") if isinstance(e, dict) else str(e) for e in self.errors]


# -- encoding -------------------------------------------------------------------------------------


def _check(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise ValueError(
            f"unknown GraphQL protocol {protocol!r} (there are: {', '.join(sorted(PROTOCOLS))})"
        )


def _text(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def encode_init(protocol: str, payload: Any = None) -> str:
    """connection_init, with ``payload`` (auth, parameters) when given."""
    _check(protocol)
    message: dict[str, Any] = {"type": "connection_init"}
    if payload is not None:
        message["payload"] = payload
    return _text(message)


def encode_subscribe(
    protocol: str,
    operation_id: str,
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> str:
    """Start an operation (any type: both protocols run queries and mutations this way too)."""
    _check(protocol)
    if not isinstance(query, str) or not query.strip():
        raise ValueError("a GraphQL query must be a non-empty string")
    if variables is not None and not isinstance(variables, dict):
        raise TypeError(f"GraphQL variables must be a dict, not {type(variables).__name__}")
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    if operation_name is not None:
        payload["operationName"] = operation_name
    kind = "subscribe" if protocol == GRAPHQL_TRANSPORT_WS else "start"
    return _text({"id": operation_id, "type": kind, "payload": payload})


def encode_complete(protocol: str, operation_id: str) -> str:
    """The client is done with an operation (``complete``; legacy ``stop``)."""
    _check(protocol)
    kind = "complete" if protocol == GRAPHQL_TRANSPORT_WS else "stop"
    return _text({"id": operation_id, "type": kind})


def encode_ping(payload: Any = None) -> str:
    """A graphql-transport-ws ping (the legacy protocol has none)."""
    return _text({"type": "ping"} if payload is None else {"type": "ping", "payload": payload})


def encode_pong(payload: Any = None) -> str:
    """The answer to a server's ping (its payload is not echoed: the protocol does not ask)."""
    return _text({"type": "pong"} if payload is None else {"type": "pong", "payload": payload})


def encode_terminate(protocol: str) -> str | None:
    """The protocol's goodbye before the WebSocket close: legacy ``connection_terminate``;
    None for graphql-transport-ws, which says goodbye with the close frame alone."""
    _check(protocol)
    return None if protocol == GRAPHQL_TRANSPORT_WS else _text({"type": "connection_terminate"})


# -- parsing --------------------------------------------------------------------------------------


def parse(protocol: str, text: str | bytes) -> ServerMessage:
    """One server message.

    Raises:
        ValueError: not JSON, not an object, an unknown type for ``protocol``, or an operation
            message without an id. The server breaking the protocol is a finding, not a guess.
    """
    _check(protocol)
    try:
        message = json.loads(text)
    except ValueError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(message, dict):
        raise ValueError(f"a GraphQL message must be an object, not {type(message).__name__}")
    kind = message.get("type")
    payload = message.get("payload")
    legacy = protocol == SUBSCRIPTIONS_TRANSPORT_WS
    if kind == "connection_ack":
        return Ack(payload)
    if legacy and kind == "ka":
        return KeepAlive()
    if legacy and kind == "connection_error":
        return ConnectionRejected(payload)
    if not legacy and kind == "ping":
        return Ping(payload)
    if not legacy and kind == "pong":
        return Pong(payload)
    if kind in ("next", "data", "error", "complete"):
        if kind == ("data" if not legacy else "next"):
            raise ValueError(f"{kind!r} is not a {protocol} message")
        operation_id = message.get("id")
        if operation_id is None:
            raise ValueError(f"a {kind!r} message without an id")
        operation_id = str(operation_id)
        if kind == "complete":
            return Complete(operation_id)
        if kind == "error":
            return Error(operation_id, _errors(payload))
        if not isinstance(payload, dict):
            raise ValueError(f"{kind!r} for {operation_id}: payload must be an object")
        return Next(operation_id, payload)
    raise ValueError(f"unknown {protocol} message type {kind!r}")


def _errors(payload: Any) -> list[Any]:
    """graphql-transport-ws sends a list of errors; the legacy protocol one error object (or,
    from some servers, a list or a bare string)."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        return [payload]
    return [{"message": str(payload) if payload is not None else "unknown error"}]


# -- the operation a query holds ------------------------------------------------------------------

#: Tokens at the level of definitions: names, braces, parentheses, @ (a directive is no name);
#: strings and comments go first.
_IGNORED = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*', re.S)
_TOKENS = re.compile(r"[_A-Za-z][_0-9A-Za-z]*|[{}()@]")
_OPERATION_TYPES = ("query", "mutation", "subscription")


def operation_of(query: str, operation_name: str | None = None) -> tuple[str, str]:
    """(operation type, operation name) of the operation ``query`` runs: the one named
    ``operation_name`` if given, else the first. Anonymous operations are named
    ``"anonymous"``; ``{ ... }`` shorthand is a query. Unreadable text gives
    ``("query", name or "anonymous")``: the server, not the client, judges validity."""
    operations: list[tuple[str, str]] = []
    depth = 0
    tokens = _TOKENS.findall(_IGNORED.sub(" ", query))
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in "{(":
            if depth == 0 and token == "{" and (index == 0 or tokens[index - 1] == "}"):
                operations.append(("query", "anonymous"))  # the shorthand form
            depth += 1
        elif token in "})":
            depth = max(0, depth - 1)
        elif depth == 0 and token in _OPERATION_TYPES:
            following = tokens[index + 1] if index + 1 < len(tokens) else "{"
            named = following not in "{}()@"
            operations.append((token, following if named else "anonymous"))
            if named:
                index += 1
        index += 1
    if operation_name is not None:
        for kind, name in operations:
            if name == operation_name:
                return kind, name
        return (operations[0][0] if operations else "query"), operation_name
    return operations[0] if operations else ("query", "anonymous")
