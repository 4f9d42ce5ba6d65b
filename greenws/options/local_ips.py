"""k6's ``localIPs``: the source addresses VUs' sockets are bound to. Pure.

One source address can hold only as many connections to one target (address and port) as there
are ephemeral ports, about 28,000 with Linux's default ``ip_local_port_range``: past that,
``connect`` fails with EADDRNOTAVAIL. Giving the VUs several source addresses multiplies that
ceiling, which is how one box holds more than ~28k–64k connections to one listener.

The spelling is k6's: a comma-separated list of addresses (``10.0.0.5``), ranges
(``10.0.0.5-10.0.0.20``) and CIDRs (``10.0.1.0/24``), IPv4 or IPv6. As in k6, an IPv4 CIDR wider
than /31 leaves out its network and broadcast addresses, and VU ``n`` (1-based) takes address
``(n - 1) mod size`` of the pool, so consecutive VUs spread round-robin over the addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LocalIPError", "LocalIPPool", "parse_local_ips"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class LocalIPError(ValueError):
    """A ``localIPs`` value that is not addresses, ranges or CIDRs; the message names the part."""


@dataclass(frozen=True)
class _Block:
    first: int  # the first address as an integer
    count: int
    version: int


@dataclass(frozen=True)
class LocalIPPool:
    """The parsed pool: blocks in the order written, and the text they came from."""

    blocks: tuple[_Block, ...]
    text: str

    @property
    def size(self) -> int:
        """How many addresses the pool holds."""
        return sum(block.count for block in self.blocks)

    def address(self, index: int) -> str:
        """Address ``index mod size`` of the pool, counting through the blocks in order."""
        index %= self.size
        for block in self.blocks:
            if index < block.count:
                kind = ipaddress.IPv4Address if block.version == 4 else ipaddress.IPv6Address
                return str(kind(block.first + index))
            index -= block.count
        raise AssertionError("unreachable: index was reduced modulo the size")

    def for_vu(self, vu_id: int) -> str:
        """The source address of VU ``vu_id`` (1-based, as ``__VU``), k6's assignment."""
        return self.address(max(vu_id - 1, 0))

    def addresses(self, limit: int = 1000) -> list[str]:
        """The first ``limit`` addresses (for messages and ``greenws inspect``)."""
        return [self.address(i) for i in range(min(self.size, limit))]

    def __str__(self) -> str:
        return self.text


def _ip(text: str, part: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise LocalIPError(f"{part!r} is not an IP address, a range (a-b) or a CIDR") from None


def _block(part: str) -> _Block:
    if "/" in part:
        try:
            network = ipaddress.ip_network(part, strict=False)
        except ValueError as error:
            raise LocalIPError(f"{part!r} is not a valid CIDR: {error}") from None
        first, count = int(network.network_address), network.num_addresses
        if network.version == 4 and count > 2:  # k6: no network or broadcast address
            first, count = first + 1, count - 2
        return _Block(first, count, network.version)
    if "-" in part:
        low_text, _, high_text = part.partition("-")
        low, high = _ip(low_text, part), _ip(high_text, part)
        if low.version != high.version:
            raise LocalIPError(f"{part!r} mixes an IPv4 and an IPv6 address")
        if int(high) < int(low):
            raise LocalIPError(f"{part!r} ends before it starts")
        return _Block(int(low), int(high) - int(low) + 1, low.version)
    address = _ip(part, part)
    return _Block(int(address), 1, address.version)


def parse_local_ips(value: str | Sequence[str]) -> LocalIPPool:
    """``"127.0.0.2-127.0.0.20,10.1.0.0/24"`` (or a list of such parts) → a pool.

    Raises:
        LocalIPError: an empty value or a part that does not parse; the message names it.
    """
    parts = value.split(",") if isinstance(value, str) else [str(p) for p in value]
    parts = [p.strip() for p in parts if p.strip()]
    if not parts:
        raise LocalIPError("expected addresses, ranges or CIDRs, e.g. 127.0.0.2-127.0.0.20")
    blocks = tuple(_block(part) for part in parts)
    return LocalIPPool(blocks, ",".join(parts))
