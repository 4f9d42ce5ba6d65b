"""``from greenws import http``: k6's ``k6/http`` for the requests around a WebSocket test.

A typical script logs in over HTTP, takes a cookie and a token, then opens the socket; so the
module shares the VU's cookie jar with ``ws.connect`` (a ``Set-Cookie`` of the login reaches
the handshake) and emits k6's ``http_req_*`` metrics with k6's tags, so the summary's HTTP block
and thresholds on ``http_req_duration`` read as in k6.

Each request runs on the VU's greenlet over the VU's keep-alive pool
(:mod:`greenws.net.http_client`, which measures the phases); redirects are followed here, each
hop a request of its own in the metrics, as k6 counts them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

import gevent
import gevent.pool
from gevent.lock import Semaphore

from greenws import __version__
from greenws.api.http_response import (
    DEFAULT_CALLBACK,
    UNSET,
    ExpectedStatuses,
    RequestInfo,
    RequestParams,
    Response,
    TargetURL,
    expected_statuses,
    parse_set_cookie,
)
from greenws.net.cookies import CookieJar
from greenws.net.http_client import ConnectionPool, Endpoint, Exchange, exchange
from greenws.net.proxy import proxy_for
from greenws.protocol.http_bodies import HTTPFile, accepted_encodings, decode_content, encode_body
from greenws.runtime.vu import VirtualUser, current_vu

__all__ = [
    "CookieJar",
    "ExpectedStatuses",
    "HTTPFile",
    "Response",
    "batch",
    "cookieJar",
    "cookie_jar",
    "del_",
    "delete",
    "expectedStatuses",
    "expected_statuses",
    "file",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "setResponseCallback",
    "set_response_callback",
]

_REDIRECTS = (301, 302, 303, 307, 308)
#: k6's error code for a body that does not decompress.
_DECOMPRESSION_ERROR = 1701


class _VUHTTP:
    """One VU's ``http`` state: its keep-alive pool and its response callback."""

    __slots__ = ("callback", "pool")

    def __init__(self) -> None:
        self.pool = ConnectionPool()
        self.callback: Callable[[int], bool] | None = DEFAULT_CALLBACK


def _state(vu: VirtualUser) -> _VUHTTP:
    state = vu.http
    if state is None:
        state = vu.http = _VUHTTP()
    return state  # type: ignore[no-any-return]


# -- the script API ---------------------------------------------------------------------------


def request(
    method: str, url: str, body: Any = None, params: Mapping[str, Any] | None = None
) -> Response:
    """Send ``method url`` (with ``body``, a str, bytes or a dict form) and return the response."""
    vu = current_vu()
    prepared = _Prepared(vu, str(method).upper(), url, body, params, "http.request")
    return _perform(vu, prepared)


def get(url: str, params: Mapping[str, Any] | None = None) -> Response:
    """``GET url`` (k6's ``http.get(url, params)``)."""
    return request("GET", url, None, params)


def head(url: str, params: Mapping[str, Any] | None = None) -> Response:
    """``HEAD url``: the response has headers and no body."""
    return request("HEAD", url, None, params)


