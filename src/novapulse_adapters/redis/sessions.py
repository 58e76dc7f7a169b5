"""Login challenges and revoked access tokens in Redis, judged by the injected clock."""

from __future__ import annotations

import json
from datetime import datetime

from redis.asyncio import Redis

from novapulse_adapters.redis.support import (
    SET_UNLESS_LIVE,
    expiring_value,
    gc_ttl_ms,
    live_payload,
    micros,
    moment,
    translated,
)
from novapulse_core.domain.errors import Conflict
from novapulse_core.domain.sessions import LoginChallenge
from novapulse_core.ports.system import Clock

__all__ = ["RedisChallengeStore", "RedisTokenRevocations"]


def _challenge_json(challenge: LoginChallenge) -> str:
    return json.dumps(
        [
            challenge.user_id,
            challenge.company_id,
            micros(challenge.created_at),
            micros(challenge.expires_at),
        ]
    )


def _challenge(digest: str, payload: str) -> LoginChallenge:
    user_id, company_id, created_at, expires_at = json.loads(payload)
    return LoginChallenge(
        token_digest=digest,
        user_id=user_id,
        company_id=company_id,
        created_at=moment(created_at),
        expires_at=moment(expires_at),
    )


class RedisChallengeStore:
    """`ChallengeStore`: `{ns}:challenge:{digest}` holds `<expiry>|<json>`.

    `add` is one Lua script (a challenge still live by the injected clock is a conflict);
    `get` is one GET; `consume` is one GETDEL, so of concurrent consumes exactly one gets it.
    """

    def __init__(self, client: Redis, clock: Clock, *, namespace: str = "nova") -> None:
        self._client = client
        self._clock = clock
        self._prefix = f"{namespace}:challenge:"
        self._add = client.register_script(SET_UNLESS_LIVE)

    async def add(self, challenge: LoginChallenge) -> None:
        now = self._clock.now()
        value = expiring_value(challenge.expires_at, _challenge_json(challenge))
        args = (micros(now), value, gc_ttl_ms(challenge.expires_at, now))
        with translated():
            added = await self._add(keys=(self._prefix + challenge.token_digest,), args=args)
        if not added:
            raise Conflict("a challenge with this token exists")

    async def get(self, digest: str) -> LoginChallenge | None:
        with translated():
            value = await self._client.get(self._prefix + digest)
        return self._live(digest, value)

    async def consume(self, digest: str) -> LoginChallenge | None:
        with translated():
            value = await self._client.getdel(self._prefix + digest)
        return self._live(digest, value)

    def _live(self, digest: str, value: bytes | str | None) -> LoginChallenge | None:
        payload = live_payload(value, self._clock.now())
        return None if payload is None else _challenge(digest, payload)


class RedisTokenRevocations:
    """`TokenRevocations`: `{ns}:revoked:{jti}` holds the token's expiry; one command a call."""

    def __init__(self, client: Redis, clock: Clock, *, namespace: str = "nova") -> None:
        self._client = client
        self._clock = clock
        self._prefix = f"{namespace}:revoked:"

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        ttl_ms = gc_ttl_ms(expires_at, self._clock.now())
        with translated():
            await self._client.set(self._prefix + token_id, expiring_value(expires_at), px=ttl_ms)

    async def is_revoked(self, token_id: str) -> bool:
        with translated():
            value = await self._client.get(self._prefix + token_id)
        return live_payload(value, self._clock.now()) is not None
