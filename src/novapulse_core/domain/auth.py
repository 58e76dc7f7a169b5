"""Login outcomes, the claims an access token carries, and what a session hands back."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from novapulse_core.domain.identity import Role, User

PASSWORD = "pwd"  # noqa: S105 - a method name, not a password
"""`amr` value (RFC 8176) of a proven password."""

ONE_TIME_PASSWORD = "otp"  # noqa: S105 - a method name, not a password
"""`amr` value (RFC 8176) of a proven TOTP or recovery code (both are one-time passwords)."""


class TokenScope(enum.StrEnum):
    """What an access token may be used for."""

    FULL = "full"
    """Every action the principal's role allows."""

    MFA_ENROLL = "mfa_enroll"
    """Only setting up MFA: given to a user whose role requires MFA but who has none yet."""


@attrs.frozen
class AccessClaims:
    """What an access token asserts. Issuer and audience are the token adapter's business.

    `amr` lists the methods the user proved (`pwd`, `otp`); `session_id` names the refresh-token
    family the token was issued with (None for a token outside any session).
    """

    subject: str
    company_id: str
    role: Role
    token_id: str
    issued_at: datetime
    expires_at: datetime
    amr: tuple[str, ...] = ()
    scope: TokenScope = TokenScope.FULL
    session_id: str | None = None


@attrs.frozen
class Authenticated:
    """Login finished: the caller holds an access token and a refresh token to renew it."""

    user: User
    access_token: str
    expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    amr: tuple[str, ...]


@attrs.frozen
class MfaRequired:
    """The password was right and the user has MFA: prove a code with this challenge token.

    The token is single-use, bound to the user, and dies at `expires_at`. No access token yet.
    """

    challenge_token: str = attrs.field(repr=False)
    expires_at: datetime


@attrs.frozen
class EnrollmentRequired:
    """The password was right but the user's role requires MFA and the user has none.

    `enrollment_token` is an access token of scope `mfa_enroll`: it only opens MFA setup, and
    `AuthService.confirm_enrollment` trades it, with the first valid code, for a full session.
    """

    user: User
    enrollment_token: str = attrs.field(repr=False)
    expires_at: datetime


@attrs.frozen
class EnrollmentCompleted:
    """MFA is on: the recovery codes (shown once), and a new full session when the setup was
    made with an `mfa_enroll` token (None when the caller already had a full one)."""

    recovery_codes: tuple[str, ...] = attrs.field(repr=False)
    session: Authenticated | None


# The seed's flow branches on "MFA required?": a session, a challenge, or enrol first.
LoginOutcome = Authenticated | MfaRequired | EnrollmentRequired
