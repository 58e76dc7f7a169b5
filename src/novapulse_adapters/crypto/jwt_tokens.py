"""Access tokens as JWTs (PyJWT): one algorithm allowed, issuer and audience checked."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from jwt.algorithms import get_default_algorithms

from novapulse_core.domain.auth import AccessClaims, TokenScope
from novapulse_core.domain.errors import Unauthenticated
from novapulse_core.domain.identity import Role
from novapulse_core.ports import Clock

SYMMETRIC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset({"EdDSA", "RS256"})
_REQUIRED = ["sub", "company", "role", "jti", "iat", "exp", "iss", "aud", "amr", "scope"]
MIN_SECRET_BYTES = 32
VERIFIED_CACHE_SIZE = 4096


def _amr(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(method, str) for method in value):
        raise TypeError("amr must be a list of strings")
    return tuple(value)


class JwtTokenIssuer:
    """Signed JWTs: HMAC with a shared secret (HS256/384/512), or EdDSA / RS256 with a private
    key whose public half `jwks` publishes, so other services verify tokens without a secret.
    Only the configured algorithm verifies (so never `none`), and expiry is judged against the
    injected clock with `leeway` of tolerance for skew between nodes.

    Besides the registered claims a token carries `company`, `role`, `amr` (RFC 8176 methods),
    `scope` (`full` or `mfa_enroll`) and, when issued within a session, `sid` (its refresh-token
    family). `amr` and `scope` are required: a token without them is refused.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        issuer: str,
        audience: str,
        algorithm: str = "HS256",
        secret: str | None = None,
        private_key_pem: bytes | None = None,
        leeway: timedelta = timedelta(seconds=30),
    ) -> None:
        self._headers: dict[str, str] = {}
        self._jwks: list[dict[str, Any]] = []
        if algorithm in SYMMETRIC_ALGORITHMS:
            if secret is None or len(secret.encode()) < MIN_SECRET_BYTES:
                raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes")
            self._signing_key: Any = secret
            self._verifying_key: Any = secret
        elif algorithm in ASYMMETRIC_ALGORITHMS:
            if private_key_pem is None:
                raise ValueError(f"{algorithm} needs a private key")
            self._signing_key = load_pem_private_key(private_key_pem, password=None)
            self._verifying_key = self._signing_key.public_key()
            self._publish(algorithm)
        else:
            raise ValueError(f"unsupported JWT algorithm {algorithm!r}")
        self._clock = clock
        self._verified: dict[str, AccessClaims] = {}
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
            "amr": list(claims.amr),
            "scope": claims.scope.value,
        }
        if claims.session_id is not None:
            payload["sid"] = claims.session_id
        return jwt.encode(
            payload, self._signing_key, algorithm=self._algorithm, headers=self._headers or None
        )

    def jwks(self) -> list[dict[str, Any]]:
        """The public keys that verify these tokens, as JWKs (none for HMAC: nothing public)."""
        return list(self._jwks)

    def _publish(self, algorithm: str) -> None:
        public_der = self._verifying_key.public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo
        )
        kid = base64.urlsafe_b64encode(hashlib.sha256(public_der).digest()[:12]).decode()
        jwk: dict[str, Any] = get_default_algorithms()[algorithm].to_jwk(
            self._verifying_key, as_dict=True
        )
        self._headers = {"kid": kid}
        self._jwks = [{**jwk, "kid": kid, "use": "sig", "alg": algorithm}]

    def verify(self, token: str) -> AccessClaims:
        """The token's claims. A token is checked cryptographically once: its claims are
        remembered (keyed by the whole token, bounded) and only its expiry is judged again."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._decode(token)
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)))
            self._verified[token] = claims
        if claims.expires_at + self._leeway <= self._clock.now():
            raise Unauthenticated("the access token has expired")
        return claims

    def _decode(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self._verifying_key,
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
                amr=_amr(payload["amr"]),
                scope=TokenScope(payload["scope"]),
                session_id=None if payload.get("sid") is None else str(payload["sid"]),
            )
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
            raise Unauthenticated("the access token is invalid") from None
        return claims
