"""Login outcomes and the claims an access token carries."""

from __future__ import annotations

from datetime import datetime

import attrs

from novapulse_core.domain.identity import Role, User


@attrs.frozen
class AccessClaims:
    """What an access token asserts. Issuer and audience are the token adapter's business."""

    subject: str
    company_id: str
    role: Role
    token_id: str
    issued_at: datetime
    expires_at: datetime


@attrs.frozen
class Authenticated:
    """Login finished: the caller holds an access token."""

    user: User
    access_token: str
    expires_at: datetime


# The seed's flow branches here on "MFA required?"; the MFA issue adds its challenge outcome.
LoginOutcome = Authenticated
