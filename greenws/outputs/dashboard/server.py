"""The dashboard's HTTP server: the page, its server-sent events, and a frozen copy on demand.

gevent's own WSGI server, on the hub that runs the VUs (or, with ``--workers``, on the
coordinator's): no thread, no framework, nothing a VU waits for. Each browser tab holds one
event stream. A stream keeps only the newest update waiting (an update is the whole ``<main>``,
so an older one is worth nothing once a newer exists): a slow or stalled tab costs one message
of memory and never holds the test back. When the test ends, every stream gets the ``end``
event and is closed, and the server stops within a bounded wait: an open tab never keeps the
process alive, which k6's dashboard does.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import gevent
import gevent.queue
from gevent.pywsgi import WSGIServer

__all__ = ["DashboardServer", "sse_message"]

_KEEPALIVE = 15.0  # seconds between comments on a quiet stream, so proxies keep it open


def sse_message(event: str, payload: dict[str, Any]) -> bytes:
    """One server-sent event whose data is ``payload`` as one line of JSON."""
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event}\ndata: {data}\n\n".encode()


class DashboardServer:
    """Serves ``/`` (the live page), ``/events`` (the stream) and ``/report`` (a frozen copy)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        live_page: Callable[[], str],
        frozen_page: Callable[[], str],
    ) -> None:
        self.host = host
        self.requested_port = port
        self.live_page = live_page
        self.frozen_page = frozen_page
        self._streams: set[gevent.queue.Queue[bytes | None]] = set()
        self._server: WSGIServer | None = None
        self.latest: bytes | None = None  # the newest update, for a tab that opens late
        self.ended = False

    # -- life -------------------------------------------------------------------------------

    def start(self) -> int:
        """Listen; returns the port (the chosen one when asked for port 0)."""
        self._server = WSGIServer(
            (self.host, self.requested_port), self._app, log=None, error_log=None
        )
        self._server.start()
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        port = self._server.server_port if self._server is not None else self.requested_port
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    @property
    def clients(self) -> int:
        """Event streams open now."""
        return len(self._streams)

    def publish(self, message: bytes) -> None:
        """Give every stream ``message``, replacing an update it has not sent yet."""
        self.latest = message
        for stream in list(self._streams):
            while True:
                try:
                    stream.put_nowait(message)
                    break
                except gevent.queue.Full:
                    with contextlib.suppress(gevent.queue.Empty):
                        stream.get_nowait()

    def finish(self, message: bytes, *, drain: float = 2.0) -> None:
        """Send the ``end`` event, give the streams up to ``drain`` seconds to write it, stop."""
        self.ended = True
        self.publish(message)
        deadline = time.monotonic() + drain
        while self._streams and time.monotonic() < deadline:
            gevent.sleep(0.02)
        if self._server is not None:
            self._server.stop(timeout=1)

    # -- requests ---------------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
            return [b""]
        if path == "/events":
            return self._events(start_response)
        if path in ("/", "/report"):
            page = (self.live_page() if path == "/" else self.frozen_page()).encode()
            headers = [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Cache-Control", "no-store"),
                ("Content-Length", str(len(page))),
                # Inline style and script only; nothing from anywhere else.
                (
                    "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                    "connect-src 'self'; img-src data:",
                ),
            ]
            if path == "/report":
                headers.append(
                    ("Content-Disposition", 'attachment; filename="greenws-report.html"')
                )
            start_response("200 OK", headers)
            return [page]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    def _events(self, start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/event-stream"),
                ("Cache-Control", "no-store"),
                ("X-Accel-Buffering", "no"),
            ],
        )
        stream: gevent.queue.Queue[bytes | None] = gevent.queue.Queue(maxsize=1)
        if self.latest is not None:
            stream.put_nowait(self.latest)
        self._streams.add(stream)
        return self._stream(stream)

    def _stream(self, stream: gevent.queue.Queue[bytes | None]) -> Iterator[bytes]:
        try:
            yield b"retry: 2000\n\n"
            while True:
                try:
                    message = stream.get(timeout=_KEEPALIVE)
                except gevent.queue.Empty:
                    yield b": keep-alive\n\n"
                    continue
                if message is None:
                    return
                yield message
                if message.startswith(b"event: end"):
                    return
        finally:
            self._streams.discard(stream)
