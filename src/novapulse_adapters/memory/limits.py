"""A sliding-window rate limiter on the injected clock: the reference `RateLimiter`."""

from __future__ import annotations

import math
import threading
from collections import deque
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
        with self._lock:
            self._sweep()
            decision, hits = self._decide(key, limit, window)
            if decision.allowed:
                hits.append(self._clock.now())
                self._hits[key] = (hits, window)
                decision = RateDecision(allowed=True, remaining=decision.remaining - 1)
            return decision

    async def peek(self, key: str, limit: int, window: timedelta) -> RateDecision:
        with self._lock:
            return self._decide(key, limit, window)[0]

    async def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def __len__(self) -> int:
        """How many keys are tracked (a test helper); swept keys are gone."""
        with self._lock:
            return len(self._hits)

    def _decide(
        self, key: str, limit: int, window: timedelta
    ) -> tuple[RateDecision, deque[datetime]]:
        now = self._clock.now()
        hits = self._hits.get(key, (deque(), window))[0]
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) < limit:
            return RateDecision(allowed=True, remaining=limit - len(hits)), hits
        wait = (hits[0] + window - now).total_seconds()
        return RateDecision(allowed=False, remaining=0, retry_after=max(1, math.ceil(wait))), hits

    def _sweep(self) -> None:
        self._since_sweep += 1
        if self._since_sweep < SWEEP_EVERY:
            return
        self._since_sweep = 0
        now = self._clock.now()
        stale = [
            key
            for key, (hits, window) in self._hits.items()
            if not hits or hits[-1] <= now - window
        ]
        for key in stale:
            del self._hits[key]
