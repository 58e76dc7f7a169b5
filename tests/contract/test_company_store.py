"""The `CompanyStore` contract, run against every adapter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from novapulse_adapters.mongo import BeanieCompanyStore, MongoConnection
from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.identity import Company, Role
from novapulse_core.ports.stores import CompanyStore

T0 = datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)


def a_company(company_id: str = "co-1", **changes: Any) -> Company:
    company = Company(id=company_id, name="Acme", created_at=T0, updated_at=T0)
    return attrs.evolve(company, **changes)


def next_version(company: Company, **changes: Any) -> Company:
    later = company.updated_at + timedelta(minutes=1)
    return attrs.evolve(company, version=company.version + 1, updated_at=later, **changes)


async def test_an_added_company_reads_back_unchanged(company_store: CompanyStore) -> None:
    company = a_company()
    await company_store.add(company)

    assert await company_store.get("co-1") == company


async def test_timestamps_come_back_as_aware_utc(company_store: CompanyStore) -> None:
    await company_store.add(a_company())

    stored = await company_store.get("co-1")

    assert stored.created_at.tzinfo == UTC
    assert stored.updated_at.utcoffset() == timedelta(0)


async def test_adding_a_taken_id_is_a_conflict(company_store: CompanyStore) -> None:
    await company_store.add(a_company())

    with pytest.raises(Conflict):
        await company_store.add(a_company(name="Other"))
    assert (await company_store.get("co-1")).name == "Acme"


async def test_an_unknown_company_is_not_found(company_store: CompanyStore) -> None:
    await company_store.add(a_company())

    with pytest.raises(NotFound):
        await company_store.get("co-2")


async def test_an_update_with_the_next_version_replaces_the_company(
    company_store: CompanyStore,
) -> None:
    company = a_company()
    await company_store.add(company)
    renamed = next_version(company, name="Acme Ltd")

    await company_store.update(renamed)

    assert await company_store.get("co-1") == renamed


async def test_updates_can_follow_one_another(company_store: CompanyStore) -> None:
    first = next_version(a_company(), name="One")
    second = next_version(first, name="Two")
    await company_store.add(a_company())

    await company_store.update(first)
    await company_store.update(second)

    assert await company_store.get("co-1") == second


async def test_an_update_from_a_stale_read_is_a_conflict_and_changes_nothing(
    company_store: CompanyStore,
) -> None:
    company = a_company()
    await company_store.add(company)
    await company_store.update(next_version(company, name="First writer"))

    with pytest.raises(Conflict):
        await company_store.update(next_version(company, name="Second writer"))
    assert (await company_store.get("co-1")).name == "First writer"


@pytest.mark.parametrize("version", [1, 3])
async def test_an_update_whose_version_does_not_follow_the_stored_one_is_a_conflict(
    company_store: CompanyStore, version: int
) -> None:
    company = a_company()
    await company_store.add(company)

    with pytest.raises(Conflict):
        await company_store.update(attrs.evolve(company, version=version, name="Skipped"))
    assert await company_store.get("co-1") == company


async def test_updating_an_unknown_company_is_not_found(company_store: CompanyStore) -> None:
    await company_store.add(a_company())

    with pytest.raises(NotFound):
        await company_store.update(next_version(a_company("co-2")))
    with pytest.raises(NotFound):
        await company_store.get("co-2")


async def test_the_roles_that_require_mfa_read_back_and_change(
    company_store: CompanyStore,
) -> None:
    company = a_company(mfa_required_roles=frozenset({Role.OWNER, Role.ADMIN}))
    await company_store.add(company)
    assert await company_store.get("co-1") == company

    relaxed = next_version(company, mfa_required_roles=frozenset())
    await company_store.update(relaxed)

    assert (await company_store.get("co-1")).mfa_required_roles == frozenset()


async def test_a_mongo_company_written_before_the_mfa_setting_reads_as_requiring_none(
    mongo_connection: MongoConnection,
) -> None:
    await mongo_connection.database["companies"].insert_one(
        {"_id": "co-1", "name": "Acme", "created_at": T0, "updated_at": T0, "version": 1}
    )

    company = await BeanieCompanyStore().get("co-1")

    assert company.mfa_required_roles == frozenset()


LATER = T0 + timedelta(seconds=30)


async def test_of_racing_owner_change_claims_exactly_one_wins(company_store: CompanyStore) -> None:
    await company_store.add(a_company())

    won = await asyncio.gather(
        *(company_store.claim_owner_change("co-1", f"h{n}", now=T0, until=LATER) for n in range(8))
    )

    assert sorted(won) == [False] * 7 + [True]


async def test_a_released_owner_change_claim_can_be_taken_at_once(
    company_store: CompanyStore,
) -> None:
    await company_store.claim_owner_change("co-1", "first", now=T0, until=LATER)
    await company_store.release_owner_change("co-1", "first")

    assert await company_store.claim_owner_change("co-1", "second", now=T0, until=LATER)
    assert not await company_store.claim_owner_change("co-1", "third", now=T0, until=LATER)


async def test_a_claim_that_ran_out_can_be_taken_and_its_holder_cannot_release_the_new_one(
    company_store: CompanyStore,
) -> None:
    await company_store.claim_owner_change("co-1", "crashed", now=T0, until=LATER)

    assert not await company_store.claim_owner_change(
        "co-1", "next", now=LATER - timedelta(seconds=1), until=LATER + timedelta(seconds=30)
    )
    assert await company_store.claim_owner_change(
        "co-1", "next", now=LATER, until=LATER + timedelta(seconds=30)
    )
    await company_store.release_owner_change("co-1", "crashed")
    assert not await company_store.claim_owner_change("co-1", "third", now=LATER, until=LATER)


async def test_owner_change_claims_of_companies_are_independent(
    company_store: CompanyStore,
) -> None:
    assert await company_store.claim_owner_change("co-1", "a", now=T0, until=LATER)
    assert await company_store.claim_owner_change("co-2", "b", now=T0, until=LATER)
