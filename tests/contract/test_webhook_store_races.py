"""Two-way races on the webhook stores' atomic changes, run against every adapter.

Each race first warms up with two concurrent calls, so a networked client holds a connection
per racer and the two changes really meet on the server.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.webhooks import (
    DeliveryAttempt,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from novapulse_core.ports.webhooks import WebhookDeliveryStore, WebhookEndpointStore

T0 = datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def an_endpoint(**changes: Any) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        id="ep001",
        company_id="co-a",
        url="https://hooks.example.com/novapulse",
        encrypted_secret="sealed-current",
        created_at=T0,
        updated_at=T0,
    )
    return attrs.evolve(endpoint, **changes)


def a_delivery() -> WebhookDelivery:
    return WebhookDelivery(
        id="dl001",
        company_id="co-a",
        endpoint_id="ep001",
        message_id="evt1",
        event_type="user.created",
        payload=b"{}",
        created_at=T0,
    )


def an_attempt(attempt_id: str, delivery: WebhookDelivery, number: int) -> DeliveryAttempt:
    return DeliveryAttempt(
        id=attempt_id,
        company_id=delivery.company_id,
        endpoint_id=delivery.endpoint_id,
        delivery_id=delivery.id,
        number=number,
        at=T0 + timedelta(seconds=number),
        succeeded=False,
        status_code=500,
    )


async def _warm_up(store: WebhookEndpointStore) -> None:
    for missing in await asyncio.gather(
        store.get("co-a", "ep-none"), store.get("co-a", "ep-none"), return_exceptions=True
    ):
        assert isinstance(missing, NotFound)


async def test_of_two_racing_disables_exactly_one_disables(
    webhook_endpoint_store: WebhookEndpointStore,
) -> None:
    await webhook_endpoint_store.add(an_endpoint())
    await _warm_up(webhook_endpoint_store)

    first, second = await asyncio.gather(
        webhook_endpoint_store.disable("co-a", "ep001", "racer 1", T1),
        webhook_endpoint_store.disable("co-a", "ep001", "racer 2", T1),
    )

    assert [first, second].count(None) == 1
    winner = first or second
    assert winner is not None
    assert await webhook_endpoint_store.get("co-a", "ep001") == winner
    assert winner.version == 2


async def test_two_racing_failures_both_count(
    webhook_endpoint_store: WebhookEndpointStore,
) -> None:
    await webhook_endpoint_store.add(an_endpoint())
    await _warm_up(webhook_endpoint_store)

    first, second = await asyncio.gather(
        webhook_endpoint_store.record_failure("co-a", "ep001", T1),
        webhook_endpoint_store.record_failure("co-a", "ep001", T1),
    )

    assert sorted([first.consecutive_failures, second.consecutive_failures]) == [1, 2]
    stored = await webhook_endpoint_store.get("co-a", "ep001")
    assert (stored.consecutive_failures, stored.failing_since, stored.version) == (2, T1, 3)


async def test_of_two_racing_updates_of_one_version_exactly_one_wins(
    webhook_endpoint_store: WebhookEndpointStore,
) -> None:
    await webhook_endpoint_store.add(an_endpoint())
    await _warm_up(webhook_endpoint_store)

    results = await asyncio.gather(
        webhook_endpoint_store.update(an_endpoint(description="racer 1", version=2)),
        webhook_endpoint_store.update(an_endpoint(description="racer 2", version=2)),
        return_exceptions=True,
    )

    assert sum(isinstance(r, Conflict) for r in results) == 1
    stored = await webhook_endpoint_store.get("co-a", "ep001")
    winner = "racer 1" if results[0] is None else "racer 2"
    assert (stored.description, stored.version) == (winner, 2)


async def test_two_racing_attempts_both_count(
    webhook_delivery_store: WebhookDeliveryStore,
) -> None:
    delivery = a_delivery()
    await webhook_delivery_store.add(delivery)
    await asyncio.gather(*(webhook_delivery_store.get("co-a", "dl001") for _ in range(2)))

    await asyncio.gather(
        webhook_delivery_store.record_attempt(
            an_attempt("at001", delivery, 1), DeliveryStatus.PENDING
        ),
        webhook_delivery_store.record_attempt(
            an_attempt("at002", delivery, 2), DeliveryStatus.PENDING
        ),
    )

    assert (await webhook_delivery_store.get("co-a", "dl001")).attempts == 2
    attempts = await webhook_delivery_store.attempts("co-a", PageRequest(), delivery_id="dl001")
    assert [a.id for a in attempts] == ["at002", "at001"]


async def test_a_failure_racing_a_disable_keeps_both(
    webhook_endpoint_store: WebhookEndpointStore,
) -> None:
    await webhook_endpoint_store.add(an_endpoint())
    await _warm_up(webhook_endpoint_store)

    _, disabled = await asyncio.gather(
        webhook_endpoint_store.record_failure("co-a", "ep001", T1),
        webhook_endpoint_store.disable("co-a", "ep001", "gone", T1),
    )

    stored = await webhook_endpoint_store.get("co-a", "ep001")
    assert disabled is not None
    assert (stored.active, stored.consecutive_failures, stored.version) == (False, 1, 3)
