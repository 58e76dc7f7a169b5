"""The memory adapters forget what has expired, so a long-running embedded process stays small."""

from __future__ import annotations

from datetime import timedelta

from novapulse_adapters.memory import (
    FrozenClock,
    InMemoryRateLimiter,
    InMemoryRefreshTokenStore,
    InMemoryTokenRevocations,
)
from novapulse_adapters.memory.expiring import ExpiringMap
from novapulse_adapters.memory.limits import SWEEP_EVERY
from novapulse_core.domain.sessions import RefreshToken


async def test_expired_entries_are_dropped_and_reported() -> None:
    clock = FrozenClock()
    dropped: list[tuple[str, int]] = []
    entries: ExpiringMap[str, int] = ExpiringMap(clock, lambda k, v: dropped.append((k, v)))
    entries.put("a", 1, clock.now() + timedelta(seconds=10))
    entries.put("b", 2, clock.now() + timedelta(seconds=20))
    entries.put("a", 3, clock.now() + timedelta(seconds=30))  # replaced: lives longer

    clock.advance(timedelta(seconds=20))

    assert len(entries) == 1
    assert dropped == [("b", 2)]
    assert entries.get("a") == 3


async def test_refresh_token_families_are_forgotten_when_their_tokens_expire() -> None:
    clock = FrozenClock()
    store = InMemoryRefreshTokenStore(clock)
    now = clock.now()
    for n in range(3):
        await store.add(
            RefreshToken(
                token_digest=f"{n:064x}",
                family_id=f"fam-{n}",
                user_id="user-1",
                company_id="co-1",
                amr=("pwd",),
                issued_at=now,
                expires_at=now + timedelta(hours=n + 1),
                session_expires_at=now + timedelta(days=1),
            )
        )

    clock.advance(timedelta(hours=2))

    assert store.family_count() == 1


async def test_revocations_of_expired_tokens_are_forgotten() -> None:
    clock = FrozenClock()
    revocations = InMemoryTokenRevocations(clock)
    for n in range(100):
        await revocations.revoke(f"jti-{n}", clock.now() + timedelta(minutes=1))

    clock.advance(timedelta(minutes=1))

    assert not await revocations.is_revoked("jti-0")
    assert len(revocations) == 0


async def test_the_rate_limiter_sweeps_keys_whose_hits_have_left_the_window() -> None:
    clock = FrozenClock()
    limiter = InMemoryRateLimiter(clock)
    for n in range(SWEEP_EVERY - 1):
        await limiter.hit(f"key-{n}", 5, timedelta(seconds=60))
    clock.advance(timedelta(seconds=60))

    await limiter.hit("fresh", 5, timedelta(seconds=60))

    assert len(limiter) == 1
