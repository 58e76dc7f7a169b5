"""Refresh-token families in Redis: atomic first use, family and user revocation, by Lua.

Layout under `{ns}:rt:` (a single Redis node: the revoking scripts compute token keys):
- `t:{digest}`: a hash. `exp` is the expiry (epoch us, judged by the injected clock), `doc` the
  token's JSON, `used` the first use (epoch us, absent until then), `family` and `owner` the
  keys of the sets below that name it.
- `f:{family_id}`: the set of the family's digests.
- `u:{len(company_id)}:{company_id}:{user_id}`: the set of the user's family ids.
Every key carries a relative TTL (its longest lifetime left plus `GC_GRACE`) as garbage
collection only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from novapulse_adapters.redis.support import gc_ttl_ms, micros, moment, text, translated
from novapulse_core.domain.errors import Conflict
from novapulse_core.domain.sessions import RefreshToken
from novapulse_core.ports.system import Clock

__all__ = ["RedisRefreshTokenStore"]

# KEYS: token, family, owner. ARGV: now, exp, doc, gc ttl (ms), digest, family id.
_ADD = """
local held = redis.call('HMGET', KEYS[1], 'exp', 'family')
if held[1] and tonumber(held[1]) > tonumber(ARGV[1]) then return 0 end
if held[2] then redis.call('SREM', held[2], ARGV[5]) end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'exp', ARGV[2], 'doc', ARGV[3], 'family', KEYS[2], 'owner', KEYS[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if tonumber(ARGV[2]) > tonumber(ARGV[1]) then
  redis.call('SADD', KEYS[2], ARGV[5])
  redis.call('SADD', KEYS[3], ARGV[6])
  for i = 2, 3 do
    if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[4]) then
      redis.call('PEXPIRE', KEYS[i], ARGV[4])
    end
  end
end
return 1
"""

# KEYS: token. ARGV: now, at. Returns nil, or {doc, first use or ''} as they were.
_USE = """
local f = redis.call('HMGET', KEYS[1], 'exp', 'doc', 'used')
if not f[1] or tonumber(f[1]) <= tonumber(ARGV[1]) then return false end
if not f[3] then redis.call('HSET', KEYS[1], 'used', ARGV[2]) end
return {f[2], f[3] or ''}
"""

_FORGET_FAMILY = """
local function forget_family(family_key, family_id)
  for _, digest in ipairs(redis.call('SMEMBERS', family_key)) do
    local token = P .. 't:' .. digest
    local owner = redis.call('HGET', token, 'owner')
    if owner then redis.call('SREM', owner, family_id) end
    redis.call('DEL', token)
  end
  redis.call('DEL', family_key)
end
"""

# KEYS: family. ARGV: prefix, family id.
_REVOKE_FAMILY = (
    "local P = ARGV[1]\n" + _FORGET_FAMILY + "forget_family(KEYS[1], ARGV[2])\nreturn 1\n"
)

# KEYS: owner. ARGV: prefix.
_REVOKE_USER = (
    "local P = ARGV[1]\n"
    + _FORGET_FAMILY
    + """
for _, family_id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  forget_family(P .. 'f:' .. family_id, family_id)
end
redis.call('DEL', KEYS[1])
return 1
"""
)


def _doc(token: RefreshToken) -> str:
    return json.dumps(
        [
            token.family_id,
            token.user_id,
            token.company_id,
            list(token.amr),
            micros(token.issued_at),
            micros(token.expires_at),
            micros(token.session_expires_at),
        ]
    )


def _token(digest: str, doc: str, used: str) -> RefreshToken:
    family_id, user_id, company_id, amr, issued_at, expires_at, session_expires_at = json.loads(doc)
    return RefreshToken(
        token_digest=digest,
        family_id=family_id,
        user_id=user_id,
        company_id=company_id,
        amr=tuple(amr),
        issued_at=moment(issued_at),
        expires_at=moment(expires_at),
        session_expires_at=moment(session_expires_at),
        used_at=moment(int(used)) if used else None,
    )


class RedisRefreshTokenStore:
    """`RefreshTokenStore` on Redis: every call is one Lua script, one round trip.

    `use` reads and marks in one script, so of concurrent uses (from any process) exactly one
    sees the token unused. `add` over a digest whose token has expired by the injected clock
    replaces it, as the memory reference does.
    """

    def __init__(self, client: Redis, clock: Clock, *, namespace: str = "nova") -> None:
        self._clock = clock
        self._prefix = f"{namespace}:rt:"
        self._add = client.register_script(_ADD)
        self._use = client.register_script(_USE)
        self._revoke_family = client.register_script(_REVOKE_FAMILY)
        self._revoke_user = client.register_script(_REVOKE_USER)

    def _owner(self, company_id: str, user_id: str) -> str:
        return f"{self._prefix}u:{len(company_id)}:{company_id}:{user_id}"

    async def add(self, token: RefreshToken) -> None:
        now = self._clock.now()
        keys = (
            f"{self._prefix}t:{token.token_digest}",
            f"{self._prefix}f:{token.family_id}",
            self._owner(token.company_id, token.user_id),
        )
        args = (
            micros(now),
            micros(token.expires_at),
            _doc(token),
            gc_ttl_ms(token.expires_at, now),
            token.token_digest,
            token.family_id,
        )
        with translated():
            added = await self._add(keys=keys, args=args)
        if not added:
            raise Conflict("a refresh token with this digest exists")

    async def use(self, digest: str, at: datetime) -> RefreshToken | None:
        args = (micros(self._clock.now()), micros(at))
        with translated():
            reply: Sequence[Any] | None = await self._use(
                keys=(f"{self._prefix}t:{digest}",), args=args
            )
        if reply is None:
            return None
        return _token(digest, text(reply[0]), text(reply[1]))

    async def revoke_family(self, family_id: str) -> None:
        with translated():
            await self._revoke_family(
                keys=(f"{self._prefix}f:{family_id}",), args=(self._prefix, family_id)
            )

    async def revoke_user(self, company_id: str, user_id: str) -> None:
        with translated():
            await self._revoke_user(keys=(self._owner(company_id, user_id),), args=(self._prefix,))
