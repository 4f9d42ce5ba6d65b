"""Which connections k6's proxy rules send through which proxy, with plain values."""

from __future__ import annotations

import pytest

from greenws.net.proxy import Proxy, ProxyError, settings_from


def test_ws_uses_http_proxy_and_wss_https_proxy_with_credentials() -> None:
    settings = settings_from(
        {"http_proxy": "proxy.local:3128", "HTTPS_PROXY": "http://u%40x:p@secure.local:8443"}
    )
    assert settings.http == Proxy("proxy.local", 3128)
    assert settings.https is not None and settings.https.port == 8443
    assert settings.https.authorization == "Basic dUB4OnA="  # base64 of "u@x:p"
    request = settings.https.connect_request("example.com", 443)
    assert request.startswith(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n")
    assert b"Proxy-Authorization: Basic dUB4OnA=\r\n\r\n" in request


@pytest.mark.parametrize(
    ("host", "port", "bypassed"),
    [
        ("localhost", 80, True),
        ("127.0.0.1", 80, True),
        ("::1", 80, True),
        ("api.example.com", 80, True),  # "example.com" covers subdomains
        ("example.com", 80, True),
        ("only.sub.test", 80, True),  # ".sub.test" covers subdomains only
        ("sub.test", 80, False),
        ("10.1.2.3", 80, True),  # 10.0.0.0/8
        ("192.168.1.9", 8080, True),  # with its port
        ("192.168.1.9", 80, False),
        ("other.org", 80, False),
    ],
)
def test_no_proxy_rules(host: str, port: int, bypassed: bool) -> None:
    settings = settings_from(
        {"HTTP_PROXY": "p:1", "NO_PROXY": "example.com, .sub.test,10.0.0.0/8,192.168.1.9:8080"}
    )
    assert settings.bypassed(host, port) is bypassed


def test_a_star_bypasses_everything_and_bad_settings_are_named() -> None:
    assert settings_from({"HTTP_PROXY": "p:1", "NO_PROXY": "*"}).bypassed("a.b", 1)
    with pytest.raises(ProxyError, match="HTTPS_PROXY='socks5://p:1'"):
        settings_from({"HTTPS_PROXY": "socks5://p:1"})
    with pytest.raises(ProxyError, match="only http://"):
        settings_from({"HTTP_PROXY": "https://p:1"})
    with pytest.raises(ProxyError, match="not a number"):
        settings_from({"HTTP_PROXY": "http://p:port"})
