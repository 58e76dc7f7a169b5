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
from collections.abc import Iterator, Sequence
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
        nearest = proxy
        for hop in _hops_from_the_right(scope):
            address = _address(hop)
            if address is None:
                return nearest
            if not self._is_trusted(address):
                return address
            nearest = address
        return nearest


def _hops_from_the_right(scope: Scope) -> Iterator[str]:
    """The `X-Forwarded-For` entries, nearest first, read lazily from the right: the walk
    stops at the first untrusted one, so a long header costs only what is read of it."""
    for name, value in reversed(list(scope["headers"])):
        if name != FORWARDED_FOR:
            continue
        text = value.decode("latin-1")
        end = len(text)
        while end >= 0:
            start = text.rfind(",", 0, end)
            yield text[start + 1 : end].strip()
            end = start


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
    """An IPv4 address as it is; an IPv6 one as its /64, but as the IPv4 address it carries
    (6to4, Teredo, NAT64: one IPv4 host each) or as itself where a /64 holds unrelated hosts
    (link-local, the IPv4-compatible range with `::1`)."""
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    carried = _carried_ipv4(address)
    if carried is not None:
        return str(carried)
    if address.is_link_local or address in _COMPATIBLE:
        return str(address)
    return str(ipaddress.IPv6Network((address, IPV6_GROUP), strict=False))


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
