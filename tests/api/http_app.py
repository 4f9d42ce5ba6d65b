"""The HTTP (and WebSocket) server the ``http`` module's tests run against: a WSGI app on
gevent's pywsgi, in its own process.

Run: ``python tests/api/http_app.py [--port 0] [--cert CERT --key KEY]``. It binds 127.0.0.1
only and prints ``listening on 127.0.0.1:PORT`` first (the contract of ``tests/servers.py``).

Routes (everything answers JSON unless said otherwise):
- ``POST /login`` (form ``user``, ``password``): sets cookie ``session=s-<user>``, returns
  ``{"token": "t-<user>"}``; ``POST /logout`` expires the cookie.
- ``/echo``: method, path, query, headers, body and cookies of the request.
- ``/json``: a fixed document (``{"user": {"name": "ada", "roles": [...]}, "items": [...]}``).
- ``/status/CODE``: that status. ``/redirect/CODE/N``: a chain of N redirects with status CODE
  ending at ``/echo``; ``/redirect-to?url=U&code=C``.
- ``/gzip``, ``/deflate``: a compressed JSON body. ``/slow?ms=N``: answers after N ms.
- ``/basic/USER/PASS``: 200 with the right Basic credentials, 401 otherwise.
- ``/multipart``: the fields and files of a multipart/form-data body.
- ``/set-cookie?name=value``: sets those cookies. ``/close``: answers with ``Connection: close``.
- ``/connections``: how many TCP connections the server has accepted so far.
- ``/ws`` (WebSocket): first sends ``{"cookie": ..., "authorization": ...}`` of its handshake,
  then echoes.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import signal
import sys
import zlib
from collections.abc import Callable, Iterable
from email.parser import BytesParser
from email.policy import HTTP
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote

from gevent import monkey

monkey.patch_all()

import gevent  # noqa: E402
from gevent import pywsgi  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402

DOCUMENT = {
    "user": {"name": "ada", "roles": ["admin", "dev"]},
    "items": [{"id": 7, "tags": ["a"]}, {"id": 9, "tags": []}],
}
REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found"}
REASONS.update({303: "See Other", 307: "Temporary Redirect", 308: "Permanent Redirect"})
REASONS.update({400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 418: "I'm a teapot"})
REASONS.update({500: "Internal Server Error", 503: "Service Unavailable"})
ACCEPTED = [0]
ENVIRON_METHOD = ["GET"]

Start = Callable[[str, list[tuple[str, str]]], Any]


def _status(code: int) -> str:
    return f"{code} {REASONS.get(code, 'Status')}"


def _json(start: Start, value: Any, code: int = 200, headers: Iterable[tuple[str, str]] = ()):
    body = json.dumps(value).encode()
    start(
        _status(code),
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers],
    )
    return [body] if ENVIRON_METHOD[0] != "HEAD" else []  # pywsgi would send a HEAD a body


def _cookies(environ: dict[str, Any]) -> dict[str, str]:
    jar = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    return {name: morsel.value for name, morsel in jar.items()}


def _body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _websocket(environ: dict[str, Any], start: Start):
    ws = environ.get("wsgi.websocket")
    if ws is None:
        start("400 Bad Request", [])
        return [b"websocket only"]
    hello = {
        "cookie": environ.get("HTTP_COOKIE", ""),
        "authorization": environ.get("HTTP_AUTHORIZATION", ""),
    }
    ws.send(json.dumps(hello))
    while True:
        message = ws.receive()
        if message is None:
            break
        ws.send(message)
    return []


def app(environ: dict[str, Any], start: Start):
    path = environ["PATH_INFO"]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    method = ENVIRON_METHOD[0] = environ["REQUEST_METHOD"]
    if path == "/ws":
        return _websocket(environ, start)
    if path == "/login" and method == "POST":
        form = parse_qs(_body(environ).decode())
        user = form.get("user", [""])[0]
        if not user or form.get("password", [""])[0] != "secret":
            return _json(start, {"error": "bad credentials"}, 401)
        cookie = ("Set-Cookie", f"session=s-{user}; Path=/; HttpOnly")
        return _json(start, {"token": f"t-{user}", "user": user}, 200, [cookie])
    if path == "/logout":
        expired = ("Set-Cookie", "session=; Path=/; Max-Age=0")
        return _json(start, {"bye": True}, 200, [expired])
    if path == "/echo":
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        echoed = {
            "method": method,
            "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "headers": headers,
            "body": _body(environ).decode("utf-8", "replace"),
            "cookies": _cookies(environ),
            "remote": environ.get("REMOTE_ADDR", ""),
        }
        return _json(start, echoed)
    if path == "/json":
        return _json(start, DOCUMENT)
    if path.startswith("/status/"):
        code = int(path.rsplit("/", 1)[1])
        return _json(start, {"status": code}, code)
    if path.startswith("/redirect/"):
        _, _, code, count = path.split("/")
        left = int(count) - 1
        location = f"/redirect/{code}/{left}" if left > 0 else "/echo"
        start(_status(int(code)), [("Location", location), ("Content-Length", "0")])
        return [b""]
    if path == "/redirect-to":
        code = int(query.get("code", ["302"])[0])
        start(_status(code), [("Location", query["url"][0]), ("Content-Length", "0")])
        return [b""]
    if path in ("/gzip", "/deflate"):
        raw = json.dumps({"compressed": path[1:], **DOCUMENT}).encode()
        if path == "/gzip":
            buffer = io.BytesIO()
            with gzip.GzipFile(fileobj=buffer, mode="wb") as packed:
                packed.write(raw)
            data = buffer.getvalue()
        else:
            data = zlib.compress(raw)
        start("200 OK", [("Content-Type", "application/json"), ("Content-Encoding", path[1:])])
        return [data]
    if path == "/slow":
        gevent.sleep(int(query.get("ms", ["1000"])[0]) / 1000.0)
        return _json(start, {"slow": True})
    if path.startswith("/basic/"):
        _, _, user, password = path.split("/")
        wanted = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if environ.get("HTTP_AUTHORIZATION") != wanted:
            return _json(start, {"authenticated": False}, 401, [("WWW-Authenticate", "Basic")])
        return _json(start, {"authenticated": True, "user": user})
    if path == "/multipart":
        head = f"Content-Type: {environ.get('CONTENT_TYPE', '')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + _body(environ))
        fields: dict[str, Any] = {}
        files: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True).decode("utf-8", "replace")
            if part.get_filename():
                files[name] = {
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "data": data,
                }
            else:
                fields[name] = data
        return _json(start, {"fields": fields, "files": files})
    if path == "/set-cookie":
        cookies = [("Set-Cookie", f"{k}={quote(v[0])}; Path=/") for k, v in query.items()]
        return _json(start, {"set": sorted(query)}, 200, cookies)
    if path == "/close":
        return _json(start, {"closing": True}, 200, [("Connection", "close")])
    if path == "/connections":
        return _json(start, {"accepted": ACCEPTED[0]})
    return _json(start, {"error": "not found"}, 404)


class _CountingHandler(WebSocketHandler):  # type: ignore[misc]
    """Counts accepted connections, so tests can see keep-alive reuse from the server's side."""

    def __init__(self, sock: Any, address: Any, server: Any, *args: Any, **kwargs: Any) -> None:
        ACCEPTED[0] += 1
        super().__init__(sock, address, server, *args, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    tls = {"certfile": args.cert, "keyfile": args.key} if args.cert else {}
    server = pywsgi.WSGIServer(
        ("127.0.0.1", args.port), app, handler_class=_CountingHandler, log=None, **tls
    )
    server.start()
    print(f"listening on 127.0.0.1:{server.server_port}", flush=True)
    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
