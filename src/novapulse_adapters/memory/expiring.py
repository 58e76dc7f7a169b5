"""A dict whose entries vanish at their expiry by an injected clock: the memory stores' base."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

from novapulse_core.ports.system import Clock

K = TypeVar("K")
V = TypeVar("V")


class ExpiringMap(Generic[K, V]):
    """Entries past their expiry are invisible at once and dropped at the next call.

    `on_drop(key, value)` is told of each entry dropped for its age (so indexes can follow).
    Not locked: callers that need atomic read-and-write hold their own lock around both.
    """

    def __init__(self, clock: Clock, on_drop: Callable[[K, V], None] | None = None) -> None:
        self._clock = clock
        self._on_drop = on_drop
        self._entries: dict[K, tuple[V, datetime]] = {}
        self._expiries: list[tuple[datetime, int, K]] = []  # heap; the int breaks ties
        self._pushed = 0

    def get(self, key: K) -> V | None:
        self._drop_expired()
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def put(self, key: K, value: V, expires_at: datetime) -> None:
        self._drop_expired()
        if expires_at <= self._clock.now():
            self._entries.pop(key, None)
            return
        self._entries[key] = (value, expires_at)
        self._pushed += 1
        heapq.heappush(self._expiries, (expires_at, self._pushed, key))

    def pop(self, key: K) -> V | None:
        self._drop_expired()
        entry = self._entries.pop(key, None)
        return None if entry is None else entry[0]

    def __len__(self) -> int:
        self._drop_expired()
        return len(self._entries)

    def _drop_expired(self) -> None:
        now = self._clock.now()
        while self._expiries and self._expiries[0][0] <= now:
            expires_at, _, key = heapq.heappop(self._expiries)
            entry = self._entries.get(key)
            if entry is not None and entry[1] == expires_at:  # not since replaced
                del self._entries[key]
                if self._on_drop is not None:
                    self._on_drop(key, entry[0])
