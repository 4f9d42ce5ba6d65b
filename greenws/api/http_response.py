"""What ``http.get`` and friends take and give: params checked once, and k6's ``Response``.

Kept apart from :mod:`greenws.api.http` (which runs requests and emits samples) so that each file
does one job: this one is about shapes, with k6's names, and touches no socket.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from greenws.net.cookies import CookieJar
from greenws.net.http_client import Timings
from greenws.options.durations import parse_duration
from greenws.protocol.http_bodies import parse_json, select_json

__all__ = [
    "PARAM_KEYS",
    "ExpectedStatuses",
    "RequestInfo",
    "RequestParams",
    "Response",
    "TargetURL",
    "expected_statuses",
    "parse_set_cookie",
]

#: k6's request params (with snake_case spellings of the camelCase ones).
PARAM_KEYS = (
    "headers",
    "cookies",
    "tags",
    "timeout",
    "redirects",
    "auth",
    "responseType",
    "response_type",
    "jar",
    "responseCallback",
    "response_callback",
    "compression",
)
_PARAM_KEYS = frozenset(PARAM_KEYS)
DEFAULT_TIMEOUT = 60.0
_RESPONSE_TYPES = ("text", "binary", "none")
#: ``responseCallback`` not given at all (``None`` is k6's ``null``: no callback).
UNSET: Any = object()


class ExpectedStatuses:
    """k6's ``http.expectedStatuses(200, {min: 200, max: 299})``: which statuses are expected."""

    __slots__ = ("ranges",)

    def __init__(self, *statuses: int | Mapping[str, int]) -> None:
        ranges: list[tuple[int, int]] = []
        for status in statuses:
            if isinstance(status, Mapping):
                ranges.append((int(status["min"]), int(status["max"])))
            elif isinstance(status, int) and not isinstance(status, bool):
                ranges.append((status, status))
            else:
                raise TypeError(
                    f"expected_statuses: {status!r} is neither a status nor {{'min':…, 'max':…}}"
                )
        self.ranges = tuple(ranges)

    def __call__(self, status: int) -> bool:
        return any(low <= status <= high for low, high in self.ranges)

    def __repr__(self) -> str:
        return f"expected_statuses{self.ranges!r}"


def expected_statuses(*statuses: int | Mapping[str, int]) -> ExpectedStatuses:
    """A response callback that expects these statuses (ints or ``{"min":…, "max":…}``)."""
    return ExpectedStatuses(*statuses)


#: k6's default: every status from 200 to 399 is expected.
DEFAULT_CALLBACK = ExpectedStatuses({"min": 200, "max": 399})


class TargetURL:
    """An ``http://`` or ``https://`` URL split the way a request needs it."""

    __slots__ = ("authority", "clean", "credentials", "host", "port", "secure", "target", "url")

    def __init__(self, url: str) -> None:
        if not isinstance(url, str):
            raise TypeError(f"http: url must be a string, not {type(url).__name__}")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"http: url {url!r} must start with http:// or https://")
        if not parts.hostname:
            raise ValueError(f"http: url {url!r} has no host")
        self.secure = parts.scheme == "https"
        try:
            self.port = parts.port or (443 if self.secure else 80)
        except ValueError:
            raise ValueError(f"http: url {url!r} has an invalid port") from None
        self.host = parts.hostname
        #: The request target in origin form; the fragment never leaves the client.
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.credentials: tuple[str, str] | None = None
        netloc = parts.netloc
        if parts.username is not None:
            self.credentials = (unquote(parts.username), unquote(parts.password or ""))
            netloc = netloc.rpartition("@")[2]
        self.url = url
        #: The url without credentials, for tags and ``res.url`` (k6's ``URL.Clean`` masks them
        #: as ``****:****@``; we mask the same way).
        self.clean = url
        if self.credentials is not None:
            mask = "****:****@" if parts.password is not None else "****@"
            self.clean = f"{parts.scheme}://{mask}{netloc}{url.split(netloc, 1)[1]}"
        default_port = (self.secure and self.port == 443) or (not self.secure and self.port == 80)
        self.authority = netloc if parts.port or default_port else f"{netloc}:{self.port}"

    def absolute(self) -> str:
        """The absolute-form target, for a plain ``http://`` request through a proxy."""
        scheme = "https" if self.secure else "http"
        return f"{scheme}://{self.authority}{self.target}"


