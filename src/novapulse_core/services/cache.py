"""Cache-aside with single flight: a miss computes once per key and process, and a cache that
cannot be reached never fails a read."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar, cast

from novapulse_core.domain.cache import Codec
from novapulse_core.domain.errors import Unavailable
from novapulse_core.ports import Cache

T = TypeVar("T")

DECODED_ENTRIES = 1024
"""Decoded entries remembered per process, so that an entry read again unchanged is not
decoded again (its bytes are compared instead)..."""
DECODED_MAX_BYTES = 8192
"""...when the entry is at most this long (a member list of a large department is not kept)."""

log = logging.getLogger(__name__)


class _Flight:
    """One computation of one key; `stale` once the key was invalidated while it ran."""

    def __init__(self) -> None:
        self.stale = False
        self.task: asyncio.Task[Any] | None = None


class CacheAside:
    """Reads through a `Cache` to a computation, and invalidates.

    `get_or_compute` answers the cached value, or runs `compute`, caches its answer for `ttl`
    and answers it. Concurrent misses on one key in this process share one computation (an
    `asyncio.Task` per key, shielded, so a cancelled caller never cancels the others). Across
    processes each computes once; the seed's TTLs make that cheap, so no Redis lock is taken.
    A computation's error reaches every caller waiting on it and nothing is cached. The key's
    version is read before computing and the answer written only while it stands
    (`Cache.set_if_version`), so an answer read from the store before another process's change
    (and its invalidation) is not cached after it.

    A cache that raises `Unavailable` fails open: the read computes from the store, the write
    is skipped, both counted in `failed_open` (logged on the first and every 1000th). An entry
    that does not decode is a miss (`unreadable`). A key invalidated while its computation runs
    is not written with that (possibly older) answer, and later callers start a new one.
    `invalidate` and `invalidate_prefix` raise `Unavailable`: the caller chooses to swallow it.

    The last value decoded for each key is kept with its bytes (small entries, at most
    `DECODED_ENTRIES` keys): a hit whose bytes are the same answers that value without
    decoding them again. The codecs' values are frozen, so callers share it.
    """

    def __init__(self, cache: Cache) -> None:
        self._cache = cache
        self._flights: dict[str, _Flight] = {}
        self._decoded: dict[str, tuple[bytes, Any]] = {}
        self.failed_open = 0
        """Reads and writes that went around the cache because it could not be reached."""
        self.unreadable = 0
        """Entries found that did not decode (another release's, or damaged): read as misses."""

    async def get_or_compute(
        self, key: str, ttl: timedelta, compute: Callable[[], Awaitable[T]], codec: Codec[T]
    ) -> T:
        flight = self._flights.get(key)
        if flight is None:
            found = await self._read(key, codec)
            if found is not None:
                return found[0]
            flight = self._flights.get(key) or self._start(key, ttl, compute, codec)
        assert flight.task is not None
        return cast(T, await asyncio.shield(flight.task))

    async def invalidate(self, keys: Sequence[str]) -> int:
        """Delete the keys; answers how many were cached."""
        for key in keys:
            self._ground(key)
            self._decoded.pop(key, None)
        return await self._cache.delete_many(keys) if keys else 0

    async def invalidate_prefix(self, prefix: str) -> int:
        """Delete every key starting with `prefix`; answers how many were cached."""
        for key in [k for k in self._flights if k.startswith(prefix)]:
            self._ground(key)
        for key in [k for k in self._decoded if k.startswith(prefix)]:
            del self._decoded[key]
        return await self._cache.delete_prefix(prefix)

    async def _read(self, key: str, codec: Codec[T]) -> tuple[T] | None:
        try:
            raw = await self._cache.get(key)
        except Unavailable:
            self._fail_open()
            return None
        if raw is None:
            return None
        known = self._decoded.get(key)
        if known is not None and known[0] == raw:
            return (cast(T, known[1]),)
        try:
            value = codec.decode(raw)
        except ValueError:
            self.unreadable += 1
            return None
        if len(raw) <= DECODED_MAX_BYTES:
            self._remember(key, raw, value)
        return (value,)

    def _remember(self, key: str, raw: bytes, value: Any) -> None:
        if key not in self._decoded and len(self._decoded) >= DECODED_ENTRIES:
            del self._decoded[next(iter(self._decoded))]
        self._decoded[key] = (raw, value)

    def _start(
        self, key: str, ttl: timedelta, compute: Callable[[], Awaitable[T]], codec: Codec[T]
    ) -> _Flight:
        flight = _Flight()
        flight.task = asyncio.ensure_future(self._fill(key, ttl, compute, codec, flight))
        self._flights[key] = flight
        flight.task.add_done_callback(lambda task: self._land(key, flight, task))
        return flight

    async def _fill(
        self,
        key: str,
        ttl: timedelta,
        compute: Callable[[], Awaitable[T]],
        codec: Codec[T],
        flight: _Flight,
    ) -> T:
        try:
            version: int | None = await self._cache.version(key)
        except Unavailable:
            version = None
            self._fail_open()
        value = await compute()
        if not flight.stale and version is not None:
            try:
                await self._cache.set_if_version(key, codec.encode(value), ttl, version)
            except Unavailable:
                self._fail_open()
        return value

    def _land(self, key: str, flight: _Flight, task: asyncio.Task[Any]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved here, so an error nobody awaited is not logged twice

    def _ground(self, key: str) -> None:
        flight = self._flights.pop(key, None)
        if flight is not None:
            flight.stale = True

    def _fail_open(self) -> None:
        self.failed_open += 1
        if self.failed_open == 1 or self.failed_open % 1000 == 0:
            log.warning(
                "cache unavailable; reading from the store, skipping writes (%d so far)",
                self.failed_open,
            )
