"""The `RefreshTokenStore` contract, run against every adapter."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import attrs
import pytest

from novapulse_adapters.memory import FrozenClock
from novapulse_core.domain.errors import Conflict
from novapulse_core.domain.sessions import RefreshToken
from novapulse_core.ports.sessions import RefreshTokenStore

TTL = timedelta(days=14)


def a_token(
    clock: FrozenClock, digest: str, family_id: str = "fam-1", **changes: Any
) -> RefreshToken:
    now = clock.now()
    token = RefreshToken(
        token_digest=digest,
        family_id=family_id,
        user_id="user-1",
        company_id="co-1",
        amr=("pwd", "otp"),
        issued_at=now,
        expires_at=now + TTL,
        session_expires_at=now + timedelta(days=30),
    )
    return attrs.evolve(token, **changes)


async def test_the_first_use_returns_the_token_as_it_was(
    refresh_token_store: RefreshTokenStore, store_clock: FrozenClock
) -> None:
    token = a_token(store_clock, "a" * 64)
    await refresh_token_store.add(token)

    assert await refresh_token_store.use(token.token_digest, store_clock.now()) == token


async def test_a_second_use_returns_it_marked_with_the_first_use(
    refresh_token_store: RefreshTokenStore, store_clock: FrozenClock
) -> None:
    token = a_token(store_clock, "a" * 64)
    await refresh_token_store.add(token)
    first_use = store_clock.now() + timedelta(minutes=1)
    await refresh_token_store.use(token.token_digest, first_use)

    store_clock.advance(timedelta(days=13))
    again = await refresh_token_store.use(token.token_digest, store_clock.now())

    assert again == attrs.evolve(token, used_at=first_use)


async def test_an_unknown_token_is_none(
    refresh_token_store: RefreshTokenStore, store_clock: FrozenClock
) -> None:
    await refresh_token_store.add(a_token(store_clock, "a" * 64))

    assert await refresh_token_store.use("b" * 64, store_clock.now()) is None


async def test_adding_a_digest_already_held_is_a_conflict(
    refresh_token_store: RefreshTokenStore, store_clock: FrozenClock
) -> None:
    await refresh_token_store.add(a_token(store_clock, "a" * 64))

    with pytest.raises(Conflict):
        await refresh_token_store.add(a_token(store_clock, "a" * 64, family_id="fam-2"))


async def test_a_token_is_gone_at_its_expiry_used_or_not(
    refresh_token_store: RefreshTokenStore, store_clock: FrozenClock
) -> None:
    await refresh_token_store.add(a_token(store_clock, "a" * 64))
    await refresh_token_store.add(a_token(store_clock, "b" * 64))
    await refresh_token_store.use("b" * 64, store_clock.now())

    store_clock.advance(TTL)

    assert await refresh_token_store.use("a" * 64, store_clock.now()) is None
    assert await refresh_token_store.use("b" * 64, store_clock.now()) is None


async def test_revoking_a_family_forgets_its_tokens_only(
    refresh_token_store: RefreshTokenStore, store_clock: FrozenClock
) -> None:
    await refresh_token_store.add(a_token(store_clock, "a" * 64))
    await refresh_token_store.add(a_token(store_clock, "b" * 64))
    await refresh_token_store.use("a" * 64, store_clock.now())
    await refresh_token_store.add(a_token(store_clock, "c" * 64, family_id="fam-2"))

    await refresh_token_store.revoke_family("fam-1")

    assert await refresh_token_store.use("a" * 64, store_clock.now()) is None
    assert await refresh_token_store.use("b" * 64, store_clock.now()) is None
    remaining = await refresh_token_store.use("c" * 64, store_clock.now())
    assert remaining is not None
    assert remaining.used_at is None


async def test_revoking_a_user_forgets_every_family_of_that_user_only(
    refresh_token_store: RefreshTokenStore, store_clock: FrozenClock
) -> None:
    await refresh_token_store.add(a_token(store_clock, "a" * 64))
    await refresh_token_store.add(a_token(store_clock, "b" * 64, family_id="fam-2"))
    await refresh_token_store.add(
        a_token(store_clock, "c" * 64, family_id="fam-3", user_id="user-2")
    )

    await refresh_token_store.revoke_user("co-1", "user-1")

    assert await refresh_token_store.use("a" * 64, store_clock.now()) is None
    assert await refresh_token_store.use("b" * 64, store_clock.now()) is None
    assert await refresh_token_store.use("c" * 64, store_clock.now()) is not None


async def test_revoking_a_user_names_the_company(
    refresh_token_store: RefreshTokenStore, store_clock: FrozenClock
) -> None:
    await refresh_token_store.add(a_token(store_clock, "a" * 64))

    await refresh_token_store.revoke_user("co-2", "user-1")

    assert await refresh_token_store.use("a" * 64, store_clock.now()) is not None


async def test_revoking_nothing_succeeds(refresh_token_store: RefreshTokenStore) -> None:
    await refresh_token_store.revoke_family("fam-unknown")
    await refresh_token_store.revoke_user("co-1", "user-unknown")


async def test_of_concurrent_uses_exactly_one_is_the_first(
    refresh_token_store: RefreshTokenStore, store_clock: FrozenClock
) -> None:
    await refresh_token_store.add(a_token(store_clock, "a" * 64))

    results = await asyncio.gather(
        *(refresh_token_store.use("a" * 64, store_clock.now()) for _ in range(8))
    )

    assert sum(1 for r in results if r is not None and r.used_at is None) == 1
    assert all(r is not None for r in results)


async def test_of_two_racing_uses_exactly_one_is_the_first(
    refresh_token_store: RefreshTokenStore, store_clock: FrozenClock
) -> None:
    await refresh_token_store.add(a_token(store_clock, "a" * 64))
    # Warm up: a networked client then holds a connection per racer, so neither waits to connect.
    await asyncio.gather(*(refresh_token_store.use("0" * 64, store_clock.now()) for _ in range(2)))

    first, second = await asyncio.gather(
        refresh_token_store.use("a" * 64, store_clock.now()),
        refresh_token_store.use("a" * 64, store_clock.now()),
    )

    assert first is not None
    assert second is not None
    assert [first.used_at, second.used_at].count(None) == 1
