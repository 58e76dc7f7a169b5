"""The core's webhook pipeline (fan-out, queue, `webhook.deliver`, log) through the aiohttp
transport to a real receiver on 127.0.0.1 that checks every signature independently."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook

from novapulse_adapters.http import AiohttpWebhookTransport
from novapulse_adapters.memory import FrozenClock
from novapulse_core.domain.addresses import AddressPolicy
from novapulse_core.domain.jobs import DEFAULT_POLICIES, JobState, QueueName
from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.webhooks import DeliveryStatus
from support.webhook_kit import ADMIN, Webhooks

LOOPBACK = AddressPolicy.allowing("127.0.0.0/8")
BACKOFF = DEFAULT_POLICIES[QueueName.WEBHOOK].backoff


@attrs.define
class CheckingReceiver:
    """Answers from a script; for each request, checks both schemes against `secret` from the
    raw body, as an independent receiver would, and keeps the verdicts. The seed scheme is
    met by `X-NovaPulse-Signature`, or during a rotation by `X-NovaPulse-Signature-Previous`."""

    secret: str = ""
    statuses: deque[int] = attrs.field(factory=deque)
    hang: bool = False
    verdicts: list[tuple[bool, bool, str]] = attrs.field(factory=list)
    release: asyncio.Event = attrs.field(factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        sent = [request.headers.get(f"X-NovaPulse-Signature{s}") for s in ("", "-Previous")]
        seed_ok = f"sha256={digest}" in sent
        try:
            Webhook(self.secret).verify(body, dict(request.headers))
            standard_ok = True
        except Exception:
            standard_ok = False
        self.verdicts.append((seed_ok, standard_ok, request.headers["X-NovaPulse-Event"]))
        if self.hang:
            await self.release.wait()
        return web.Response(status=self.statuses.popleft() if self.statuses else 200)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, CheckingReceiver]]:
    checking = CheckingReceiver()
    app = web.Application()
    app.router.add_post("/hook", checking.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}/hook", checking
    finally:
        checking.release.set()
        await server.close()


@pytest.fixture
async def hooks() -> AsyncIterator[Webhooks]:
    async with AiohttpWebhookTransport(LOOPBACK, read_timeout=0.2) as transport:
        yield Webhooks(
            transport=transport, clock=FrozenClock(datetime.now(UTC)), addresses=LOOPBACK
        )


async def test_failing_twice_then_answering_delivers_with_attempts_and_backoff(
    hooks: Webhooks, receiver: tuple[str, CheckingReceiver]
) -> None:
    url, checking = receiver
    created = await hooks.endpoint(url)
    checking.secret = created.secret
    checking.statuses.extend([500, 500, 200])

    await hooks.user_created()
    (job,) = await hooks.work()

    assert job.state is JobState.COMPLETED
    assert checking.verdicts == [(True, True, "user.created")] * 3
    assert hooks.waits == [BACKOFF.delay(1, 0.0), BACKOFF.delay(2, 0.0)]
    attempts = (await hooks.service.attempts(ADMIN, PageRequest())).items
    assert [(a.number, a.status_code) for a in attempts] == [(3, 200), (2, 500), (1, 500)]
    assert all(a.latency_ms > 0 for a in attempts)


async def test_a_receiver_that_never_answers_in_time_ends_in_dead_letter(
    hooks: Webhooks, receiver: tuple[str, CheckingReceiver]
) -> None:
    url, checking = receiver
    checking.secret = (await hooks.endpoint(url)).secret
    checking.hang = True

    await hooks.user_created()
    (job,) = await hooks.work()

    retries = DEFAULT_POLICIES[QueueName.WEBHOOK].max_retries
    assert (job.state, job.attempts) == (JobState.DEAD, retries + 1)
    (delivery,) = (await hooks.service.deliveries(ADMIN, PageRequest())).items
    assert delivery.status is DeliveryStatus.FAILED
    assert (delivery.last_error or "").startswith("timeout")


async def test_410_disables_the_endpoint(
    hooks: Webhooks, receiver: tuple[str, CheckingReceiver]
) -> None:
    url, checking = receiver
    created = await hooks.endpoint(url)
    checking.secret = created.secret
    checking.statuses.append(410)

    await hooks.user_created()
    await hooks.work()

    assert not (await hooks.service.get(ADMIN, created.endpoint.id)).active
    assert "webhook.disabled" in hooks.events.types()


@pytest.mark.parametrize("holder", ["old", "new"])
async def test_during_rotation_grace_a_receiver_with_either_secret_verifies(
    hooks: Webhooks, receiver: tuple[str, CheckingReceiver], holder: str
) -> None:
    url, checking = receiver
    created = await hooks.endpoint(url)
    rotated = await hooks.service.rotate_secret(ADMIN, created.endpoint.id)
    checking.secret = created.secret if holder == "old" else rotated.secret

    await hooks.user_created()
    await hooks.work()

    assert checking.verdicts == [(True, True, "user.created")]
