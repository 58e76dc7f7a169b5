"""Login challenges, refresh-token families and revoked access tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from novapulse_core.domain.sessions import LoginChallenge, RefreshToken


class ChallengeStore(Protocol):
    """Login challenges by token digest (the token itself is never stored).

    `add` raises `Conflict` for a digest already held. `get` returns the challenge, or None when
    unknown, consumed, or past its `expires_at` by the adapter's injected clock. `consume`
    removes and returns it under the same rules, atomically: of concurrent consumes of one
    challenge exactly one gets it.
    """

    async def add(self, challenge: LoginChallenge) -> None: ...

    async def get(self, digest: str) -> LoginChallenge | None: ...

    async def consume(self, digest: str) -> LoginChallenge | None: ...


class RefreshTokenStore(Protocol):
    """Refresh tokens by digest, grouped in families (one per login) and by user.

    `add` raises `Conflict` for a digest already held. `use` atomically marks the token used at
    `at` and returns it as it was before, so `used_at` is None on the first use only (of
    concurrent uses exactly one sees None); it returns None for a token that is unknown,
    revoked, or past its `expires_at` by the adapter's injected clock. A used token is kept
    until its `expires_at` so that reuse can be told from a stranger. `revoke_family` forgets
    every token of the family; `revoke_user` every token of the user in that company. Both
    succeed when there is nothing to forget.
    """

    async def add(self, token: RefreshToken) -> None: ...

    async def use(self, digest: str, at: datetime) -> RefreshToken | None: ...

    async def revoke_family(self, family_id: str) -> None: ...

    async def revoke_user(self, company_id: str, user_id: str) -> None: ...


class TokenRevocations(Protocol):
    """Access-token ids (`jti`) revoked before their expiry.

    `revoke` remembers `token_id` until `expires_at` (by the adapter's injected clock); revoking
    twice is harmless. `is_revoked` is True from `revoke` until then; after that the token has
    expired anyway and the id may be forgotten.
    """

    async def revoke(self, token_id: str, expires_at: datetime) -> None: ...

    async def is_revoked(self, token_id: str) -> bool: ...
