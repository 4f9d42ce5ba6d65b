"""k6's ``localIPs`` spelling: addresses, ranges, CIDRs; VU n takes address n-1, round-robin."""

from __future__ import annotations

import pytest

from greenws.options.layers import OptionsError, options_from_env, resolve_options
from greenws.options.local_ips import LocalIPError, parse_local_ips


def test_a_range_and_an_address_deal_round_robin_by_vu() -> None:
    pool = parse_local_ips("127.0.0.2-127.0.0.4, 127.0.0.9")
    assert pool.size == 4
    assert [pool.for_vu(n) for n in range(1, 10)] == [
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.9",
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.9",
        "127.0.0.2",
    ]
    assert str(pool) == "127.0.0.2-127.0.0.4,127.0.0.9"


def test_an_ipv4_cidr_leaves_out_network_and_broadcast_as_k6() -> None:
    pool = parse_local_ips("10.0.0.0/30")
    assert pool.addresses() == ["10.0.0.1", "10.0.0.2"]
    assert parse_local_ips("10.0.0.4/31").addresses() == ["10.0.0.4", "10.0.0.5"]
    assert parse_local_ips("10.0.0.7/32").addresses() == ["10.0.0.7"]


def test_ipv6_ranges_and_cidrs_keep_every_address() -> None:
    pool = parse_local_ips("fd00::1-fd00::2,fd01::/127")
    assert pool.addresses() == ["fd00::1", "fd00::2", "fd01::", "fd01::1"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("127.0.0.300", "'127.0.0.300' is not an IP address"),
        ("127.0.0.5-127.0.0.2", "ends before it starts"),
        ("127.0.0.1-::1", "mixes an IPv4 and an IPv6"),
        ("10.0.0.0/33", "not a valid CIDR"),
        (" , ", "expected addresses"),
    ],
)
def test_bad_values_name_the_part(text: str, named: str) -> None:
    with pytest.raises(LocalIPError, match=named):
        parse_local_ips(text)


def test_the_option_from_script_env_and_cli_layers() -> None:
    options = resolve_options(
        ("script options", {"localIPs": "127.0.0.2"}),
        ("environment", options_from_env({"K6_LOCAL_IPS": "127.0.0.3-127.0.0.4"})),
    )
    assert options.local_ips is not None
    assert options.local_ips.addresses() == ["127.0.0.3", "127.0.0.4"]
    assert resolve_options(("script options", {"localIPs": ["127.0.0.2", "127.0.0.5"]})).local_ips
    with pytest.raises(OptionsError, match=r"invalid option localIPs='x'.*\(in command line\)"):
        resolve_options(("command line", {"localIPs": "x"}))
