"""The address check as a table: every IPv6 form that carries an IPv4 address is judged by
that IPv4 address, since a NAT64 gateway, a 6to4 relay or the kernel delivers it there."""

from __future__ import annotations

import ipaddress

import pytest

from disparo.net import OutboundPolicy, OutboundRefused

STRICT = OutboundPolicy.trusting(allow_private=False, enforce_hosts=False)
OPEN = OutboundPolicy.trusting(allow_private=True, enforce_hosts=False)

# (address, allowed when private targets are refused, allowed when they are allowed)
ADDRESSES = [
    ("8.8.8.8", True, True),
    ("127.0.0.1", False, True),
    ("10.0.0.5", False, True),
    ("169.254.169.254", False, False),
    ("2606:4700:4700::1111", True, True),
    ("::1", False, True),
    ("::", False, True),
    # IPv4-mapped
    ("::ffff:127.0.0.1", False, True),
    ("::ffff:8.8.8.8", True, True),
    ("::ffff:169.254.169.254", False, False),
    # NAT64, well-known prefix (RFC 6052)
    ("64:ff9b::7f00:1", False, True),
    ("64:ff9b::a00:5", False, True),
    ("64:ff9b::a9fe:a9fe", False, False),
    ("64:ff9b::808:808", True, True),
    # NAT64, local-use prefix (RFC 8215): where the IPv4 address sits is the network's choice
    ("64:ff9b:1::7f00:1", False, True),
    # 6to4 (RFC 3056)
    ("2002:7f00:1::", False, True),
    ("2002:7f00:1::1", False, True),
    ("2002:a9fe:a9fe::", False, False),
    ("2002:808:808::1", True, True),
    # IPv4-compatible (deprecated, RFC 4291)
    ("::7f00:1", False, True),
    ("::a9fe:a9fe", False, False),
    ("::808:808", True, True),
    # IPv4-translated (SIIT, RFC 2765)
    ("::ffff:0:7f00:1", False, True),
    ("::ffff:0:a9fe:a9fe", False, False),
    ("::ffff:0:808:808", True, True),
    # Teredo: the server's and the client's IPv4 addresses are both in it
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False, True),
]


def allowed(policy: OutboundPolicy, address: str) -> bool:
    try:
        policy.check_address("example.test", ipaddress.ip_address(address))
    except OutboundRefused:
        return False
    return True


@pytest.mark.parametrize(("address", "strict", "open_"), ADDRESSES)
def test_the_address_check(address: str, strict: bool, open_: bool) -> None:
    assert (allowed(STRICT, address), allowed(OPEN, address)) == (strict, open_)


def test_a_refusal_names_the_ipv4_address_it_carries() -> None:
    with pytest.raises(OutboundRefused) as refused:
        STRICT.check_address("n.example", ipaddress.ip_address("64:ff9b::7f00:1"))
    assert "64:ff9b::7f00:1" in refused.value.message
    assert "127.0.0.1" in refused.value.message
