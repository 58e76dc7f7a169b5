"""The seed's cache in Redis: SET PX, GET, UNLINK, and SCAN for prefix clears.

Unlike the clock-driven session adapters, a cache entry expires by Redis's own clock
(`SET ... PX`): a cache may drop early or late by a clock skew without harm, and needs no
script. Prefix deletion SCANs `{ns}:{prefix}*` and UNLINKs each batch: it costs a walk of the
keyspace, but only on the rare manual clear, while a key-set index would cost every write a
second command and leave members behind when entries expire.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from redis.asyncio import Redis

from novapulse_adapters.redis.support import translated

__all__ = ["RedisCache"]

_BATCH = 500
_MILLISECOND = timedelta(milliseconds=1)
_GLOB_SPECIAL = "\\*?[]"


def _glob_escaped(text: str) -> str:
    return "".join(f"\\{c}" if c in _GLOB_SPECIAL else c for c in text)


class RedisCache:
    """`Cache` on Redis under `{namespace}:`; every call is one round trip except
    `delete_prefix` (one SCAN and one UNLINK per batch). A Redis that cannot be reached
    raises `Unavailable`."""

    def __init__(self, client: Redis, *, namespace: str = "nova") -> None:
        self._client = client
        self._prefix = f"{namespace}:"

    async def get(self, key: str) -> bytes | None:
        with translated():
            value = await self._client.get(self._prefix + key)
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode()

    async def set(self, key: str, value: bytes, ttl: timedelta) -> None:
        if ttl <= timedelta(0):
            raise ValueError("a cache TTL is positive")
        px = max(1, -(-ttl // _MILLISECOND))
        with translated():
            await self._client.set(self._prefix + key, value, px=px)

    async def delete_many(self, keys: Sequence[str]) -> int:
        removed = 0
        unique = list(dict.fromkeys(keys))
        with translated():
            for start in range(0, len(unique), _BATCH):
                batch = unique[start : start + _BATCH]
                removed += int(await self._client.unlink(*(self._prefix + k for k in batch)))
        return removed

    async def delete_prefix(self, prefix: str) -> int:
        pattern = _glob_escaped(self._prefix + prefix) + "*"
        removed = 0
        with translated():
            cursor: int = 0
            while True:
                cursor, found = await self._client.scan(cursor, match=pattern, count=_BATCH)
                if found:
                    removed += int(await self._client.unlink(*found))
                if int(cursor) == 0:
                    return removed
