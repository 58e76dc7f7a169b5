"""The `OtpReplayStore` contract, run against every adapter."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from novapulse_adapters.memory import FrozenClock
from novapulse_core.ports.mfa import OtpReplayStore

STEP = 59_000_000
LIFETIME = timedelta(seconds=60)


async def test_a_step_is_claimed_once(
    otp_replay_store: OtpReplayStore, store_clock: FrozenClock
) -> None:
    expires_at = store_clock.now() + LIFETIME

    assert await otp_replay_store.claim("user-1", STEP, expires_at)
    assert not await otp_replay_store.claim("user-1", STEP, expires_at)


async def test_claims_of_other_steps_and_other_users_are_independent(
    otp_replay_store: OtpReplayStore, store_clock: FrozenClock
) -> None:
    expires_at = store_clock.now() + LIFETIME
    await otp_replay_store.claim("user-1", STEP, expires_at)

    assert await otp_replay_store.claim("user-1", STEP + 1, expires_at)
    assert await otp_replay_store.claim("user-1", STEP - 1, expires_at)
    assert await otp_replay_store.claim("user-2", STEP, expires_at)


async def test_a_claim_holds_until_its_expiry_and_then_the_step_is_free(
    otp_replay_store: OtpReplayStore, store_clock: FrozenClock
) -> None:
    await otp_replay_store.claim("user-1", STEP, store_clock.now() + LIFETIME)

    store_clock.advance(LIFETIME - timedelta(milliseconds=1))
    assert not await otp_replay_store.claim("user-1", STEP, store_clock.now() + LIFETIME)

    store_clock.advance(timedelta(milliseconds=1))
    assert await otp_replay_store.claim("user-1", STEP, store_clock.now() + LIFETIME)


async def test_of_concurrent_claims_exactly_one_wins(
    otp_replay_store: OtpReplayStore, store_clock: FrozenClock
) -> None:
    expires_at = store_clock.now() + LIFETIME

    results = await asyncio.gather(
        *(otp_replay_store.claim("user-1", STEP, expires_at) for _ in range(8))
    )

    assert sorted(results) == [False] * 7 + [True]
