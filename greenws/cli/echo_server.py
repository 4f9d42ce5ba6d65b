"""The embedded echo target: ``greenws echo`` and ``greenws run --echo-server``.

A load test needs something to hit; this is it, built on gevent-websocket so it needs no extra
dependency. Routes (the query string drives server-initiated behaviour, so clients can be tested
against a server that starts things):

- ``/close?code=4001&reason=bye``: send that Close right after the handshake (no ``code``: an
  empty Close). The code is sent verbatim, even a reserved one, so client validation can be tested.
- ``/ping``: send one ping with payload ``b"greenws"`` after the handshake, then echo.
- ``GET /stats`` (plain HTTP, not a WebSocket): JSON counts of WebSocket connections by source
  address: ``open`` now, ``peak`` (most open at once) and ``accepted`` since the start, each as a
  total and ``by_source``. A test of ``localIPs`` asks it which addresses really connected.
- ``/private``: the echo, for a logged-in user only: the handshake must carry the ``session``
  cookie and the ``Authorization: Bearer`` token of ``POST /login`` (else Close 4401).
- plain HTTP (no upgrade), for scripts that log in before they connect (``greenws.http``):
  ``POST /login`` with a form ``user`` (and any ``password``) answers ``{"token": "t-USER"}``
  and sets cookie ``session=s-USER``; ``POST /logout`` expires it. Anything else is 426.
- anything else (``/``, ``/echo``, ...): echo text as text, binary as binary; pong every ping with
  its payload; answer a client's Close with the same code and reason, then close TCP.

gevent-websocket 0.10.1 gets several of these wrong on Python 3, so :class:`EchoWebSocket`
overrides them (we subclass, never patch the library): ``close()`` drops the code and sends
``str(bytes)`` as the reason (a client Close 4000 "done" is answered ``88 12 bytearray(b'done')``),
pings built from bytes go out as ``b'greenws'`` with the quotes, unmasking and UTF-8 validation
are byte-at-a-time Python loops, and there is no size limit at all (we cap frames).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

import gevent
import gevent.event
import gevent.os
import gevent.pool
from gevent.pywsgi import WSGIServer
from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.handler import WebSocketHandler
from geventwebsocket.websocket import Header, WebSocket

from greenws.protocol.frames import apply_mask as _apply_mask  # the C helper when there is one

__all__ = ["MAX_MESSAGE_SIZE", "EchoServerProcess", "EchoWebSocket", "serve"]

#: Largest frame we accept (twice the 32 MiB we promise); a bigger one gets Close 1009.
MAX_MESSAGE_SIZE = 64 * 1024 * 1024
PING_PAYLOAD = b"greenws"
_LISTENING = "listening on "  # stdout line contract between the child and EchoServerProcess
_log = logging.getLogger(__name__)


# RFC 6455 7.4 plus the IANA registry: 1012-1014 are valid (the library rejects them) and
# 3000-4999 are for applications (the library accepts anything from 5000 up too).
_CLOSE_CODES = frozenset((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014))


class _MessageTooBig(ProtocolError):  # type: ignore[misc]  # the library ships no hints
    pass


class EchoWebSocket(WebSocket):  # type: ignore[misc]  # gevent-websocket ships no type hints
    """gevent-websocket's WebSocket with the Python 3 bugs above fixed and a size limit."""

    __slots__ = ()
    # The library's attributes (its own slots), as this class uses them; None once dropped.
    closed: Any  # bool
    stream: Any
    raw_read: Any
    raw_write: Any

    def send_frame(self, message: bytes | str, opcode: int) -> None:
        # The library str()s any non-text payload of a ping or close; encode only real text.
        if self.closed:
            raise WebSocketError("Connection is already closed")
        data = message.encode() if isinstance(message, str) else bytes(message)
        header = Header.encode_header(True, opcode, b"", len(data), 0)
        try:
            self.raw_write(bytes(header) + data)
        except OSError as exc:  # WebSocketError is an OSError too
            raise WebSocketError("Socket is dead") from exc

    def read_frame(self) -> tuple[Any, bytes]:
        header = Header.decode_header(self.stream)
        if header.flags:
            raise ProtocolError("reserved bits set, but no extension was negotiated")
        if not header.mask:  # strict on purpose: this server exists to catch client bugs
            raise ProtocolError("client frames must be masked (RFC 6455 5.1)")
        if header.length > MAX_MESSAGE_SIZE:
            raise _MessageTooBig(f"frame of {header.length} bytes")
        payload = self.raw_read(header.length) if header.length else b""
        if len(payload) != header.length:
            raise WebSocketError("EOF inside a frame")
        return header, _apply_mask(payload, header.mask)

    def validate_utf8(self, payload: bytes) -> None:
        # The library's check is a Python loop per byte, run on every frame and again on the
        # whole message; its read_message() then decodes the message strictly anyway (-> 1007).
        pass

    def receive(self) -> str | bytes | None:
        """Like the library's, but with the right close code per failure, and quiet."""
        if self.closed:
            return None
        try:
            message: str | bytes | None = self.read_message()
            return message
        except UnicodeError:
            self.close(1007, "invalid UTF-8")
        except _MessageTooBig:
            self.close(1009, "message too big")
        except ProtocolError:
            self.close(1002, "protocol error")
        except OSError as exc:  # includes the library's WebSocketError for EOF
            self._drop("peer went away: %s", exc)  # no one left to send a Close to
        return None

    def handle_close(self, header: Any, payload: bytes) -> None:
        """Answer a Close with exactly its code and reason (the library drops both)."""
        code = int.from_bytes(payload[:2], "big") if payload else 1000  # empty: nothing to check
        if len(payload) == 1 or not (code in _CLOSE_CODES or 3000 <= code <= 4999):
            raise ProtocolError(f"invalid close frame {payload!r}")
        payload[2:].decode()  # UnicodeDecodeError -> 1007 in receive()
        self._send_close(payload)

    def close(self, code: int = 1000, message: bytes | str = b"") -> None:
        """Send Close ``code`` + ``message`` (once) and let go of the stream."""
        if not self.closed:
            reason = message.encode() if isinstance(message, str) else bytes(message)
            self._send_close(struct.pack("!H", code) + reason)

    def _send_close(self, payload: bytes, wait_reply: float = 0.0) -> None:
        try:
            self.send_frame(payload, self.OPCODE_CLOSE)
            if wait_reply:  # we started the closing handshake: the peer answers before TCP goes
                with gevent.Timeout(wait_reply, False):
                    while self.read_frame()[0].opcode != self.OPCODE_CLOSE:
                        pass  # RFC 6455 1.4: data after our Close is discarded
        except OSError as exc:
            _log.debug("closing handshake cut short: %s", exc)
        self._drop("closed")

    def _drop(self, why: str, *args: object) -> None:
        _log.debug(why, *args)
        self.closed = True
        self.stream = self.raw_read = self.raw_write = None


