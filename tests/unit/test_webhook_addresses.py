"""The SSRF guard's tables: URLs refused or accepted, addresses refused or accepted."""

from __future__ import annotations

import ipaddress

import pytest

from novapulse_adapters.memory import StaticHostResolver
from novapulse_core.domain.addresses import AddressPolicy, address_refusal, parse_webhook_url
from novapulse_core.domain.errors import Invalid
from novapulse_core.services.webhook_dispatch import UrlGuard

REFUSED_ADDRESSES = {
    "0.0.0.0": "unspecified",  # noqa: S104 (an address to refuse, not to bind)
    "0.1.2.3": "unspecified",
    "10.0.0.1": "private",
    "10.255.255.255": "private",
    "100.64.0.1": "carrier-grade NAT",
    "100.127.255.254": "carrier-grade NAT",
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "169.254.169.254": "link-local",  # the cloud metadata service
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.0.0.8": "IETF",
    "192.0.2.1": "documentation",
    "192.88.99.1": "6to4 relay",
    "192.168.1.1": "private",
    "198.18.0.1": "benchmarking",
    "198.51.100.7": "documentation",
    "203.0.113.7": "documentation",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "::": "unspecified",
    "::1": "loopback",
    "::ffff:127.0.0.1": "IPv4-mapped",
    "::ffff:8.8.8.8": "IPv4-mapped",
    "::ffff:0:7f00:1": "IPv4-translated",
    "::127.0.0.1": "IPv4-compatible",
    "64:ff9b::7f00:1": "embedding a loopback",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe": "embedding a link-local",  # NAT64 of 169.254.169.254
    "64:ff9b:1::1": "local-use NAT64",
    "100::1": "discard-only",
    "2001:db8::1": "documentation",
    "2002:a00:1::1": "embedding a private",  # 6to4 of 10.0.0.1
    "2002:7f00:1::1": "embedding a loopback",  # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "embedding",  # Teredo
    "fc00::1": "unique-local",
    "fd12:3456:789a::1": "unique-local",
    "fe80::1": "link-local",
    "fec0::1": "site-local",
    "ff02::1": "multicast",
    "2001:10::1": "reserved",  # ORCHID
}
ACCEPTED_ADDRESSES = [
    "1.1.1.1",
    "8.8.8.8",
    "93.184.216.34",
    "100.63.255.255",  # just below the CGNAT block
    "100.128.0.0",  # just above it
    "172.15.255.255",
    "172.32.0.0",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize(("address", "reason"), REFUSED_ADDRESSES.items())
def test_a_non_public_address_is_refused_with_its_reason(address: str, reason: str) -> None:
    refusal = address_refusal(ipaddress.ip_address(address))
    assert refusal is not None
    assert reason in refusal


@pytest.mark.parametrize("address", ACCEPTED_ADDRESSES)
def test_a_public_address_is_accepted(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


REFUSED_URLS = {
    "": "between 1 and",
    "ftp://hooks.example.com/x": "http:// or https://",
    "file:///etc/passwd": "http:// or https://",
    "gopher://hooks.example.com/": "http:// or https://",
    "hooks.example.com/x": "http:// or https://",
    "//hooks.example.com/x": "http:// or https://",
    "https://": "name a host",
    "https://user:pass@hooks.example.com/": "credentials",
    "https://user@hooks.example.com/": "credentials",
    "https://hooks.example.com/x#frag": "fragment",
    "https://hooks.example.com/a b": "spaces",
    "https://hooks.example.com/\x00": "control",
    "https://hooks.example.com:99999/": "not a valid URL",
    "https://[::1/": "not a valid URL",
    "http://2130706433/": "four decimal numbers",
    "http://0x7f000001/": "four decimal numbers",
    "http://0177.0.0.1/": "four decimal numbers",
    "http://127.1/": "four decimal numbers",
    "http://\uff10x7f.1/": "four decimal numbers",  # fullwidth: 0x7f.1 once normalised
    "https://faß.de/": "xn-- form",  # IDNA 2003 checks fass.de, IDNA 2008 dials xn--fa-hia.de
    "https://x\u200dy.example/": "xn-- form",
    "https://" + "a" * 2050 + ".com/": "between 1 and",
}


@pytest.mark.parametrize(("url", "reason"), REFUSED_URLS.items())
def test_a_malformed_url_is_invalid(url: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason) as caught:
        parse_webhook_url(url)
    assert caught.value.extra == {"field": "url"}


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("https://hooks.example.com/novapulse", "hooks.example.com", 443),
        ("http://hooks.example.com", "hooks.example.com", 80),
        ("HTTPS://Hooks.Example.COM:8443/x?y=1", "hooks.example.com", 8443),
        ("https://hooks.example.com./", "hooks.example.com", 443),
        ("https://bücher.example/", "xn--bcher-kva.example", 443),
        ("https://[2606:4700::1111]/x", "2606:4700::1111", 443),
        ("  https://8.8.8.8/  ", "8.8.8.8", 443),
    ],
)
def test_a_well_formed_url_is_parsed(url: str, host: str, port: int) -> None:
    parsed = parse_webhook_url(url)
    assert (parsed.host, parsed.port) == (host, port)
    assert parsed.url == url.strip()


