"""Request rate limits per route group: per user and per company for authenticated calls, per
client address for anonymous ones (login gets its own, tighter budget). Answers carry the IETF
RateLimit headers (draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy`, `RateLimit`);
a refusal is a 429 problem with `Retry-After`. A limiter that cannot be reached lets the
request through (the seed's "fails open"), counted by the metered limiter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import attrs
import msgspec
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from novapulse_core import context
from novapulse_core.domain.errors import DomainError, Unavailable
from novapulse_core.domain.limits import RateDecision
from novapulse_core.ports import RateLimiter, TokenIssuer

log = logging.getLogger("novapulse.rate_limits")

EXEMPT_PREFIXES = ("/api/v1/health", "/metrics", "/schema", "/.well-known")
LOGIN_PATHS = ("/api/v1/auth/login", "/api/v1/auth/mfa/verify", "/api/v1/auth/refresh")


@attrs.frozen
class Budget:
    """`limit` requests per `window`, named as the RateLimit headers name the policy."""

    name: str
    limit: int
    window: timedelta


@attrs.frozen
class RateLimits:
    anonymous: Budget
    login: Budget
    user: Budget
    company: Budget


def _budgets_for(scope: Scope, limits: RateLimits, tokens: TokenIssuer) -> list[tuple[str, Budget]]:
    path: str = scope.get("path", "")
    if path.startswith(EXEMPT_PREFIXES):
        return []
    client = scope.get("client")
    address = client[0] if client else "unknown"
    if path.startswith(LOGIN_PATHS):
        return [(f"route:login:{address}", limits.login)]
    for name, value in scope.get("headers", ()):
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            try:
                claims = tokens.verify(value[7:].decode("latin-1").strip())
            except DomainError:
                break  # the auth layer answers 401; count it as anonymous
            return [
                (f"route:user:{claims.subject}", limits.user),
                (f"route:company:{claims.company_id}", limits.company),
            ]
    return [(f"route:anonymous:{address}", limits.anonymous)]


def _headers(decisions: list[tuple[Budget, RateDecision]]) -> dict[str, str]:
    policy = ", ".join(
        f'"{b.name}";q={b.limit};w={int(b.window.total_seconds())}' for b, _ in decisions
    )
    state = ", ".join(f'"{b.name}";r={d.remaining};t={_reset(b, d)}' for b, d in decisions)
    return {"ratelimit-policy": policy, "ratelimit": state}


def _reset(budget: Budget, decision: RateDecision) -> int:
    """Seconds until the quota is back: exact for a refusal; at most the window otherwise."""
    return decision.retry_after if not decision.allowed else int(budget.window.total_seconds())


def rate_limit_middleware(
    app: ASGIApp, limiter: Callable[[], RateLimiter], tokens: TokenIssuer, limits: RateLimits
) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        decisions: list[tuple[Budget, RateDecision]] = []
        try:
            for key, budget in _budgets_for(scope, limits, tokens):
                decision = await limiter().hit(key, budget.limit, budget.window)
                decisions.append((budget, decision))
                if not decision.allowed:
                    break  # a user refused spends nothing of its company's budget
        except Unavailable:
            decisions = []  # fail open; the metered limiter counted it
        headers = _headers(decisions) if decisions else {}
        refused = [d for _, d in decisions if not d.allowed]
        if refused:
            await _too_many(scope, send, headers, max(d.retry_after for d in refused))
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and headers:
                target = MutableScopeHeaders.from_message(message)
                for name, value in headers.items():
                    target[name] = value
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


async def _too_many(scope: Scope, send: Send, headers: dict[str, str], retry_after: int) -> None:
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
    raw: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
        *((k.encode(), v.encode()) for k, v in headers.items()),
    ]
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 429, "headers": raw}
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)
