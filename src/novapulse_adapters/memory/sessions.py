"""Dict-backed login challenges, refresh-token families and access-token revocations."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime

import attrs

from novapulse_adapters.memory.expiring import ExpiringMap
from novapulse_core.domain.errors import Conflict
from novapulse_core.domain.sessions import LoginChallenge, RefreshToken
from novapulse_core.ports.system import Clock


class InMemoryChallengeStore:
    """`ChallengeStore`: challenges vanish at their `expires_at` by `clock`."""

    def __init__(self, clock: Clock) -> None:
        self._lock = threading.Lock()
        self._challenges: ExpiringMap[str, LoginChallenge] = ExpiringMap(clock)

    async def add(self, challenge: LoginChallenge) -> None:
        with self._lock:
            if self._challenges.get(challenge.token_digest) is not None:
                raise Conflict("a challenge with this token exists")
            self._challenges.put(challenge.token_digest, challenge, challenge.expires_at)

    async def get(self, digest: str) -> LoginChallenge | None:
        with self._lock:
            return self._challenges.get(digest)

    async def consume(self, digest: str) -> LoginChallenge | None:
        with self._lock:
            return self._challenges.pop(digest)


class InMemoryRefreshTokenStore:
    """`RefreshTokenStore`: tokens by digest, with family and user indexes kept in step."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: ExpiringMap[str, RefreshToken] = ExpiringMap(clock, self._unindex)
        self._families: defaultdict[str, set[str]] = defaultdict(set)
        self._user_families: defaultdict[tuple[str, str], set[str]] = defaultdict(set)

    async def add(self, token: RefreshToken) -> None:
        with self._lock:
            if self._tokens.get(token.token_digest) is not None:
                raise Conflict("a refresh token with this digest exists")
            self._tokens.put(token.token_digest, token, token.expires_at)
            if token.expires_at > self._clock.now():
                self._families[token.family_id].add(token.token_digest)
                self._user_families[(token.company_id, token.user_id)].add(token.family_id)

    async def use(self, digest: str, at: datetime) -> RefreshToken | None:
        with self._lock:
            token = self._tokens.get(digest)
            if token is not None and token.used_at is None:
                self._tokens.put(digest, attrs.evolve(token, used_at=at), token.expires_at)
            return token

    async def revoke_family(self, family_id: str) -> None:
        with self._lock:
            self._forget_family(family_id)

    async def revoke_user(self, company_id: str, user_id: str) -> None:
        with self._lock:
            for family_id in self._user_families.pop((company_id, user_id), set()):
                self._forget_family(family_id)

    def family_count(self) -> int:
        """How many families hold a live token (a test helper)."""
        with self._lock:
            len(self._tokens)  # drops the expired first
            return len(self._families)

    def _forget_family(self, family_id: str) -> None:
        for digest in self._families.pop(family_id, set()):
            token = self._tokens.pop(digest)
            if token is not None:
                self._unlink(token.company_id, token.user_id, family_id)

    def _unindex(self, digest: str, token: RefreshToken) -> None:
        """Follow a token dropped for its age: a family left empty is forgotten."""
        family = self._families.get(token.family_id)
        if family is None:
            return
        family.discard(digest)
        if not family:
            del self._families[token.family_id]
            self._unlink(token.company_id, token.user_id, token.family_id)

    def _unlink(self, company_id: str, user_id: str, family_id: str) -> None:
        families = self._user_families.get((company_id, user_id))
        if families is not None:
            families.discard(family_id)
            if not families:
                del self._user_families[(company_id, user_id)]


class InMemoryTokenRevocations:
    """`TokenRevocations`: revoked ids vanish at the token's expiry by `clock`."""

    def __init__(self, clock: Clock) -> None:
        self._revoked: ExpiringMap[str, bool] = ExpiringMap(clock)

    async def revoke(self, token_id: str, expires_at: datetime) -> None:
        self._revoked.put(token_id, True, expires_at)

    async def is_revoked(self, token_id: str) -> bool:
        return self._revoked.get(token_id) is not None

    def __len__(self) -> int:
        """How many revocations are held (a test helper)."""
        return len(self._revoked)