GUARD_HOSTS = {
    "hooks.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "intranet.example.com": ["10.1.2.3"],
    "mixed.example.com": ["93.184.216.34", "192.168.1.10"],
    "metadata.example.com": ["169.254.169.254"],
    "mapped.example.com": ["::ffff:10.0.0.1"],
    "receiver.test": ["127.0.0.1"],
}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://intranet.example.com/", "resolves to a private address"),
        ("https://mixed.example.com/", "resolves to a private address"),
        ("https://metadata.example.com/", "link-local"),
        ("https://mapped.example.com/", "IPv4-mapped"),
        ("https://receiver.test/", "loopback"),
        ("https://nowhere.example.com/", "does not resolve"),
        ("http://localhost:8080/", "localhost"),
        ("http://api.localhost/", "localhost"),
        ("http://127.0.0.1:9000/", "loopback"),
        ("http://[::1]:9000/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "IPv4-mapped"),
    ],
)
async def test_the_guard_refuses_urls_that_reach_non_public_addresses(
    url: str, reason: str
) -> None:
    guard = UrlGuard(StaticHostResolver(GUARD_HOSTS), AddressPolicy())
    with pytest.raises(Invalid, match=reason):
        await guard.check(url)


async def test_the_guard_accepts_a_host_whose_every_address_is_public() -> None:
    guard = UrlGuard(StaticHostResolver(GUARD_HOSTS), AddressPolicy())
    assert (await guard.check("https://hooks.example.com/x")).host == "hooks.example.com"
    assert (await guard.check("https://8.8.8.8/x")).host == "8.8.8.8"


@pytest.mark.parametrize(
    ("allow", "url"),
    [
        (["127.0.0.0/8"], "http://127.0.0.1:9000/"),
        (["127.0.0.0/8"], "https://receiver.test/"),
        (["::1"], "http://[::1]:9000/"),
        (["localhost"], "http://localhost:8080/"),
        (["intranet.example.com"], "https://intranet.example.com/"),
        (["10.0.0.0/8", "192.168.0.0/16"], "https://intranet.example.com/"),
    ],
)
async def test_the_allow_list_opens_hosts_and_networks(allow: list[str], url: str) -> None:
    resolver = StaticHostResolver({**GUARD_HOSTS, "localhost": ["127.0.0.1"]})
    guard = UrlGuard(resolver, AddressPolicy.allowing(*allow))
    await guard.check(url)


async def test_the_allow_list_opens_only_what_it_names() -> None:
    guard = UrlGuard(StaticHostResolver(GUARD_HOSTS), AddressPolicy.allowing("127.0.0.0/8"))
    with pytest.raises(Invalid, match="private"):
        await guard.check("https://intranet.example.com/")


def test_the_allow_list_is_empty_by_default() -> None:
    policy = AddressPolicy()
    assert policy.refusal("receiver.test", ipaddress.ip_address("127.0.0.1")) is not None
    assert AddressPolicy.allowing("", " ") == policy
