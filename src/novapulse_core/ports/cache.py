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
    """

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: timedelta) -> None: ...

    async def delete_many(self, keys: Sequence[str]) -> int: ...

    async def delete_prefix(self, prefix: str) -> int: ...
