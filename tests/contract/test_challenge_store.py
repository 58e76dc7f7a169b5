"""The `ChallengeStore` contract, run against every adapter."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from novapulse_adapters.memory import FrozenClock
from novapulse_core.domain.errors import Conflict
from novapulse_core.domain.sessions import LoginChallenge
from novapulse_core.ports.sessions import ChallengeStore

TTL = timedelta(minutes=5)


def a_challenge(
    clock: FrozenClock, digest: str = "d" * 64, user_id: str = "user-1"
) -> LoginChallenge:
    now = clock.now()
    return LoginChallenge(
        token_digest=digest,
        user_id=user_id,
        company_id="co-1",
        created_at=now,
        expires_at=now + TTL,
    )


async def test_an_added_challenge_reads_back_unchanged_and_is_not_consumed_by_reading(
    challenge_store: ChallengeStore, store_clock: FrozenClock
) -> None:
    challenge = a_challenge(store_clock)
    await challenge_store.add(challenge)

    assert await challenge_store.get(challenge.token_digest) == challenge
    assert await challenge_store.get(challenge.token_digest) == challenge


async def test_an_unknown_challenge_is_none(
    challenge_store: ChallengeStore, store_clock: FrozenClock
) -> None:
    await challenge_store.add(a_challenge(store_clock))

    assert await challenge_store.get("e" * 64) is None
    assert await challenge_store.consume("e" * 64) is None


async def test_a_challenge_is_consumed_once(
    challenge_store: ChallengeStore, store_clock: FrozenClock
) -> None:
    challenge = a_challenge(store_clock)
    await challenge_store.add(challenge)

    assert await challenge_store.consume(challenge.token_digest) == challenge
    assert await challenge_store.consume(challenge.token_digest) is None
    assert await challenge_store.get(challenge.token_digest) is None


async def test_adding_a_digest_already_held_is_a_conflict(
    challenge_store: ChallengeStore, store_clock: FrozenClock
) -> None:
    await challenge_store.add(a_challenge(store_clock))

    with pytest.raises(Conflict):
        await challenge_store.add(a_challenge(store_clock, user_id="user-2"))
    stored = await challenge_store.get("d" * 64)
    assert stored is not None
    assert stored.user_id == "user-1"


async def test_a_challenge_is_gone_at_its_expiry(
    challenge_store: ChallengeStore, store_clock: FrozenClock
) -> None:
    challenge = a_challenge(store_clock)
    await challenge_store.add(challenge)

    store_clock.advance(TTL - timedelta(milliseconds=1))
    assert await challenge_store.get(challenge.token_digest) == challenge

    store_clock.advance(timedelta(milliseconds=1))
    assert await challenge_store.get(challenge.token_digest) is None
    assert await challenge_store.consume(challenge.token_digest) is None


async def test_of_concurrent_consumes_exactly_one_gets_the_challenge(
    challenge_store: ChallengeStore, store_clock: FrozenClock
) -> None:
    challenge = a_challenge(store_clock)
    await challenge_store.add(challenge)

    results = await asyncio.gather(
        *(challenge_store.consume(challenge.token_digest) for _ in range(8))
    )

    assert [r for r in results if r is not None] == [challenge]


async def test_of_two_racing_consumes_exactly_one_gets_the_challenge(
    challenge_store: ChallengeStore, store_clock: FrozenClock
) -> None:
    challenge = a_challenge(store_clock)
    await challenge_store.add(challenge)
    # Warm up: a networked client then holds a connection per racer, so neither waits to connect.
    await asyncio.gather(*(challenge_store.get("e" * 64) for _ in range(2)))

    results = await asyncio.gather(
        challenge_store.consume(challenge.token_digest),
        challenge_store.consume(challenge.token_digest),
    )

    assert [r for r in results if r is not None] == [challenge]
