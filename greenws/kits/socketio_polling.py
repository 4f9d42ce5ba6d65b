"""Engine.IO's HTTP long-polling transport, for the start of a session before its upgrade.

socket.io-client starts a session this way unless told otherwise (its default ``transports``
is ``["polling", "websocket"]``): a GET opens the Engine.IO session over HTTP, packets go out
in POSTs and come back in long-polling GETs, and once a WebSocket to the same ``sid`` has
answered ``2probe`` with ``3probe`` the client sends ``5`` (upgrade) on it and polling stops.
Load-testing a service behind a proxy or a load balancer that mistreats one of these steps
(no sticky sessions, a proxy that buffers long polls, an upgrade refused) needs clients that
take the same path; ``socketio.connect(url, transport="polling-then-websocket")`` does, and
the session (:mod:`greenws.kits.socketio`) drives the steps with this class.

The requests go over :mod:`greenws.net.http_client`, the wire code of ``greenws.http``, with
the session's ``params``: its headers, its cookie jar (so a sticky cookie a load balancer sets
on the first GET goes with the POSTs and the WebSocket upgrade), its source address and the
run's TLS settings. They run on the calling greenlet, one at a time, each under a deadline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from greenws import __version__
from greenws.codecs.socketio import decode_payload, encode_payload
from greenws.net.cookies import CookieJar
from greenws.net.dial import PARAM_KEYS, Response
from greenws.net.http_client import ConnectionPool, Endpoint, exchange
from greenws.runtime.vu import VirtualUser
from greenws.sockets.connection import check_target
from greenws.sockets.sequential import ConnectError

__all__ = ["EnginePolling", "PollingError"]


class PollingError(ConnectError):
    """A long-polling request failed: a network error, or a status other than 200 (a server
    without the polling transport answers 400 ``Transport unknown``, a lost session 400
    ``Session ID unknown``). ``response`` holds the status, headers and body."""

    def __init__(self, response: Response, what: str) -> None:
        ConnectionError.__init__(self, f"socketio polling {what} {response.url}: {response.error}")
        self.response = response


class EnginePolling:
    """One Engine.IO session's polling requests: :meth:`open`, :meth:`send`, :meth:`poll`.

    Args:
        vu: the VU the requests are made for (its source address, its run's TLS contexts).
        url: the polling endpoint with a ws(s) scheme (``engine_url(..., transport="polling")``),
            checked with ``params`` as a WebSocket target is, so the same params work for both.
        params: the session's params (``headers``, ``jar``, ``localIP``, ...).
        jar: the cookie jar the WebSocket's handshake will use too.
    """

    def __init__(
        self, vu: VirtualUser, url: str, params: Mapping[str, Any] | None, jar: CookieJar
    ) -> None:
        context = vu.context
        target = check_target("socketio.connect", context, url, params, PARAM_KEYS)
        self.url = ("https" if target.secure else "http") + url[url.index(":") :]
        self.sid: str | None = None
        #: Requests made so far (what the tests count).
        self.requests = 0
        self._jar = jar
        self._tls = context.tls_context
        self._pool = ConnectionPool()
        self._endpoint = Endpoint(
            target.host,
            target.port,
            target.secure,
            target.proxy,
            target.insecure,
            target.local_ip or vu.local_ip,
        )
        # A plain request through a proxy names the whole URL (absolute form), as greenws.http.
        self._absolute = target.proxy is not None and not target.secure
        self._resource = target.resource
        default_port = 443 if target.secure else 80
        host = f"[{target.host}]" if ":" in target.host else target.host
        headers = {
            "host": ("Host", host if target.port == default_port else f"{host}:{target.port}")
        }
        agent = target.user_agent if target.user_agent is not None else f"greenws/{__version__}"
        if agent:
            headers["user-agent"] = ("User-Agent", agent)
        for name, value in target.headers:  # the script's win, as in greenws.http
            headers[name.lower()] = (name, value)
        self._headers = list(headers.values())

    def open(self, timeout: float) -> list[str | bytes]:
        """GET without a sid: the server's first packets, the open packet first."""
        return decode_payload(self._request("GET", b"", timeout))

    def send(self, messages: Sequence[str | bytes], timeout: float) -> None:
        """POST ``messages`` (what a WebSocket would carry, one per frame) in one body."""
        self._request("POST", encode_payload(messages), timeout)

    def poll(self, timeout: float) -> list[str | bytes]:
        """One long-polling GET: whatever the server has queued, waiting until it has some (the
        server answers within its ping interval, with a ping if nothing else)."""
        return decode_payload(self._request("GET", b"", timeout))

    def close(self) -> None:
        """Close the kept-alive connections (polling is over: upgraded, or given up)."""
        self._pool.close()

    def _request(self, method: str, body: bytes, timeout: float) -> bytes:
        if timeout <= 0:
            raise PollingError(Response(self.url, error="timed out"), method)
        query = "" if self.sid is None else f"&sid={quote(self.sid, safe='')}"
        url = self.url + query
        headers = list(self._headers)
        cookies = self._jar.header_for(url)
        if cookies:
            headers.append(("Cookie", cookies))
        if method == "POST":
            headers.append(("Content-Type", "text/plain;charset=UTF-8"))
            headers.append(("Content-Length", str(len(body))))
        target = url if self._absolute else self._resource + query
        done = exchange(
            self._pool, self._tls, self._endpoint, method, target, headers, body, timeout=timeout
        )
        self.requests += 1
        if done.set_cookies:
            self._jar.store(url, done.set_cookies)
        if done.error:
            raise PollingError(Response(url, error=done.error, error_code=done.error_code), method)
        if done.status != 200:
            text = done.body[:200].decode("utf-8", "replace")
            response = Response(
                url, done.status, done.headers, done.body, f"HTTP {done.status} {text}"
            )
            raise PollingError(response, method)
        return done.body
