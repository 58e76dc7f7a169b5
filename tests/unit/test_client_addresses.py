"""A client is counted under the address its nearest untrusted hop has, IPv6 per /64."""

from __future__ import annotations

import ipaddress

import pytest

from novapulse_entrypoints.api.clients import ClientAddresses
from novapulse_entrypoints.settings import Settings

PROXIES = ClientAddresses([ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")])
MAPPED_PROXY = ClientAddresses(
    Settings.from_env({"NOVAPULSE_TRUSTED_PROXIES": "::ffff:10.0.0.5"}).trusted_proxies
)
NO_PROXIES = ClientAddresses()


def scope(peer: str | None, *forwarded: str) -> dict[str, object]:
    return {
        "client": None if peer is None else (peer, 4242),
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


@pytest.mark.parametrize(
    ("clients", "request_scope", "counted_as"),
    [
        # Without trusted proxies the peer is the client, whatever it claims.
        (NO_PROXIES, scope("203.0.113.7"), "203.0.113.7"),
        (NO_PROXIES, scope("203.0.113.7", "198.51.100.1"), "203.0.113.7"),
        (NO_PROXIES, scope("10.0.0.5", "198.51.100.1"), "10.0.0.5"),
        # One host holds a whole /64: its addresses share one budget.
        (NO_PROXIES, scope("2001:db8:1:2::1"), "2001:db8:1:2::/64"),
        (NO_PROXIES, scope("2001:db8:1:2:ffff::9"), "2001:db8:1:2::/64"),
        (NO_PROXIES, scope("::ffff:203.0.113.7"), "203.0.113.7"),
        (NO_PROXIES, scope(None), None),
        (NO_PROXIES, scope("testclient"), "testclient"),
        # Behind a trusted proxy, the address it saw.
        (PROXIES, scope("10.0.0.5", "198.51.100.1"), "198.51.100.1"),
        (PROXIES, scope("10.0.0.5", "198.51.100.1:5555"), "198.51.100.1"),
        (PROXIES, scope("10.0.0.5", "[2001:db8::7]:443"), "2001:db8::/64"),
        (PROXIES, scope("10.0.0.5", "2001:db8::7"), "2001:db8::/64"),
        # Through two trusted proxies, still the first untrusted hop from the right.
        (PROXIES, scope("10.0.0.5", "198.51.100.1, 10.1.1.1"), "198.51.100.1"),
        (PROXIES, scope("10.0.0.5", "198.51.100.1", "10.1.1.1"), "198.51.100.1"),
        # What a client wrote itself, left of what the proxies appended, is never believed.
        (PROXIES, scope("10.0.0.5", "1.2.3.4, 198.51.100.1"), "198.51.100.1"),
        (PROXIES, scope("10.0.0.5", "10.9.9.9, 198.51.100.1"), "198.51.100.1"),
        # A proxy that forwards nothing readable: its requests count as its own.
        (PROXIES, scope("10.0.0.5"), "10.0.0.5"),
        (PROXIES, scope("10.0.0.5", "not an address"), "10.0.0.5"),
        (PROXIES, scope("10.0.0.5", "198.51.100.1, junk, 10.1.1.1"), "10.1.1.1"),
        (PROXIES, scope("10.0.0.5", "10.1.1.1, 10.2.2.2"), "10.1.1.1"),
        # IPv6 addresses that carry an IPv4 host count as it; where a /64 holds unrelated
        # hosts, each address counts alone.
        (NO_PROXIES, scope("2002:cb00:7107::1"), "203.0.113.7"),
        (NO_PROXIES, scope("64:ff9b::cb00:7107"), "203.0.113.7"),
        (NO_PROXIES, scope("2001:0:4136:e378:8000:63bf:3fff:fdd2"), "192.0.2.45"),
        (NO_PROXIES, scope("fe80::1"), "fe80::1"),
        (NO_PROXIES, scope("fe80::2"), "fe80::2"),
        (NO_PROXIES, scope("::1"), "::1"),
        # A long header costs only what is read of it: the nearest untrusted entry ends the walk.
        (PROXIES, scope("10.0.0.5", "1.1.1.1," * 100_000 + "198.51.100.1"), "198.51.100.1"),
        (PROXIES, scope("10.0.0.5", "", "198.51.100.1"), "198.51.100.1"),
        # A proxy written as servers on `::` show IPv4 peers is trusted all the same.
        (MAPPED_PROXY, scope("::ffff:10.0.0.5", "198.51.100.1"), "198.51.100.1"),
        (MAPPED_PROXY, scope("10.0.0.5", "198.51.100.1"), "198.51.100.1"),
        # An untrusted peer's header is ignored.
        (PROXIES, scope("203.0.113.7", "198.51.100.1"), "203.0.113.7"),
    ],
)
def test_a_client_is_counted_under_the_address_of_its_nearest_untrusted_hop(
    clients: ClientAddresses, request_scope: dict[str, object], counted_as: str | None
) -> None:
    assert clients.of(request_scope) == counted_as
