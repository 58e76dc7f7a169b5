"""Who a request comes from, as the per-client budgets count it (anonymous routes, login, and
the brute-force limits of passwords and codes).

Behind a load balancer every peer is the balancer: its address would put every client in one
budget. With `trusted_proxies` set, a request whose peer is one of them is counted under the
address that proxy saw, read from `X-Forwarded-For` right to left, skipping the trusted proxies
(each appends the address it saw, so only the entries they wrote are believed; what a client
sent itself is further left and never reached). An IPv6 client is counted per /64 network: one
host commonly holds a whole /64 and could otherwise take a fresh address per request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TypeAlias

from litestar.types import Scope

Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

FORWARDED_FOR = b"x-forwarded-for"
IPV6_GROUP = 64


class ClientAddresses:
    def __init__(self, trusted_proxies: Sequence[Network] = ()) -> None:
        self._trusted = tuple(trusted_proxies)

    def of(self, scope: Scope) -> str | None:
        """The key the request's client is counted under: an IPv4 address, an IPv6 /64 network
        (`2001:db8:1:2::/64`); None when the server does not tell the peer."""
        client = scope.get("client")
        if not client:
            return None
        if not self._trusted and ":" not in client[0]:
            return str(client[0])  # an IPv4 peer, as servers write it
        peer = _address(client[0])
        if peer is None:
            return str(client[0])
        if self._trusted and self._is_trusted(peer):
            peer = self._forwarded_client(scope, peer)
        return _key(peer)

    def _is_trusted(self, address: Address) -> bool:
        return any(address in network for network in self._trusted)

    def _forwarded_client(self, scope: Scope, proxy: Address) -> Address:
        """The nearest address in `X-Forwarded-For` that is not a trusted proxy; the last
        trusted hop when every entry is one, or when an entry cannot be read (a proxy that
        writes what this cannot parse is misconfigured: count its requests as its own)."""
        hops = [
            part.strip()
            for name, value in scope["headers"]
            if name == FORWARDED_FOR
            for part in value.decode("latin-1").split(",")
        ]
        nearest = proxy
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                return nearest
            if not self._is_trusted(address):
                return address
            nearest = address
        return nearest


def _address(text: str) -> Address | None:
    """An address as proxies write it: bare, `[v6]`, `[v6]:port` or `v4:port`; None otherwise."""
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _key(address: Address) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_GROUP), strict=False))
    return str(address)