class _EchoHandler(WebSocketHandler):  # type: ignore[misc]
    def handle(self) -> Any:
        # pywsgi writes an HTTP answer's head and body separately; with Nagle on, the body
        # waited for the client's delayed ACK (~40 ms a login in examples/login_then_chat.py).
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return super().handle()

    def upgrade_connection(self) -> Any:
        # The library builds its WebSocket by name; make it ours right after the handshake.
        result = super().upgrade_connection()
        if self.environ.get("wsgi.websocket") is not None:
            self.websocket.__class__ = EchoWebSocket  # same slots: nothing to copy or undo
            # (TCP_NODELAY is set in handle: one write per echo, no delayed-ACK waits)
        return result


class ConnectionStats:
    """WebSocket connections by source address: open now, the peak, accepted in all.

    All greenlets of the server share one hub thread, so plain dict updates are safe.
    """

    def __init__(self) -> None:
        self.open: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.accepted: dict[str, int] = {}
        self.open_total = 0
        self.peak_total = 0

    def opened(self, source: str) -> None:
        count = self.open[source] = self.open.get(source, 0) + 1
        self.peak[source] = max(self.peak.get(source, 0), count)
        self.accepted[source] = self.accepted.get(source, 0) + 1
        self.open_total += 1
        self.peak_total = max(self.peak_total, self.open_total)

    def closed(self, source: str) -> None:
        self.open[source] -= 1
        self.open_total -= 1

    def document(self) -> dict[str, Any]:
        return {
            "open": {"total": self.open_total, "by_source": dict(self.open)},
            "peak": {"total": self.peak_total, "by_source": dict(self.peak)},
            "accepted": {"total": sum(self.accepted.values()), "by_source": dict(self.accepted)},
        }


