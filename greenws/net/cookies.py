"""A VU's cookie jar, as k6 keeps one: cookies a handshake response sets go back on later
handshakes to matching hosts and paths.

The matching rules (domain, path, expiry, secure, host-only) are the standard library's
:mod:`http.cookiejar`, which speaks urllib's request and response objects; this module adapts a
WebSocket URL and a handshake's ``Set-Cookie`` values to them. As gorilla/websocket does for
k6, a ``ws://`` URL is matched as ``http://`` and ``wss://`` as ``https://``.
"""

from __future__ import annotations

import email.message
import http.cookiejar
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["CookieJar"]

_SCHEMES = {"ws": "http", "wss": "https"}
#: k6's cookie options (either spelling) and the Set-Cookie attribute each becomes.
_COOKIE_ATTRIBUTES = {
    "domain": "Domain",
    "path": "Path",
    "expires": "Expires",
    "max_age": "Max-Age",
    "maxage": "Max-Age",
    "secure": "Secure",
    "http_only": "HttpOnly",
    "httponly": "HttpOnly",
}


def _http_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{_SCHEMES.get(scheme.lower(), scheme)}{sep}{rest}"


def _on_host(host: str, domain: str) -> bool:
    """Whether a cookie of ``domain`` goes to ``host`` (RFC 6265's domain match)."""
    domain = domain.lstrip(".").lower()
    return host == domain or host.endswith("." + domain)


class _SetCookieResponse:
    """What :meth:`http.cookiejar.CookieJar.extract_cookies` reads from a response."""

    def __init__(self, set_cookies: Iterable[str]) -> None:
        self._headers = email.message.Message()
        for value in set_cookies:
            self._headers["Set-Cookie"] = value

    def info(self) -> email.message.Message:
        return self._headers


class CookieJar:
    """Cookies by domain and path (k6's ``http.CookieJar``); ``set``, ``cookies_for_url``,
    ``delete`` and ``clear`` are k6's methods (``cookiesForURL`` too)."""

    __slots__ = ("_cookies",)

    def __init__(self) -> None:
        # Made on the first cookie: every VU has a jar, and most never hold a cookie.
        self._cookies: http.cookiejar.CookieJar | None = None

    @property
    def _jar(self) -> http.cookiejar.CookieJar:
        if self._cookies is None:
            self._cookies = http.cookiejar.CookieJar()
        return self._cookies

    def __len__(self) -> int:
        return 0 if self._cookies is None else len(self._cookies)

    # -- what the dial uses -----------------------------------------------------------------------

    def header_for(self, url: str) -> str | None:
        """The ``Cookie`` header value for a handshake to ``url``, or None without cookies."""
        cookies = self._cookies
        if cookies is None or not len(cookies):  # every handshake asks; most jars are empty
            return None
        request = urllib.request.Request(_http_url(url))
        self._jar.add_cookie_header(request)
        return request.get_header("Cookie")

    def store(self, url: str, set_cookies: Iterable[str]) -> None:
        """Keep the cookies a response to a handshake with ``url`` set."""
        values = list(set_cookies)
        if values:
            request = urllib.request.Request(_http_url(url))
            self._jar.extract_cookies(_SetCookieResponse(values), request)  # type: ignore[arg-type]

    # -- k6's script API --------------------------------------------------------------------------

    def set(
        self, url: str, name: str, value: str, options: Mapping[str, Any] | None = None
    ) -> None:
        """Set cookie ``name`` for ``url``. ``options`` as k6: ``domain``, ``path``, ``expires``
        (an HTTP date), ``max_age`` (seconds), ``secure``, ``http_only``."""
        attributes = [f"{name}={value}"]
        for key, item in (options or {}).items():
            option = key.lower().replace("-", "_")
            attribute = _COOKIE_ATTRIBUTES.get(option)
            if attribute is None:
                raise ValueError(f"cookie option {option!r} is not one of k6's")
            if attribute in ("Secure", "HttpOnly"):  # flags: present or not
                if item:
                    attributes.append(attribute)
            else:
                attributes.append(f"{attribute}={int(item) if attribute == 'Max-Age' else item}")
        self.store(url, ["; ".join(attributes)])

    def cookies_for_url(self, url: str) -> dict[str, list[str]]:
        """The cookies a request to ``url`` would carry, as k6: name → list of values."""
        found: dict[str, list[str]] = {}
        header = self.header_for(url)
        for pair in (header or "").split("; "):
            name, sep, value = pair.partition("=")
            if sep:
                found.setdefault(name, []).append(value)
        return found

    cookiesForURL = cookies_for_url

    def delete(self, url: str, name: str) -> None:
        """Forget cookie ``name`` wherever it would be sent with ``url``."""
        request = urllib.request.Request(_http_url(url))
        host = request.host.split(":")[0].lower()
        for cookie in list(self._jar):
            if cookie.name == name and _on_host(host, cookie.domain):
                self._jar.clear(cookie.domain, cookie.path, cookie.name)

    def clear(self, url: str | None = None) -> None:
        """Forget every cookie (or, with ``url``, every cookie of its host)."""
        if url is None:
            if self._cookies is not None:
                self._cookies.clear()
            return
        host = urllib.request.Request(_http_url(url)).host.split(":")[0].lower()
        for domain in {cookie.domain for cookie in self._jar}:
            if _on_host(host, domain):
                self._jar.clear(domain)
