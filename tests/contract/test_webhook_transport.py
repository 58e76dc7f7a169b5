"""The `WebhookTransport` contract against the scripted memory transport and aiohttp posting to
a real HTTP receiver on 127.0.0.1 (allow-listed); then what only a real connection shows."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import closing
from datetime import UTC, datetime
from typing import Protocol

import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook

from novapulse_adapters.http import AiohttpWebhookTransport
from novapulse_adapters.memory import InMemoryWebhookTransport
from novapulse_core.domain.addresses import AddressPolicy
from novapulse_core.domain.webhook_signing import new_secret, signed_headers
from novapulse_core.domain.webhooks import FailureKind, TransportResult
from novapulse_core.ports.webhooks import WebhookTransport
from support.resolvers import TableResolver

EXCERPT_CAP = 256
READ_TIMEOUT = 0.3
BODY = b'{"company_id":"co-a","data":{"n":1},"id":"evt-1","type":"user.created"}'
LOOPBACK = AddressPolicy.allowing("127.0.0.0/8")


@attrs.frozen
class Reply:
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = attrs.field(factory=dict)
    hang: bool = False


@attrs.frozen
class Received:
    path: str
    body: bytes
    headers: Mapping[str, str]
    peer: object


class Receiver(Protocol):
    url: str

    def reply(self, reply: Reply) -> None: ...

    def received(self) -> list[tuple[bytes, Mapping[str, str]]]: ...


class HttpReceiver:
    """An aiohttp server answering from a script and keeping each raw request."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[Received] = []
        self.release = asyncio.Event()
        self.url = ""

    def reply(self, reply: Reply) -> None:
        self.replies.append(reply)

    def received(self) -> list[tuple[bytes, Mapping[str, str]]]:
        return [(r.body, r.headers) for r in self.requests]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        body = await request.read()
        self.requests.append(Received(request.path, body, dict(request.headers), peer))
        reply = self.replies.popleft() if self.replies else Reply()
        if reply.hang:
            await self.release.wait()
        return web.Response(status=reply.status, body=reply.body, headers=dict(reply.headers))


class ScriptedReceiver:
    """The memory transport's script, as a receiver: what a real one would have answered."""

    url = "https://receiver.example.com/hook"

    def __init__(self, transport: InMemoryWebhookTransport) -> None:
        self._transport = transport

    def reply(self, reply: Reply) -> None:
        if reply.hang:
            self._transport.will_time_out()
            return
        excerpt = reply.body[:EXCERPT_CAP].decode("utf-8", errors="replace")
        retry_after = reply.headers.get("Retry-After")
        self._transport.will_answer(
            TransportResult.answered(reply.status, excerpt=excerpt, retry_after=retry_after)
        )

    def received(self) -> list[tuple[bytes, Mapping[str, str]]]:
        return [(s.body, s.headers) for s in self._transport.sent]


@pytest.fixture
async def http_receiver() -> AsyncIterator[HttpReceiver]:
    receiver = HttpReceiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    receiver.url = f"http://127.0.0.1:{server.port}/hook"
    try:
        yield receiver
    finally:
        receiver.release.set()
        await server.close()


@pytest.fixture
async def aiohttp_transport() -> AsyncIterator[AiohttpWebhookTransport]:
    async with AiohttpWebhookTransport(
        LOOPBACK, read_timeout=READ_TIMEOUT, max_response_bytes=EXCERPT_CAP
    ) as transport:
        yield transport


@pytest.fixture
def aiohttp_pair(
    aiohttp_transport: AiohttpWebhookTransport, http_receiver: HttpReceiver
) -> tuple[WebhookTransport, Receiver]:
    return aiohttp_transport, http_receiver


@pytest.fixture
def memory_pair() -> tuple[WebhookTransport, Receiver]:
    transport = InMemoryWebhookTransport()
    return transport, ScriptedReceiver(transport)


@pytest.fixture(params=["memory", "aiohttp"])
def pair(request: pytest.FixtureRequest) -> tuple[WebhookTransport, Receiver]:
    wired: tuple[WebhookTransport, Receiver] = request.getfixturevalue(f"{request.param}_pair")
    return wired


def signed(secret: str) -> dict[str, str]:
    return signed_headers(
        body=BODY,
        event_type="user.created",
        webhook_id="ep-1",
        message_id="evt-1",
        timestamp=datetime.now(UTC),
        secrets=[secret],
    )


async def test_the_bytes_signed_are_the_bytes_received(
    pair: tuple[WebhookTransport, Receiver],
) -> None:
    transport, receiver = pair
    secret = new_secret()

    result = await transport.send(receiver.url, BODY, signed(secret))

    assert result.succeeded
    ((body, headers),) = receiver.received()
    assert body == BODY
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-NovaPulse-Signature"] == f"sha256={expected}"
    assert headers["X-NovaPulse-Event"] == "user.created"
    assert headers["X-NovaPulse-Webhook-Id"] == "ep-1"
    assert Webhook(secret).verify(body, dict(headers))["id"] == "evt-1"


