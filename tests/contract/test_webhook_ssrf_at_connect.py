"""The SSRF guard at connect time: the aiohttp transport dials only addresses the policy accepts,
whatever the URL looked like when it was saved. Names resolve through a fixed table (no DNS);
the receiver listens on 127.0.0.1 and must hear nothing when a request is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from novapulse_adapters.http import AddressRefused, AiohttpWebhookTransport, GuardedResolver
from novapulse_adapters.memory import StaticHostResolver
from novapulse_core.domain.addresses import AddressPolicy
from novapulse_core.domain.webhooks import FailureKind
from novapulse_core.services.webhook_dispatch import UrlGuard
from support.resolvers import TableResolver


@pytest.mark.parametrize(
    ("addresses", "refused"),
    [
        (["93.184.216.34"], None),
        (["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"], None),
        (["127.0.0.1"], "loopback"),
        (["93.184.216.34", "10.0.0.7"], "resolves to a private"),
        (["169.254.169.254"], "link-local"),
        (["100.100.100.200"], "carrier-grade NAT"),
        (["::1"], "loopback"),
        (["::ffff:192.168.0.1"], "IPv4-mapped"),
        (["fe80::1%eth0"], "link-local"),
        (["fd00::5"], "unique-local"),
        (["2002:c0a8:1::1"], "embedding a private"),
    ],
)
async def test_the_guarded_resolver_refuses_a_name_with_any_refused_address(
    addresses: list[str], refused: str | None
) -> None:
    guarded = GuardedResolver(AddressPolicy(), TableResolver({"hooks.example.com": addresses}))
    if refused is None:
        results = await guarded.resolve("hooks.example.com", 443)
        assert [r["host"] for r in results] == addresses
        return
    with pytest.raises(AddressRefused, match=refused):
        await guarded.resolve("hooks.example.com", 443)


async def test_the_guarded_resolver_refuses_localhost_before_looking_it_up() -> None:
    inner = TableResolver({"localhost": ["127.0.0.1"]})
    with pytest.raises(AddressRefused, match="localhost"):
        await GuardedResolver(AddressPolicy(), inner).resolve("localhost")
    assert inner.asked == []


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[int, list[bytes]]]:
    heard: list[bytes] = []

    async def handle(request: web.Request) -> web.Response:
        heard.append(await request.read())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server.port or 0, heard
    finally:
        await server.close()


NAMES = {"receiver.test": ["127.0.0.1"], "localhost": ["127.0.0.1"]}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/hook", "IPv4-mapped"),
        ("http://127.1:{port}/hook", "not a canonical IP address"),
        ("http://2130706433:{port}/hook", "not a canonical IP address"),
        ("http://receiver.test:{port}/hook", "resolves to a loopback"),
        ("http://localhost:{port}/hook", "localhost"),
    ],
)
async def test_a_refused_address_is_never_dialled(
    receiver: tuple[int, list[bytes]], url: str, reason: str
) -> None:
    port, heard = receiver
    async with AiohttpWebhookTransport(resolver=TableResolver(NAMES)) as transport:
        result = await transport.send(url.format(port=port), b"{}", {})
    assert result.failure is FailureKind.REFUSED_ADDRESS
    assert reason in (result.error or "")
    assert heard == []


async def test_a_name_that_rebinds_to_a_private_address_after_creation_is_refused(
    receiver: tuple[int, list[bytes]],
) -> None:
    port, heard = receiver
    url = f"http://receiver.test:{port}/hook"
    at_creation = StaticHostResolver({"receiver.test": ["93.184.216.34"]})
    await UrlGuard(at_creation, AddressPolicy()).check(url)  # public when the endpoint is saved

    async with AiohttpWebhookTransport(resolver=TableResolver(NAMES)) as transport:
        result = await transport.send(url, b"{}", {})  # loopback when the delivery dials

    assert result.failure is FailureKind.REFUSED_ADDRESS
    assert heard == []


@pytest.mark.parametrize("allow", ["127.0.0.0/8", "receiver.test"])
async def test_the_allow_list_lets_a_name_through_to_the_address_it_resolves_to(
    receiver: tuple[int, list[bytes]], allow: str
) -> None:
    port, heard = receiver
    resolver = TableResolver(NAMES)
    policy = AddressPolicy.allowing(allow)
    async with AiohttpWebhookTransport(policy, resolver=resolver) as transport:
        result = await transport.send(f"http://receiver.test:{port}/hook", b'{"a":1}', {})
    assert result.status_code == 200
    assert heard == [b'{"a":1}']
    assert resolver.asked == ["receiver.test"]
