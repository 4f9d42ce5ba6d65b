"""HTTP(S) proxies from the environment, with the rules k6's dialer follows (Go's
``http.ProxyFromEnvironment``).

- ``ws://`` goes through ``HTTP_PROXY``, ``wss://`` through ``HTTPS_PROXY`` (or their lower-case
  spellings); either way the proxy is asked for a ``CONNECT`` tunnel, as gorilla/websocket does.
- ``NO_PROXY`` lists hosts that are reached directly: ``*``, names (``example.com`` also covers
  its subdomains, ``.example.com`` only them), IP addresses and CIDR blocks, each optionally
  with ``:port``.
- ``localhost`` and loopback addresses are never proxied.
- A proxy URL without a scheme is ``http://``; its ``user:password`` becomes
  ``Proxy-Authorization: Basic``. Other schemes (``https://``, TLS to the proxy itself, and
  ``socks5://``, both of which Go also speaks) are refused with a clear error.

The environment is read once per process, as Go does.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["Proxy", "ProxyError", "proxy_for"]


class ProxyError(ValueError):
    """A proxy setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Proxy:
    """Where to ask for a tunnel, and with what credentials."""

    host: str
    port: int
    #: The ``Proxy-Authorization`` value, or None.
    authorization: str | None = None

    def __str__(self) -> str:
        return f"proxy {self.host}:{self.port}"

    def connect_request(self, host: str, port: int) -> bytes:
        """The ``CONNECT`` request for a tunnel to ``host:port``."""
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        if self.authorization:
            lines.append(f"Proxy-Authorization: {self.authorization}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _variable(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    for key in (name, name.lower()):
        value = environ.get(key)
        if value:
            return key, value
    return None


def _parse_proxy(variable: str, value: str) -> Proxy:
    url = value if "://" in value else f"http://{value}"
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ProxyError(f"{variable}={value!r}: only http:// proxies are supported")
    try:
        port = parts.port or 80
    except ValueError:
        raise ProxyError(f"{variable}={value!r}: the port is not a number") from None
    if not parts.hostname:
        raise ProxyError(f"{variable}={value!r}: no host")
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
    return Proxy(parts.hostname, port, authorization)


@dataclass(frozen=True)
class _NoProxyEntry:
    """One ``NO_PROXY`` entry, parsed once: a name (``.suffix`` for subdomains only) or an IP
    network, and the port it is limited to, if any."""

    name: str
    port: int | None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None

    @classmethod
    def parse(cls, entry: str) -> _NoProxyEntry:
        name, port = entry, None
        if entry.count(":") == 1 or (entry.startswith("[") and "]:" in entry):
            name, _, tail = entry.rpartition(":")
            port = int(tail) if tail.isdigit() else None
        name = name.strip("[]")
        try:
            network = ipaddress.ip_network(name, strict=False)
        except ValueError:
            network = None
        return cls(name, port, network)

    def matches(
        self, host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, port: int
    ) -> bool:
        if self.port is not None and self.port != port:
            return False
        if address is not None:
            return self.network is not None and address in self.network
        if self.name.startswith("."):
            return host.endswith(self.name)
        return host == self.name or host.endswith("." + self.name)


@dataclass(frozen=True)
class _Settings:
    http: Proxy | None
    https: Proxy | None
    no_proxy: tuple[_NoProxyEntry, ...]
    no_proxy_at_all: bool = False

    def bypassed(self, host: str, port: int) -> bool:
        host = host.lower().strip("[]")
        try:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(
                host
            )
        except ValueError:
            address = None
        if host == "localhost" or (address is not None and address.is_loopback):
            return True
        return self.no_proxy_at_all or any(
            entry.matches(host, address, port) for entry in self.no_proxy
        )


def settings_from(environ: Mapping[str, str]) -> _Settings:
    """The proxy settings in ``environ`` (raises :class:`ProxyError` for a bad one)."""
    found = {}
    for scheme, name in (("http", "HTTP_PROXY"), ("https", "HTTPS_PROXY")):
        variable = _variable(environ, name)
        found[scheme] = _parse_proxy(*variable) if variable else None
    no_proxy = _variable(environ, "NO_PROXY")
    entries = [
        part.strip().lower()
        for part in (no_proxy[1] if no_proxy else "").split(",")
        if part.strip()
    ]
    return _Settings(
        found["http"],
        found["https"],
        tuple(_NoProxyEntry.parse(entry) for entry in entries if entry != "*"),
        "*" in entries,
    )


@functools.cache
def _process_settings() -> _Settings:
    return settings_from(os.environ)


def proxy_for(host: str, port: int, secure: bool) -> Proxy | None:
    """The proxy a connection to ``host:port`` goes through, or None to connect directly."""
    settings = _process_settings()
    proxy = settings.https if secure else settings.http
    if proxy is None or settings.bypassed(host, port):
        return None
    return proxy
