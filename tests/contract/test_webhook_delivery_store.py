"""The `WebhookDeliveryStore` contract, run against every adapter; then the memory retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from novapulse_adapters.memory import FrozenClock, InMemoryWebhookDeliveryStore
from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.webhooks import DeliveryAttempt, DeliveryStatus, WebhookDelivery
from novapulse_core.ports.webhooks import WebhookDeliveryStore

T0 = datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)  # whole milliseconds: MongoDB keeps ms
PAYLOAD = b'{"company_id":"co-a","data":{"name":"\xc3\xa9"},"id":"evt1","type":"user.created"}'


def a_delivery(delivery_id: str = "dl001", **changes: Any) -> WebhookDelivery:
    delivery = WebhookDelivery(
        id=delivery_id,
        company_id="co-a",
        endpoint_id="ep001",
        message_id="evt1",
        event_type="user.created",
        payload=PAYLOAD,
        created_at=T0,
        request_id="req-1",
    )
    return attrs.evolve(delivery, **changes)


def an_attempt(
    attempt_id: str, delivery: WebhookDelivery, number: int, **changes: Any
) -> DeliveryAttempt:
    attempt = DeliveryAttempt(
        id=attempt_id,
        company_id=delivery.company_id,
        endpoint_id=delivery.endpoint_id,
        delivery_id=delivery.id,
        number=number,
        at=T0 + timedelta(seconds=number),
        succeeded=False,
        status_code=500,
        latency_ms=12.5,
        error="the receiver answered 500",
        response_excerpt="oops é",
    )
    return attrs.evolve(attempt, **changes)


async def test_an_added_delivery_reads_back_whole(
    webhook_delivery_store: WebhookDeliveryStore,
) -> None:
    await webhook_delivery_store.add(a_delivery())
    assert await webhook_delivery_store.get("co-a", "dl001") == a_delivery()
    with pytest.raises(Conflict):
        await webhook_delivery_store.add(a_delivery())


async def test_another_companys_delivery_does_not_exist(
    webhook_delivery_store: WebhookDeliveryStore,
) -> None:
    store = webhook_delivery_store
    delivery = a_delivery()
    await store.add(delivery)
    with pytest.raises(NotFound):
        await store.get("co-b", "dl001")
    with pytest.raises(NotFound):
        await store.set_status("co-b", "dl001", DeliveryStatus.FAILED)
    with pytest.raises(NotFound):
        await store.record_attempt(
            an_attempt("at001", attrs.evolve(delivery, company_id="co-b"), 1), DeliveryStatus.FAILED
        )
    await store.record_attempt(an_attempt("at002", delivery, 1), DeliveryStatus.PENDING)
    assert await store.list("co-b", PageRequest()) == []
    assert await store.attempts("co-b", PageRequest()) == []
    assert await store.attempts("co-b", PageRequest(), delivery_id="dl001") == []


async def test_an_attempt_is_kept_and_summarised_on_its_delivery(
    webhook_delivery_store: WebhookDeliveryStore,
) -> None:
    store = webhook_delivery_store
    delivery = a_delivery()
    await store.add(delivery)
    failed = an_attempt("at001", delivery, 1)
    succeeded = an_attempt(
        "at002", delivery, 2, succeeded=True, status_code=204, error=None, response_excerpt=""
    )

    await store.record_attempt(failed, DeliveryStatus.PENDING)
    after_one = await store.get("co-a", "dl001")
    await store.record_attempt(succeeded, DeliveryStatus.SUCCEEDED)
    after_two = await store.get("co-a", "dl001")

    assert (after_one.status, after_one.attempts, after_one.last_status_code) == (
        DeliveryStatus.PENDING,
        1,
        500,
    )
    assert after_one.last_error == "the receiver answered 500"
    assert after_two == attrs.evolve(
        delivery,
        status=DeliveryStatus.SUCCEEDED,
        attempts=2,
        last_attempt_at=succeeded.at,
        last_status_code=204,
        last_error=None,
    )
    assert await store.attempts("co-a", PageRequest(), delivery_id="dl001") == [succeeded, failed]


async def test_set_status_changes_the_status_and_the_error_when_given(
    webhook_delivery_store: WebhookDeliveryStore,
) -> None:
    store = webhook_delivery_store
    await store.add(a_delivery())
    await store.set_status("co-a", "dl001", DeliveryStatus.FAILED, error="endpoint deleted")
    await store.set_status("co-a", "dl001", DeliveryStatus.PENDING)
    stored = await store.get("co-a", "dl001")
    assert (stored.status, stored.last_error, stored.attempts) == (
        DeliveryStatus.PENDING,
        "endpoint deleted",
        0,
    )
    with pytest.raises(NotFound):
        await store.set_status("co-a", "dl999", DeliveryStatus.FAILED)


async def test_deliveries_list_newest_first_by_endpoint_and_status(
    webhook_delivery_store: WebhookDeliveryStore,
) -> None:
    store = webhook_delivery_store
    await store.add(a_delivery("dl001"))
    await store.add(a_delivery("dl002", endpoint_id="ep002"))
    await store.add(a_delivery("dl003", status=DeliveryStatus.SUCCEEDED))
    await store.add(a_delivery("dl004"))

    everything = await store.list("co-a", PageRequest(limit=2))
    rest = await store.list("co-a", PageRequest(limit=2, after="dl003"))
    by_endpoint = await store.list("co-a", PageRequest(), endpoint_id="ep001")
    pending = await store.list("co-a", PageRequest(), status=DeliveryStatus.PENDING)

    assert [d.id for d in everything] == ["dl004", "dl003", "dl002"]
    assert [d.id for d in rest] == ["dl002", "dl001"]
    assert [d.id for d in by_endpoint] == ["dl004", "dl003", "dl001"]
    assert [d.id for d in pending] == ["dl004", "dl002", "dl001"]


async def test_attempts_list_newest_first_per_endpoint_and_per_delivery(
    webhook_delivery_store: WebhookDeliveryStore,
) -> None:
    store = webhook_delivery_store
    one, two = a_delivery("dl001"), a_delivery("dl002", endpoint_id="ep002")
    await store.add(one)
    await store.add(two)
    await store.record_attempt(an_attempt("at001", one, 1), DeliveryStatus.PENDING)
    await store.record_attempt(an_attempt("at002", two, 1), DeliveryStatus.PENDING)
    await store.record_attempt(an_attempt("at003", one, 2), DeliveryStatus.PENDING)

    every = await store.attempts("co-a", PageRequest(limit=2))
    rest = await store.attempts("co-a", PageRequest(limit=2, after="at002"))
    of_endpoint = await store.attempts("co-a", PageRequest(), endpoint_id="ep001")
    of_delivery = await store.attempts("co-a", PageRequest(), delivery_id="dl002")

    assert [a.id for a in every] == ["at003", "at002", "at001"]
    assert [a.id for a in rest] == ["at001"]
    assert [a.id for a in of_endpoint] == ["at003", "at001"]
    assert [a.id for a in of_delivery] == ["at002"]


async def test_the_memory_log_forgets_deliveries_and_attempts_past_retention() -> None:
    clock = FrozenClock(T0)
    store = InMemoryWebhookDeliveryStore(clock, retention=timedelta(days=30))
    old = a_delivery("dl001")
    await store.add(old)
    await store.record_attempt(an_attempt("at001", old, 1), DeliveryStatus.FAILED)
    clock.advance(timedelta(days=1))
    await store.add(a_delivery("dl002", created_at=clock.now()))

    clock.advance(timedelta(days=29))

    with pytest.raises(NotFound):
        await store.get("co-a", "dl001")
    assert [d.id for d in await store.list("co-a", PageRequest())] == ["dl002"]
    assert await store.attempts("co-a", PageRequest()) == []
