"""A `Cache` that counts the hits and misses of the cache it wraps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from prometheus_client import Counter

from novapulse_adapters.telemetry.metrics import Metrics
from novapulse_core.domain.errors import Unavailable
from novapulse_core.ports import Cache

__all__ = ["UNAVAILABLE", "MeteredCache", "entry_of"]

REMEMBERED_KEYS = 10_000
"""Keys whose series are remembered; all are forgotten when more come."""
UNAVAILABLE = "unavailable"
"""The `result` label of a read that failed open (the cache could not be reached)."""


def entry_of(key: str) -> str:
    """The kind of entry a key holds, without its id: `company_stats` of
    `cache:company:c1:stats`, `user_profile`, `department_members`; `other` otherwise."""
    parts = key.split(":")
    return f"{parts[-3]}_{parts[-1]}" if len(parts) >= 4 else "other"


class MeteredCache:
    """Wraps any `Cache`: every `get` is counted in `novapulse_cache_lookups` as a hit or a
    miss by kind of entry, and an `Unavailable` one as result `unavailable` before it is
    re-raised (the core's `CacheAside` then fails open). Writes and deletes pass through."""

    def __init__(
        self, cache: Cache, metrics: Metrics, *, entry: Callable[[str], str] = entry_of
    ) -> None:
        self._cache = cache
        self._metrics = metrics
        self._entry = entry
        self._lookups: dict[str, tuple[Counter, Counter]] = {}

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._cache.get(key)
        except Unavailable:
            self._metrics.cache_lookups.labels(cache=self._entry(key), result=UNAVAILABLE).inc()
            raise
        self._metrics.count(((self._lookups.get(key) or self._lookups_of(key))[value is not None],))
        return value

    def _lookups_of(self, key: str) -> tuple[Counter, Counter]:
        """The (miss, hit) series of `key`'s kind of entry, remembered for the keys seen lately
        (the same keys are read again and again)."""
        if len(self._lookups) >= REMEMBERED_KEYS:
            self._lookups.clear()
        series = self._lookups[key] = self._metrics.cache_outcomes(self._entry(key))
        return series

    async def set(self, key: str, value: bytes, ttl: timedelta) -> None:
        await self._cache.set(key, value, ttl)

    async def version(self, key: str) -> int:
        return await self._cache.version(key)

    async def set_if_version(self, key: str, value: bytes, ttl: timedelta, version: int) -> bool:
        return await self._cache.set_if_version(key, value, ttl, version)

    async def delete_many(self, keys: Sequence[str]) -> int:
        return await self._cache.delete_many(keys)

    async def delete_prefix(self, prefix: str) -> int:
        return await self._cache.delete_prefix(prefix)
