"""The `MfaStore` contract, run against every adapter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.mfa import MfaRecord, RecoveryCode
from novapulse_core.ports.mfa import MfaStore

T0 = datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)
CODES = tuple(RecoveryCode(digest=f"{n:064x}") for n in range(10))


def pending(user_id: str = "user-1", company_id: str = "co-1", **changes: Any) -> MfaRecord:
    record = MfaRecord(
        company_id=company_id,
        user_id=user_id,
        encrypted_secret="v1.key.sealed",
        created_at=T0,
        updated_at=T0,
    )
    return attrs.evolve(record, **changes)


def confirmed(user_id: str = "user-1", company_id: str = "co-1") -> MfaRecord:
    return pending(user_id, company_id, confirmed_at=T0, recovery_codes=CODES)


def next_version(record: MfaRecord, **changes: Any) -> MfaRecord:
    return attrs.evolve(record, version=record.version + 1, updated_at=LATER, **changes)


async def test_a_user_without_a_record_has_none(mfa_store: MfaStore) -> None:
    assert await mfa_store.get("co-1", "user-1") is None


@pytest.mark.parametrize("record", [pending(), confirmed()], ids=["pending", "confirmed"])
async def test_an_added_record_reads_back_unchanged(mfa_store: MfaStore, record: MfaRecord) -> None:
    await mfa_store.add(record)

    stored = await mfa_store.get("co-1", "user-1")

    assert stored == record
    assert stored is not None
    assert stored.created_at.utcoffset() == timedelta(0)


async def test_a_record_is_invisible_from_another_company(mfa_store: MfaStore) -> None:
    await mfa_store.add(confirmed())

    assert await mfa_store.get("co-2", "user-1") is None


async def test_a_second_record_for_a_user_is_a_conflict(mfa_store: MfaStore) -> None:
    await mfa_store.add(pending())

    with pytest.raises(Conflict):
        await mfa_store.add(pending(encrypted_secret="another"))
    assert await mfa_store.get("co-1", "user-1") == pending()


async def test_an_update_with_the_next_version_replaces_the_record(mfa_store: MfaStore) -> None:
    await mfa_store.add(pending())
    confirmed_now = next_version(pending(), confirmed_at=LATER, recovery_codes=CODES)

    await mfa_store.update(confirmed_now)

    assert await mfa_store.get("co-1", "user-1") == confirmed_now


async def test_an_update_from_a_stale_read_is_a_conflict_and_changes_nothing(
    mfa_store: MfaStore,
) -> None:
    await mfa_store.add(pending())
    await mfa_store.update(next_version(pending(), encrypted_secret="first"))

    with pytest.raises(Conflict):
        await mfa_store.update(next_version(pending(), encrypted_secret="second"))
    stored = await mfa_store.get("co-1", "user-1")
    assert stored is not None
    assert stored.encrypted_secret == "first"


async def test_updating_a_missing_record_is_not_found(mfa_store: MfaStore) -> None:
    await mfa_store.add(pending())

    with pytest.raises(NotFound):
        await mfa_store.update(next_version(pending("user-2")))
    with pytest.raises(NotFound):
        await mfa_store.update(next_version(pending(company_id="co-2")))


async def test_a_deleted_record_is_gone_and_can_be_added_again(mfa_store: MfaStore) -> None:
    await mfa_store.add(confirmed())

    await mfa_store.delete("co-1", "user-1")

    assert await mfa_store.get("co-1", "user-1") is None
    await mfa_store.add(pending())
    assert await mfa_store.get("co-1", "user-1") == pending()


async def test_deleting_what_is_not_there_is_not_found(mfa_store: MfaStore) -> None:
    await mfa_store.add(confirmed())

    with pytest.raises(NotFound):
        await mfa_store.delete("co-1", "user-2")
    with pytest.raises(NotFound):
        await mfa_store.delete("co-2", "user-1")
    assert await mfa_store.get("co-1", "user-1") == confirmed()


async def test_using_a_recovery_code_marks_it_and_only_it(mfa_store: MfaStore) -> None:
    await mfa_store.add(confirmed())

    assert await mfa_store.use_recovery_code("co-1", "user-1", CODES[3].digest, LATER)

    stored = await mfa_store.get("co-1", "user-1")
    assert stored is not None
    assert stored.recovery_codes[3] == RecoveryCode(CODES[3].digest, used_at=LATER)
    assert [c.used_at for i, c in enumerate(stored.recovery_codes) if i != 3] == [None] * 9
    assert stored.recovery_codes_left == 9
    assert stored.version == confirmed().version + 1
    assert stored.updated_at == LATER


async def test_a_recovery_code_is_used_once(mfa_store: MfaStore) -> None:
    await mfa_store.add(confirmed())
    await mfa_store.use_recovery_code("co-1", "user-1", CODES[0].digest, LATER)

    assert not await mfa_store.use_recovery_code("co-1", "user-1", CODES[0].digest, LATER)
    stored = await mfa_store.get("co-1", "user-1")
    assert stored is not None
    assert stored.recovery_codes[0].used_at == LATER


@pytest.mark.parametrize(
    ("company_id", "user_id", "digest"),
    [
        ("co-1", "user-1", "f" * 64),
        ("co-2", "user-1", CODES[0].digest),
        ("co-1", "user-2", CODES[0].digest),
    ],
    ids=["unknown digest", "another company", "another user"],
)
async def test_a_recovery_code_that_is_not_theirs_is_not_used(
    mfa_store: MfaStore, company_id: str, user_id: str, digest: str
) -> None:
    await mfa_store.add(confirmed())

    assert not await mfa_store.use_recovery_code(company_id, user_id, digest, LATER)
    assert await mfa_store.get("co-1", "user-1") == confirmed()


async def test_recovery_codes_of_a_pending_record_are_not_usable(mfa_store: MfaStore) -> None:
    await mfa_store.add(pending(recovery_codes=CODES))

    assert not await mfa_store.use_recovery_code("co-1", "user-1", CODES[0].digest, LATER)


async def test_of_concurrent_uses_of_one_code_exactly_one_succeeds(mfa_store: MfaStore) -> None:
    await mfa_store.add(confirmed())

    results = await asyncio.gather(
        *(mfa_store.use_recovery_code("co-1", "user-1", CODES[5].digest, LATER) for _ in range(8))
    )

    assert sorted(results) == [False] * 7 + [True]


async def test_of_two_racing_uses_of_one_code_exactly_one_succeeds(mfa_store: MfaStore) -> None:
    await mfa_store.add(confirmed())
    # Warm up: a networked client then holds a connection per racer, so neither waits to connect.
    await asyncio.gather(*(mfa_store.get("co-1", "user-1") for _ in range(2)))

    results = await asyncio.gather(
        mfa_store.use_recovery_code("co-1", "user-1", CODES[5].digest, LATER),
        mfa_store.use_recovery_code("co-1", "user-1", CODES[5].digest, LATER),
    )

    assert sorted(results) == [False, True]
    stored = await mfa_store.get("co-1", "user-1")
    assert stored is not None
    assert stored.version == confirmed().version + 1
