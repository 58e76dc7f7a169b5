"""Rate limiting: how many hits a key may take in a sliding window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from novapulse_core.domain.limits import RateDecision


class RateLimiter(Protocol):
    """Sliding-window counters by key, on the adapter's injected clock.

    `hit` records one hit and allows it when fewer than `limit` hits of that key fall within the
    last `window`; a refused hit is not recorded (it does not prolong the wait). `remaining` is
    how many more hits the window allows after this one; a refusal's `retry_after` is the whole
    seconds (at least 1) until the oldest counted hit leaves the window. `peek` gives the
    decision a hit would get, recording nothing (`remaining` then counts that hit as not made).
    `reset` forgets the key's hits; `undo` forgets its most recent one (nothing when it has
    none), for a hit counted ahead of an outcome that turned out not to count. Keys are
    independent.

    `hit_all` spends several budgets (distinct keys, each `(key, limit, window)`) at once, all
    or none: when every budget allows, each records its hit and answers as `hit` would; when
    one refuses, none records anything and the answers stop at that first refusal (the budgets
    before it answer as `peek` would). A request refused by one budget spends none of the others,
    atomically (no hit of another caller lands between the checks and the records).

    An adapter whose backend cannot be reached raises `Unavailable`; the caller decides to fail
    open (the seed's rule, applied by `services.attempts.Attempts`).
    """

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision: ...

    async def hit_all(self, hits: Sequence[tuple[str, int, timedelta]]) -> list[RateDecision]: ...

    async def peek(self, key: str, limit: int, window: timedelta) -> RateDecision: ...

    async def reset(self, key: str) -> None: ...

    async def undo(self, key: str) -> None: ...