class RequestParams:
    """A request's params (k6's ``Params``), checked with clear errors."""

    __slots__ = (
        "auth",
        "callback",
        "cookies",
        "headers",
        "jar",
        "redirects",
        "response_type",
        "tags",
        "timeout",
    )

    def __init__(self, params: Mapping[str, Any] | None, api: str) -> None:
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise TypeError(f"{api}: params must be a dict, not {type(params).__name__}")
        unknown = sorted(set(params) - _PARAM_KEYS)
        if unknown:
            raise ValueError(
                f"{api}: unknown param {unknown[0]!r} (known: {', '.join(PARAM_KEYS)})"
            )
        headers = params.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise TypeError(f"{api}: params.headers must be a dict of header names to values")
        self.headers = [(str(k), str(v)) for k, v in headers.items()]
        self.tags = {str(k): str(v) for k, v in (params.get("tags") or {}).items()}
        self.cookies = _request_cookies(params.get("cookies"), api)
        timeout = params.get("timeout", DEFAULT_TIMEOUT * 1000.0)
        self.timeout = parse_duration(timeout, name=f"{api} timeout")
        if self.timeout <= 0:
            raise ValueError(f"{api}: timeout must be positive, not {timeout!r}")
        redirects = params.get("redirects")
        self.redirects: int | None = None if redirects is None else int(redirects)
        auth = params.get("auth")
        if auth not in (None, "basic"):
            raise ValueError(f"{api}: auth {auth!r} is not supported (only 'basic')")
        self.auth = auth
        response_type = params.get("responseType", params.get("response_type"))
        if response_type is not None and response_type not in _RESPONSE_TYPES:
            raise ValueError(
                f"{api}: responseType must be one of {', '.join(_RESPONSE_TYPES)}, "
                f"not {response_type!r}"
            )
        self.response_type: str | None = response_type
        jar = params.get("jar")
        if jar is not None and not isinstance(jar, CookieJar):
            raise TypeError(f"{api}: params.jar must be a CookieJar, not {type(jar).__name__}")
        self.jar: CookieJar | None = jar
        callback = params.get("responseCallback", params.get("response_callback", UNSET))
        if callback is not UNSET and callback is not None and not callable(callback):
            raise TypeError(f"{api}: responseCallback must be http.expected_statuses(...)")
        self.callback: Callable[[int], bool] | None = callback

    @staticmethod
    def basic_auth(credentials: tuple[str, str]) -> str:
        user, password = credentials
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _request_cookies(cookies: Any, api: str) -> dict[str, tuple[str, bool]]:
    """k6's ``cookies`` param: ``{name: value}`` or ``{name: {value, replace}}``."""
    if not cookies:
        return {}
    if not isinstance(cookies, Mapping):
        raise TypeError(f"{api}: params.cookies must be a dict")
    found: dict[str, tuple[str, bool]] = {}
    for name, value in cookies.items():
        if isinstance(value, Mapping):
            found[str(name)] = (str(value.get("value", "")), bool(value.get("replace")))
        else:
            found[str(name)] = (str(value), False)
    return found


def parse_set_cookie(value: str, default_domain: str) -> dict[str, Any]:
    """One ``Set-Cookie`` value as k6's ``res.cookies`` shows it."""
    pair, *attributes = value.split(";")
    name, _, cookie_value = pair.strip().partition("=")
    cookie: dict[str, Any] = {
        "name": name,
        "value": cookie_value,
        "domain": default_domain,
        "path": "/",
        "http_only": False,
        "secure": False,
        "max_age": 0,
        "expires": 0,
    }
    for attribute in attributes:
        key, _, item = attribute.strip().partition("=")
        key = key.lower()
        if key == "domain":
            cookie["domain"] = item.lstrip(".")
        elif key == "path":
            cookie["path"] = item
        elif key == "httponly":
            cookie["http_only"] = True
        elif key == "secure":
            cookie["secure"] = True
        elif key == "max-age" and item.lstrip("-").isdigit():
            cookie["max_age"] = int(item)
        elif key == "expires":
            cookie["expires"] = item
    return cookie


class RequestInfo:
    """``res.request``: what was sent (k6's ``Request``)."""

    __slots__ = ("body", "cookies", "headers", "method", "url")

    def __init__(
        self,
        method: str,
        url: str,
        headers: dict[str, list[str]],
        body: str,
        cookies: dict[str, list[dict[str, Any]]],
    ) -> None:
        self.method, self.url, self.headers, self.body = method, url, headers, body
        self.cookies = cookies

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"


class Response:
    """What ``http.get`` and friends return (k6's ``Response``)."""

    __slots__ = (
        "_json",
        "body",
        "cookies",
        "error",
        "error_code",
        "headers",
        "proto",
        "remote_ip",
        "remote_port",
        "request",
        "status",
        "status_text",
        "timings",
        "tls_version",
        "url",
    )

    def __init__(self, url: str, request: RequestInfo) -> None:
        self.url = url
        self.request = request
        self.status = 0
        self.status_text = ""
        self.proto = ""
        self.headers: dict[str, str] = {}
        self.cookies: dict[str, list[dict[str, Any]]] = {}
        self.body: str | bytes | None = None
        self.error = ""
        self.error_code = 0
        self.tls_version = ""
        self.remote_ip = ""
        self.remote_port = 0
        self.timings = Timings()
        self._json: Any = UNSET

    def json(self, selector: str | None = None) -> Any:
        """The body parsed as JSON; with ``selector`` (``"a.b"``, ``"items.0.id"``) that part of
        it, or None when it is not there (k6's gjson paths, the common part)."""
        if self._json is UNSET:
            if self.body is None:
                raise ValueError("the response has no body (responseType 'none'?)")
            self._json = parse_json(self.body)
        return self._json if selector is None else select_json(self._json, selector)

    def __repr__(self) -> str:
        error = f" error={self.error!r}" if self.error else ""
        return f"<Response {self.url} status={self.status}{error}>"
