"""The cache wired onto a unit platform: the cached services, the subscriber, a switchable fake."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from novapulse_adapters.memory import InMemoryCache
from novapulse_core.domain.cache import CacheKeys
from novapulse_core.domain.errors import Unavailable
from novapulse_core.ports import Clock
from novapulse_core.services.cache import CacheAside
from novapulse_core.services.cache_invalidation import CacheAdmin, CacheInvalidation
from novapulse_core.services.cached import CachedMembers, CachedProfiles, CachedStats

from .kit import Platform


class SwitchableCache:
    """An `InMemoryCache` that raises `Unavailable` on every call while `down`, as a Redis
    that cannot be reached does; counts the calls that reached it."""

    def __init__(self, clock: Clock) -> None:
        self.inner = InMemoryCache(clock)
        self.down = False
        self.calls = 0

    def _reach(self) -> None:
        if self.down:
            raise Unavailable("Redis cannot be reached right now; try again shortly")
        self.calls += 1

    async def get(self, key: str) -> bytes | None:
        self._reach()
        return await self.inner.get(key)

    async def set(self, key: str, value: bytes, ttl: timedelta) -> None:
        self._reach()
        await self.inner.set(key, value, ttl)

    async def version(self, key: str) -> int:
        self._reach()
        return await self.inner.version(key)

    async def set_if_version(self, key: str, value: bytes, ttl: timedelta, version: int) -> bool:
        self._reach()
        return await self.inner.set_if_version(key, value, ttl, version)

    async def delete_many(self, keys: Sequence[str]) -> int:
        self._reach()
        return await self.inner.delete_many(keys)

    async def delete_prefix(self, prefix: str) -> int:
        self._reach()
        return await self.inner.delete_prefix(prefix)


class Caching:
    """The seed's cache on `platform`, wired as the container wires it."""

    def __init__(self, platform: Platform, keys: CacheKeys | None = None) -> None:
        self.keys = keys or CacheKeys()
        self.cache = SwitchableCache(platform.clock)
        self.aside = CacheAside(self.cache)
        self.stats = CachedStats(platform.stats, self.aside, self.keys)
        self.profiles = CachedProfiles(platform.users, self.aside, self.keys)
        self.members = CachedMembers(platform.departments, self.aside, self.keys)
        self.invalidation = CacheInvalidation(self.aside, self.keys, platform.department_store)
        self.admin = CacheAdmin(
            self.aside, self.keys, platform.user_store, platform.department_store
        )
        platform.events.subscribe(self.invalidation)

    def cached(self) -> list[str]:
        return self.cache.inner.keys()
