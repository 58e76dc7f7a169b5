"""The seed's cache in Redis: SET PX, GET, UNLINK, and SCAN for prefix clears.

Unlike the clock-driven session adapters, a cache entry expires by Redis's own clock
(`SET ... PX`): a cache may drop early or late by a clock skew without harm. A deletion gives
the key a new version, a random 63-bit number under `{ns}:version:{key}` that lives for the
hold after it, and `set_if_version` is one script that sets the entry only while that number
is as given.
Prefix deletion SCANs `{ns}:{prefix}*` and UNLINKs each batch: it costs a walk of the keyspace,
but only on the rare manual clear, while a key-set index would cost every write a second
command and leave members behind when entries expire.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from redis.asyncio import Redis

from novapulse_adapters.redis.support import text, translated

__all__ = ["RedisCache"]

_BATCH = 500
DELETION_HOLD = timedelta(seconds=5)
SET_IF_VERSION = """
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
_MILLISECOND = timedelta(milliseconds=1)
_GLOB_SPECIAL = "\\*?[]"


def _milliseconds(span: timedelta) -> int:
    return max(1, -(-span // _MILLISECOND))


def _glob_escaped(text: str) -> str:
    return "".join(f"\\{c}" if c in _GLOB_SPECIAL else c for c in text)


class RedisCache:
    """`Cache` on Redis under `{namespace}:`; every call is one round trip except
    `delete_prefix` (one SCAN and one UNLINK per batch). A Redis that cannot be reached
    raises `Unavailable`."""

    def __init__(
        self, client: Redis, *, namespace: str = "nova", hold: timedelta = DELETION_HOLD
    ) -> None:
        self._client = client
        self._prefix = f"{namespace}:"
        self._versions = f"{namespace}:version:"
        self._hold_ms = _milliseconds(hold)
        self._set_if_version = client.register_script(SET_IF_VERSION)

    async def get(self, key: str) -> bytes | None:
        with translated():
            value = await self._client.get(self._prefix + key)
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode()

    async def set(self, key: str, value: bytes, ttl: timedelta) -> None:
        if ttl <= timedelta(0):
            raise ValueError("a cache TTL is positive")
        with translated():
            await self._client.set(self._prefix + key, value, px=_milliseconds(ttl))

    async def version(self, key: str) -> int:
        with translated():
            version = await self._client.get(self._versions + key)
        return 0 if version is None else int(version)

    async def set_if_version(self, key: str, value: bytes, ttl: timedelta, version: int) -> bool:
        if ttl <= timedelta(0):
            raise ValueError("a cache TTL is positive")
        with translated():
            stored = await self._set_if_version(
                keys=[self._prefix + key, self._versions + key],
                args=[value, _milliseconds(ttl), str(version)],
            )
        return bool(stored)

    async def delete_many(self, keys: Sequence[str]) -> int:
        """One round trip per batch: the keys unlinked, each given a new version."""
        removed = 0
        unique = list(dict.fromkeys(keys))
        with translated():
            for start in range(0, len(unique), _BATCH):
                batch = unique[start : start + _BATCH]
                pipe = self._client.pipeline(transaction=False)
                pipe.unlink(*(self._prefix + k for k in batch))
                for key in batch:
                    pipe.set(self._versions + key, secrets.randbits(63) | 1, px=self._hold_ms)
                unlinked, *_ = await pipe.execute()
                removed += int(unlinked)
        return removed

    async def delete_prefix(self, prefix: str) -> int:
        pattern = _glob_escaped(self._prefix + prefix) + "*"
        versions = self._versions
        removed = 0
        with translated():
            cursor: int = 0
            while True:
                cursor, found = await self._client.scan(cursor, match=pattern, count=_BATCH)
                entries = [key for key in found if not text(key).startswith(versions)]
                if entries:
                    removed += int(await self._client.unlink(*entries))
                if int(cursor) == 0:
                    return removed