STATS = ConnectionStats()


def _application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    ws: EchoWebSocket | None = environ.get("wsgi.websocket")
    path = environ.get("PATH_INFO", "/")
    if ws is None:
        if path == "/stats":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(STATS.document()).encode()]
        return _http(environ, path, start_response)
    source = str(environ.get("REMOTE_ADDR", ""))
    STATS.opened(source)
    try:
        return _serve_websocket(ws, path, environ)
    finally:
        STATS.closed(source)


def _serve_websocket(ws: EchoWebSocket, path: str, environ: dict[str, Any]) -> list[bytes]:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    try:
        if path == "/private" and not _logged_in(environ):
            ws._send_close(struct.pack("!H", 4401) + b"log in first", wait_reply=5.0)
            return []
        if path == "/close":
            ws._send_close(_close_payload(query), wait_reply=5.0)
            return []
        if path == "/ping":
            ws.send_frame(PING_PAYLOAD, ws.OPCODE_PING)
        while (message := ws.receive()) is not None:
            ws.send_frame(message, ws.OPCODE_TEXT if isinstance(message, str) else ws.OPCODE_BINARY)
    except gevent.GreenletExit:  # server shutting down
        ws.close(1001, "server shutting down")
        raise
    except OSError as exc:
        ws._drop("peer went away: %s", exc)
    return []


def _http(environ: dict[str, Any], path: str, start_response: Callable[..., Any]) -> list[bytes]:
    """The two HTTP routes of a login-then-chat test; no state: the token is derived."""
    method = environ.get("REQUEST_METHOD", "GET")
    if path in ("/login", "/logout") and method == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        form = parse_qs(environ["wsgi.input"].read(length).decode() if length else "")
        user = form.get("user", [""])[0]
        if path == "/login" and not user:
            body, status, cookie = b'{"error": "user is required"}', "400 Bad Request", None
        elif path == "/login":
            body, status = json.dumps({"token": f"t-{user}"}).encode(), "200 OK"
            cookie = f"session=s-{quote(user)}; Path=/; HttpOnly"
        else:
            body, status, cookie = b'{"logged_out": true}', "200 OK", "session=; Path=/; Max-Age=0"
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response(status, headers + ([("Set-Cookie", cookie)] if cookie else []))
        return [body]
    start_response("426 Upgrade Required", [("Sec-WebSocket-Version", "13")])
    return [b"greenws echo server: connect with a WebSocket client\n"]


def _logged_in(environ: dict[str, Any]) -> bool:
    """The handshake carries a ``session`` cookie and the bearer token of the same user."""
    cookies = dict(
        part.strip().partition("=")[::2] for part in environ.get("HTTP_COOKIE", "").split(";")
    )
    session = unquote(cookies.get("session", ""))
    bearer = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
    return session.startswith("s-") and bearer == "t-" + session[2:]


def _close_payload(query: dict[str, list[str]]) -> bytes:
    code, reason = query.get("code", [""])[0], query.get("reason", [""])[0].encode()
    if not code:
        return b""  # a Close without a status code: the peer should report 1005
    if code.isdigit() and int(code) <= 0xFFFF and len(reason) <= 123:
        return struct.pack("!H", int(code)) + reason
    return struct.pack("!H", 1008) + b"bad /close query"


