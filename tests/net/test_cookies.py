"""The cookie jar's rules with plain values: what goes out with a handshake to which url."""

from __future__ import annotations

import pytest

from greenws.net.cookies import CookieJar
from greenws.net.dial import _with_cookies

REQUEST = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"


def test_cookies_follow_host_path_and_secure() -> None:
    jar = CookieJar()
    assert len(jar) == 0 and jar.header_for("ws://127.0.0.1/") is None
    jar.store("ws://127.0.0.1:8000/login", ["a=1; Path=/", "deep=2; Path=/deep"])
    jar.set("wss://127.0.0.1/", "s", "3", {"secure": True})
    assert jar.header_for("ws://127.0.0.1:9/x") == "a=1"
    assert jar.header_for("wss://127.0.0.1/deep/y") == "deep=2; a=1; s=3"
    assert jar.header_for("ws://localhost/") is None
    assert jar.cookies_for_url("wss://127.0.0.1/") == {"a": ["1"], "s": ["3"]}
    jar.delete("ws://127.0.0.1/", "a")
    assert jar.cookiesForURL("ws://127.0.0.1/deep/") == {"deep": ["2"]}
    jar.clear("ws://127.0.0.1/")
    assert len(jar) == 0


def test_an_expired_cookie_is_dropped_and_unknown_options_refused() -> None:
    jar = CookieJar()
    jar.set("ws://h/", "gone", "1", {"max_age": 0})
    assert jar.header_for("ws://h/") is None
    with pytest.raises(ValueError, match="'colour'"):
        jar.set("ws://h/", "x", "1", {"colour": "red"})


def test_jar_cookies_join_a_cookie_header_the_script_gave() -> None:
    assert _with_cookies(REQUEST, None) == REQUEST
    added = _with_cookies(REQUEST, "a=1")
    assert added == REQUEST[:-2] + b"Cookie: a=1\r\n\r\n"
    given = REQUEST.replace(b"Host: h\r\n", b"Host: h\r\ncookie: mine=0\r\n")
    assert b"cookie: mine=0; a=1\r\n" in _with_cookies(given, "a=1")
