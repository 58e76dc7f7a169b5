"""Login challenges and refresh tokens: opaque secrets of which only a digest is ever stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import attrs

TOKEN_BYTES = 32


def new_token() -> str:
    """A fresh opaque token of 256 random bits, URL-safe.

    Drawn from `secrets` directly rather than through a port: tokens are never predicted by tests
    (they read them from the outcome that hands them out), and only a CSPRNG will do here.
    """
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What stores keep of a token: its SHA-256, hex. A bare hash suffices for 256-bit secrets."""
    return hashlib.sha256(token.encode()).hexdigest()


@attrs.frozen
class SessionPolicy:
    """Lifetimes of the secrets a login hands out."""

    refresh_token_ttl: timedelta = timedelta(days=14)
    """How long an unused refresh token lives; each rotation starts a new one."""

    session_max_age: timedelta = timedelta(days=30)
    """The absolute lifetime of a session (a refresh-token family), however often it rotates."""

    challenge_ttl: timedelta = timedelta(minutes=5)
    """How long a login challenge (password proven, code awaited) stays usable."""

    enrollment_token_ttl: timedelta = timedelta(minutes=10)
    """How long an `mfa_enroll` token from a login stays usable."""

    revocation_margin: timedelta = timedelta(minutes=5)
    """How long a revoked access token stays on the list past its expiry: longer than the
    leeway any token verifier grants for clock skew, or the token would come back to life."""


@attrs.frozen
class LoginChallenge:
    """A password was proven for `user_id`; a code is awaited before `expires_at`."""

    token_digest: str
    user_id: str
    company_id: str
    created_at: datetime
    expires_at: datetime


@attrs.frozen
class RefreshToken:
    """One refresh token of a session. A family is every token rotated from one login.

    `used_at` is set when the token was exchanged; presenting it again is reuse. `expires_at`
    never passes `session_expires_at`, the family's absolute end.
    """

    token_digest: str
    family_id: str
    user_id: str
    company_id: str
    amr: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    session_expires_at: datetime
    used_at: datetime | None = None
