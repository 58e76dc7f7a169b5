"""A `RateLimiter` that counts what the limiter it wraps answers, and when it cannot answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from prometheus_client import Counter

from novapulse_adapters.telemetry.metrics import Metrics
from novapulse_core.domain.errors import Unavailable
from novapulse_core.domain.limits import RateDecision
from novapulse_core.ports import RateLimiter

REMEMBERED_KEYS = 10_000
"""Keys whose policy label is remembered; all are forgotten when more come."""


def policy_of(key: str) -> str:
    """The policy a key belongs to: its first two `:`-separated parts (`auth:password` of
    `auth:password:ann@example.com`), so the label never carries an account or an address."""
    return ":".join(key.split(":", 2)[:2])


class MeteredRateLimiter:
    """Wraps any `RateLimiter`: every `hit` and `peek` answer is counted as a decision, and
    every `Unavailable` from the wrapped limiter as a fail-open before it is re-raised (the
    core's callers let the attempt through when the limiter cannot be reached; the count
    matches their own `failed_open`). `hit_all` counts per budget: each answer it gives as a
    decision, and each of its budgets as a fail-open when the limiter cannot be reached."""

    def __init__(
        self,
        limiter: RateLimiter,
        metrics: Metrics,
        *,
        policy: Callable[[str], str] = policy_of,
    ) -> None:
        self._limiter = limiter
        self._metrics = metrics
        self._policy_of = policy
        self._policies: dict[str, str] = {}
        self._outcomes: dict[str, tuple[Counter, Counter]] = {}

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        try:
            decision = await self._limiter.hit(key, limit, window)
        except Unavailable:
            self._metrics.rate_limit_failed_open(self._policy(key))
            raise
        self._metrics.rate_limit_decision(self._policy(key), allowed=decision.allowed)
        return decision

    async def hit_all(self, hits: Sequence[tuple[str, int, timedelta]]) -> list[RateDecision]:
        try:
            decisions = await self._limiter.hit_all(hits)
        except Unavailable:
            for key, _, _ in hits:
                self._metrics.rate_limit_failed_open(self._policy(key))
            raise
        outcomes = self._outcomes  # the decisions stop at a refusal
        self._metrics.count(
            [
                (outcomes.get(key) or self._outcomes_of(key))[decision.allowed]
                for (key, _, _), decision in zip(hits, decisions, strict=False)
            ]
        )
        return decisions

    async def peek(self, key: str, limit: int, window: timedelta) -> RateDecision:
        try:
            decision = await self._limiter.peek(key, limit, window)
        except Unavailable:
            self._metrics.rate_limit_failed_open(self._policy(key))
            raise
        self._metrics.rate_limit_decision(self._policy(key), allowed=decision.allowed)
        return decision

    def _outcomes_of(self, key: str) -> tuple[Counter, Counter]:
        """The (refused, allowed) decision series of `key`'s policy, remembered as `_policy`."""
        if len(self._outcomes) >= REMEMBERED_KEYS:
            self._outcomes.clear()
        outcomes = self._outcomes[key] = self._metrics.rate_limit_outcomes(self._policy(key))
        return outcomes

    def _policy(self, key: str) -> str:
        """`key`'s policy, remembered for the keys seen lately (the same keys come again and
        again: one per user, company or client address)."""
        policy = self._policies.get(key)
        if policy is None:
            if len(self._policies) >= REMEMBERED_KEYS:
                self._policies.clear()
            policy = self._policies[key] = self._policy_of(key)
        return policy

    async def reset(self, key: str) -> None:
        try:
            await self._limiter.reset(key)
        except Unavailable:
            self._metrics.rate_limit_failed_open(self._policy(key))
            raise

    async def undo(self, key: str) -> None:
        try:
            await self._limiter.undo(key)
        except Unavailable:
            self._metrics.rate_limit_failed_open(self._policy(key))
            raise
