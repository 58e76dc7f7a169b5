"""A client is counted under the address its nearest untrusted hop has, IPv6 per /64."""

from __future__ import annotations

import ipaddress

import pytest

from novapulse_entrypoints.api.clients import ClientAddresses

PROXIES = ClientAddresses([ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")])
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
        # An untrusted peer's header is ignored.
        (PROXIES, scope("203.0.113.7", "198.51.100.1"), "203.0.113.7"),
    ],
)
def test_a_client_is_counted_under_the_address_of_its_nearest_untrusted_hop(
    clients: ClientAddresses, request_scope: dict[str, object], counted_as: str | None
) -> None:
    assert clients.of(request_scope) == counted_as
