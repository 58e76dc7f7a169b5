"""The `webhook.deliver` task: success, retries with backoff and Retry-After, 410, disabling."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest

from novapulse_core import context
from novapulse_core.domain.jobs import DEFAULT_POLICIES, JobState, QueueName
from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.webhook_signing import verify_webhook
from novapulse_core.domain.webhooks import (
    DeliveryStatus,
    FailureKind,
    TransportResult,
    WebhookDelivery,
    WebhookPolicy,
)
from support.webhook_kit import ADMIN, Webhooks

PAGE = PageRequest()
RETRIES = DEFAULT_POLICIES[QueueName.WEBHOOK].max_retries
BASE = DEFAULT_POLICIES[QueueName.WEBHOOK].backoff.base_seconds


async def only_delivery(hooks: Webhooks, event_type: str = "user.created") -> WebhookDelivery:
    rows = (await hooks.service.deliveries(ADMIN, PAGE)).items
    (delivery,) = [d for d in rows if d.event_type == event_type]
    return delivery


async def test_a_2xx_delivers_once_with_every_header_and_records_the_attempt() -> None:
    hooks = Webhooks()
    created = await hooks.endpoint()
    hooks.transport.will_answer(TransportResult.answered(204, latency_ms=12.5, excerpt="ok"))
    await hooks.user_created()

    (job,) = await hooks.work()

    assert job.state is JobState.COMPLETED
    (sent,) = hooks.transport.sent
    assert sent.headers["X-NovaPulse-Webhook-Id"] == created.endpoint.id
    verify_webhook(sent.body, sent.headers, created.secret, now=hooks.clock.now())
    delivery = await only_delivery(hooks)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.SUCCEEDED,
        1,
        204,
    )
    (attempt,) = (await hooks.service.attempts(ADMIN, PAGE, endpoint_id=created.endpoint.id)).items
    assert (attempt.succeeded, attempt.latency_ms, attempt.response_excerpt) == (True, 12.5, "ok")
    assert attempt.error is None


async def test_a_receiver_failing_twice_then_answering_gets_the_event_after_backoff() -> None:
    hooks = Webhooks()
    await hooks.endpoint()
    hooks.transport.will_answer(500, 500, 200)
    await hooks.user_created()

    (job,) = await hooks.work()

    assert job.state is JobState.COMPLETED
    assert hooks.waits == [BASE / 2, BASE]  # the webhook queue's exponential backoff
    assert len({s.body for s in hooks.transport.sent}) == 1  # the same bytes every time
    stamps = [int(s.headers["webhook-timestamp"]) for s in hooks.transport.sent]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 3
    attempts = (await hooks.service.attempts(ADMIN, PAGE)).items
    assert [(a.number, a.status_code, a.succeeded) for a in attempts] == [
        (3, 200, True),
        (2, 500, False),
        (1, 500, False),
    ]
    assert attempts[-1].error == "the receiver answered 500"
    assert (await only_delivery(hooks)).status is DeliveryStatus.SUCCEEDED


async def test_a_receiver_that_never_answers_exhausts_the_retries_into_dead_letter() -> None:
    hooks = Webhooks()
    await hooks.endpoint()
    hooks.transport.will_time_out(RETRIES + 1)
    await hooks.user_created()

    (job,) = await hooks.work()

    assert job.state is JobState.DEAD
    assert job.attempts == RETRIES + 1
    assert [e.job.id for e in hooks.queue.dead] == [job.id]
    delivery = await only_delivery(hooks)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, RETRIES + 1)
    assert delivery.last_error == "timeout: no answer within the read timeout"


async def test_retry_after_is_honoured_in_seconds_and_as_a_date() -> None:
    hooks = Webhooks()
    await hooks.endpoint()
    later = format_datetime(hooks.clock.now() + timedelta(seconds=120 + 300), usegmt=True)
    hooks.transport.will_answer(
        TransportResult.answered(429, retry_after="300"),
        TransportResult.answered(503, retry_after=later),
        200,
    )
    await hooks.user_created()

    await hooks.work()

    assert hooks.waits == [300.0, 120.0]


@pytest.mark.parametrize(
    "hostile",
    [
        "\u00b2",  # a superscript two: a digit to str.isdigit, not to float
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",  # a year no datetime holds
        "soon",
        "-5",
    ],
)
async def test_a_retry_after_that_means_nothing_leaves_the_policys_backoff(hostile: str) -> None:
    hooks = Webhooks()
    await hooks.endpoint()
    hooks.transport.will_answer(TransportResult.answered(503, retry_after=hostile), 200)
    await hooks.user_created()

    (job,) = await hooks.work()

    assert job.state is JobState.COMPLETED
    assert hooks.waits == [BASE / 2]  # the first backoff, as if no Retry-After came
    (retry,) = [t for t in job.transitions if t.state is JobState.RETRYING]
    assert retry.error_type == "TemporaryFailure"


async def test_410_disables_the_endpoint_at_once_and_announces_it() -> None:
    hooks = Webhooks()
    endpoint = (await hooks.endpoint()).endpoint
    hooks.transport.will_answer(410)
    await hooks.user_created()

    (job,) = await hooks.work()

    assert job.state is JobState.DEAD
    assert job.attempts == 1
    stored = await hooks.service.get(ADMIN, endpoint.id)
    assert (stored.active, stored.disabled_reason) == (False, "the receiver answered 410 Gone")
    (disabled,) = [e for e in hooks.events.published if e.type == "webhook.disabled"]
    assert disabled.data["endpoint_id"] == endpoint.id
    assert (await only_delivery(hooks)).status is DeliveryStatus.FAILED


async def test_an_endpoint_failing_n_times_in_a_row_is_disabled_once() -> None:
    hooks = Webhooks(WebhookPolicy(disable_after_failures=3))
    endpoint = (await hooks.endpoint()).endpoint
    watcher = await hooks.endpoint("https://other.example.org/x", types=("webhook.disabled",))
    hooks.transport.will_answer(500, 500, 500)
    await hooks.user_created()
    await hooks.user_created(user_id="u-2")

    first, second, notice = await hooks.work()

    assert notice.state is JobState.COMPLETED  # the watcher heard of it
    assert first.state is JobState.DEAD
    assert first.attempts == 3
    assert "3 attempts in a row failed" in (first.error_message or "")
    assert second.state is JobState.DEAD
    assert second.attempts == 1
    assert len(hooks.transport.sent) == 4  # 3 failures, then the watcher's webhook.disabled
    assert hooks.transport.sent[-1].url == watcher.endpoint.url
    stored = await hooks.service.get(ADMIN, endpoint.id)
    assert not stored.active
    assert hooks.events.types().count("webhook.disabled") == 1


async def test_an_endpoint_failing_for_longer_than_the_limit_is_disabled() -> None:
    hooks = Webhooks(WebhookPolicy(disable_after=timedelta(seconds=14)))
    endpoint = (await hooks.endpoint()).endpoint
    hooks.transport.will_answer(500, 500, 500)
    await hooks.user_created()

    (job,) = await hooks.work()

    assert job.attempts == 3  # at 0 s, 5 s and 15 s: the third is past 14 s of failing
    stored = await hooks.service.get(ADMIN, endpoint.id)
    assert not stored.active
    assert (stored.disabled_reason or "").startswith("every attempt since 2026-01-01T00:00:00")


async def test_a_success_ends_the_failure_streak() -> None:
    hooks = Webhooks()
    endpoint = (await hooks.endpoint()).endpoint
    hooks.transport.will_answer(500, 200)
    await hooks.user_created()
    await hooks.work()
    stored = await hooks.service.get(ADMIN, endpoint.id)
    assert (stored.consecutive_failures, stored.failing_since) == (0, None)


async def test_an_address_refused_at_connect_time_fails_the_delivery_without_retry() -> None:
    hooks = Webhooks()
    await hooks.endpoint()
    refusal = TransportResult.failed(FailureKind.REFUSED_ADDRESS, "resolves to 10.0.0.1")
    hooks.transport.will_answer(refusal)
    await hooks.user_created()

    (job,) = await hooks.work()

    assert job.state is JobState.DEAD
    assert job.attempts == 1
    assert job.error_message == "refused-address: resolves to 10.0.0.1"
    assert (await only_delivery(hooks)).status is DeliveryStatus.FAILED


async def test_a_delivery_that_succeeded_is_not_sent_again_when_its_job_repeats() -> None:
    hooks = Webhooks()
    await hooks.endpoint()
    await hooks.user_created()
    message = hooks.queue.waiting[0]
    await hooks.work()

    hooks.queue.waiting.append(message)  # the broker delivers the message a second time
    await hooks.work()

    assert len(hooks.transport.sent) == 1


async def test_a_delivery_to_a_deleted_endpoint_fails_without_a_request() -> None:
    hooks = Webhooks()
    endpoint = (await hooks.endpoint()).endpoint
    await hooks.user_created()
    await hooks.service.delete(ADMIN, endpoint.id)

    (job,) = await hooks.work()

    assert job.state is JobState.DEAD
    assert hooks.transport.sent == []
    delivery = await only_delivery(hooks)
    assert (delivery.status, delivery.last_error) == (
        DeliveryStatus.FAILED,
        "the endpoint was deleted",
    )


async def test_the_disabled_event_carries_the_request_id_of_the_delivery_cause() -> None:
    hooks = Webhooks()
    await hooks.endpoint()
    hooks.transport.will_answer(410)
    token = context.request_id.set("req-9")
    try:
        await hooks.user_created()
    finally:
        context.request_id.reset(token)

    await hooks.work()

    (disabled,) = [e for e in hooks.events.published if e.type == "webhook.disabled"]
    assert disabled.request_id == "req-9"