@pytest.mark.parametrize(
    ("status", "text", "succeeded"),
    [(200, "ok", True), (204, "", True), (500, "oops", False), (410, "gone", False)],
)
async def test_the_status_comes_back_with_an_excerpt(
    pair: tuple[WebhookTransport, Receiver], status: int, text: str, succeeded: bool
) -> None:
    transport, receiver = pair
    receiver.reply(Reply(status, text.encode()))

    result = await transport.send(receiver.url, BODY, signed(new_secret()))

    assert (result.status_code, result.succeeded, result.failure) == (status, succeeded, None)
    assert result.response_excerpt == text


async def test_retry_after_comes_back_as_sent(pair: tuple[WebhookTransport, Receiver]) -> None:
    transport, receiver = pair
    receiver.reply(Reply(429, headers={"Retry-After": "120"}))
    result = await transport.send(receiver.url, BODY, signed(new_secret()))
    assert (result.status_code, result.retry_after) == (429, "120")


async def test_a_receiver_that_does_not_answer_in_time_is_a_timeout(
    pair: tuple[WebhookTransport, Receiver],
) -> None:
    transport, receiver = pair
    receiver.reply(Reply(hang=True))
    result = await transport.send(receiver.url, BODY, signed(new_secret()))
    assert (result.status_code, result.failure) == (None, FailureKind.TIMEOUT)
    assert "timeout" in (result.error or "")


# What only the real transport shows


async def test_a_redirect_is_the_answer_not_followed(
    aiohttp_transport: AiohttpWebhookTransport, http_receiver: HttpReceiver
) -> None:
    http_receiver.reply(Reply(302, headers={"Location": "/elsewhere"}))
    result = await aiohttp_transport.send(http_receiver.url, BODY, signed(new_secret()))
    assert result.status_code == 302
    assert [r.path for r in http_receiver.requests] == ["/hook"]


async def test_a_big_response_is_read_only_up_to_the_cap(
    aiohttp_transport: AiohttpWebhookTransport, http_receiver: HttpReceiver
) -> None:
    http_receiver.reply(Reply(500, b"x" * 5_000_000))
    http_receiver.reply(Reply(200, b"\xff\xfe not utf-8"))

    big = await aiohttp_transport.send(http_receiver.url, BODY, signed(new_secret()))
    odd = await aiohttp_transport.send(http_receiver.url, BODY, signed(new_secret()))

    assert (big.status_code, big.response_excerpt) == (500, "x" * EXCERPT_CAP)
    assert big.latency_ms > 0
    assert odd.response_excerpt == "\ufffd\ufffd not utf-8"


async def test_connections_are_pooled(
    aiohttp_transport: AiohttpWebhookTransport, http_receiver: HttpReceiver
) -> None:
    for _ in range(3):
        await aiohttp_transport.send(http_receiver.url, BODY, signed(new_secret()))
    assert len({r.peer for r in http_receiver.requests}) == 1


async def test_a_cookie_one_receiver_sets_is_never_sent_to_the_next(
    http_receiver: HttpReceiver,
) -> None:
    """Endpoints of different companies can share a host: a cookie kept from one delivery would
    reach another company's receiver."""
    http_receiver.reply(Reply(headers={"Set-Cookie": "session=tenant-a; Path=/"}))
    names = TableResolver({"hooks.test": ["127.0.0.1"]})
    named = http_receiver.url.replace("127.0.0.1", "hooks.test")
    async with AiohttpWebhookTransport(LOOPBACK, resolver=names) as transport:
        await transport.send(named, BODY, signed(new_secret()))
        await transport.send(named.removesuffix("/hook") + "/other", BODY, {})
    assert [r.headers.get("Cookie") for r in http_receiver.requests] == [None, None]


async def test_an_error_never_repeats_the_urls_query_or_user_info(
    aiohttp_transport: AiohttpWebhookTransport, http_receiver: HttpReceiver
) -> None:
    """Receivers put tokens in the URL; the error text goes to the delivery log, the job and the
    trace."""
    http_receiver.reply(Reply(headers={f"X-Filler-{n}": "a" for n in range(200)}))
    url = http_receiver.url.replace("http://", "http://user:pa55word@") + "?token=s3cr3t"

    result = await aiohttp_transport.send(url, BODY, {})

    assert result.failure is FailureKind.CONNECTION
    assert result.error is not None
    assert "/hook" in result.error
    assert "s3cr3t" not in result.error
    assert "pa55word" not in result.error


async def test_a_closed_port_is_a_connection_failure(
    aiohttp_transport: AiohttpWebhookTransport,
) -> None:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await aiohttp_transport.send(f"http://127.0.0.1:{port}/", BODY, {})
    assert (result.status_code, result.failure) == (None, FailureKind.CONNECTION)
