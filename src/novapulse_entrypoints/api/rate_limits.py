"""Request rate limits per route group: per user and per company for authenticated calls, per
client address for anonymous ones (login gets its own, tighter budget). Answers carry the IETF
RateLimit headers (draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy`, `RateLimit`);
a refusal is a 429 problem with `Retry-After`. A limiter that cannot be reached lets the
request through (the seed's "fails open"), counted by the metered limiter."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import NamedTuple

import attrs
import msgspec
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Scope, Send

from novapulse_core import context
from novapulse_core.domain.errors import DomainError, Unavailable
from novapulse_core.domain.limits import RateDecision
from novapulse_core.ports import RateLimiter, TokenIssuer
from novapulse_entrypoints.api.clients import ClientAddresses

EXEMPT_PREFIXES = ("/api/v1/health", "/metrics", "/schema", "/.well-known", "/ui/")
"""Not limited: probes, scrapes, documents, and the operator pages' static files (the API calls
those pages make are limited like any other)."""
LOGIN_PATHS = ("/api/v1/auth/login", "/api/v1/auth/mfa/verify", "/api/v1/auth/refresh")

RawHeaders = list[tuple[bytes, bytes]]
_SLASHES = re.compile("//+")

VERIFIED_CLAIMS = "novapulse.verified_claims"
"""Where the limits leave the claims of the request's bearer token once they have verified it
(`ApiRequest.caller` then does not verify it again)."""


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
class Plan:
    """The budgets one kind of request spends, in order, with its `RateLimit-Policy` header
    (the same for every request of the kind, so rendered once) and the pattern of its
    `RateLimit` header when every budget allows (a `%` pair per budget: remaining, seconds)."""

    budgets: tuple[Budget, ...]
    policy_header: tuple[bytes, bytes] = attrs.field(init=False)
    allowed_state: bytes = attrs.field(init=False)

    @policy_header.default
    def _policy_header(self) -> tuple[bytes, bytes]:
        return (b"ratelimit-policy", ", ".join(b.policy for b in self.budgets).encode())

    @allowed_state.default
    def _allowed_state(self) -> bytes:
        return ", ".join(f'"{b.name}";r=%d;t={b.seconds}' for b in self.budgets).encode()

    def spend(self, keys: tuple[str, ...]) -> tuple[tuple[str, int, timedelta], ...]:
        """The limiter's hits for the budgets of this plan kept under `keys`."""
        return tuple((key, b.limit, b.window) for key, b in zip(keys, self.budgets, strict=True))

    def state(self, answers: list[RateDecision]) -> bytes:
        """The `RateLimit` header's value for these answers (which stop at a refusal)."""
        if len(answers) == len(self.budgets) and answers[-1].allowed:
            return self.allowed_state % tuple([a.remaining for a in answers])
        return ", ".join(
            f'"{b.name}";r={a.remaining};t={b.seconds if a.allowed else a.retry_after}'
            for b, a in zip(self.budgets, answers, strict=False)
        ).encode()


@attrs.frozen
class RateLimits:
    anonymous: Budget
    login: Budget
    user: Budget
    company: Budget
    anonymous_plan: Plan = attrs.field(init=False)
    login_plan: Plan = attrs.field(init=False)
    caller_plan: Plan = attrs.field(init=False)
    """An authenticated request: its user's budget, then its company's."""

    @anonymous_plan.default
    def _anonymous_plan(self) -> Plan:
        return Plan((self.anonymous,))

    @login_plan.default
    def _login_plan(self) -> Plan:
        return Plan((self.login,))

    @caller_plan.default
    def _caller_plan(self) -> Plan:
        return Plan((self.user, self.company))


class Verdict(NamedTuple):
    """What the limits say of one request: the headers its answer carries and, when refused,
    the seconds to wait."""

    headers: RawHeaders
    retry_after: int | None = None


PASS = Verdict([])
REMEMBERED_CALLERS = 10_000
"""Callers whose budget keys are remembered; all are forgotten when more come."""

Hits = tuple[tuple[str, int, timedelta], ...]


class RouteLimits:
    """Spends a request's budgets on the limiter (memory, or Redis shared by every node), all
    of them in one call (one Redis round trip), which `limiter` gives at the first request."""

    def __init__(
        self,
        limiter: Callable[[], RateLimiter],
        tokens: TokenIssuer,
        limits: RateLimits,
        clients: ClientAddresses,
    ) -> None:
        self._provide_limiter = limiter
        self._limiter: RateLimiter | None = None
        self._tokens = tokens
        self._limits = limits
        self._clients = clients
        self._callers: dict[tuple[str, str], Hits] = {}

    async def check(self, scope: Scope, authorization: bytes | None) -> Verdict:
        path: str = scope["path"]
        if "//" in path:  # the router reads `/api/v1//auth/login` as the login route
            path = _SLASHES.sub("/", path)
        if path.startswith(EXEMPT_PREFIXES):
            return PASS
        plan, hits = self._plan_for(path, scope, authorization)
        limiter = self._limiter or self._resolve()
        try:  # all or none: a request refused by one budget spends none of the others
            answers = await limiter.hit_all(hits)
        except Unavailable:
            return PASS  # fail open; the metered limiter counted it
        headers = [plan.policy_header, (b"ratelimit", plan.state(answers))]
        last = answers[-1]
        return Verdict(headers, None if last.allowed else last.retry_after)

    def _resolve(self) -> RateLimiter:
        self._limiter = self._provide_limiter()
        return self._limiter

    def _plan_for(self, path: str, scope: Scope, authorization: bytes | None) -> tuple[Plan, Hits]:
        limits = self._limits
        if path.startswith(LOGIN_PATHS):
            client = self._clients.of(scope) or "unknown"
            return limits.login_plan, limits.login_plan.spend((f"route:login:{client}",))
        if authorization is not None and authorization[:7].lower() == b"bearer ":
            try:
                claims = self._tokens.verify(authorization[7:].decode("latin-1").strip())
            except DomainError:
                pass  # the auth layer answers 401; count it as anonymous
            else:
                scope[VERIFIED_CLAIMS] = claims  # type: ignore[literal-required]
                caller = (claims.subject, claims.company_id)
                hits = self._callers.get(caller)
                if hits is None:
                    hits = self._caller_hits(caller)
                return limits.caller_plan, hits
        client = self._clients.of(scope) or "unknown"
        return limits.anonymous_plan, limits.anonymous_plan.spend((f"route:anonymous:{client}",))

    def _caller_hits(self, caller: tuple[str, str]) -> Hits:
        """A caller's budgets (its user's, its company's), remembered: the same callers come
        again and again."""
        if len(self._callers) >= REMEMBERED_CALLERS:
            self._callers.clear()
        user, company = caller
        plan = self._limits.caller_plan
        hits = self._callers[caller] = plan.spend(
            (f"route:user:{user}", f"route:company:{company}")
        )
        return hits


async def too_many(scope: Scope, send: Send, verdict: Verdict) -> None:
    """The 429 problem answer of a refused request, with `Retry-After` (the middleware adds the
    limit headers, as to every answer)."""
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
    ]
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 429, "headers": raw}
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)
