"""The `WebhookEndpointStore` contract, run against every adapter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.webhooks import WebhookEndpoint
from novapulse_core.ports.webhooks import WebhookEndpointStore

T0 = datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)  # whole milliseconds: MongoDB keeps ms
T1 = T0 + timedelta(minutes=5)


def an_endpoint(
    endpoint_id: str = "ep001", company_id: str = "co-a", **changes: Any
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        company_id=company_id,
        url="https://hooks.example.com/novapulse",
        encrypted_secret="sealed-current",
        created_at=T0,
        updated_at=T0,
        event_types=frozenset({"user.created", "user.updated"}),
        description="CRM sync",
    )
    return attrs.evolve(endpoint, **changes)


async def test_an_added_endpoint_reads_back_whole(
    webhook_endpoint_store: WebhookEndpointStore,
) -> None:
    endpoint = an_endpoint(
        encrypted_previous_secret="sealed-previous",
        previous_secret_expires_at=T1,
        consecutive_failures=2,
        failing_since=T0,
    )
    await webhook_endpoint_store.add(endpoint)
    assert await webhook_endpoint_store.get("co-a", "ep001") == endpoint


async def test_ids_are_unique(webhook_endpoint_store: WebhookEndpointStore) -> None:
    await webhook_endpoint_store.add(an_endpoint())
    with pytest.raises(Conflict):
        await webhook_endpoint_store.add(an_endpoint(company_id="co-b"))


async def test_another_companys_endpoint_does_not_exist(
    webhook_endpoint_store: WebhookEndpointStore,
) -> None:
    store = webhook_endpoint_store
    await store.add(an_endpoint())
    for call in (
        store.get("co-b", "ep001"),
        store.delete("co-b", "ep001"),
        store.update(an_endpoint(company_id="co-b", version=2)),
        store.record_failure("co-b", "ep001", T1),
        store.record_success("co-b", "ep001", T1),
        store.disable("co-b", "ep001", "no", T1),
    ):
        with pytest.raises(NotFound):
            await call
    assert await store.list("co-b", PageRequest()) == []
    assert await store.subscribers("co-b", "user.created") == []
    assert (await store.get("co-a", "ep001")).version == 1


async def test_update_follows_the_version(webhook_endpoint_store: WebhookEndpointStore) -> None:
    await webhook_endpoint_store.add(an_endpoint())
    changed = an_endpoint(url="https://other.example.org/", updated_at=T1, version=2)
    await webhook_endpoint_store.update(changed)
    assert await webhook_endpoint_store.get("co-a", "ep001") == changed
    with pytest.raises(Conflict):
        await webhook_endpoint_store.update(an_endpoint(description="stale", version=2))
    with pytest.raises(NotFound):
        await webhook_endpoint_store.update(an_endpoint("ep999", version=2))


async def test_delete_removes(webhook_endpoint_store: WebhookEndpointStore) -> None:
    await webhook_endpoint_store.add(an_endpoint())
    await webhook_endpoint_store.delete("co-a", "ep001")
    with pytest.raises(NotFound):
        await webhook_endpoint_store.get("co-a", "ep001")
    with pytest.raises(NotFound):
        await webhook_endpoint_store.delete("co-a", "ep001")


async def test_list_pages_by_id(webhook_endpoint_store: WebhookEndpointStore) -> None:
    for n in (3, 1, 2, 4):
        await webhook_endpoint_store.add(an_endpoint(f"ep00{n}"))
    await webhook_endpoint_store.add(an_endpoint("ep000", company_id="co-b"))

    first = await webhook_endpoint_store.list("co-a", PageRequest(limit=2))
    rest = await webhook_endpoint_store.list("co-a", PageRequest(limit=2, after="ep002"))

    assert [e.id for e in first] == ["ep001", "ep002", "ep003"]  # limit + 1
    assert [e.id for e in rest] == ["ep003", "ep004"]


async def test_count_is_the_companys_endpoints_active_or_not(
    webhook_endpoint_store: WebhookEndpointStore,
) -> None:
    store = webhook_endpoint_store
    await store.add(an_endpoint("ep001"))
    await store.add(an_endpoint("ep002", active=False))
    await store.add(an_endpoint("ep003", company_id="co-b"))

    assert [await store.count(c) for c in ("co-a", "co-b", "co-c")] == [2, 1, 0]


async def test_subscribers_are_the_active_endpoints_of_the_company_that_want_the_type(
    webhook_endpoint_store: WebhookEndpointStore,
) -> None:
    store = webhook_endpoint_store
    await store.add(an_endpoint("ep001"))
    await store.add(an_endpoint("ep002", event_types=frozenset()))  # every event
    await store.add(an_endpoint("ep003", event_types=frozenset({"user.deactivated"})))
    await store.add(an_endpoint("ep004", active=False))
    await store.add(an_endpoint("ep005", company_id="co-b"))

    assert [e.id for e in await store.subscribers("co-a", "user.created")] == ["ep001", "ep002"]
    assert [e.id for e in await store.subscribers("co-a", "company.updated")] == ["ep002"]


async def test_failures_build_a_streak_that_a_success_ends(
    webhook_endpoint_store: WebhookEndpointStore,
) -> None:
    store = webhook_endpoint_store
    await store.add(an_endpoint())

    once = await store.record_failure("co-a", "ep001", T0)
    twice = await store.record_failure("co-a", "ep001", T1)

    assert (once.consecutive_failures, once.failing_since, once.version) == (1, T0, 2)
    assert (twice.consecutive_failures, twice.failing_since, twice.version) == (2, T0, 3)
    assert twice.updated_at == T1
    assert await store.get("co-a", "ep001") == twice
    await store.record_success("co-a", "ep001", T1)
    healthy = await store.get("co-a", "ep001")
    assert (healthy.consecutive_failures, healthy.failing_since, healthy.version) == (0, None, 4)
    await store.record_success("co-a", "ep001", T1)
    assert (await store.get("co-a", "ep001")).version == 4  # nothing to change


async def test_concurrent_failures_all_count(webhook_endpoint_store: WebhookEndpointStore) -> None:
    await webhook_endpoint_store.add(an_endpoint())
    await asyncio.gather(
        *(webhook_endpoint_store.record_failure("co-a", "ep001", T0) for _ in range(20))
    )
    assert (await webhook_endpoint_store.get("co-a", "ep001")).consecutive_failures == 20


async def test_disable_turns_off_once(webhook_endpoint_store: WebhookEndpointStore) -> None:
    await webhook_endpoint_store.add(an_endpoint())

    results = await asyncio.gather(
        *(webhook_endpoint_store.disable("co-a", "ep001", "gone", T1) for _ in range(5))
    )

    disabled = [r for r in results if r is not None]
    assert len(disabled) == 1
    assert (disabled[0].active, disabled[0].disabled_reason, disabled[0].disabled_at) == (
        False,
        "gone",
        T1,
    )
    assert await webhook_endpoint_store.get("co-a", "ep001") == disabled[0]
