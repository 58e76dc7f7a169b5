"""A key-value cache with per-entry lifetimes: the seed's "Caching Strategy" store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol


class Cache(Protocol):
    """Opaque byte values by string key, each living for the TTL it was set with.

    `get` answers the value last `set` under the key, or None once the key was deleted or its
    TTL has run out (memory: by the adapter's injected clock; Redis: by the server's own
    expiry, `SET PX`). `set` replaces any value and lifetime the key had; a TTL is positive.
    `delete_many` removes the keys given (absent keys are no error) and answers how many were
    present. `delete_prefix` removes every key starting with the prefix (`""`: all of this
    cache's keys, never another namespace's) and answers how many. Keys are independent; the
    cache never interprets a value. An adapter whose backend cannot be reached raises
    `Unavailable`; the core's `CacheAside` then reads through to the store and skips the write.

    `version` answers a number that every `delete_many` of the key replaces by one the key
    never had before (so a version read before a deletion never matches after it, however
    the versions are forgotten), or 0 once the adapter's hold (a few seconds) has passed since
    the key's last deletion.
    `set_if_version` sets the value only while the key's version is still the one given, and
    answers whether it did. `CacheAside` reads the version before computing an answer and
    writes it with `set_if_version`: an answer one process read from the store before another
    process changed the store and deleted the key is not cached after that deletion (unless
    computing it outlasted the hold). `delete_prefix` raises no version.
    """

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: timedelta) -> None: ...

    async def version(self, key: str) -> int: ...

    async def set_if_version(
        self, key: str, value: bytes, ttl: timedelta, version: int
    ) -> bool: ...

    async def delete_many(self, keys: Sequence[str]) -> int: ...

    async def delete_prefix(self, prefix: str) -> int: ...
