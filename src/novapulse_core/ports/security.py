"""Password hashing and access tokens."""

from __future__ import annotations

from typing import Protocol

from novapulse_core.domain.auth import AccessClaims


class PasswordHasher(Protocol):
    """One-way, salted, deliberately slow password hashing.

    `verify` returns False for a wrong password or a malformed hash; it never raises for them.
    `needs_rehash` says a stored hash was made with weaker parameters than the current ones.
    """

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class TokenIssuer(Protocol):
    """Signs access claims into a bearer token and verifies tokens back into claims.

    `verify` raises `Unauthenticated` for a token that is malformed, tampered with, signed with
    another key or algorithm, for another issuer or audience, or expired at `now` (allowing the
    adapter's leeway), and gives back every claim `issue` was given, `amr`, `scope` and
    `session_id` included (times to the whole second). A token that does not state its `amr`
    and `scope` is refused, so nothing reads as full scope by omission.
    """

    def issue(self, claims: AccessClaims) -> str: ...

    def verify(self, token: str) -> AccessClaims: ...
