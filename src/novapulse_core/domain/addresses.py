"""Where webhooks may go: URL rules and the public-address test that guards against SSRF."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import NoReturn
from urllib.parse import SplitResult, urlsplit

import attrs

from novapulse_core.domain.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
SCHEMES = frozenset({"http", "https"})

_V4, _V6 = ipaddress.IPv4Network, ipaddress.IPv6Network
_REFUSED: tuple[tuple[IPNetwork, str], ...] = (
    (_V4("0.0.0.0/8"), "an unspecified ('this network') address"),
    (_V4("10.0.0.0/8"), "a private address"),
    (_V4("100.64.0.0/10"), "a carrier-grade NAT (shared) address"),
    (_V4("127.0.0.0/8"), "a loopback address"),
    (_V4("169.254.0.0/16"), "a link-local address"),
    (_V4("172.16.0.0/12"), "a private address"),
    (_V4("192.0.0.0/24"), "an IETF protocol assignment"),
    (_V4("192.0.2.0/24"), "a documentation address"),
    (_V4("192.88.99.0/24"), "a 6to4 relay address"),
    (_V4("192.168.0.0/16"), "a private address"),
    (_V4("198.18.0.0/15"), "a benchmarking address"),
    (_V4("198.51.100.0/24"), "a documentation address"),
    (_V4("203.0.113.0/24"), "a documentation address"),
    (_V4("224.0.0.0/4"), "a multicast address"),
    (_V4("240.0.0.0/4"), "a reserved address"),
    (_V6("::/128"), "an unspecified address"),
    (_V6("::1/128"), "a loopback address"),
    (_V6("::ffff:0:0/96"), "an IPv4-mapped address"),
    (_V6("::ffff:0:0:0/96"), "an IPv4-translated address"),
    (_V6("::/96"), "an IPv4-compatible address"),
    (_V6("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_V6("100::/64"), "a discard-only address"),
    (_V6("2001:db8::/32"), "a documentation address"),
    (_V6("fc00::/7"), "a unique-local (private) address"),
    (_V6("fe80::/10"), "a link-local address"),
    (_V6("fec0::/10"), "a site-local address"),
    (_V6("ff00::/8"), "a multicast address"),
)
_NAT64 = _V6("64:ff9b::/96")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*$")


def address_refusal(address: IPAddress) -> str | None:
    """Why `address` may not receive webhooks ("a private address", ...), None if public.

    Addresses that embed an IPv4 address (6to4, Teredo, NAT64) are judged by what they embed;
    IPv4-mapped and -compatible forms are refused outright. Anything Python does not count as
    globally routable is refused as reserved, so new special ranges stay closed by default.
    """
    for network, reason in _REFUSED:
        if address.version == network.version and address in network:
            return reason
    if isinstance(address, ipaddress.IPv6Address):
        for embedded in _embedded_ipv4(address):
            inner = address_refusal(embedded)
            if inner is not None:
                return f"an IPv6 address embedding {inner}"
    if not address.is_global:
        return "a reserved address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> Iterable[ipaddress.IPv4Address]:
    if address.sixtofour is not None:
        yield address.sixtofour
    if address.teredo is not None:
        yield from address.teredo
    if address in _NAT64:
        yield ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


@attrs.frozen
class AddressPolicy:
    """The SSRF rule: public addresses only, plus an allow-list (empty by default).

    `allowed_hosts` are host names (lower case) whose every address is accepted;
    `allowed_networks` are CIDR blocks accepted whatever the host. Both serve development and
    tests (a receiver on 127.0.0.1); production leaves them empty.
    """

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def allowing(cls, *entries: str) -> AddressPolicy:
        """A policy from entries that are CIDR blocks or addresses (`127.0.0.0/8`, `::1`) or
        host names (`localhost`). Raises ValueError for an entry that is neither."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (e.strip().lower() for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(normalise_host(entry))
        return cls(frozenset(hosts), tuple(networks))

    def host_refusal(self, host: str) -> str | None:
        """Why a host name is refused before any lookup (`localhost`, RFC 6761), or None."""
        name = host.lower().rstrip(".")
        if name in self.allowed_hosts:
            return None
        if name == "localhost" or name.endswith(".localhost"):
            return "localhost"
        return None

    def refusal(self, host: str, address: IPAddress) -> str | None:
        """Why `host`, resolved to `address`, may not be dialled; None when it may."""
        if host.lower().rstrip(".") in self.allowed_hosts:
            return None
        if any(address.version == n.version and address in n for n in self.allowed_networks):
            return None
        return address_refusal(address)


@attrs.frozen
class WebhookUrl:
    """A checked webhook URL: `host` is lower case (IDNA-encoded), without brackets."""

    url: str
    scheme: str
    host: str
    port: int

    @property
    def literal(self) -> IPAddress | None:
        """The address when the host is an IP literal (no resolution happens for it)."""
        return _ip_or_none(self.host)


def parse_webhook_url(raw: str) -> WebhookUrl:
    """Check the shape of a webhook URL; raise `Invalid` with the reason.

    Absolute http(s), a host, no credentials, no fragment, no whitespace or control characters,
    at most `MAX_URL_LENGTH` characters; IPv4 literals only as four decimal numbers (the octal,
    hex and integer spellings some resolvers accept are refused). Where it may resolve to is
    the `AddressPolicy`'s business, checked separately.
    """
    url = raw.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        _bad(f"url must be between 1 and {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        _bad("url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        _bad("url is not a valid URL")
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        _bad("url must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        _bad("url must not carry credentials (user:password@)")
    if parts.fragment or url.endswith("#"):
        _bad("url must not have a fragment (#...)")
    host = _host_of(parts)
    return WebhookUrl(url, scheme, host, port or (443 if scheme == "https" else 80))


_DEVIATIONS = frozenset("ßς\u200c\u200d")
"""Characters IDNA 2003 (Python's codec) and IDNA 2008 (what aiohttp dials) encode apart:
`faß.de` would be checked as `fass.de` and dialled as `xn--fa-hia.de`."""


def normalise_host(raw: str) -> str:
    """Lower case, no trailing dot, IDNA-encoded; raises ValueError when it cannot be, and for
    a host IDNA 2003 and 2008 encode apart (the check and the connection must name one host)."""
    host = raw.strip().lower().rstrip(".")
    if not host:
        raise ValueError("empty host")
    if _DEVIATIONS.intersection(host):
        raise ValueError("IDNA 2003 and 2008 encode this host name apart")
    return host.encode("idna").decode("ascii")


def _host_of(parts: SplitResult) -> str:
    hostname = parts.hostname
    if not hostname:
        _bad("url must name a host")
    address = _ip_or_none(hostname)
    if address is not None:
        return str(address)
    try:
        host = normalise_host(hostname)
    except (ValueError, UnicodeError):
        _bad("url has a host name that is not valid (write a non-ASCII one in its xn-- form)")
    if _NUMERIC_HOST.match(host):  # after normalising: fullwidth digits become digits
        _bad("url: write an IPv4 address as four decimal numbers (like 203.0.113.7)")
    return host


def _ip_or_none(host: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return address


def _bad(reason: str) -> NoReturn:
    raise Invalid(reason, extra={"field": "url"})