def post(url: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Response:
    """``POST url`` with ``body``: a dict is a form (multipart with an ``http.file``)."""
    return request("POST", url, body, params)


def put(url: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Response:
    return request("PUT", url, body, params)


def patch(url: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Response:
    return request("PATCH", url, body, params)


def delete(url: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Response:
    """``DELETE url`` (k6's ``http.del``; ``del`` is a Python keyword, so also ``del_``)."""
    return request("DELETE", url, body, params)


del_ = delete


def options(url: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Response:
    return request("OPTIONS", url, body, params)


def file(
    data: bytes | str, filename: str | None = None, content_type: str = "application/octet-stream"
) -> HTTPFile:
    """A file for a multipart body: ``http.post(url, {"upload": http.file(data, "a.txt")})``."""
    return HTTPFile(data, filename, content_type)


def cookie_jar() -> CookieJar:
    """The VU's cookie jar, the same one ``ws.connect``, ``ws.open`` and ``WebSocket`` use."""
    return current_vu().cookie_jar


def set_response_callback(callback: Callable[[int], bool] | None) -> None:
    """Which statuses count as expected for this VU's requests (``None``: no callback, so no
    ``http_req_failed`` samples and no ``expected_response`` tag, as in k6)."""
    if callback is not None and not callable(callback):
        raise TypeError("set_response_callback takes http.expected_statuses(...) or None")
    _state(current_vu()).callback = callback


cookieJar = cookie_jar
expectedStatuses = expected_statuses
setResponseCallback = set_response_callback


def batch(requests: Sequence[Any] | Mapping[str, Any]) -> list[Response] | dict[str, Response]:
    """Send several requests at once from this VU, on greenlets; responses in the same shape.

    Each request is a url (a GET), a list or tuple ``(method, url, body, params)``, or a dict
    with those keys, as in k6. At most ``batch`` requests are in flight at once, and at most
    ``batchPerHost`` to one host (k6's options, defaults 10 and 6).
    """
    vu = current_vu()
    items: list[tuple[Any, Any]] = (
        list(requests.items()) if isinstance(requests, Mapping) else list(enumerate(requests))
    )
    prepared = [(key, _batch_item(vu, item)) for key, item in items]
    settings = vu.context.options
    group = gevent.pool.Pool(settings.batch or None)
    per_host: dict[tuple[str, int], Semaphore] = {}

    def run(one: _Prepared) -> Response:
        if not settings.batch_per_host:
            return _perform(vu, one)
        key = (one.url.host, one.url.port)
        lock = per_host.get(key)
        if lock is None:
            lock = per_host[key] = Semaphore(settings.batch_per_host)
        with lock:
            return _perform(vu, one)

    greenlets = [group.spawn(run, one) for _, one in prepared]
    try:
        gevent.joinall(greenlets, raise_error=True)
    finally:
        gevent.killall([g for g in greenlets if not g.dead])
    responses = [g.value for g in greenlets]
    if isinstance(requests, Mapping):
        return {key: response for (key, _), response in zip(prepared, responses, strict=True)}
    return responses


def _batch_item(vu: VirtualUser, item: Any) -> _Prepared:
    if isinstance(item, str):
        return _Prepared(vu, "GET", item, None, None, "http.batch")
    if isinstance(item, Mapping):
        method, url = item.get("method", "GET"), item.get("url")
        body, params = item.get("body"), item.get("params")
    elif isinstance(item, (list, tuple)) and 2 <= len(item) <= 4:
        method, url, body, params = (*item, None, None)[:4]
    else:
        raise TypeError(f"http.batch: {item!r} is not a url, (method, url, ...) or a dict")
    return _Prepared(vu, str(method).upper(), url, body, params, "http.batch")


# -- one request, its redirects and its samples -----------------------------------------------


class _Prepared:
    """A request checked and encoded in the caller's greenlet (a bad param raises there)."""

    __slots__ = ("body", "content_type", "keep_body", "method", "params", "response_type", "url")

    def __init__(
        self,
        vu: VirtualUser,
        method: str,
        url: Any,
        body: Any,
        params: Mapping[str, Any] | None,
        api: str,
    ) -> None:
        self.method = method
        self.url = TargetURL(url)
        self.params = RequestParams(params, api)
        self.body, self.content_type = encode_body(body)
        options = vu.context.options
        self.response_type = self.params.response_type or (
            "none" if options.discard_response_bodies else "text"
        )
        self.keep_body = self.response_type != "none"


def _headers(
    vu: VirtualUser, prepared: _Prepared, url: TargetURL, method: str, body: bytes, jar: CookieJar
) -> list[tuple[str, str]]:
    """The request's headers: greenws's defaults, then the script's (which win), then cookies."""
    params = prepared.params
    user_agent = vu.context.options.user_agent
    defaults: dict[str, tuple[str, str]] = {"host": ("Host", url.authority)}
    if user_agent is None:
        user_agent = f"greenws/{__version__}"
    if user_agent:
        defaults["user-agent"] = ("User-Agent", user_agent)
    if body or method in ("POST", "PUT", "PATCH"):
        defaults["content-length"] = ("Content-Length", str(len(body)))
    if prepared.content_type and body:
        defaults["content-type"] = ("Content-Type", prepared.content_type)
    credentials = url.credentials
    if credentials is not None:
        defaults["authorization"] = ("Authorization", RequestParams.basic_auth(credentials))
    defaults["accept-encoding"] = ("Accept-Encoding", accepted_encodings())
    for name, value in params.headers:
        defaults[name.lower()] = (name, value)
    pairs = [(n, v) for n, values in jar.cookies_for_url(url.url).items() for v in values]
    for name, (value, replace) in params.cookies.items():
        if replace:  # k6: the script's cookie instead of the jar's of the same name
            pairs = [(n, v) for n, v in pairs if n != name]
        pairs.append((name, value))
    if pairs:
        text = "; ".join(f"{name}={value}" for name, value in pairs)
        existing = defaults.get("cookie")
        defaults["cookie"] = ("Cookie", f"{existing[1]}; {text}" if existing else text)
    return list(defaults.values())


def _perform(vu: VirtualUser, prepared: _Prepared) -> Response:
    context = vu.context
    state = _state(vu)
    params = prepared.params
    jar = params.jar or vu.cookie_jar
    callback = state.callback if params.callback is UNSET else params.callback
    redirects_left = params.redirects
    if redirects_left is None:
        redirects_left = context.options.max_redirects
    deadline = time.monotonic() + params.timeout
    method, url, body = prepared.method, prepared.url, prepared.body
    insecure = context.options.insecure_skip_tls_verify
    while True:
        headers = _headers(vu, prepared, url, method, body, jar)
        proxy = proxy_for(url.host, url.port, url.secure)
        endpoint = Endpoint(url.host, url.port, url.secure, proxy, insecure, vu.local_ip)
        target = url.absolute() if proxy is not None and not url.secure else url.target
        done = exchange(
            state.pool,
            context.tls_context,
            endpoint,
            method,
            target,
            headers,
            body,
            timeout=max(deadline - time.monotonic(), 0.001),
            keep_body=prepared.keep_body,
        )
        if done.set_cookies:
            jar.store(url.url, done.set_cookies)
        _emit(vu, prepared, method, url, done, callback)
        location = done.headers.get("Location")
        if done.error or done.status not in _REDIRECTS or not location or redirects_left <= 0:
            break
        redirects_left -= 1
        next_url = TargetURL(urljoin(url.url, location))
        if done.status in (301, 302, 303) and method != "HEAD":
            method, body = "GET", b""  # as Go's client (and browsers) do
        if (next_url.host, next_url.port) != (url.host, url.port):
            prepared.params.headers = [
                (k, v) for k, v in params.headers if k.lower() not in ("authorization", "cookie")
            ]
        url = next_url
    return _response(prepared, method, url, headers, body, done)


def _response(
    prepared: _Prepared,
    method: str,
    url: TargetURL,
    headers: list[tuple[str, str]],
    body: bytes,
    done: Exchange,
) -> Response:
    sent: dict[str, list[str]] = {}
    for name, value in headers:
        sent.setdefault(name, []).append(value)
    request_info = RequestInfo(method, url.clean, sent, body.decode("utf-8", "replace"), {})
    response = Response(url.clean, request_info)
    response.status, response.proto, response.headers = done.status, done.proto, done.headers
    response.status_text = f"{done.status} {done.reason}".rstrip() if done.status else ""
    response.error, response.error_code = done.error, done.error_code
    if not done.error and done.status >= 400:  # k6: a code for 4xx/5xx, and no error text
        response.error_code = 1000 + done.status
    response.timings, response.tls_version = done.timings, done.tls_version
    for value in done.set_cookies:
        cookie = parse_set_cookie(value, url.host)
        response.cookies.setdefault(cookie["name"], []).append(cookie)
    content = done.body
    encoding = done.headers.get("Content-Encoding")
    if encoding and content:
        try:
            content = decode_content(content, encoding)
        except ValueError as error:
            response.error, response.error_code = str(error), _DECOMPRESSION_ERROR
    if prepared.response_type == "binary":
        response.body = content
    elif prepared.response_type == "text":
        response.body = content.decode("utf-8", "replace")
    return response


def _emit(
    vu: VirtualUser,
    prepared: _Prepared,
    method: str,
    url: TargetURL,
    done: Exchange,
    callback: Callable[[int], bool] | None,
) -> None:
    """k6's samples of one request (``transport.go``'s ``measureAndEmitMetrics``)."""
    context = vu.context
    metrics = context.metrics
    user_tags = prepared.params.tags
    tags: dict[str, str] = {**vu.tags, **user_tags}
    name = user_tags.get("name")
    tags["name"] = name or url.clean
    tags["url"] = name or url.clean
    tags["method"] = method
    if done.error:
        tags["error"] = done.error_tag
        tags["error_code"] = str(done.error_code)
        tags["status"] = "0"
    else:
        tags["status"] = str(done.status)
        if done.status >= 400:
            tags["error_code"] = str(1000 + done.status)
        tags["proto"] = done.proto
        if done.tls_version:
            tags["tls_version"] = done.tls_version
    expected = True
    if callback is not None:
        expected = bool(callback(0 if done.error else done.status))
        tags["expected_response"] = "true" if expected else "false"
    tag_set = context.intern_tags(tags)
    now = time.time()
    t = done.timings
    push = context.samples.append
    push((metrics.http_reqs, now, 1.0, tag_set))
    push((metrics.http_req_duration, now, t.duration, tag_set))
    push((metrics.http_req_blocked, now, t.blocked, tag_set))
    push((metrics.http_req_connecting, now, t.connecting, tag_set))
    push((metrics.http_req_tls_handshaking, now, t.tls_handshaking, tag_set))
    push((metrics.http_req_sending, now, t.sending, tag_set))
    push((metrics.http_req_waiting, now, t.waiting, tag_set))
    push((metrics.http_req_receiving, now, t.receiving, tag_set))
    if callback is not None:
        push((metrics.http_req_failed, now, 0.0 if expected else 1.0, tag_set))
    if done.bytes_sent:
        push((metrics.data_sent, now, float(done.bytes_sent), vu.tags))
    if done.bytes_received:
        push((metrics.data_received, now, float(done.bytes_received), vu.tags))
