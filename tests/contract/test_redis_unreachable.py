"""Every Redis adapter of the MFA, session and rate-limit ports says `Unavailable` when Redis is
gone (the rate limiter too: failing open is its caller's choice)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from novapulse_adapters.memory import FrozenClock
from novapulse_core.domain.errors import Unavailable
from novapulse_core.domain.sessions import LoginChallenge, RefreshToken

if TYPE_CHECKING:
    from redis.asyncio import Redis

pytest.importorskip("redis")

WINDOW = timedelta(minutes=1)


def _calls(client: Redis, clock: FrozenClock) -> dict[str, Callable[[], Awaitable[object]]]:
    from novapulse_adapters.redis import (
        RedisChallengeStore,
        RedisOtpReplayStore,
        RedisRateLimiter,
        RedisRefreshTokenStore,
        RedisTokenRevocations,
    )

    now = clock.now()
    later = now + WINDOW
    limiter = RedisRateLimiter(client, clock)
    replays = RedisOtpReplayStore(client, clock)
    challenges = RedisChallengeStore(client, clock)
    refresh = RedisRefreshTokenStore(client, clock)
    revocations = RedisTokenRevocations(client, clock)
    challenge = LoginChallenge("d" * 64, "user-1", "co-1", now, later)
    token = RefreshToken("a" * 64, "fam-1", "user-1", "co-1", ("pwd",), now, later, later)
    return {
        "limiter.hit": lambda: limiter.hit("k", 1, WINDOW),
        "limiter.hit_all": lambda: limiter.hit_all([("k", 1, WINDOW), ("j", 1, WINDOW)]),
        "limiter.peek": lambda: limiter.peek("k", 1, WINDOW),
        "limiter.reset": lambda: limiter.reset("k"),
        "replays.claim": lambda: replays.claim("user-1", 1, later),
        "challenges.add": lambda: challenges.add(challenge),
        "challenges.get": lambda: challenges.get("d" * 64),
        "challenges.consume": lambda: challenges.consume("d" * 64),
        "refresh.add": lambda: refresh.add(token),
        "refresh.use": lambda: refresh.use("a" * 64, now),
        "refresh.revoke_family": lambda: refresh.revoke_family("fam-1"),
        "refresh.revoke_user": lambda: refresh.revoke_user("co-1", "user-1"),
        "revocations.revoke": lambda: revocations.revoke("jti", later),
        "revocations.is_revoked": lambda: revocations.is_revoked("jti"),
    }


async def test_every_call_on_a_redis_that_cannot_be_reached_is_unavailable(
    dead_client: Redis,
) -> None:
    not_unavailable = []
    for name, call in _calls(dead_client, FrozenClock()).items():
        try:
            await call()
        except Unavailable:
            continue
        not_unavailable.append(name)

    assert not_unavailable == []
