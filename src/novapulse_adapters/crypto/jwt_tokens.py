"""Access tokens as JWTs (PyJWT): one algorithm allowed, issuer and audience checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from novapulse_core.domain.auth import AccessClaims
from novapulse_core.domain.errors import Unauthenticated
from novapulse_core.domain.identity import Role
from novapulse_core.ports import Clock

SYMMETRIC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
_REQUIRED = ["sub", "company", "role", "jti", "iat", "exp", "iss", "aud"]
MIN_SECRET_BYTES = 32


class JwtTokenIssuer:
    """HMAC-signed JWTs. Only the configured algorithm verifies (so never `none`), and expiry is
    judged against the injected clock with `leeway` of tolerance for skew between nodes."""

    def __init__(
        self,
        *,
        secret: str,
        clock: Clock,
        issuer: str,
        audience: str,
        algorithm: str = "HS256",
        leeway: timedelta = timedelta(seconds=30),
    ) -> None:
        if algorithm not in SYMMETRIC_ALGORITHMS:
            raise ValueError(f"unsupported JWT algorithm {algorithm!r}")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._clock = clock
        self._issuer = issuer
        self._audience = audience
        self._algorithm = algorithm
        self._leeway = leeway

    def issue(self, claims: AccessClaims) -> str:
        payload = {
            "sub": claims.subject,
            "company": claims.company_id,
            "role": claims.role.value,
            "jti": claims.token_id,
            "iat": int(claims.issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "iss": self._issuer,
            "aud": self._audience,
        }
        return jwt.encode(payload, self._secret, algorithm=self._algorithm)

    def verify(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False},
            )
            claims = AccessClaims(
                subject=str(payload["sub"]),
                company_id=str(payload["company"]),
                role=Role(payload["role"]),
                token_id=str(payload["jti"]),
                issued_at=datetime.fromtimestamp(int(payload["iat"]), UTC),
                expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
            raise Unauthenticated("the access token is invalid") from None
        if claims.expires_at + self._leeway <= self._clock.now():
            raise Unauthenticated("the access token has expired")
        return claims
