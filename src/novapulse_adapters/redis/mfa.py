"""Spent TOTP steps in Redis: the `OtpReplayStore`, one round trip per claim."""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from novapulse_adapters.redis.support import (
    SET_UNLESS_LIVE,
    expiring_value,
    gc_ttl_ms,
    micros,
    translated,
)
from novapulse_core.ports.system import Clock

__all__ = ["RedisOtpReplayStore"]


class RedisOtpReplayStore:
    """`OtpReplayStore`: a claim is the key `{ns}:otp:{step}:{user_id}` holding its expiry.

    `claim` is one Lua script (set unless a claim live by the injected clock is held), so of
    concurrent claims, from any number of processes, exactly one wins.
    """

    def __init__(self, client: Redis, clock: Clock, *, namespace: str = "nova") -> None:
        self._clock = clock
        self._prefix = f"{namespace}:otp:"
        self._claim = client.register_script(SET_UNLESS_LIVE)

    async def claim(self, user_id: str, step: int, expires_at: datetime) -> bool:
        now = self._clock.now()
        args = (micros(now), expiring_value(expires_at), gc_ttl_ms(expires_at, now))
        with translated():
            claimed = await self._claim(keys=(f"{self._prefix}{step}:{user_id}",), args=args)
        return bool(claimed)
