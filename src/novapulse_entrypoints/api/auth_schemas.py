"""Bodies of login, sessions and MFA (the seed's "Authentication Flow")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
import segno

from novapulse_core.domain.auth import (
    Authenticated,
    EnrollmentCompleted,
    EnrollmentRequired,
    LoginOutcome,
    MfaRequired,
)
from novapulse_core.domain.identity import Role
from novapulse_core.domain.mfa import MfaStatus, TotpSetup
from novapulse_entrypoints.api.schemas import Password, UserOut, user_out

Token = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class SessionOut(msgspec.Struct, tag_field="status", tag="authenticated"):
    """Logged in: a short-lived access token and a refresh token that rotates on each use."""

    access_token: str
    token_type: str
    expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    amr: list[str]
    user: UserOut


class MfaRequiredOut(msgspec.Struct, tag_field="status", tag="mfa_required"):
    """Password right, second factor needed: answer at POST /api/v1/auth/mfa/verify."""

    challenge_token: str
    expires_at: datetime


class EnrollmentRequiredOut(msgspec.Struct, tag_field="status", tag="mfa_enrollment_required"):
    """Password right, but the role requires MFA: this token only opens /api/v1/auth/mfa."""

    enrollment_token: str
    expires_at: datetime
    user: UserOut


class ChallengeAnswer(msgspec.Struct, forbid_unknown_fields=True):
    challenge_token: Token
    code: Code | None = None
    recovery_code: Code | None = None


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Token


class LogoutRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Token | None = None


class CodeRequest(msgspec.Struct, forbid_unknown_fields=True):
    code: Code


class MfaSetupRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`password`: the caller's current password, needed with a full session (a wrong one
    counts like a wrong login); an enrol-only token needs none and may send no body."""

    password: Password | None = None


class DisableMfaRequest(msgspec.Struct, forbid_unknown_fields=True):
    password: Password
    code: Code


class MfaPolicy(msgspec.Struct, forbid_unknown_fields=True):
    required_roles: list[Role]


class MfaStatusOut(msgspec.Struct):
    enabled: bool
    pending: bool
    enabled_at: datetime | None
    recovery_codes_left: int


class TotpSetupOut(msgspec.Struct):
    """Shown once: put `secret` (or scan `qr_svg`, the `otpauth_uri` as a QR code) into an
    authenticator app, then confirm with a code."""

    secret: str
    otpauth_uri: str
    account: str
    issuer: str
    qr_svg: str


class RecoveryCodesOut(msgspec.Struct):
    """Shown once; each code works once."""

    recovery_codes: list[str]


class EnrollmentConfirmedOut(msgspec.Struct):
    recovery_codes: list[str]
    session: SessionOut | None


def session_out(session: Authenticated) -> SessionOut:
    return SessionOut(
        access_token=session.access_token,
        token_type="Bearer",  # noqa: S106 (the scheme name, not a secret)
        expires_at=session.expires_at,
        refresh_token=session.refresh_token,
        refresh_expires_at=session.refresh_expires_at,
        amr=list(session.amr),
        user=user_out(session.user),
    )


def login_out(outcome: LoginOutcome) -> SessionOut | MfaRequiredOut | EnrollmentRequiredOut:
    if isinstance(outcome, MfaRequired):
        return MfaRequiredOut(outcome.challenge_token, outcome.expires_at)
    if isinstance(outcome, EnrollmentRequired):
        return EnrollmentRequiredOut(
            outcome.enrollment_token, outcome.expires_at, user_out(outcome.user)
        )
    return session_out(outcome)


def mfa_status_out(status: MfaStatus) -> MfaStatusOut:
    return MfaStatusOut(
        status.enabled, status.pending, status.enabled_at, status.recovery_codes_left
    )


def totp_setup_out(setup: TotpSetup) -> TotpSetupOut:
    return TotpSetupOut(
        secret=setup.secret,
        otpauth_uri=setup.uri,
        account=setup.account,
        issuer=setup.issuer,
        qr_svg=segno.make(setup.uri, error="m").svg_inline(scale=4, title="Authenticator QR code"),
    )


def enrollment_confirmed_out(done: EnrollmentCompleted) -> EnrollmentConfirmedOut:
    return EnrollmentConfirmedOut(
        recovery_codes=list(done.recovery_codes),
        session=session_out(done.session) if done.session else None,
    )
