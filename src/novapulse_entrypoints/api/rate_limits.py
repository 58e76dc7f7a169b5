"""Request rate limits per route group: per user and per company for authenticated calls, per
client address for anonymous ones (login gets its own, tighter budget). Answers carry the IETF
RateLimit headers (draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy`, `RateLimit`);
a refusal is a 429 problem with `Retry-After`. A limiter that cannot be reached lets the
request through (the seed's "fails open"), counted by the metered limiter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import attrs
import msgspec
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Scope, Send

from novapulse_core import context
from novapulse_core.domain.errors import DomainError, Unavailable
from novapulse_core.domain.limits import RateDecision
from novapulse_core.ports import RateLimiter, TokenIssuer

EXEMPT_PREFIXES = ("/api/v1/health", "/metrics", "/schema", "/.well-known", "/ui/")
"""Not limited: probes, scrapes, documents, and the operator pages' static files (the API calls
those pages make are limited like any other)."""
LOGIN_PATHS = ("/api/v1/auth/login", "/api/v1/auth/mfa/verify", "/api/v1/auth/refresh")

RawHeaders = list[tuple[bytes, bytes]]


@attrs.frozen
class Budget:
    """`limit` requests per `window`, named as the RateLimit headers name the policy."""

    name: str
    limit: int
    window: timedelta
    policy: str = attrs.field(init=False)
    """The budget as `RateLimit-Policy` states it."""
    seconds: int = attrs.field(init=False)

    @policy.default
    def _policy(self) -> str:
        return f'"{self.name}";q={self.limit};w={int(self.window.total_seconds())}'

    @seconds.default
    def _seconds(self) -> int:
        return int(self.window.total_seconds())


@attrs.frozen
class RateLimits:
    anonymous: Budget
    login: Budget
    user: Budget
    company: Budget


@attrs.frozen
class Verdict:
    """What the limits say of one request: the headers its answer carries and, when refused,
    the seconds to wait."""

    headers: RawHeaders
    retry_after: int | None = None


PASS = Verdict([])


class RouteLimits:
    """Spends a request's budgets on the limiter (memory, or Redis shared by every node), all
    of them in one call (one Redis round trip), which `limiter` gives at the first request."""

    def __init__(
        self, limiter: Callable[[], RateLimiter], tokens: TokenIssuer, limits: RateLimits
    ) -> None:
        self._provide_limiter = limiter
        self._limiter: RateLimiter | None = None
        self._tokens = tokens
        self._limits = limits

    async def check(self, scope: Scope, authorization: bytes | None) -> Verdict:
        budgets = self._budgets_for(scope, authorization)
        if not budgets:
            return PASS
        limiter = self._limiter or self._resolve()
        try:  # all or none: a request refused by one budget spends none of the others
            answers = await limiter.hit_all(
                [(key, budget.limit, budget.window) for key, budget in budgets]
            )
        except Unavailable:
            return PASS  # fail open; the metered limiter counted it
        decisions = [
            (budget, answer) for (_, budget), answer in zip(budgets, answers, strict=False)
        ]
        last = answers[-1]  # the answers stop at a refusal
        return Verdict(_headers(decisions), None if last.allowed else last.retry_after)

    def _resolve(self) -> RateLimiter:
        self._limiter = self._provide_limiter()
        return self._limiter

    def _budgets_for(self, scope: Scope, authorization: bytes | None) -> list[tuple[str, Budget]]:
        path: str = scope["path"]
        if path.startswith(EXEMPT_PREFIXES):
            return []
        client = scope.get("client")
        address = client[0] if client else "unknown"
        limits = self._limits
        if path.startswith(LOGIN_PATHS):
            return [(f"route:login:{address}", limits.login)]
        if authorization is not None and authorization[:7].lower() == b"bearer ":
            try:
                claims = self._tokens.verify(authorization[7:].decode("latin-1").strip())
            except DomainError:
                pass  # the auth layer answers 401; count it as anonymous
            else:
                return [
                    (f"route:user:{claims.subject}", limits.user),
                    (f"route:company:{claims.company_id}", limits.company),
                ]
        return [(f"route:anonymous:{address}", limits.anonymous)]


def _headers(decisions: list[tuple[Budget, RateDecision]]) -> RawHeaders:
    policies: list[str] = []
    states: list[str] = []
    for budget, decision in decisions:
        policies.append(budget.policy)
        states.append(f'"{budget.name}";r={decision.remaining};t={_reset(budget, decision)}')
    return [
        (b"ratelimit-policy", ", ".join(policies).encode()),
        (b"ratelimit", ", ".join(states).encode()),
    ]


def _reset(budget: Budget, decision: RateDecision) -> int:
    """Seconds until the quota is back: exact for a refusal; at most the window otherwise."""
    return budget.seconds if decision.allowed else decision.retry_after


async def too_many(scope: Scope, send: Send, verdict: Verdict) -> None:
    """The 429 problem answer of a refused request, with `Retry-After` and the limit headers."""
    retry_after = verdict.retry_after or 1
    body = msgspec.json.encode(
        {
            "type": "urn:novapulse:problem:rate-limited",
            "title": "Too Many Requests",
            "status": 429,
            "detail": "too many requests; slow down",
            "instance": scope.get("path", ""),
            "request_id": context.request_id.get(),
            "retry_after": retry_after,
        }
    )
    raw: RawHeaders = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
        *verdict.headers,
    ]
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 429, "headers": raw}
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)