def serve(
    host: str = "127.0.0.1", port: int = 8765, *, ready: Callable[[], None] | None = None
) -> None:
    """Serve until SIGINT or SIGTERM, closing open connections with 1001.

    Prints ``listening on HOST:PORT`` (the real port, also for port 0) to stdout first, then
    calls ``ready``. Signals are only caught when called from the main thread.
    """
    server = WSGIServer(
        (host, port),
        _application,
        handler_class=_EchoHandler,
        spawn=gevent.pool.Pool(),
        log=None,
        # thousands of VUs connect at once in a scale test: a short queue turns them into SYN
        # retries seconds apart (the kernel caps this at net.core.somaxconn)
        backlog=4096,
    )
    server.logger = _log  # gevent-websocket logs through the server's logger
    server.start()  # binds now: a busy port raises OSError here
    bound = f"[{host}]" if ":" in host else host
    print(f"{_LISTENING}{bound}:{server.server_port}", flush=True)
    stop = gevent.event.Event()
    watchers = []
    if threading.current_thread() is threading.main_thread():
        watchers = [gevent.signal_handler(s, stop.set) for s in (signal.SIGINT, signal.SIGTERM)]
    try:
        if ready is not None:
            ready()
        stop.wait()
    finally:
        for watcher in watchers:
            watcher.cancel()
        server.stop(timeout=0)  # kill handlers at once: each sends 1001 on its way out


class EchoServerStartError(RuntimeError):
    """The child echo server did not come up (port in use, bad host, timeout)."""


class EchoServerProcess:
    """The echo server in a child process, so it doesn't share the VUs' core.

    Starts in the constructor and returns once the port accepts connections (``port=0``: the
    child picks one; read ``.port``). The child gets its own session, so Ctrl-C reaches only the
    parent, which decides when to :meth:`stop`; it exits by itself if the parent dies (stdin EOF).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, *, timeout: float = 10.0):
        self.host, self.port = host, port
        # stderr goes to a file, not a pipe: nobody drains it, and a full pipe would block the child
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        env = dict(os.environ)  # the child must import this very greenws, installed or not
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        args = ["--host", host, "--port", str(port), "--watch"]
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "greenws", "echo", *args],  # the CLI monkey-patches
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            start_new_session=True,
        )
        try:
            self._wait_ready(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    def _wait_ready(self, deadline: float) -> None:
        assert self._proc.stdout is not None
        fd, line = self._proc.stdout.fileno(), b""
        while b"\n" not in line:
            left = deadline - time.monotonic()
            if left <= 0 or (os.name == "posix" and not select.select([fd], [], [], left)[0]):
                raise EchoServerStartError(f"echo server gave no {_LISTENING!r} line in time")
            chunk = os.read(fd, 256)
            if not chunk:
                self._proc.wait(max(0.1, deadline - time.monotonic()))
                self._stderr.seek(0)
                err = self._stderr.read().decode(errors="replace").strip()
                raise EchoServerStartError(
                    f"echo server on {self.host}:{self.port} exited with {self._proc.returncode}: "
                    + (err.splitlines()[-1] if err else "no error output")
                )
            line += chunk
        self.port = int(line.decode().split("\n", 1)[0].rsplit(":", 1)[1])
        with socket.create_connection(
            (self.host, self.port), max(0.1, deadline - time.monotonic())
        ):
            pass

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the child (kill it if it lingers); safe to call twice."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                pipe.close()
        self._stderr.close()

    def __enter__(self) -> EchoServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _exit_with_parent() -> None:
    """Child only: the parent holds our stdin; EOF means it died, so stop instead of lingering."""

    def watch() -> None:
        gevent.os.make_nonblocking(0)
        while gevent.os.nb_read(0, 4096):
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    if os.name == "posix":
        gevent.spawn(watch)


def main(argv: list[str] | None = None) -> int:
    """``greenws echo [--host H] [--port P]`` (the CLI has monkey-patched before calling this)."""
    parser = argparse.ArgumentParser(prog="greenws echo", description="greenws's echo target")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging to stderr")
    parser.add_argument("--watch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    # every connection the target holds is a descriptor, as on the client: a scale test's target
    # needs the soft limit raised like `greenws run` raises its own
    from greenws.execution.open_files import raise_open_files_limit

    raise_open_files_limit()
    try:
        serve(args.host, args.port, ready=_exit_with_parent if args.watch else None)
    except OSError as exc:
        print(f"greenws echo: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0
