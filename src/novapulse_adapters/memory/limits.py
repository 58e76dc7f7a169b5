"""A sliding-window rate limiter on the injected clock: the reference `RateLimiter`."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

from novapulse_core.domain.limits import RateDecision
from novapulse_core.ports.system import Clock

SWEEP_EVERY = 1024
"""Hits between sweeps that forget keys whose every hit has left its window."""


class InMemoryRateLimiter:
    """Keeps the times of each key's allowed hits (at most `limit` of them) in a deque."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, tuple[deque[datetime], timedelta]] = {}
        self._since_sweep = 0

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        (decision,) = await self.hit_all([(key, limit, window)])
        return decision

    async def hit_all(self, hits: Sequence[tuple[str, int, timedelta]]) -> list[RateDecision]:
        with self._lock:
            self._since_sweep += 1
            if self._since_sweep >= SWEEP_EVERY:
                self._sweep()
            now = self._clock.now()
            table = self._hits
            counted: list[tuple[deque[datetime], int]] = []
            for key, limit, window in hits:
                entry = table.get(key)
                if entry is not None and entry[1] == window:
                    live = entry[0]
                else:  # a new key, or one now counted in another window
                    live = entry[0] if entry is not None else deque()
                    table[key] = (live, window)
                start = now - window
                while live and live[0] <= start:
                    live.popleft()
                if len(live) >= limit:  # refused: nothing recorded, the answers stop here
                    peeked = [RateDecision(True, n - len(h)) for h, n in counted]
                    return [*peeked, _refusal(live, window, now)]
                counted.append((live, limit))
            decisions = []
            for live, limit in counted:
                live.append(now)
                decisions.append(RateDecision(True, limit - len(live)))
            return decisions

    async def peek(self, key: str, limit: int, window: timedelta) -> RateDecision:
        with self._lock:
            return self._decide(key, limit, window)

    async def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    async def undo(self, key: str) -> None:
        with self._lock:
            entry = self._hits.get(key)
            if entry is not None and entry[0]:
                entry[0].pop()

    def __len__(self) -> int:
        """How many keys are tracked (a test helper); swept keys are gone."""
        with self._lock:
            return len(self._hits)

    def _decide(self, key: str, limit: int, window: timedelta) -> RateDecision:
        now = self._clock.now()
        hits = self._hits.get(key, (deque(), window))[0]
        _forget_before(hits, now - window)
        if len(hits) < limit:
            return RateDecision(allowed=True, remaining=limit - len(hits))
        return _refusal(hits, window, now)

    def _sweep(self) -> None:
        self._since_sweep = 0
        now = self._clock.now()
        stale = [
            key
            for key, (hits, window) in self._hits.items()
            if not hits or hits[-1] <= now - window
        ]
        for key in stale:
            del self._hits[key]


def _forget_before(hits: deque[datetime], start: datetime) -> None:
    while hits and hits[0] <= start:
        hits.popleft()


def _refusal(hits: deque[datetime], window: timedelta, now: datetime) -> RateDecision:
    wait = (hits[0] + window - now).total_seconds()
    return RateDecision(allowed=False, remaining=0, retry_after=max(1, math.ceil(wait)))
