"""The reference `Cache`: a dict of bytes, each entry expiring by the injected clock."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta

from novapulse_core.ports.system import Clock

__all__ = ["InMemoryCache"]

_SWEEP_EVERY = 1024
DELETION_HOLD = timedelta(seconds=5)


class InMemoryCache:
    """`Cache` in this process. Expired entries and deletions past their `hold` are invisible
    at once and swept every `_SWEEP_EVERY` writes. Test helpers: `remaining(key)`, `keys()`."""

    def __init__(self, clock: Clock, *, hold: timedelta = DELETION_HOLD) -> None:
        self._clock = clock
        self._hold = hold
        self._entries: dict[str, tuple[bytes, datetime]] = {}
        self._versions: dict[str, tuple[int, datetime]] = {}
        self._next_version = itertools.count(1)
        self._writes = 0

    async def get(self, key: str) -> bytes | None:
        entry = self._live(key)
        return None if entry is None else entry[0]

    async def set(self, key: str, value: bytes, ttl: timedelta) -> None:
        if ttl <= timedelta(0):
            raise ValueError("a cache TTL is positive")
        self._entries[key] = (bytes(value), self._clock.now() + ttl)
        self._count_write()

    async def version(self, key: str) -> int:
        return self._version(key)

    async def set_if_version(self, key: str, value: bytes, ttl: timedelta, version: int) -> bool:
        if self._version(key) != version:
            return False
        await self.set(key, value, ttl)
        return True

    async def delete_many(self, keys: Sequence[str]) -> int:
        held_until = self._clock.now() + self._hold
        for key in set(keys):
            self._versions[key] = (next(self._next_version), held_until)
            self._count_write()
        return sum(self._live(key) is not None and self._drop(key) for key in set(keys))

    async def delete_prefix(self, prefix: str) -> int:
        matching = [key for key in self._entries if key.startswith(prefix)]
        return sum(self._live(key) is not None and self._drop(key) for key in matching)

    def remaining(self, key: str) -> timedelta | None:
        """The lifetime the key has left by the clock, or None when it is not cached."""
        entry = self._live(key)
        return None if entry is None else entry[1] - self._clock.now()

    def keys(self) -> list[str]:
        """The live keys, sorted."""
        return sorted(key for key in list(self._entries) if self._live(key) is not None)

    def _live(self, key: str) -> tuple[bytes, datetime] | None:
        entry = self._entries.get(key)
        if entry is not None and entry[1] <= self._clock.now():
            del self._entries[key]
            return None
        return entry

    def _version(self, key: str) -> int:
        marked = self._versions.get(key)
        return 0 if marked is None or marked[1] <= self._clock.now() else marked[0]

    def _drop(self, key: str) -> bool:
        del self._entries[key]
        return True

    def _count_write(self) -> None:
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            self._sweep()

    def _sweep(self) -> None:
        now = self._clock.now()
        for key in [k for k, (_, expires_at) in self._entries.items() if expires_at <= now]:
            del self._entries[key]
        for key in [k for k, (_, held_until) in self._versions.items() if held_until <= now]:
            del self._versions[key]
